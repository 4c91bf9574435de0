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
//! a few ulps of libm (`TANH_F64_MAX_ULPS` in the tests). Arguments with 2|z| > 700 (where 2ⁿ
//! would leave the normal range), and NaN, take the portable formulas of [`Activation`] instead.
//! `f32` runs the same arithmetic in `f64` with q to degree 6 only (what f32 needs) and rounds
//! once at the end. (A native f32 version with 16 lanes would be within 2–4 f32 ulps instead of
//! ≈ 0.5, and through deep nets that breaks the f32 tolerance against the oracle.)

use super::{LN2_HI_F64 as LN2_HI, LN2_LO_F64 as LN2_LO, SHIFTER_F64 as SHIFTER};
use crate::activation::Activation;
use crate::real::Real;

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

/// Terms of q that `f32` needs: k = 2…8 (truncation below r⁹/9! ≈ 6e−10 relative, 1% of an
/// f32 ulp), so one rounding to f32 at the end gives tanh within ≈ 0.5 ulp.
const Q_TERMS_F32: usize = 7;

/// (tanh z, tanh′ z) for f32 arguments, computed in f64 with the shorter q and rounded once.
#[inline(always)]
pub(crate) fn tanh_and_derivative_f32(z: f32) -> (f32, f32) {
    let z = f64::from(z);
    let ax = z.abs();
    let ax = if ax > FAST_LIMIT { FAST_LIMIT } else { ax };
    let x = -2.0 * ax;
    let t = x.mul_add(std::f64::consts::LOG2_E, SHIFTER);
    let n = t - SHIFTER;
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    let mut q = Q[Q_TERMS_F32 - 1];
    for &c in Q[..Q_TERMS_F32 - 1].iter().rev() {
        q = q.mul_add(r, c);
    }
    let em1 = (r * r).mul_add(q, r);
    let s = f64::from_bits((t.to_bits().wrapping_sub(SHIFTER.to_bits())).wrapping_add(1023) << 52);
    let m = s.mul_add(em1, s - 1.0);
    let e = s.mul_add(em1, s);
    let r1 = 1.0 / (1.0 + e);
    let value = (-m * r1).copysign(z);
    let derivative = 4.0 * e * (r1 * r1);
    (value as f32, derivative as f32)
}

/// z ← tanh z (in place) and d ← tanh′ z over an `f64` slice (vectorised; see the module docs):
/// [`Real::tanh_in_place`] for `f64`.
#[inline(always)]
pub(crate) fn tanh_in_place_f64(za: &mut [f64], d: &mut [f64]) {
    let fast = za.iter().fold(true, |ok, &z| ok & (z.abs() <= FAST_LIMIT));
    if fast {
        for (zi, di) in za.iter_mut().zip(d.iter_mut()) {
            (*zi, *di) = tanh_and_derivative(*zi);
        }
    } else {
        portable(za, d);
    }
}

/// [`tanh_in_place_f64`] for `f32`, through [`tanh_and_derivative_f32`].
#[inline(always)]
pub(crate) fn tanh_in_place_f32(za: &mut [f32], d: &mut [f32]) {
    let fast = za.iter().fold(true, |ok, &z| ok & (f64::from(z).abs() <= FAST_LIMIT));
    if fast {
        for (zi, di) in za.iter_mut().zip(d.iter_mut()) {
            (*zi, *di) = tanh_and_derivative_f32(*zi);
        }
    } else {
        portable(za, d);
    }
}

/// Rare (a large |z| or NaN somewhere in the slice): the portable formulas throughout.
#[cold]
fn portable<T: Real>(za: &mut [T], d: &mut [T]) {
    for (zi, di) in za.iter_mut().zip(d.iter_mut()) {
        *di = Activation::Tanh.derivative(*zi);
        *zi = Activation::Tanh.value(*zi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 path against f64's tanh rounded to f32, and its derivative against 4e/(1+e)²
    /// computed in f64 (both libm-accurate): computed in f64 to ≈ 1e−9 and rounded once, the
    /// f32 results may differ from the correctly rounded ones only where the true value lies
    /// within ≈ 1e−9 relative of a rounding boundary, by 1 ulp.
    const TANH_F32_MAX_ULPS: u32 = 1;
    /// The same for the derivative.
    const TANH_F32_DERIVATIVE_MAX_ULPS: u32 = 1;

    /// The f64 fast path against libm's tanh, over every scale up to the fast limit: measured 4
    /// ulps (the polynomial's few ulps, the division's one rounding, and libm's own ≤ 1 ulp).
    const TANH_F64_MAX_ULPS: u64 = 4;
    /// Its derivative against 4e/(1+e)² with libm's exp: measured 4 ulps.
    const TANH_F64_DERIVATIVE_MAX_ULPS: u64 = 4;

    fn ulps(a: f32, b: f32) -> u32 {
        let key = |v: f32| {
            let bits = v.to_bits() as i32;
            if bits < 0 { i32::MIN.wrapping_sub(bits) } else { bits }
        };
        key(a).wrapping_sub(key(b)).unsigned_abs()
    }

    #[test]
    fn f32_tanh_is_within_one_ulp_of_the_correctly_rounded_one() {
        let mut worst = (0, 0);
        // 0, tiny, every scale up to the fast limit, both signs.
        let mut zs: Vec<f32> = vec![0.0, -0.0, 1e-30, 1e-8, 40.0, -40.0];
        zs.extend((0..200_001).map(|i| (i as f32 - 100_000.0) * 4e-4));
        zs.extend((0..2_000).map(|i| (i as f32 - 1_000.0) * 0.039));
        for &z in &zs {
            let (v, g) = tanh_and_derivative_f32(z);
            let want = (z as f64).tanh();
            let e = (-2.0 * (z as f64).abs()).exp();
            let want_g = 4.0 * e / ((1.0 + e) * (1.0 + e));
            worst.0 = worst.0.max(ulps(v, want as f32));
            if want_g > 1e-30 {
                worst.1 = worst.1.max(ulps(g, want_g as f32));
            }
            assert_eq!(v.is_sign_negative(), z.is_sign_negative(), "sign of tanh({z})");
        }
        eprintln!("worst f32 tanh, tanh′: {worst:?} ulps");
        assert!(worst.0 <= TANH_F32_MAX_ULPS, "tanh: {} ulps", worst.0);
        assert!(worst.1 <= TANH_F32_DERIVATIVE_MAX_ULPS, "tanh′: {} ulps", worst.1);
    }

    fn ulps_f64(a: f64, b: f64) -> u64 {
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 { i64::MIN.wrapping_sub(bits) } else { bits }
        };
        key(a).wrapping_sub(key(b)).unsigned_abs()
    }

    #[test]
    fn f64_tanh_is_within_a_few_ulps_of_libm() {
        let mut worst = (0, 0);
        let mut zs: Vec<f64> = vec![0.0, -0.0, 1e-300, 1e-30, 1e-8, 40.0, -40.0, 349.0, -350.0];
        zs.extend((0..400_001).map(|i| (i as f64 - 200_000.0) * 2e-4));
        zs.extend((0..20_000).map(|i| (i as f64 - 10_000.0) * 0.0349));
        zs.extend((0..2_000).map(|i| 1e-12 * 1.02f64.powi(i)));
        for &z in &zs {
            let (v, g) = tanh_and_derivative(z);
            let e = (-2.0 * z.abs()).exp();
            let want_g = 4.0 * e / ((1.0 + e) * (1.0 + e));
            worst.0 = worst.0.max(ulps_f64(v, z.tanh()));
            if want_g > 1e-300 {
                worst.1 = worst.1.max(ulps_f64(g, want_g));
            }
            assert_eq!(v.is_sign_negative(), z.is_sign_negative(), "sign of tanh({z})");
        }
        eprintln!("worst f64 tanh, tanh′: {worst:?} ulps");
        assert!(worst.0 <= TANH_F64_MAX_ULPS, "tanh: {} ulps", worst.0);
        assert!(worst.1 <= TANH_F64_DERIVATIVE_MAX_ULPS, "tanh′: {} ulps", worst.1);
    }

    #[test]
    fn the_f64_and_f32_slices_take_the_portable_path_beyond_the_fast_limit() {
        let mut z = [0.5f32, 400.0, f32::NAN];
        let mut d = [0.0f32; 3];
        Real::tanh_in_place(&mut z, &mut d);
        assert_eq!(z[1], 1.0);
        assert!(z[2].is_nan());
        let mut z = [0.5f64, 400.0];
        let mut d = [0.0f64; 2];
        Real::tanh_in_place(&mut z, &mut d);
        assert_eq!((z[1], d[1]), (1.0, 0.0));
    }
}
