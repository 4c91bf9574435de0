//! Activation functions: value, exact derivative, log of the derivative, and sup |f′|.
//!
//! | name | f(z) | f′(z) | sup \|f′\| |
//! |---|---|---|---|
//! | `sigmoid` | σ(z) = 1/(1+e^{−z}) | σ(z)·σ(−z) = e^{−\|z\|}/(1+e^{−\|z\|})² | 1/4 (at z = 0) |
//! | `tanh` | tanh z | sech² z = 4e^{−2\|z\|}/(1+e^{−2\|z\|})² | 1 |
//! | `relu` | max(z, 0) | 1 for z > 0, else 0 (**0 at z = 0**) | 1 |
//! | `leaky_relu` | z for z > 0, else α·z | 1 for z > 0, else α (α at z = 0) | max(1, \|α\|) |
//! | `softplus` | ln(1+e^z) = max(z,0) + ln(1+e^{−\|z\|}) | σ(z) | 1 |
//! | `identity` | z | 1 | 1 |
//! | `gelu` | z·Φ(z), Φ(z) = ½(1 + erf(z/√2)) | Φ(z) + z·φ(z) | ½(1 + erf 1) + 1/(e√π) ≈ 1.1289 (at z = √2) |
//! | `silu` | z·σ(z) | σ(z)·(1 + z·σ(−z)) | ≈ 1.0998 (at z = x₀ ≈ 2.3994, x₀·tanh(x₀/2) = 2) |
//!
//! GELU′ and SiLU′ exceed 1 and change sign: they are negative left of a zero (z ≈ −0.7518 and
//! z ≈ −1.2785) and tend to 0 from below; see `gelu_silu.rs` for the derivation of their suprema.
//!
//! Every formula is written in the form that stays exact at extreme arguments: no `1 − σ(z)` that
//! cancels to 0 for z ≥ 37, no `ln(1 + e^z)` that overflows for z ≥ 710. So values and derivatives
//! are correct and finite at ±40, ±700, ±1e300 and at subnormals; `softplus(1e300)` is `1e300`.
//! Where a derivative underflows `f64`, [`Activation::ln_abs_derivative`] and
//! [`Activation::derivative_ext`] still give it.

mod gelu_silu;

pub use gelu_silu::SILU_ARGMAX;

use crate::error::Error;
use crate::ext::Ext;
use std::fmt;

/// An elementwise activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// The logistic function σ(z) = 1/(1+e^{−z}); σ′ = σ(1−σ) ≤ 1/4.
    Sigmoid,
    /// The hyperbolic tangent; tanh′ = 1 − tanh² ≤ 1.
    Tanh,
    /// max(z, 0); its derivative at 0 is taken to be 0.
    Relu,
    /// z for z > 0, else `slope`·z; its derivative at 0 is taken to be `slope`.
    LeakyRelu {
        /// The slope α for z ≤ 0 (0.01 by convention).
        slope: f64,
    },
    /// ln(1+e^z), the smooth ReLU; softplus′ = σ.
    Softplus,
    /// f(z) = z.
    Identity,
    /// z·Φ(z), Φ the standard normal distribution function (the exact erf form of PyTorch's
    /// `nn.GELU()`); GELU′ = Φ + z·φ, in (−0.129, 1.129).
    Gelu,
    /// z·σ(z) (PyTorch's `nn.SiLU`, "swish"); SiLU′ = σ(z)·(1 + z·σ(−z)), in (−0.100, 1.100).
    Silu,
}

/// The conventional leaky-ReLU slope, used when none is given.
pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

impl Activation {
    /// The names accepted by [`Activation::from_name`], in a stable order.
    pub const NAMES: [&'static str; 8] =
        ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "gelu", "silu"];

    /// Parses a name of [`Activation::NAMES`]; `leaky_slope` is used for `leaky_relu` only.
    ///
    /// ```
    /// use scalar::Activation;
    /// assert_eq!(Activation::from_name("tanh", 0.01).unwrap(), Activation::Tanh);
    /// assert!(Activation::from_name("sigmoidd", 0.01).is_err());
    /// ```
    pub fn from_name(name: &str, leaky_slope: f64) -> Result<Self, Error> {
        Ok(match name {
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" => {
                Error::check_finite(|| "leaky_relu slope".into(), leaky_slope)?;
                Activation::LeakyRelu { slope: leaky_slope }
            }
            "softplus" => Activation::Softplus,
            "identity" => Activation::Identity,
            "gelu" => Activation::Gelu,
            "silu" => Activation::Silu,
            _ => {
                return Err(Error::invalid(
                    "activation",
                    format!("unknown name {name:?} (expected one of {})", Self::NAMES.join(", ")),
                ));
            }
        })
    }

    /// The name as [`Activation::from_name`] accepts it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Softplus => "softplus",
            Activation::Identity => "identity",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
        }
    }

    /// f(z).
    pub fn value(self, z: f64) -> f64 {
        match self {
            Activation::Sigmoid => sigmoid(z),
            Activation::Tanh => z.tanh(),
            Activation::Relu => step(z, z, 0.0),
            Activation::LeakyRelu { slope } => step(z, z, slope * z),
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Identity => z,
            Activation::Gelu => gelu_silu::gelu(z),
            Activation::Silu => gelu_silu::silu(z),
        }
    }

    /// For an activation with a kink at 0 (relu, leaky relu), the one-sided derivative from the
    /// side z is not on (the side z = 0 is not on, by [`Activation::derivative`]'s convention):
    /// what code takes whose z rounded to the other sign, or whose f′(0) is the other side's.
    /// `None` for the smooth activations.
    pub fn other_side_derivative(self, z: f64) -> Option<f64> {
        match self {
            Activation::Relu => Some(step(z, 0.0, 1.0)),
            Activation::LeakyRelu { slope } => Some(step(z, slope, 1.0)),
            _ => None,
        }
    }

    /// f′(z), exact to rounding, finite for every finite z.
    pub fn derivative(self, z: f64) -> f64 {
        match self {
            Activation::Sigmoid => {
                // σ(z)·σ(−z), written so that neither factor cancels.
                let e = (-z.abs()).exp();
                e / ((1.0 + e) * (1.0 + e))
            }
            Activation::Tanh => {
                let e = (-2.0 * z.abs()).exp();
                4.0 * e / ((1.0 + e) * (1.0 + e))
            }
            Activation::Relu => step(z, 1.0, 0.0),
            Activation::LeakyRelu { slope } => step(z, 1.0, slope),
            Activation::Softplus => sigmoid(z),
            Activation::Identity => {
                if z.is_nan() {
                    z
                } else {
                    1.0
                }
            }
            Activation::Gelu => gelu_silu::gelu_derivative(z),
            Activation::Silu => gelu_silu::silu_derivative(z),
        }
    }

    /// ln |f′(z)|, finite wherever f′(z) ≠ 0 even when f′(z) underflows `f64`
    /// (−∞ where f′ is exactly 0, as ReLU's is for z ≤ 0).
    pub fn ln_abs_derivative(self, z: f64) -> f64 {
        match self {
            // ln σ′(z) = −|z| − 2·ln(1 + e^{−|z|})
            Activation::Sigmoid => -z.abs() - 2.0 * (-z.abs()).exp().ln_1p(),
            // ln sech²(z) = ln 4 − 2|z| − 2·ln(1 + e^{−2|z|})
            Activation::Tanh => std::f64::consts::LN_2 * 2.0 - 2.0 * z.abs() - 2.0 * (-2.0 * z.abs()).exp().ln_1p(),
            // ln σ(z) = −softplus(−z)
            Activation::Softplus => -Activation::Softplus.value(-z),
            Activation::Gelu => gelu_silu::gelu_ln_abs_derivative(z),
            Activation::Silu => gelu_silu::silu_ln_abs_derivative(z),
            Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => self.derivative(z).abs().ln(),
        }
    }

    /// f(z) for an [`Ext`] argument: exact for the piecewise-linear activations at any magnitude,
    /// and for the smooth ones equal to [`Activation::value`] wherever that is a normal `f64` (σ and
    /// softplus below it, for z < −708, are e^z from its logarithm instead of an `f64` that
    /// underflows to 0), with
    /// their limits beyond (σ(z) → 1/2, tanh z → z, softplus z → ln 2 as z → 0; the asymptotes
    /// as |z| exceeds `f64::MAX`).
    pub fn value_ext(self, z: Ext) -> Ext {
        let positive = z.signum() > 0.0;
        match self {
            Activation::Relu => step_ext(z, z, Ext::ZERO),
            Activation::LeakyRelu { slope } => step_ext(z, z, z * slope),
            Activation::Identity => z,
            Activation::Gelu | Activation::Silu => {
                let zf = z.to_f64();
                if zf.is_infinite() {
                    // z·Φ(z) and z·σ(z) are z for z → +∞ and e^{−z²/2}, e^{−|z|} for z → −∞.
                    return if positive { z } else { Ext::ZERO };
                }
                if !zf.is_normal() && !z.is_zero() && !z.is_nan() {
                    // 0 < |z| < 2^−1022: f(z) = z·f′(0) = z/2 to far below half an ulp.
                    return z * 0.5;
                }
                let v = self.value(zf);
                // f(z) = z·g(z), g = Φ or σ: one rounding in f64 or in Ext while g(z) is normal.
                let g = if self == Activation::Gelu { gelu_silu::normal_cdf(zf) } else { sigmoid(zf) };
                if v.is_normal() || v == 0.0 && zf == 0.0 || zf.is_nan() {
                    Ext::from_f64(v)
                } else if g.is_normal() {
                    Ext::from_f64(zf) * g
                } else {
                    // g(z) underflows (z ≪ 0): from |f|'s logarithm, with the sign of z.
                    -Ext::from_ln(self.ln_abs_value(zf))
                }
            }
            Activation::Sigmoid | Activation::Tanh | Activation::Softplus => {
                let zf = z.to_f64();
                if zf.is_normal() || zf == 0.0 && z.is_zero() || z.is_nan() {
                    let v = self.value(zf);
                    // σ(z) and softplus(z) leave f64's normal range for z < −708, where both are
                    // e^z to a relative e^z: take them from their logarithm, which Ext keeps.
                    let tiny = matches!(self, Activation::Sigmoid | Activation::Softplus) && zf < 0.0;
                    if tiny && !v.is_normal() { Ext::from_ln(zf) } else { Ext::from_f64(v) }
                } else if zf.is_infinite() {
                    match (self, positive) {
                        (Activation::Sigmoid, true) => Ext::ONE,
                        (Activation::Sigmoid, false) => Ext::ZERO, // e^{−|z|}: beyond even Ext
                        (Activation::Tanh, _) => Ext::from_f64(z.signum()),
                        (_, true) => z,
                        (_, false) => Ext::ZERO,
                    }
                } else {
                    // |z| < 2^−1022: the first-order term is far below half an ulp of the limit.
                    match self {
                        Activation::Sigmoid => Ext::from_f64(0.5),
                        Activation::Tanh => z,
                        _ => Ext::from_f64(std::f64::consts::LN_2),
                    }
                }
            }
        }
    }

    /// f′(z) as an [`Ext`]: equal to [`Activation::derivative`] wherever that is a normal `f64`
    /// (or exactly 0), computed from [`Activation::ln_abs_derivative`] where it underflows, and
    /// defined for arguments beyond `f64` too (see [`Activation::value_ext`]).
    pub fn derivative_ext(self, z: Ext) -> Ext {
        match self {
            // Piecewise constant: only the sign of z matters.
            Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => {
                Ext::from_f64(self.derivative(z.signum()))
            }
            Activation::Gelu | Activation::Silu => {
                let zf = z.to_f64();
                if zf.is_infinite() {
                    return if z.signum() > 0.0 { Ext::ONE } else { Ext::ZERO };
                }
                let d = self.derivative(zf);
                if d.is_normal() || d == 0.0 && self.ln_abs_derivative(zf) == f64::NEG_INFINITY || zf.is_nan() {
                    Ext::from_f64(d)
                } else {
                    // f′ underflows only far left of its zero, where it is negative.
                    -Ext::from_ln(self.ln_abs_derivative(zf))
                }
            }
            Activation::Sigmoid | Activation::Tanh | Activation::Softplus => {
                let zf = z.to_f64();
                if zf.is_infinite() {
                    // e^{−|z|} for |z| > f64::MAX is beyond even Ext's exponent.
                    let one = self == Activation::Softplus && z.signum() > 0.0;
                    return if one { Ext::ONE } else { Ext::ZERO };
                }
                let d = self.derivative(zf);
                if d.is_normal() || d == 0.0 && self.ln_abs_derivative(zf) == f64::NEG_INFINITY || zf.is_nan() {
                    Ext::from_f64(d)
                } else {
                    // These derivatives are positive.
                    Ext::from_ln(self.ln_abs_derivative(zf))
                }
            }
        }
    }

    /// sup_z |f′(z)|: the per-layer constant in the article's bound.
    pub fn sup_derivative(self) -> f64 {
        match self {
            Activation::Sigmoid => 0.25,
            Activation::Tanh | Activation::Relu | Activation::Softplus | Activation::Identity => 1.0,
            Activation::LeakyRelu { slope } => slope.abs().max(1.0),
            // GELU″ = φ(z)(2 − z²) vanishes at ±√2; GELU′(√2) = ½(1 + erf 1) + 1/(e√π) ≈ 1.1289
            // exceeds |GELU′(−√2)| = GELU′(√2) − 1 (f′(−z) = 1 − f′(z)). At √2 rounded, f′ is flat
            // (f″ = 0), so the error is second order.
            Activation::Gelu => self.derivative(std::f64::consts::SQRT_2),
            // SiLU″ = σ′(z)(2 − z·tanh(z/2)) vanishes at ±x₀; SiLU′(x₀) ≈ 1.0998.
            Activation::Silu => self.derivative(SILU_ARGMAX),
        }
    }

    /// ln |f(z)| for GELU and SiLU, finite where f(z) underflows (z ≪ 0).
    fn ln_abs_value(self, z: f64) -> f64 {
        match self {
            Activation::Gelu => gelu_silu::gelu_ln_abs_value(z),
            _ => gelu_silu::silu_ln_abs_value(z),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::LeakyRelu { slope } => write!(f, "leaky_relu({slope})"),
            other => f.write_str(other.name()),
        }
    }
}

/// σ(z) = 1/(1+e^{−z}), evaluated on the side where e^{−|z|} cannot overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// [`step`] for an [`Ext`] argument.
fn step_ext(z: Ext, pos: Ext, nonpos: Ext) -> Ext {
    if z.signum() > 0.0 {
        pos
    } else if z.is_nan() {
        z
    } else {
        nonpos
    }
}

/// `pos` for z > 0, `nonpos` for z ≤ 0, NaN for NaN.
fn step(z: f64, pos: f64, nonpos: f64) -> f64 {
    if z > 0.0 {
        pos
    } else if z.is_nan() {
        f64::NAN
    } else {
        nonpos
    }
}
