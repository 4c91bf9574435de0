//! GELU (z·Φ(z)) and SiLU (z·σ(z)) for [`Real`], in the oracle's formulas and order of operations
//! (`scalar`'s `activation/gelu_silu.rs` derives them: the split of x² and of −x/√2 that keeps Φ
//! and φ relatively accurate in their tails, f′ = φ·(x + Φ/φ) left of −1, and the suprema), so
//! that `f64` values and derivatives have the oracle's bits. The logarithmic forms, for the
//! extended-exponent chains, are `f64` only.

#![allow(
    clippy::excessive_precision,
    reason = "constants written to the digits their sources give, which round to the intended f64"
)]

use super::Activation;
use crate::math::erf::{erfc, erfcx};
use crate::real::Real;
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

/// x₀ ≈ 2.3994, the root of x·tanh(x/2) = 2, where SiLU′ is largest (the oracle's `SILU_ARGMAX`).
pub const SILU_ARGMAX: f64 = 2.399_357_280_515_467_7;

/// 1/√2 − `FRAC_1_SQRT_2` (the oracle's constant).
const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_456_5e-17;
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
const SQRT_FRAC_PI_2: f64 = 1.253_314_137_315_500_3;

/// (1/√2 in `T`, the rest of 1/√2): for `f64`, `FRAC_1_SQRT_2` and `FRAC_1_SQRT_2_LO`.
fn frac_1_sqrt_2<T: Real>() -> (T, T) {
    let hi = T::from_f64(FRAC_1_SQRT_2);
    (hi, T::from_f64((FRAC_1_SQRT_2 - hi.to_f64()) + FRAC_1_SQRT_2_LO))
}

/// Φ(x), the argument's rounding carried to first order.
pub(crate) fn normal_cdf<T: Real>(x: T) -> T {
    let (c, c_lo) = frac_1_sqrt_2::<T>();
    let u = -x * c;
    let du = (-x).mul_add(c, -u) - x * c_lo;
    let e = erfc(u);
    let half = T::from_f64(0.5);
    if !u.is_finite() || du == T::ZERO || e == T::ZERO {
        return half * e;
    }
    half * e * (T::ONE - du * T::from_f64(FRAC_2_SQRT_PI) / erfcx(u))
}

/// φ(x).
pub(crate) fn normal_density<T: Real>(x: T) -> T {
    let hi = x * x;
    if hi > T::from_f64(1500.0) {
        return T::ZERO;
    }
    let lo = x.mul_add(x, -hi);
    T::from_f64(FRAC_1_SQRT_2PI) * ((T::from_f64(-0.5) * hi).exp() * (T::ONE - T::from_f64(0.5) * lo))
}

/// Φ(x)/φ(x).
fn cdf_over_density<T: Real>(x: T) -> T {
    T::from_f64(SQRT_FRAC_PI_2) * erfcx(-x * T::from_f64(FRAC_1_SQRT_2))
}

pub(crate) fn gelu<T: Real>(x: T) -> T {
    x * normal_cdf(x)
}

pub(crate) fn gelu_derivative<T: Real>(x: T) -> T {
    if x < -T::ONE { normal_density(x) * (x + cdf_over_density(x)) } else { normal_cdf(x) + x * normal_density(x) }
}

pub(crate) fn silu<T: Real>(x: T) -> T {
    x * Activation::Sigmoid.value(x)
}

pub(crate) fn silu_derivative<T: Real>(x: T) -> T {
    Activation::Sigmoid.value(x) * (T::ONE + x * Activation::Sigmoid.value(-x))
}

fn ln_normal_density(x: f64) -> f64 {
    let hi = x * x;
    let lo = if hi.is_finite() { x.mul_add(x, -hi) } else { 0.0 };
    -0.5 * hi - 0.5 * lo - LN_SQRT_2PI
}

/// ln |f′(x)| for GELU and SiLU, finite where f′ underflows.
pub(crate) fn ln_abs_derivative(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Gelu if x < -1.0 => ln_normal_density(x) + (x + cdf_over_density(x)).abs().ln(),
        Activation::Gelu => gelu_derivative(x).abs().ln(),
        _ => -Activation::Softplus.value(-x) + (1.0 + x * Activation::Sigmoid.value(-x)).abs().ln(),
    }
}

/// ln |f(x)| for GELU and SiLU, finite where f underflows.
pub(crate) fn ln_abs_value(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Gelu => x.abs().ln() + ln_normal_density(x) + cdf_over_density(x).ln(),
        _ => x.abs().ln() - Activation::Softplus.value(-x),
    }
}

/// The factor g of f(x) = x·g(x): Φ for GELU, σ for SiLU.
pub(crate) fn factor(act: Activation, x: f64) -> f64 {
    if act == Activation::Gelu { normal_cdf(x) } else { Activation::Sigmoid.value(x) }
}
