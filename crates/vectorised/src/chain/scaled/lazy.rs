//! The extended pass's working form of a [`Scaled`] value: renormalised only when it must be.
//!
//! A value is a pair (M, e) meaning M·2ᵉ, where M is *tame* (2⁻⁴⁰⁰ ≤ |M| < 2⁴⁰⁰) or a special
//! (±0, ±∞, NaN, with e = 0). The normal form of `lanes` (0.5 ≤ |m| < 1) is one tame form among
//! many: the same value may be held as (0.75, 0) or (0.375, 1). The pass keeps what an operation
//! gives while it stays tame, and renormalises only when it leaves that band, which in a chain of
//! ordinary values is rarely: most operations are then one `f64` operation and a range check,
//! where the normal form spends a frexp on every result.
//!
//! **Same bits as the normal form.** Rounding to 53 bits commutes with scaling by a power of two
//! as long as neither side leaves `f64`'s normal range. A product of two tame mantissas lies in
//! [2⁻⁸⁰⁰, 2⁸⁰⁰) and a sum of two tame values of one scale is an exact cancellation or at least
//! 2⁻⁴⁵² in size, so each operation below rounds the exact result once, as the normal form's
//! does, and represents the same value. Where that argument does not cover a case (a result that
//! is not tame, a sum of operands far apart, an exponent near the saturation limit, a special
//! operand) the operation falls back to the normal form's own ([`mul`], [`add`]) on renormalised
//! operands, which is then the same operation on the same numbers. [`normalise`] turns any value
//! back into the normal form, exactly: what the pass delivers has the normal form's bits.

use super::lanes::{add, renormalise};
use super::{MAX_EXPONENT, Scaled, derivative_scaled, pow2, value_scaled};
use crate::activation::Activation;

/// A value M·2ᵉ as (M, e), M tame or special (see the module docs).
pub(crate) type Lazy = (f64, i64);

/// 2⁻⁴⁰⁰, the least tame |M|.
const TAME_MIN: f64 = f64::from_bits((1023 - 400) << 52);
/// 2⁴⁰⁰, above the greatest tame |M|.
const TAME_MAX: f64 = f64::from_bits((1023 + 400) << 52);
/// The largest |e| a product keeps without renormalising: far enough from [`MAX_EXPONENT`] that
/// the normal form's exponent (e ± 800) cannot saturate.
const EXPONENT_LIMIT: i64 = MAX_EXPONENT - 2048;
/// The largest exponent difference a sum aligns without renormalising (the aligned operand must
/// also come out tame).
const ALIGN_LIMIT: i64 = 600;

/// Whether 2⁻⁴⁰⁰ ≤ |m| < 2⁴⁰⁰ (false for 0, ±∞ and NaN).
#[inline(always)]
fn tame(m: f64) -> bool {
    let a = m.abs();
    (TAME_MIN..TAME_MAX).contains(&a)
}

/// x as a value.
#[inline(always)]
pub(crate) fn lift(x: f64) -> Lazy {
    if tame(x) { (x, 0) } else { renormalise(x, 0) }
}

/// The normal form of x (0.5 ≤ |m| < 1, or a special with exponent 0): exact.
#[inline(always)]
pub(crate) fn normalise(x: Lazy) -> Lazy {
    renormalise(x.0, x.1)
}

/// x·y, rounded once.
#[inline(always)]
pub(crate) fn mul(x: Lazy, y: Lazy) -> Lazy {
    let p = x.0 * y.0;
    let e = x.1.saturating_add(y.1);
    if tame(p) && (-EXPONENT_LIMIT..=EXPONENT_LIMIT).contains(&e) { (p, e) } else { renormalise(p, e) }
}

/// x + y, rounded once.
#[inline(always)]
pub(crate) fn sum(x: Lazy, y: Lazy) -> Lazy {
    if tame(x.0) {
        if y.0 == 0.0 {
            return x;
        }
        let d = y.1.saturating_sub(x.1);
        if tame(y.0) && (-ALIGN_LIMIT..=ALIGN_LIMIT).contains(&d) {
            // y at x's scale: exact, since it comes out tame (normal).
            let aligned = y.0 * pow2(d);
            if tame(aligned) {
                let s = x.0 + aligned;
                if tame(s) {
                    return (s, x.1);
                }
            }
        }
    } else if x.0 == 0.0 && tame(y.0) {
        return y;
    }
    add(normalise(x), normalise(y))
}

/// −x (exact).
#[inline(always)]
pub(crate) fn neg(x: Lazy) -> Lazy {
    (-x.0, x.1)
}

/// (f(z), f′(z)), as [`value_scaled`] and [`derivative_scaled`] give them: for a tame z of
/// exponent 0 (an ordinary `f64`) whose f and f′ are normal `f64`s, from
/// [`Activation::value_and_derivative`] (one exp for σ and softplus); for the piecewise-linear
/// activations, on the value as it is; otherwise from those two functions on the normal form.
#[inline(always)]
pub(crate) fn activate(f: Activation, z: Lazy) -> (Lazy, Lazy) {
    match f {
        Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => {
            let sign = if z.0 == 0.0 { 0.0 } else { z.0.signum() };
            let value = if sign > 0.0 || z.0.is_nan() {
                z
            } else {
                match f {
                    Activation::LeakyRelu { slope } => mul(z, lift(slope)),
                    Activation::Identity => z,
                    _ => (0.0, 0),
                }
            };
            (value, lift(f.derivative(sign)))
        }
        Activation::Sigmoid | Activation::Tanh | Activation::Softplus if z.1 == 0 && tame(z.0) => {
            let (v, d) = f.value_and_derivative(z.0);
            if v.is_normal() && d.is_normal() { (lift(v), lift(d)) } else { activate_normal(f, z) }
        }
        _ => activate_normal(f, z),
    }
}

/// [`activate`] through the normal form.
#[inline(never)]
fn activate_normal(f: Activation, z: Lazy) -> (Lazy, Lazy) {
    let z = Scaled::from_parts(normalise(z));
    (value_scaled(f, z).parts(), derivative_scaled(f, z).parts())
}

#[cfg(test)]
mod tests {
    use super::super::lanes;
    use super::*;
    use crate::activation::tests::ALL;

    /// Normal-form values of every kind, and each tame one also at other scales (the same value
    /// as (m·2ᵏ, e − k)).
    fn values() -> Vec<(Lazy, Lazy)> {
        let mut normal = vec![(0.0, 0), (-0.0, 0), (f64::INFINITY, 0), (f64::NEG_INFINITY, 0), (f64::NAN, 0)];
        for x in [5e-324, -3e-310, 0.5, -0.75, 0.999_999_999_999_999_9, 1e-300, 3.0, -1e300, 0.1, -0.3] {
            normal.push(renormalise(x, 0));
        }
        for e in [1, -1, 60, -60, 700, -700, 1100, -1100, MAX_EXPONENT - 1, -MAX_EXPONENT + 1] {
            normal.push((0.6, e));
            normal.push((-0.9, -e));
        }
        let mut v = Vec::new();
        for n in normal {
            v.push((n, n));
            if tame(n.0) {
                for k in [-399, -200, -1, 1, 57, 399] {
                    let m = n.0 * 2f64.powi(k);
                    if tame(m) && (n.1 - k as i64).abs() <= MAX_EXPONENT {
                        v.push(((m, n.1 - k as i64), n));
                    }
                }
            }
        }
        v
    }

    fn same(a: Lazy, b: Lazy) -> bool {
        a.0.to_bits() == b.0.to_bits() && a.1 == b.1 || a.0.is_nan() && b.0.is_nan()
    }

    #[test]
    fn products_and_sums_have_the_normal_forms_bits() {
        let v = values();
        for &(x, xn) in &v {
            assert!(same(normalise(x), xn), "{x:?}");
            for &(y, yn) in &v {
                let (p, want) = (normalise(mul(x, y)), lanes::mul(xn, yn));
                assert!(same(p, want), "{x:?}·{y:?}: {p:?} vs {want:?}");
                let (s, want) = (normalise(sum(x, y)), lanes::add(xn, yn));
                assert!(same(s, want), "{x:?}+{y:?}: {s:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn activations_have_the_normal_forms_bits() {
        let mut zs = values();
        for x in [-800.0, -745.5, -710.0, -40.0, -1.0, -1e-9, 1e-9, 0.3, 2.0, 40.0, 710.0, 800.0] {
            zs.push(((x, 0), renormalise(x, 0)));
        }
        for f in ALL {
            for &(z, zn) in &zs {
                let (v, d) = activate(f, z);
                let s = Scaled::from_parts(zn);
                let (wv, wd) = (value_scaled(f, s).parts(), derivative_scaled(f, s).parts());
                assert!(same(normalise(v), wv), "{f:?} f({z:?}): {v:?} vs {wv:?}");
                assert!(same(normalise(d), wd), "{f:?} f′({z:?}): {d:?} vs {wd:?}");
            }
        }
    }
}
