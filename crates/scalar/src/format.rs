//! Binary floating-point formats, to ask where an exact value underflows or overflows each.
//!
//! A format with p significand bits (counting the implicit one), smallest normal exponent e_min and
//! largest exponent e_max represents magnitudes from the smallest subnormal 2^(e_min − p + 1) to
//! the largest finite (2 − 2^(1−p))·2^e_max. Rounding to nearest (ties to even) sends a magnitude to
//! **0** when it is at most half the smallest subnormal, 2^(e_min − p), and to **∞** when it is at
//! least the largest finite plus half an ulp, (2 − 2^(−p))·2^e_max.

use crate::ext::Ext;
use std::cmp::Ordering;

/// A binary floating-point format (IEEE 754 or bfloat16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatFormat {
    /// Its usual name.
    pub name: &'static str,
    /// Significand bits, counting the implicit leading one (p).
    pub precision: u32,
    /// The exponent of the smallest normal number (e_min).
    pub min_exponent: i64,
    /// The exponent of the largest finite number (e_max).
    pub max_exponent: i64,
}

/// How a value fares when rounded to a [`FloatFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Exactly zero to begin with.
    Zero,
    /// Not zero, but rounds to zero.
    Underflows,
    /// Rounds to a subnormal: representable, with fewer significant bits.
    Subnormal,
    /// Rounds to a normal number.
    Normal,
    /// Rounds to ±∞.
    Overflows,
    /// NaN or ±∞ to begin with.
    NotFinite,
}

impl FloatFormat {
    /// IEEE binary16.
    pub const F16: FloatFormat = FloatFormat { name: "f16", precision: 11, min_exponent: -14, max_exponent: 15 };
    /// bfloat16: f32's exponent range with 8 significand bits.
    pub const BF16: FloatFormat = FloatFormat { name: "bf16", precision: 8, min_exponent: -126, max_exponent: 127 };
    /// IEEE binary32.
    pub const F32: FloatFormat = FloatFormat { name: "f32", precision: 24, min_exponent: -126, max_exponent: 127 };
    /// IEEE binary64.
    pub const F64: FloatFormat = FloatFormat { name: "f64", precision: 53, min_exponent: -1022, max_exponent: 1023 };
    /// The four formats above, narrowest first.
    pub const ALL: [FloatFormat; 4] = [Self::F16, Self::BF16, Self::F32, Self::F64];

    /// What rounding `x` to this format does (formats of up to 53 bits of precision).
    pub fn fate(self, x: Ext) -> Fate {
        if !x.is_finite() {
            return Fate::NotFinite;
        }
        if x.is_zero() {
            return Fate::Zero;
        }
        if self.precision >= 53 {
            // Ext's mantissa has 53 bits, so for f64 the thresholds below would themselves round:
            // let the hardware do the one rounding instead.
            let v = x.to_f64();
            return if v == 0.0 {
                Fate::Underflows
            } else if v.is_infinite() {
                Fate::Overflows
            } else if v.is_normal() {
                Fate::Normal
            } else {
                Fate::Subnormal
            };
        }
        let p = i64::from(self.precision);
        // |x| ≤ 2^(e_min − p): rounds to 0 (exactly half the smallest subnormal ties to even, 0).
        if x.cmp_abs(Ext::pow2(self.min_exponent - p)) != Some(Ordering::Greater) {
            return Fate::Underflows;
        }
        // |x| ≥ (2 − 2^−p)·2^e_max = 2^(e_max+1) − 2^(e_max−p): rounds to ∞.
        let overflow = Ext::pow2(self.max_exponent + 1) - Ext::pow2(self.max_exponent - p);
        if x.cmp_abs(overflow) != Some(Ordering::Less) {
            return Fate::Overflows;
        }
        // Below 2^e_min (less half an ulp of the subnormals, which rounds up to it): subnormal.
        let normal = Ext::pow2(self.min_exponent) - Ext::pow2(self.min_exponent - p);
        if x.cmp_abs(normal) == Some(Ordering::Less) { Fate::Subnormal } else { Fate::Normal }
    }

    /// log10 of the smallest positive subnormal, 2^(e_min − p + 1).
    pub fn log10_min_subnormal(self) -> f64 {
        Ext::pow2(self.min_exponent - i64::from(self.precision) + 1).log10_abs()
    }

    /// log10 of the largest finite value.
    pub fn log10_max(self) -> f64 {
        let p = i64::from(self.precision);
        (Ext::pow2(self.max_exponent + 1) - Ext::pow2(self.max_exponent + 1 - p)).log10_abs()
    }
}
