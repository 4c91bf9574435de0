//! GELU and SiLU: f(x) = x·Φ(x) and f(x) = x·σ(x), with φ the standard normal density and Φ its
//! distribution function.
//!
//! Derivatives: GELU′ = Φ + x·φ, SiLU′ = σ(x)·(1 + x·σ(−x)). Both satisfy f′(−x) = 1 − f′(x), are
//! negative left of a zero (GELU′ at x ≈ −0.7518, SiLU′ at x ≈ −1.2785) and tend to 0 from below
//! as x → −∞. Their second derivatives, GELU″ = φ(x)·(2 − x²) and
//! SiLU″ = σ′(x)·(2 − x·tanh(x/2)), vanish at x = ±√2 and at ±x₀, x₀ the root of
//! x·tanh(x/2) = 2 ([`SILU_ARGMAX`]); so
//! - sup |GELU′| = GELU′(√2) = ½(1 + erf 1) + 1/(e√π) ≈ 1.1289 (its infimum, GELU′(−√2) ≈ −0.1289,
//!   is smaller in magnitude),
//! - sup |SiLU′| = SiLU′(x₀) ≈ 1.0998 (infimum SiLU′(−x₀) ≈ −0.0998).
//!
//! Exactness: x² enters through e^{−x²/2} with its rounding error carried (an FMA), and Φ's
//! argument x/√2 with its own (1/√2 held in two parts); so Φ and φ keep a few ulp of relative
//! accuracy where they are tiny. Left of the activations' minima, f′ is written φ·(x + Φ/φ) and
//! σ(x)·(1 + x·σ(−x)), products of factors that do not cancel; near the zero of f′, f′'s absolute
//! error is that of its terms (a few 1e−17), so its relative error grows as |f′| shrinks.

#![allow(
    clippy::excessive_precision,
    reason = "constants written to the digits their sources give, which round to the intended f64"
)]

use super::sigmoid;
use crate::erf::{erfc, erfcx};
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

/// 1/√2 − `FRAC_1_SQRT_2` (1/√2 to 106 bits with it; derived in the tests from an FMA).
const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_456_5e-17;
/// 1/√(2π).
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// √(π/2): Φ(x)/φ(x) = √(π/2)·erfcx(−x/√2).
const SQRT_FRAC_PI_2: f64 = 1.253_314_137_315_500_3;

/// x₀ ≈ 2.3994, the root of x·tanh(x/2) = 2, where SiLU′ is largest (the tests solve for it).
pub const SILU_ARGMAX: f64 = 2.399_357_280_515_467_7;

/// (−x/√2 rounded, its rounding error).
fn half_sqrt2_split(x: f64) -> (f64, f64) {
    let hi = -x * FRAC_1_SQRT_2;
    let lo = (-x).mul_add(FRAC_1_SQRT_2, -hi) - x * FRAC_1_SQRT_2_LO;
    (hi, lo)
}

/// Φ(x) = ½·erfc(−x/√2), with the argument's rounding error carried to first order:
/// erfc(u + δ) = erfc(u)·(1 − δ·(2/√π)/erfcx(u)).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    let (u, du) = half_sqrt2_split(x);
    let e = erfc(u);
    if !u.is_finite() || du == 0.0 || e == 0.0 {
        return 0.5 * e;
    }
    0.5 * e * (1.0 - du * FRAC_2_SQRT_PI / erfcx(u))
}

/// φ(x) = e^{−x²/2}/√(2π), x² as an exact sum hi + lo.
pub(crate) fn normal_density(x: f64) -> f64 {
    let hi = x * x;
    if hi > 1500.0 {
        // e^{−750} is below the smallest subnormal (and hi may be ∞, whose lo is NaN).
        return 0.0;
    }
    let lo = x.mul_add(x, -hi);
    FRAC_1_SQRT_2PI * ((-0.5 * hi).exp() * (1.0 - 0.5 * lo))
}

/// ln φ(x) = −x²/2 − ln √(2π), finite until x² overflows.
fn ln_normal_density(x: f64) -> f64 {
    let hi = x * x;
    let lo = if hi.is_finite() { x.mul_add(x, -hi) } else { 0.0 };
    -0.5 * hi - 0.5 * lo - LN_SQRT_2PI
}

/// Φ(x)/φ(x), the Mills ratio of the left tail (≈ 1/|x| as x → −∞).
fn cdf_over_density(x: f64) -> f64 {
    SQRT_FRAC_PI_2 * erfcx(-x * FRAC_1_SQRT_2)
}

/// GELU(x) = x·Φ(x).
pub(crate) fn gelu(x: f64) -> f64 {
    x * normal_cdf(x)
}

/// GELU′(x) = Φ(x) + x·φ(x); for x < −1 as φ(x)·(x + Φ(x)/φ(x)), which does not cancel.
pub(crate) fn gelu_derivative(x: f64) -> f64 {
    if x < -1.0 { normal_density(x) * (x + cdf_over_density(x)) } else { normal_cdf(x) + x * normal_density(x) }
}

/// ln |GELU′(x)|, finite where GELU′ underflows (down to x ≈ −1.9e154, where x²/2 overflows).
pub(crate) fn gelu_ln_abs_derivative(x: f64) -> f64 {
    if x < -1.0 { ln_normal_density(x) + (x + cdf_over_density(x)).abs().ln() } else { gelu_derivative(x).abs().ln() }
}

/// ln |GELU(x)| = ln |x| + ln φ(x) + ln(Φ(x)/φ(x)), finite where GELU(x) underflows.
pub(crate) fn gelu_ln_abs_value(x: f64) -> f64 {
    x.abs().ln() + ln_normal_density(x) + cdf_over_density(x).ln()
}

/// SiLU(x) = x·σ(x).
pub(crate) fn silu(x: f64) -> f64 {
    x * sigmoid(x)
}

/// SiLU′(x) = σ(x)·(1 + x·σ(−x)).
pub(crate) fn silu_derivative(x: f64) -> f64 {
    sigmoid(x) * (1.0 + x * sigmoid(-x))
}

/// ln |SiLU′(x)| = ln σ(x) + ln |1 + x·σ(−x)|, ln σ(x) = −softplus(−x).
pub(crate) fn silu_ln_abs_derivative(x: f64) -> f64 {
    -softplus(-x) + (1.0 + x * sigmoid(-x)).abs().ln()
}

/// ln |SiLU(x)| = ln |x| − softplus(−x).
pub(crate) fn silu_ln_abs_value(x: f64) -> f64 {
    x.abs().ln() - softplus(-x)
}

fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constants_are_what_they_claim() {
        // c² − ½ = (c − 1/√2)(c + 1/√2) ≈ −lo·√2, with c² − ½ exact through an FMA.
        let c = FRAC_1_SQRT_2;
        let lo = -c.mul_add(c, -0.5) / (2.0 * c);
        assert!((lo - FRAC_1_SQRT_2_LO).abs() <= 1e-15 * lo.abs(), "{lo}");
        let two_pi = 2.0 * std::f64::consts::PI;
        assert!((FRAC_1_SQRT_2PI - two_pi.sqrt().recip()).abs() <= f64::EPSILON * FRAC_1_SQRT_2PI);
        assert!((LN_SQRT_2PI - 0.5 * two_pi.ln()).abs() <= f64::EPSILON * LN_SQRT_2PI);
        let half_pi = std::f64::consts::FRAC_PI_2;
        assert!((SQRT_FRAC_PI_2 - half_pi.sqrt()).abs() <= f64::EPSILON * SQRT_FRAC_PI_2);
    }
}
