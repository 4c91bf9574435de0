//! Float formats: where an exact value rounds to 0, to a subnormal, or to ∞, checked against an
//! independent rounding (the hardware's for f32, round-half-even on the format's grid for f16).

use proptest::prelude::*;
use scalar::{Ext, Fate, FloatFormat};

fn classify_f32(v: f32) -> Fate {
    if v == 0.0 {
        Fate::Underflows
    } else if v.is_infinite() {
        Fate::Overflows
    } else if v.is_normal() {
        Fate::Normal
    } else {
        Fate::Subnormal
    }
}

/// f16 by hand: the subnormal grid is 2^−24, the top binade's grid is 2^5 and its max 65504.
fn classify_f16(x: f64) -> Fate {
    let x = x.abs();
    if x < 2f64.powi(-14) {
        let q = (x * 2f64.powi(24)).round_ties_even();
        return if q == 0.0 {
            Fate::Underflows
        } else if q == 1024.0 {
            Fate::Normal
        } else {
            Fate::Subnormal
        };
    }
    if x >= 32768.0 && (x / 32.0).round_ties_even() * 32.0 > 65504.0 { Fate::Overflows } else { Fate::Normal }
}

proptest! {
    #[test]
    fn f32_fates_match_the_hardware(m in 0.5f64..1.0, k in -160i64..-110, k_hi in 120i64..135) {
        for k in [k, k_hi] {
            let x = Ext::from_f64(m) * Ext::pow2(k);
            let v = x.to_f64() as f32;
            prop_assert_eq!(FloatFormat::F32.fate(x), classify_f32(v), "{} · 2^{}", m, k);
        }
    }

    #[test]
    fn f16_fates_match_round_half_even_on_its_grid(m in 0.5f64..1.0, k in -30i64..18) {
        let x = Ext::from_f64(m) * Ext::pow2(k);
        prop_assert_eq!(FloatFormat::F16.fate(x), classify_f16(x.to_f64()), "{} · 2^{}", m, k);
    }
}

#[test]
fn boundary_values_round_as_ieee_says() {
    let f16 = FloatFormat::F16;
    assert_eq!(f16.fate(Ext::pow2(-25)), Fate::Underflows, "half the smallest subnormal ties to 0");
    assert_eq!(f16.fate(Ext::pow2(-25) + Ext::pow2(-40)), Fate::Subnormal);
    assert_eq!(f16.fate(Ext::from_f64(65504.0)), Fate::Normal);
    assert_eq!(f16.fate(Ext::from_f64(65519.99)), Fate::Normal);
    assert_eq!(f16.fate(Ext::from_f64(65520.0)), Fate::Overflows);
    assert_eq!(FloatFormat::F64.fate(Ext::pow2(-1075)), Fate::Underflows);
    assert_eq!(FloatFormat::F64.fate(Ext::pow2(-1074)), Fate::Subnormal);
    assert_eq!(FloatFormat::F64.fate(Ext::pow2(1024)), Fate::Overflows);
    assert_eq!(FloatFormat::F64.fate(Ext::ZERO), Fate::Zero);
    assert_eq!(FloatFormat::BF16.fate(Ext::pow2(-134)), Fate::Underflows);
    assert_eq!(FloatFormat::BF16.fate(Ext::pow2(-133)), Fate::Subnormal);
}

#[test]
fn log10_limits_are_the_formats_published_limits() {
    // f16: max 65504, smallest subnormal 2^−24; f32: max ≈ 3.4028235e38, min subnormal 2^−149.
    assert!((FloatFormat::F16.log10_max() - 65504f64.log10()).abs() < 1e-12);
    assert!((FloatFormat::F16.log10_min_subnormal() - 2f64.powi(-24).log10()).abs() < 1e-12);
    assert!((FloatFormat::F32.log10_max() - (f32::MAX as f64).log10()).abs() < 1e-12);
    assert!((FloatFormat::F64.log10_max() - f64::MAX.log10()).abs() < 1e-12);
    assert!((FloatFormat::F64.log10_min_subnormal() - 5e-324f64.log10()).abs() < 1e-3);
}
