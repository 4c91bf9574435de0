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

#[test]
fn from_f64_splits_into_mantissa_and_exponent() {
    // 12 = 0.75·2⁴;  −0.375 = −0.75·2⁻¹;  2⁻¹⁰⁷⁴ (the smallest subnormal) = 0.5·2⁻¹⁰⁷³.
    let twelve = Ext::from_f64(12.0);
    assert_eq!((twelve.mantissa(), twelve.exponent()), (0.75, 4));
    let neg = Ext::from(-0.375);
    assert_eq!((neg.mantissa(), neg.exponent()), (-0.75, -1));
    let sub = Ext::from_f64(5e-324);
    assert_eq!((sub.mantissa(), sub.exponent()), (0.5, -1073));
    for x in [1.0, -3.5, 1e300, -1e-300, f64::MIN_POSITIVE, 5e-324, -2.5e-320, f64::MAX, 0.1] {
        let e = Ext::from_f64(x);
        assert!((0.5..1.0).contains(&e.mantissa().abs()), "{x}");
        assert_eq!(e.to_f64().to_bits(), x.to_bits(), "{x} round trip");
    }
    // 0 and non-finite values keep the exponent 0, also after arithmetic.
    assert_eq!((Ext::ZERO * Ext::pow2(10)).exponent(), 0);
    assert_eq!((Ext::from_f64(f64::INFINITY) * Ext::pow2(10)).exponent(), 0);
}

#[test]
fn predicates_sign_and_magnitude() {
    let (three, zero, nan, inf) =
        (Ext::from_f64(-3.0), Ext::from_f64(-0.0), Ext::from_f64(f64::NAN), Ext::from_f64(f64::INFINITY));
    assert!(three.is_finite() && zero.is_finite() && !nan.is_finite() && !inf.is_finite());
    assert!(nan.is_nan() && !three.is_nan() && !inf.is_nan());
    assert!(zero.is_zero() && Ext::ZERO.is_zero() && !three.is_zero() && !Ext::pow2(-5000).is_zero());
    assert_eq!([three.signum(), zero.signum(), Ext::pow2(-5000).signum()], [-1.0, 0.0, 1.0]);
    assert!(nan.signum().is_nan());
    assert_eq!(three.abs(), Ext::from_f64(3.0));
    assert_eq!((-Ext::pow2(-5000)).abs(), Ext::pow2(-5000));
    assert_eq!(Ext::from_f64(0.375).to_f32(), 0.375f32);
    assert_eq!(Ext::pow2(-200).to_f32(), 0.0f32);
}

#[test]
fn equality_is_by_value_with_both_zeros_equal() {
    assert_eq!(Ext::from_f64(-0.0), Ext::ZERO);
    assert_eq!(Ext::from_f64(1.0), Ext::ONE);
    assert_ne!(Ext::ONE, Ext::ZERO);
    assert_ne!(Ext::ZERO, Ext::ONE);
    assert_ne!(Ext::pow2(0), Ext::pow2(1)); // same mantissa, different exponents
    assert_ne!(Ext::from_f64(0.75), Ext::ONE); // same exponent, different mantissas
}

#[test]
fn cmp_abs_orders_magnitudes_across_exponents() {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let (small, big) = (Ext::pow2(-10), Ext::pow2(10));
    let inf = Ext::from_f64(f64::NEG_INFINITY);
    assert_eq!(small.cmp_abs(big), Some(Less));
    assert_eq!(big.cmp_abs(-small), Some(Greater));
    assert_eq!(Ext::from_f64(-0.75).cmp_abs(Ext::from_f64(0.5)), Some(Greater)); // same exponent
    assert_eq!(Ext::ZERO.cmp_abs(small), Some(Less));
    assert_eq!(small.cmp_abs(Ext::ZERO), Some(Greater));
    assert_eq!(Ext::ZERO.cmp_abs(Ext::from_f64(-0.0)), Some(Equal));
    assert_eq!(inf.cmp_abs(big), Some(Greater));
    assert_eq!(big.cmp_abs(inf), Some(Less));
    let nan = Ext::from_f64(f64::NAN);
    assert_eq!(nan.cmp_abs(Ext::ZERO), None);
    assert_eq!(Ext::ZERO.cmp_abs(nan), None);
}

#[test]
fn the_exponent_saturates_exactly_at_max_exponent() {
    use scalar::ext::MAX_EXPONENT;
    // pow2(k) = 0.5·2^(k+1): the largest finite one has exponent MAX_EXPONENT.
    assert!(Ext::pow2(MAX_EXPONENT - 1).is_finite());
    assert_eq!(Ext::pow2(MAX_EXPONENT).to_f64(), f64::INFINITY);
    assert_eq!((Ext::pow2(MAX_EXPONENT - 1) * Ext::from_f64(-4.0)).to_f64(), f64::NEG_INFINITY);
    assert!(!Ext::pow2(-MAX_EXPONENT - 1).is_zero());
    assert!(Ext::pow2(-MAX_EXPONENT - 2).is_zero());
    let below = Ext::pow2(-MAX_EXPONENT - 1) * Ext::from_f64(-0.25);
    assert!(below.is_zero() && below.to_f64().is_sign_negative(), "keeps its sign: {below:?}");
    // from_ln at the edge: e^(−2^62·ln 2) = 2^(−2^62) is representable; e^(±1e30) is beyond.
    let edge = -(2f64.powi(62)) * std::f64::consts::LN_2;
    assert!(!Ext::from_ln(edge).is_zero());
    assert_eq!(Ext::from_ln(1e30).to_f64(), f64::INFINITY);
    assert!(Ext::from_ln(-1e30).is_zero());
    assert!(Ext::from_ln(f64::NEG_INFINITY).is_zero());
    assert!(Ext::from_ln(f64::NAN).is_nan());
}

#[test]
fn to_f64_at_the_top_of_the_range_is_exact() {
    // pow2(1023) = 0.5·2^1024 is 2^1023, a finite f64; pow2(1024) is not.
    assert_eq!(Ext::pow2(1023).to_f64(), 2f64.powi(1023));
    assert_eq!(Ext::pow2(1024).to_f64(), f64::INFINITY);
    assert_eq!(Ext::from_f64(f64::MAX).to_f64(), f64::MAX);
}

#[test]
fn mul_by_f64_and_sums_with_zero_and_infinities() {
    assert_eq!(Ext::from_f64(3.0) * 0.5, Ext::from_f64(1.5));
    let tiny = Ext::pow2(-5000);
    assert_eq!(tiny + Ext::ZERO, tiny);
    assert_eq!(Ext::ZERO + tiny, tiny);
    assert_eq!(-tiny - Ext::ZERO, -tiny);
    let (inf, ninf) = (Ext::from_f64(f64::INFINITY), Ext::from_f64(f64::NEG_INFINITY));
    assert!((inf + ninf).is_nan(), "∞ − ∞ is NaN");
    assert_eq!((inf + Ext::pow2(5000)).to_f64(), f64::INFINITY);
    assert_eq!((Ext::pow2(5000) + ninf).to_f64(), f64::NEG_INFINITY);
}

#[test]
fn display_rounds_up_into_the_next_decade() {
    // 9.9999999999 has nine decimals of mantissa "9.999999999|9": it rounds to 1.000000000e1.
    assert_eq!(Ext::from_f64(9.999_999_999_9).to_string(), "1.000000000e1");
    assert_eq!(format!("{:.2}", Ext::from_f64(0.125)), "1.25e-1");
    assert_eq!(Ext::from_f64(f64::NEG_INFINITY).to_string(), "-inf");
    assert_eq!(Ext::from_f64(f64::NAN).to_string(), "NaN");
}
