//! tanh and its derivative from one vectorisable expm1, for the forward pass of tanh layers.
//!
//! With x = −2|z| ≤ 0 and e = eˣ, m = eˣ − 1 (both from one polynomial):
//!
//! ```text
//! ρ = 1/(1 + e)                           (the one division)
//! tanh z = sign(z)·(−m)·ρ                (no cancellation near 0: m is computed directly)
//! tanh′ z = 4e·ρ²                        (the oracle's 4e/(1+e)², which never cancels to 0)
//! eˣ = 2ⁿ·(1 + em1(r)),  eˣ − 1 = 2ⁿ·em1(r) + (2ⁿ − 1),  n = round(x·log₂e), |r| ≤ ln2/2
//! em1(r) = r + r²·q(r),  q = the Taylor polynomial of (eʳ − 1 − r)/r² to degree 11
//! ```
//!
//! The truncation error of q is below r¹⁴/14! ≈ 4e−18 on |r| ≤ ln2/2, so the results are within
//! a few ulps of libm (`TANH_FAST_MAX_ULPS` in the tests). Arguments with 2|z| > 700 (where 2ⁿ
//! would leave the normal range), and NaN, take the portable formulas of [`Activation`] instead.
//! `f32` runs the same arithmetic in `f64` and rounds once at the end.

use crate::activation::Activation;
use crate::real::Real;

/// 1.5·2⁵²: adding it to |y| < 2⁵¹ rounds y to an integer held in the low mantissa bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// ln 2 with its low 32 bits cleared (fdlibm's `ln2HI`).
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// ln 2 − LN2_HI.
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// Beyond this |z| the fast path would leave 2ⁿ's normal range.
const FAST_LIMIT: f64 = 350.0;

/// 1/k! for k = 2…13: q(r) = Σ r^{k−2}/k!.
const Q: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// (tanh z, tanh′ z) for |z| ≤ [`FAST_LIMIT`] (see the module docs); garbage otherwise.
#[inline(always)]
pub(crate) fn tanh_and_derivative(z: f64) -> (f64, f64) {
    let ax = z.abs();
    let ax = if ax > FAST_LIMIT { FAST_LIMIT } else { ax };
    let x = -2.0 * ax;
    let t = x.mul_add(std::f64::consts::LOG2_E, SHIFTER);
    let n = t - SHIFTER;
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    let mut q = Q[11];
    for &c in Q[..11].iter().rev() {
        q = q.mul_add(r, c);
    }
    let em1 = (r * r).mul_add(q, r);
    // 2ⁿ from bits: n + 1023 in the exponent field (n ∈ [−1010, 0]).
    let s = f64::from_bits((t.to_bits().wrapping_sub(SHIFTER.to_bits())).wrapping_add(1023) << 52);
    let m = s.mul_add(em1, s - 1.0);
    let e = s.mul_add(em1, s);
    let r1 = 1.0 / (1.0 + e);
    let value = (-m * r1).copysign(z);
    let derivative = 4.0 * e * (r1 * r1);
    (value, derivative)
}

/// z ← tanh z (in place) and d ← tanh′ z over a slice (vectorised; see the module docs).
#[inline(always)]
pub(crate) fn tanh_in_place<T: Real>(za: &mut [T], d: &mut [T]) {
    let fast = za.iter().fold(true, |ok, &z| ok & (z.to_f64().abs() <= FAST_LIMIT));
    if fast {
        for (zi, di) in za.iter_mut().zip(d.iter_mut()) {
            let (v, g) = tanh_and_derivative(zi.to_f64());
            *zi = T::from_f64(v);
            *di = T::from_f64(g);
        }
    } else {
        // Rare (|z| > 350 or NaN somewhere in the slice): the portable formulas throughout.
        for (zi, di) in za.iter_mut().zip(d.iter_mut()) {
            *di = Activation::Tanh.derivative(*zi);
            *zi = Activation::Tanh.value(*zi);
        }
    }
}
