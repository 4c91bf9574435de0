//! Ext: the same bits as f64 inside f64's range, and exact magnitudes far outside it.

use proptest::prelude::*;
use scalar::Ext;

/// Normal f64 values whose products and sums of a few stay normal.
fn moderate_strategy() -> impl Strategy<Value = f64> {
    (0.5f64..1.0, -60i32..60, any::<bool>()).prop_map(|(m, e, neg)| if neg { -m } else { m } * 2f64.powi(e))
}

proptest! {
    #[test]
    fn products_have_the_bits_of_f64_products(xs in prop::collection::vec(moderate_strategy(), 1..12)) {
        let f = xs.iter().product::<f64>();
        let e = xs.iter().fold(Ext::ONE, |acc, &x| acc * Ext::from_f64(x));
        prop_assert_eq!(e.to_f64().to_bits(), f.to_bits());
    }

    #[test]
    fn sums_have_the_bits_of_f64_sums(xs in prop::collection::vec(moderate_strategy(), 1..12)) {
        let f = xs.iter().fold(0.0, |acc, &x| acc + x);
        let e = xs.iter().fold(Ext::ZERO, |acc, &x| acc + Ext::from_f64(x));
        prop_assert_eq!(e.to_f64(), f);
    }

    #[test]
    fn to_f64_rounds_like_the_hardware_near_the_subnormals(m in 0.5f64..1.0, k in -1080i64..-1015) {
        // m·2^k computed in f64 as (m·2^−1000)·2^(k+1000): the first product is exact.
        let expected = m * 2f64.powi(-1000) * 2f64.powi(k as i32 + 1000);
        prop_assert_eq!(Ext::from_f64(m).mul(Ext::pow2(k)).to_f64().to_bits(), expected.to_bits());
    }

    #[test]
    fn log10_is_exact_far_below_f64(k in -10_000_000i64..-2000, m in 0.5f64..1.0) {
        // log10(m·2^k) = log10 m + k·log10 2; the reference uses a 4-way split of k to keep the
        // product exact enough: |error| ≤ 1e-16·|k| + a few ulps.
        let x = Ext::from_f64(m) * Ext::pow2(k);
        let expected = m.log10() + (k as f64) * std::f64::consts::LOG10_2;
        prop_assert!((x.log10_abs() - expected).abs() <= 2e-16 * (k as f64).abs() + 1e-15);
    }

    #[test]
    fn from_ln_inverts_ln_abs(l in -1e6f64..1e6) {
        let x = Ext::from_ln(l);
        prop_assert!((x.ln_abs() - l).abs() <= 4e-16 * l.abs().max(1.0), "{} vs {}", x.ln_abs(), l);
    }
}

use std::ops::Mul;

#[test]
fn a_product_of_100000_quarters_is_exactly_two_to_the_minus_200000() {
    let x = (0..100_000).fold(Ext::ONE, |acc, _| acc * Ext::from_f64(0.25));
    assert_eq!(x, Ext::pow2(-200_000));
    assert_eq!(x.to_f64(), 0.0);
    assert!((x.log10_abs() - (-200_000.0 * std::f64::consts::LOG10_2)).abs() < 1e-10);
}

#[test]
fn overflow_and_sign_survive() {
    let x = (0..2000).fold(Ext::from_f64(-1.0), |acc, _| acc * Ext::from_f64(3.0));
    assert_eq!(x.signum(), -1.0);
    assert_eq!(x.to_f64(), f64::NEG_INFINITY);
    assert!((x.log10_abs() - 2000.0 * 3f64.log10()).abs() < 1e-10);
    assert_eq!(x.to_f32(), f32::NEG_INFINITY);
}

#[test]
fn adding_magnitudes_far_apart_keeps_the_larger() {
    let big = Ext::pow2(-100_000);
    let tiny = Ext::pow2(-300_000);
    assert_eq!(big + tiny, big);
    assert_eq!(tiny + big, big);
    assert_eq!(big - big, Ext::ZERO);
    assert!((Ext::from_f64(3.0) + Ext::from_f64(-1.0)).to_f64() == 2.0);
}

#[test]
fn display_writes_any_exponent() {
    assert_eq!(format!("{:.3}", Ext::from_f64(-1234.25)), "-1.234e3");
    assert_eq!(format!("{:.2}", Ext::pow2(-200_000)), "1.00e-60206");
    assert_eq!(format!("{}", Ext::ZERO), "0");
}

#[test]
fn non_finite_values_stay_non_finite() {
    let nan = Ext::from_f64(f64::NAN);
    assert!(nan.is_nan() && (nan * Ext::ONE).is_nan() && (nan + Ext::ONE).is_nan());
    let inf = Ext::from_f64(f64::INFINITY);
    assert!(!inf.is_finite() && (inf * Ext::from_f64(2.0)).to_f64() == f64::INFINITY);
}
