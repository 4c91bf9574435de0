//! A vectorisable `exp` and the sigmoid slice kernel built on it.
//!
//! libm's `exp` is a function call with branches, so a loop that calls it runs one element at a
//! time. [`Real::exp_vectorisable`] is plain branch-free arithmetic that LLVM turns into
//! AVX2 / AVX-512 code when the caller runs at those levels (see [`crate::simd`]):
//!
//! ```text
//! eˣ = 2ᵏ · eʳ,   k = round(x·log₂e),   r = x − k·ln2_hi − k·ln2_lo   (Cody–Waite, |r| ≤ ln2/2)
//! eʳ ≈ 1 + r + r²·q(r)                  (q: near-minimax polynomial, Horner with FMA)
//! 2ᵏ = 2^⌊k/2⌉ · 2^(k−⌊k/2⌉)            (two exact powers, so subnormal results round once)
//! ```
//!
//! * `f64`: q of degree 9 (eʳ of degree 11); fitted relative error 1.6e−17 on [−ln2/2, ln2/2]
//!   before rounding. Measured against libm: see `EXP_F64_MAX_ULPS` in the tests.
//! * `f32`: q of degree 4 (eʳ of degree 6); fitted relative error 1.0e−8 (0.17 ulp of `f32`).
//! * Edge cases: arguments below −746 (`f64`) / −104 (`f32`) give +0; results in the subnormal
//!   range are correctly scaled (one final rounding); arguments above 710 / 89 give +∞; NaN
//!   gives NaN; ±∞ give +∞ and 0.
//!
//! k = round(x·log₂e) uses the "shifter" trick: adding 1.5·2⁵² (1.5·2²³ for `f32`) rounds to an
//! integer, whose two's complement then sits in the low mantissa bits, so 2ᵏ is built with
//! integer adds and shifts only (no float→int conversion, which would need saturation code).
//!
//! The coefficients come from a Chebyshev fit of (eʳ − 1 − r)/r² on [−ln2/2, ln2/2]
//! (`mpmath.chebyfit`, 50 digits), rounded to the working precision.

use super::{LN2_HI_F64, LN2_LO_F64, SHIFTER_F64};
use crate::real::Real;
use crate::simd::kernel;

/// q(r) coefficients for f64, constant term first.
const Q_F64: [f64; 10] = [
    0.500_000_000_000_000_1,
    0.166_666_666_666_666_69,
    0.041_666_666_666_624_164,
    0.008_333_333_333_330_065,
    0.001_388_888_891_719_671_9,
    0.000_198_412_698_630_405_45,
    2.480_152_132_236_869_2e-5,
    2.755_726_848_031_002_4e-6,
    2.762_007_587_998_336_7e-7,
    2.510_037_583_256_123_4e-8,
];

/// eˣ for `f64`, branch-free (see the module docs).
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    // Clamp with comparisons, which let NaN through (f64::clamp would too, but min/max would not).
    let x = if x < -746.0 { -746.0 } else { x };
    let x = if x > 710.0 { 710.0 } else { x };
    let t = x.mul_add(std::f64::consts::LOG2_E, SHIFTER_F64);
    let k = t - SHIFTER_F64;
    let r = k.mul_add(-LN2_HI_F64, x);
    let r = k.mul_add(-LN2_LO_F64, r);
    let r2 = r * r;
    let p = r2.mul_add(q_f64(r, r2), r) + 1.0;
    // k ∈ [−1076, 1024]; split it into two halves in [−538, 512] so both powers are normal.
    let k1 = (k * 0.5 + SHIFTER_F64) - SHIFTER_F64;
    let k2 = k - k1;
    p * pow2_f64(k1) * pow2_f64(k2)
}

/// q(r) for f64 split into even and odd parts in r² (same operation count as Horner, half the
/// dependency depth, which matters when many of these are in flight at once).
#[inline(always)]
fn q_f64(r: f64, r2: f64) -> f64 {
    let mut even = Q_F64[8];
    even = even.mul_add(r2, Q_F64[6]);
    even = even.mul_add(r2, Q_F64[4]);
    even = even.mul_add(r2, Q_F64[2]);
    even = even.mul_add(r2, Q_F64[0]);
    let mut odd = Q_F64[9];
    odd = odd.mul_add(r2, Q_F64[7]);
    odd = odd.mul_add(r2, Q_F64[5]);
    odd = odd.mul_add(r2, Q_F64[3]);
    odd = odd.mul_add(r2, Q_F64[1]);
    odd.mul_add(r, even)
}

/// eˣ for x ≤ 0 (positive x give wrong results; NaN gives NaN), as [`exp_f64`] but with a
/// cheaper scaling: since k ≤ 0, 2^(k+64) is always a normal number, so it is added straight
/// into the exponent field of p (exact) and one multiplication by 2⁻⁶⁴ rounds once into the
/// subnormals where the result is that small.
#[inline(always)]
pub fn exp_nonpositive_f64(x: f64) -> f64 {
    let x = if x < -746.0 { -746.0 } else { x };
    let t = x.mul_add(std::f64::consts::LOG2_E, SHIFTER_F64);
    let k = t - SHIFTER_F64;
    let r = k.mul_add(-LN2_HI_F64, x);
    let r = k.mul_add(-LN2_LO_F64, r);
    let r2 = r * r;
    let p = r2.mul_add(q_f64(r, r2), r) + 1.0;
    // p ∈ [0.7, 1.5] has biased exponent 1022 or 1023; adding k + 64 ∈ [−1012, 64] keeps it in
    // [10, 1087]: a normal number, exactly p·2^(k+64).
    let bits = p.to_bits().wrapping_add(t.to_bits().wrapping_add(64) << 52);
    let e = f64::from_bits(bits) * f64::from_bits((1023u64 - 64) << 52);
    // The bit arithmetic could turn a NaN into a number: keep NaN explicitly.
    if x.is_nan() { x } else { e }
}

/// 2ᵏ for an integer-valued `k` in [−1022, 1023], from bits.
#[inline(always)]
fn pow2_f64(k: f64) -> f64 {
    // (k + shifter) has k (two's complement) in its low bits; the shifter's own bits shift out.
    f64::from_bits((k + SHIFTER_F64).to_bits().wrapping_add(1023) << 52)
}

/// 1/d for d ∈ [1, 2], by Newton–Raphson with FMA instead of a division.
///
/// A `f64` vector division is the slowest instruction in the sigmoid (16 cycles per 8 lanes on
/// recent Intel cores, against two FMAs per cycle); an `f32` one is about three times cheaper
/// per lane. So: r₀ = 1/d in `f32`, then rₖ₊₁ = rₖ + rₖ·(1 − d·rₖ) in `f64`, each step squaring
/// the relative error, which leaves only the final rounding (≤ 1 ulp; measured in the tests,
/// `RECIP_MAX_ULPS`). Meant for d ∈ [1, 2]; NaN stays NaN.
#[inline(always)]
pub fn recip_1_to_2_f64(d: f64) -> f64 {
    // Seed: the f32 reciprocal (correctly rounded, relative error ≤ 2⁻²⁴ plus the rounding of d
    // to f32, ≤ 2⁻²⁴), then two Newton steps: 2⁻²³ → 2⁻⁴⁶ → 2⁻⁹².
    let mut r = (1.0f32 / d as f32) as f64;
    for _ in 0..2 {
        r = r.mul_add(d.mul_add(-r, 1.0), r);
    }
    r
}

/// 1/d in `f32`: a plain division (16 lanes per zmm make it cheap enough, and it is exact).
#[inline(always)]
pub(crate) fn recip_1_to_2_f32(d: f32) -> f32 {
    1.0 / d
}

/// 1.5·2²³, the `f32` shifter.
const SHIFTER_F32: f32 = 12_582_912.0;
/// ln 2 with its low 12 bits cleared (0x3f317200).
const LN2_HI_F32: f32 = 0.693_145_75;
/// ln 2 − LN2_HI_F32.
const LN2_LO_F32: f32 = 1.428_606_8e-6;
/// q(r) coefficients for f32, constant term first.
const Q_F32: [f32; 5] = [0.5, 0.166_665_77, 0.041_666_555, 0.008_363_173, 0.001_392_617_6];

/// eˣ for `f32`, branch-free (see the module docs).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    let t = x.mul_add(std::f32::consts::LOG2_E, SHIFTER_F32);
    let k = t - SHIFTER_F32;
    let r = k.mul_add(-LN2_HI_F32, x);
    let r = k.mul_add(-LN2_LO_F32, r);
    let mut q = Q_F32[4];
    q = q.mul_add(r, Q_F32[3]);
    q = q.mul_add(r, Q_F32[2]);
    q = q.mul_add(r, Q_F32[1]);
    q = q.mul_add(r, Q_F32[0]);
    let p = (r * r).mul_add(q, r) + 1.0;
    let k1 = (k * 0.5 + SHIFTER_F32) - SHIFTER_F32;
    let k2 = k - k1;
    p * pow2_f32(k1) * pow2_f32(k2)
}

/// eˣ for x ≤ 0 in `f32` (see [`exp_nonpositive_f64`]; here the offset is 2⁺³², since k ≥ −150).
#[inline(always)]
pub fn exp_nonpositive_f32(x: f32) -> f32 {
    let x = if x < -104.0 { -104.0 } else { x };
    let t = x.mul_add(std::f32::consts::LOG2_E, SHIFTER_F32);
    let k = t - SHIFTER_F32;
    let r = k.mul_add(-LN2_HI_F32, x);
    let r = k.mul_add(-LN2_LO_F32, r);
    let mut q = Q_F32[4];
    q = q.mul_add(r, Q_F32[3]);
    q = q.mul_add(r, Q_F32[2]);
    q = q.mul_add(r, Q_F32[1]);
    q = q.mul_add(r, Q_F32[0]);
    let p = (r * r).mul_add(q, r) + 1.0;
    // p's biased exponent is 126 or 127; adding k + 32 ∈ [−118, 32] keeps it in [8, 159].
    let bits = p.to_bits().wrapping_add(t.to_bits().wrapping_add(32) << 23);
    let e = f32::from_bits(bits) * f32::from_bits((127u32 - 32) << 23);
    if x.is_nan() { x } else { e }
}

/// 2ᵏ for an integer-valued `k` in [−126, 127], from bits.
#[inline(always)]
fn pow2_f32(k: f32) -> f32 {
    f32::from_bits((k + SHIFTER_F32).to_bits().wrapping_add(127) << 23)
}

/// The sigmoid's parts at z, from one exp and one reciprocal (no division for `f64`):
///
/// ```text
/// e = e^{−|z|},  r = 1/(1+e),  s = e·r = σ(−|z|) ∈ [0, ½]   — the small side, to the last bit
/// σ(z)  = r (z ≥ 0)   or   s (z < 0)
/// σ′(z) = s·r = e/(1+e)²                                  — no 1 − σ, which is 0 for z ≳ 37
/// ```
///
/// Returns (σ(z), σ′(z)), each within a few ulps of the oracle's formulas (the tolerances are
/// named and measured in the tests). NaN gives NaN.
#[inline(always)]
pub fn sigmoid_parts<T: Real>(z: T) -> (T, T) {
    sigmoid_parts_from_exp(z, sigmoid_exp(z))
}

/// e^{−|z|}, the first half of [`sigmoid_parts`].
#[inline(always)]
pub(crate) fn sigmoid_exp<T: Real>(z: T) -> T {
    T::exp_nonpositive(-z.abs())
}

/// The second half of [`sigmoid_parts`], from z and e = [`sigmoid_exp`]`(z)`.
#[inline(always)]
pub(crate) fn sigmoid_parts_from_exp<T: Real>(z: T, e: T) -> (T, T) {
    let r = T::recip_1_to_2(T::ONE + e);
    let s = e * r;
    let value = if z >= T::ZERO { r } else { s };
    (value, s * r)
}

/// Sigmoid over a slice, in place, with its derivative: on entry `zy` holds z, on exit σ(z);
/// `dy` receives σ′(z) ([`sigmoid_parts`], same operations and bits).
///
/// In `f64`, two passes ([`Real::SIGMOID_IN_TWO_PASSES`]): e^{−|z|} into `dy`, then the
/// reciprocal and the products. One element's whole sigmoid is one dependency chain of about
/// 100 cycles of latency in `f64` (the reciprocal is an `f32` division and two Newton steps), and
/// a core overlaps only as many elements as its scheduler holds waiting operations; two chains
/// of half the length overlap better (`benches/chain.rs`'s L1-resident kernel measures both).
/// `f32`, whose reciprocal is one cheap division, is faster in one pass, so it keeps one.
#[inline(always)]
pub(crate) fn sigmoid_in_place<T: Real>(zy: &mut [T], dy: &mut [T]) {
    debug_assert_eq!(zy.len(), dy.len());
    if T::SIGMOID_IN_TWO_PASSES {
        for (v, d) in zy.iter_mut().zip(dy.iter_mut()) {
            *d = sigmoid_exp(*v);
        }
        for (v, d) in zy.iter_mut().zip(dy.iter_mut()) {
            let (value, d1) = sigmoid_parts_from_exp(*v, *d);
            *v = value;
            *d = d1;
        }
    } else {
        for (v, d) in zy.iter_mut().zip(dy.iter_mut()) {
            let (value, d1) = sigmoid_parts(*v);
            *v = value;
            *d = d1;
        }
    }
}

kernel! {
    /// `sigmoid_in_place` as a stand-alone kernel at the SIMD level `simd` (for tests and benches
    /// of the kernel itself).
    pub fn sigmoid_slice<'a, T>(zy: &'a mut [T], dy: &'a mut [T]) {
        sigmoid_in_place(zy, dy);
    }
}

kernel! {
    /// eˣ over a slice at the SIMD level `simd` (for tests and benches of the kernel itself).
    pub fn exp_slice<'a, T>(x: &'a [T], out: &'a mut [T]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = T::exp_vectorisable(v);
        }
    }
}
