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

    /// (f(z), f′(z)), with the bits of [`Activation::value`] and [`Activation::derivative`]:
    /// σ and softplus compute the e^{−|z|} the two share once.
    #[inline(always)]
    pub fn value_and_derivative<T: Real>(self, z: T) -> (T, T) {
        match self {
            Activation::Sigmoid | Activation::Softplus => {
                let e = (-z.abs()).exp();
                let sigmoid = if z >= T::ZERO { T::ONE / (T::ONE + e) } else { e / (T::ONE + e) };
                if self == Activation::Sigmoid {
                    (sigmoid, e / ((T::ONE + e) * (T::ONE + e)))
                } else {
                    (z.max(T::ZERO) + e.ln_1p(), sigmoid)
                }
            }
            _ => (self.value(z), self.derivative(z)),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One of each activation, for unit tests across them.
    pub(crate) const ALL: [Activation; 8] = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.01 },
        Activation::Softplus,
        Activation::Identity,
        Activation::Gelu,
        Activation::Silu,
    ];

    #[test]
    fn value_and_derivative_have_the_bits_of_value_and_derivative() {
        let zs = [-800.0, -40.0, -1.5, -1e-300, -0.0, 0.0, 5e-324, 0.7, 3.0, 40.0, 800.0, f64::INFINITY, f64::NAN];
        for f in ALL {
            for z in zs {
                let (v, d) = f.value_and_derivative(z);
                assert_eq!(v.to_bits(), f.value(z).to_bits(), "{f:?} f({z})");
                assert_eq!(d.to_bits(), f.derivative(z).to_bits(), "{f:?} f′({z})");
                let (v, d) = f.value_and_derivative(z as f32);
                assert_eq!(v.to_bits(), f.value(z as f32).to_bits(), "{f:?} f({z}) in f32");
                assert_eq!(d.to_bits(), f.derivative(z as f32).to_bits(), "{f:?} f′({z}) in f32");
            }
        }
    }
}
