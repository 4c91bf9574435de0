//! [`Ext`]: an `f64` mantissa with an `i64` binary exponent, for gradients beyond `f64`'s range.
//!
//! value = m · 2^e with 0.5 ≤ |m| < 1 (or m = 0, or m non-finite with e = 0).
//!
//! Multiplication multiplies the mantissas (one rounding, as in `f64`) and adds exponents, so a
//! product of factors that never leaves `f64`'s normal range has **the same bits** in `Ext` as in
//! `f64`, and a product of 100,000 sigmoid derivatives (≈ 10^−60,000) is still exact to rounding.
//! Addition aligns the smaller operand to the larger one's exponent, again with one rounding.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Mul, Neg, Sub};

/// The largest binary exponent an [`Ext`] is given: values beyond 2^±(2^62) become 0 or ±∞
/// (far beyond any gradient gradlab meets: 2^(2^62) ≈ 10^(1.4·10^18)).
pub const MAX_EXPONENT: i64 = 1 << 62;

/// A real number with an `f64` mantissa and an unbounded (`i64`) binary exponent.
#[derive(Debug, Clone, Copy)]
pub struct Ext {
    m: f64,
    e: i64,
}

/// log10(2) and ln(2) split so that `e·HI` is exact for |e| < 2^24 and `e·LO` carries the rest.
/// log10(2) with its low 24 mantissa bits cleared.
const LOG10_2_HI: f64 = 0.301_029_995_083_808_9;
/// log10(2) − LOG10_2_HI, from a 50-digit value of log10(2).
const LOG10_2_LO: f64 = 5.801_722_962_879_576e-10;
/// ln(2) with its low 24 mantissa bits cleared (a Cody–Waite split).
const LN_2_HI: f64 = 0.693_147_178_739_309_3;
/// ln(2) − LN_2_HI, from a 50-digit value of ln(2).
const LN_2_LO: f64 = 1.820_635_998_504_146_2e-9;

impl Ext {
    /// Zero.
    pub const ZERO: Ext = Ext { m: 0.0, e: 0 };
    /// One.
    pub const ONE: Ext = Ext { m: 0.5, e: 1 };

    /// The exact value of `x` (NaN and ±∞ are kept as such).
    pub fn from_f64(x: f64) -> Ext {
        let (m, e) = frexp(x);
        Ext { m, e }
    }

    /// e^l, for any `l` (−∞ gives 0); relative error about |l|·2^−53 beyond rounding.
    pub fn from_ln(l: f64) -> Ext {
        if l == f64::NEG_INFINITY {
            return Ext::ZERO;
        }
        if !l.is_finite() {
            return Ext { m: l.exp(), e: 0 };
        }
        let k = (l / std::f64::consts::LN_2).round();
        if k.abs() > MAX_EXPONENT as f64 {
            return if k > 0.0 { Ext { m: f64::INFINITY, e: 0 } } else { Ext::ZERO };
        }
        let r = (l - k * LN_2_HI) - k * LN_2_LO; // |r| ≤ ln2/2, so e^r is a normal f64
        Ext { m: r.exp(), e: 0 }.scale(k as i64)
    }

    /// m · 2^e, renormalised.
    fn scale(self, by: i64) -> Ext {
        let (m, e) = frexp(self.m);
        if m == 0.0 || !m.is_finite() {
            return Ext { m, e: 0 };
        }
        // Saturating: exponents beyond ±MAX_EXPONENT (products of absurd factors) become 0 or ±∞.
        let e = e.saturating_add(self.e).saturating_add(by);
        if e > MAX_EXPONENT {
            Ext { m: m.signum() * f64::INFINITY, e: 0 }
        } else if e < -MAX_EXPONENT {
            Ext { m: m.signum() * 0.0, e: 0 }
        } else {
            Ext { m, e }
        }
    }

    /// 2^k, exactly, for any k.
    pub fn pow2(k: i64) -> Ext {
        Ext { m: 0.5, e: 0 }.scale(k.saturating_add(1))
    }

    /// The nearest `f64` (0 or ±∞ where the value is outside `f64`'s range), rounded once.
    pub fn to_f64(self) -> f64 {
        if self.m == 0.0 || !self.m.is_finite() {
            return self.m;
        }
        let e = self.e;
        if e > 1024 {
            return self.m.signum() * f64::INFINITY;
        }
        if e < -1080 {
            return self.m.signum() * 0.0;
        }
        // Split 2^e into two powers: m·2^first is exact (a normal f64), so only the second
        // multiplication rounds, once, into the subnormals or to ±∞ if it must.
        let first = e.clamp(-1000, 1000);
        self.m * pow2(first) * pow2(e - first)
    }

    /// The nearest `f32` (0 or ±∞ outside its range), rounded once.
    pub fn to_f32(self) -> f32 {
        // Where the value is in f64's normal range it converts to f64 exactly (53-bit mantissa),
        // so the only rounding is f64 → f32; below it, the value is far under f32's range.
        self.to_f64() as f32
    }

    /// Whether the value is finite (not NaN or ±∞).
    pub fn is_finite(self) -> bool {
        self.m.is_finite()
    }

    /// Whether the value is NaN.
    pub fn is_nan(self) -> bool {
        self.m.is_nan()
    }

    /// Whether the value is exactly zero.
    pub fn is_zero(self) -> bool {
        self.m == 0.0
    }

    /// −1, 0 or 1 (NaN for NaN).
    pub fn signum(self) -> f64 {
        if self.m == 0.0 { 0.0 } else { self.m.signum() }
    }

    /// |x|.
    pub fn abs(self) -> Ext {
        Ext { m: self.m.abs(), e: self.e }
    }

    /// log10 |x| (−∞ for 0), accurate to about 1e−16 relative for any exponent.
    pub fn log10_abs(self) -> f64 {
        if self.m == 0.0 {
            return f64::NEG_INFINITY;
        }
        let e = self.e as f64;
        self.m.abs().log10() + e * LOG10_2_LO + e * LOG10_2_HI
    }

    /// ln |x| (−∞ for 0).
    pub fn ln_abs(self) -> f64 {
        if self.m == 0.0 {
            return f64::NEG_INFINITY;
        }
        let e = self.e as f64;
        self.m.abs().ln() + e * LN_2_LO + e * LN_2_HI
    }

    /// The binary exponent e with value = m·2^e, 0.5 ≤ |m| < 1 (0 for 0 and non-finite values).
    pub fn exponent(self) -> i64 {
        self.e
    }

    /// The mantissa m with value = m·2^e, 0.5 ≤ |m| < 1.
    pub fn mantissa(self) -> f64 {
        self.m
    }

    /// Compares magnitudes |self| and |other| (NaN compares as `None`).
    pub fn cmp_abs(self, other: Ext) -> Option<Ordering> {
        if self.is_nan() || other.is_nan() {
            return None;
        }
        let (a, b) = (self.abs(), other.abs());
        Some(match (a.m == 0.0, b.m == 0.0) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ if a.m.is_infinite() || b.m.is_infinite() => a.m.partial_cmp(&b.m)?,
            _ => a.e.cmp(&b.e).then(a.m.partial_cmp(&b.m)?),
        })
    }
}

impl From<f64> for Ext {
    fn from(x: f64) -> Ext {
        Ext::from_f64(x)
    }
}

impl PartialEq for Ext {
    fn eq(&self, other: &Ext) -> bool {
        (self.m == 0.0 && other.m == 0.0) || (self.m == other.m && self.e == other.e)
    }
}

impl Mul for Ext {
    type Output = Ext;
    fn mul(self, rhs: Ext) -> Ext {
        Ext { m: self.m * rhs.m, e: 0 }.scale(self.e.saturating_add(rhs.e))
    }
}

impl Mul<f64> for Ext {
    type Output = Ext;
    fn mul(self, rhs: f64) -> Ext {
        self * Ext::from_f64(rhs)
    }
}

impl Add for Ext {
    type Output = Ext;
    fn add(self, rhs: Ext) -> Ext {
        let (big, small) = if self.m == 0.0 || (rhs.m != 0.0 && rhs.e > self.e) { (rhs, self) } else { (self, rhs) };
        if small.m == 0.0 || !big.m.is_finite() || !small.m.is_finite() {
            return Ext { m: big.m + small.m, e: if big.m.is_finite() && small.m.is_finite() { big.e } else { 0 } }
                .scale(0);
        }
        let shift = big.e.saturating_sub(small.e); // ≥ 0
        if shift > 1100 {
            return big; // far below half an ulp of `big`
        }
        // small.m · 2^−shift: two exact steps, then one rounding in the sum.
        let aligned = small.m * pow2(-(shift.min(1000))) * pow2(-(shift - shift.min(1000)));
        Ext { m: big.m + aligned, e: 0 }.scale(big.e)
    }
}

impl Neg for Ext {
    type Output = Ext;
    fn neg(self) -> Ext {
        Ext { m: -self.m, e: self.e }
    }
}

impl Sub for Ext {
    type Output = Ext;
    fn sub(self, rhs: Ext) -> Ext {
        self + (-rhs)
    }
}

impl fmt::Display for Ext {
    /// Scientific notation with an exponent of any size, e.g. `-3.1415926e-60000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.m == 0.0 || !self.m.is_finite() {
            return write!(f, "{}", self.m);
        }
        let l = self.log10_abs();
        let mut exp10 = l.floor();
        let mut digits = 10f64.powf(l - exp10);
        if digits >= 9.999_999_999_5 {
            digits /= 10.0;
            exp10 += 1.0;
        }
        let sign = if self.m < 0.0 { "-" } else { "" };
        let prec = f.precision().unwrap_or(9);
        write!(f, "{sign}{digits:.prec$}e{exp10}")
    }
}

/// 2^k as an f64 for −1022 ≤ k ≤ 1023 (exact), and also for −1074 ≤ k < −1022 (subnormal).
fn pow2(k: i64) -> f64 {
    debug_assert!((-1074..=1023).contains(&k), "pow2({k}) out of range");
    if k >= -1022 { f64::from_bits(((k + 1023) as u64) << 52) } else { f64::from_bits(1u64 << (k + 1074)) }
}

/// x = m·2^e with 0.5 ≤ |m| < 1; (x, 0) for 0 and non-finite x.
fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    if biased == 0 {
        // Subnormal: scale into the normal range first (exact).
        let (m, e) = frexp(x * pow2(64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, biased - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_round_trips_every_kind_of_f64() {
        for x in [1.0, -3.5, 1e300, -1e-300, f64::MIN_POSITIVE, 5e-324, f64::MAX, 0.1] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m.abs()), "{x}: m = {m}");
            assert_eq!(Ext { m, e }.to_f64(), x);
        }
    }

    #[test]
    fn to_f64_rounds_subnormals_once() {
        // 0.75 · 2^−1074 lies between 0 and the smallest subnormal 2^−1074, nearer to it.
        let x = Ext { m: 0.75, e: -1074 };
        assert_eq!(x.to_f64(), 5e-324);
        assert_eq!(Ext { m: 0.5, e: -1074 }.to_f64(), 0.0); // exactly half of 2^-1074: ties to even (0)
    }
}
