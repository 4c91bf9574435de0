//! [`Scaled`] arithmetic across a block of chains: mantissas and exponents as two arrays (struct
//! of arrays), renormalised after every operation by one rule written as selects, with no
//! branch on the data, so a loop over lanes can run in vector registers.
//!
//! The rule is the oracle's `Ext` rule (and [`Scaled`]'s, whose operators call these functions):
//! a result m·2ᵉ is brought back to 0.5 ≤ |m| < 1 with its exponent saturating beyond
//! ±[`MAX_EXPONENT`] to 0 or ±∞; 0 and non-finite mantissas carry exponent 0. A product rounds
//! once (the mantissas' product); a sum aligns the operand of the smaller exponent to the larger
//! (exactly, by a power of two, or to nothing beyond 1100 binary places) and rounds once. Every
//! operation is therefore the same IEEE operation on the same operands as in the oracle: the same
//! bits, whichever lane or vector width computes it.

use super::{MAX_EXPONENT, Scaled, pow2};

/// The renormalisation: m·2^by as (mantissa, exponent) with 0.5 ≤ |mantissa| < 1 (0 and
/// non-finite `m` give (m, 0); beyond ±[`MAX_EXPONENT`] the value saturates to ±∞ or ±0).
#[inline(always)]
pub(crate) fn renormalise(m: f64, by: i64) -> (f64, i64) {
    // frexp: subnormal m (only from an argument given as a subnormal f64) is first lifted by 2⁶⁴.
    let subnormal = (m.to_bits() >> 52) & 0x7ff == 0;
    let lifted = if subnormal { m * TWO_POW_64 } else { m };
    let bits = lifted.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    let own = biased - 1022 - if subnormal { 64 } else { 0 };
    let e = own.saturating_add(by);
    let special = m == 0.0 || !m.is_finite();
    let over = e > MAX_EXPONENT;
    let under = e < -MAX_EXPONENT;
    let saturated = if over { f64::INFINITY } else { 0.0 }.copysign(m);
    let mantissa = if special {
        m
    } else if over || under {
        saturated
    } else {
        mantissa
    };
    (mantissa, if special || over || under { 0 } else { e })
}

/// 2⁶⁴.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// x·y with one rounding, on (mantissa, exponent) pairs.
#[inline(always)]
pub(crate) fn mul(x: (f64, i64), y: (f64, i64)) -> (f64, i64) {
    renormalise(x.0 * y.0, x.1.saturating_add(y.1))
}

/// x + y with one rounding, on (mantissa, exponent) pairs: the operand of the larger exponent
/// (or the non-zero one) keeps its place, the other is shifted right by the exponents' difference
/// (to nothing beyond 1100 places, where it is below half an ulp of the first).
#[inline(always)]
pub(crate) fn add(x: (f64, i64), y: (f64, i64)) -> (f64, i64) {
    let swap = x.0 == 0.0 || (y.0 != 0.0 && y.1 > x.1);
    let (big, small) = if swap { (y, x) } else { (x, y) };
    let finite = big.0.is_finite() && small.0.is_finite();
    // Zero or non-finite operands are added as they are (0 + x, ∞ + x, NaN).
    let plain = small.0 == 0.0 || !finite;
    let shift = big.1.saturating_sub(small.1);
    let clamped = shift.clamp(0, 1100);
    let first = clamped.min(1000);
    let aligned = small.0 * pow2(-first) * pow2(-(clamped - first));
    let addend = if plain {
        small.0
    } else if shift > 1100 {
        0.0
    } else {
        aligned
    };
    renormalise(big.0 + addend, if plain && !finite { 0 } else { big.1 })
}

/// −x (exact).
#[inline(always)]
pub(crate) fn neg(x: (f64, i64)) -> (f64, i64) {
    (-x.0, x.1)
}

/// Rows of (mantissa, exponent) values over a block's lanes (the extended pass keeps them in the
/// working form of [`super::lazy`]), as two arrays: row r's lane i is at
/// `r·n + i` of `m` (mantissas) and of `e` (exponents).
#[derive(Debug, Default)]
pub(crate) struct Lanes {
    m: Vec<f64>,
    e: Vec<i64>,
    n: usize,
}

impl Lanes {
    /// Makes room for `rows` rows of `n` lanes (keeping the allocation across calls).
    pub(crate) fn reshape(&mut self, rows: usize, n: usize) {
        let len = rows * n;
        if self.m.len() < len {
            self.m.resize(len, 0.0);
            self.e.resize(len, 0);
        }
        self.n = n;
    }

    /// Row `r`, lane `i`.
    #[inline(always)]
    pub(crate) fn get(&self, r: usize, i: usize) -> (f64, i64) {
        let q = r * self.n + i;
        (self.m[q], self.e[q])
    }

    /// Sets row `r`, lane `i`.
    #[inline(always)]
    pub(crate) fn set(&mut self, r: usize, i: usize, v: (f64, i64)) {
        let q = r * self.n + i;
        self.m[q] = v.0;
        self.e[q] = v.1;
    }
}

impl Scaled {
    /// (mantissa, exponent).
    #[inline(always)]
    pub(crate) fn parts(self) -> (f64, i64) {
        (self.m, self.e)
    }

    /// From (mantissa, exponent) as the functions above return them.
    #[inline(always)]
    pub(crate) fn from_parts((m, e): (f64, i64)) -> Scaled {
        Scaled { m, e }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of every kind the rule distinguishes: zeros of both signs, infinities, NaN,
    /// subnormal, ordinary, and exponents near ±[`MAX_EXPONENT`].
    fn samples() -> Vec<(f64, i64)> {
        let mut v = vec![(0.0, 0), (-0.0, 0), (f64::INFINITY, 0), (f64::NEG_INFINITY, 0), (f64::NAN, 0)];
        for x in [5e-324, -3e-310, 0.5, -0.75, 0.999_999_999_999_999_9, 1e-300, 3.0, -1e300] {
            v.push(renormalise(x, 0));
        }
        for e in [1, -1, 1100, -1100, 1101, 2000, MAX_EXPONENT - 1, -MAX_EXPONENT + 1, MAX_EXPONENT] {
            v.push((0.6, e));
            v.push((-0.9, -e));
        }
        v
    }

    #[test]
    fn renormalise_brings_mantissas_into_half_to_one() {
        for (m, by) in [(3.0, 0), (0.25, 7), (-1e-310, 2), (1.5, MAX_EXPONENT), (0.3, -MAX_EXPONENT)] {
            let (r, e) = renormalise(m, by);
            if r != 0.0 && r.is_finite() {
                assert!((0.5..1.0).contains(&r.abs()), "{m} → {r}");
                // m·2^by = r·2^e, i.e. r·2^(e − by) = m (a power of two: exact).
                assert_eq!(r * 2f64.powi((e - by) as i32), m, "{m}·2^{by}");
            }
        }
        assert_eq!(renormalise(1.5, MAX_EXPONENT), (f64::INFINITY, 0));
        assert_eq!(renormalise(-0.3, -MAX_EXPONENT).0.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn addition_is_commutative_and_products_of_parts_are_symmetric() {
        let v = samples();
        let same =
            |a: (f64, i64), b: (f64, i64)| a.0.to_bits() == b.0.to_bits() && a.1 == b.1 || a.0.is_nan() && b.0.is_nan();
        for &x in &v {
            for &y in &v {
                assert!(same(mul(x, y), mul(y, x)), "{x:?}·{y:?}");
                // x + y and y + x differ only in the sign of an exact zero sum (IEEE: +0 + −0).
                let (s, t) = (add(x, y), add(y, x));
                assert!(same(s, t) || s.0 == 0.0 && t.0 == 0.0, "{x:?}+{y:?}: {s:?} vs {t:?}");
            }
        }
    }

    #[test]
    fn sums_align_the_smaller_operand_or_drop_it_past_1100_places() {
        assert_eq!(add((0.5, 3), (0.5, 1)), (0.625, 3)); // 4 + 1 = 5
        assert_eq!(add((0.5, 3), (0.5, -1098)), (0.5, 3)); // 2⁻¹⁰⁹⁹ is far below 4's half ulp
        assert_eq!(add((0.5, 3), (-0.5, 3)), (0.0, 0));
    }
}
