//! Activations for the fast engine, generic over [`Real`], with the same formulas as the oracle:
//!
//! | name | f(z) | f′(z) |
//! |---|---|---|
//! | sigmoid | 1/(1+e^{−z}) (evaluated on the side where e^{−\|z\|} cannot overflow) | e^{−\|z\|}/(1+e^{−\|z\|})² |
//! | tanh | tanh z | 4e^{−2\|z\|}/(1+e^{−2\|z\|})² |
//! | relu | max(z,0) | 1 for z > 0, else 0 |
//! | leaky_relu | z for z > 0, else α·z | 1 for z > 0, else α |
//! | softplus | max(z,0) + ln(1+e^{−\|z\|}) | σ(z) |
//! | identity | z | 1 |
//! | gelu | z·Φ(z), Φ(z) = ½·erfc(−z/√2) | Φ(z) + z·φ(z); φ(z)·(z + Φ(z)/φ(z)) for z < −1 |
//! | silu | z·σ(z) | σ(z)·(1 + z·σ(−z)) |
//!
//! The derivative forms avoid `1 − σ` and `1 − tanh²`, which cancel to 0 long before the true value
//! underflows.

pub(crate) mod gelu_silu;

pub use gelu_silu::SILU_ARGMAX;

use crate::real::Real;

/// An elementwise activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// The logistic function.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// max(z, 0); derivative 0 at z = 0.
    Relu,
    /// z for z > 0, else `slope`·z; derivative `slope` at z = 0.
    LeakyRelu {
        /// α.
        slope: f64,
    },
    /// ln(1+e^z).
    Softplus,
    /// z.
    Identity,
    /// z·Φ(z) (the exact erf form of PyTorch's `nn.GELU()`).
    Gelu,
    /// z·σ(z) (PyTorch's `nn.SiLU`).
    Silu,
}

impl Activation {
    /// f(z).
    #[inline(always)]
    pub fn value<T: Real>(self, z: T) -> T {
        match self {
            Activation::Sigmoid => {
                // 1/(1+e^{−z}) for z ≥ 0, e^{z}/(1+e^{z}) for z < 0: one rounding each, as the
                // oracle computes them (so generic sigmoid values have the oracle's bits).
                let e = (-z.abs()).exp();
                if z >= T::ZERO { T::ONE / (T::ONE + e) } else { e / (T::ONE + e) }
            }
            Activation::Tanh => z.tanh(),
            Activation::Relu => {
                if z > T::ZERO || z.is_nan() {
                    z
                } else {
                    T::ZERO
                }
            }
            Activation::LeakyRelu { slope } => {
                if z > T::ZERO || z.is_nan() {
                    z
                } else {
                    T::from_f64(slope) * z
                }
            }
            Activation::Softplus => z.max(T::ZERO) + (-z.abs()).exp().ln_1p(),
            Activation::Identity => z,
            Activation::Gelu => gelu_silu::gelu(z),
            Activation::Silu => gelu_silu::silu(z),
        }
    }

    /// f′(z).
    #[inline(always)]
    pub fn derivative<T: Real>(self, z: T) -> T {
        match self {
            Activation::Sigmoid => {
                let e = (-z.abs()).exp();
                e / ((T::ONE + e) * (T::ONE + e))
            }
            Activation::Tanh => {
                let e = (-(z.abs() + z.abs())).exp();
                T::from_f64(4.0) * e / ((T::ONE + e) * (T::ONE + e))
            }
            Activation::Relu => step(z, T::ONE, T::ZERO),
            Activation::LeakyRelu { slope } => step(z, T::ONE, T::from_f64(slope)),
            Activation::Softplus => Activation::Sigmoid.value(z),
            Activation::Identity => T::ONE,
            Activation::Gelu => gelu_silu::gelu_derivative(z),
            Activation::Silu => gelu_silu::silu_derivative(z),
        }
    }

    /// The name as the report and model files spell it.
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
}

#[inline(always)]
fn step<T: Real>(z: T, pos: T, nonpos: T) -> T {
    if z > T::ZERO {
        pos
    } else if z.is_nan() {
        z
    } else {
        nonpos
    }
}
