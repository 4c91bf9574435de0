//! GELU, SiLU and the engine's erf against the oracle's: the same bits in `f64` (the same formulas
//! in the same order), and in `f32` within a stated bound.
//!
//! The `f32` bound: the engine evaluates the oracle's formulas in `f32` arithmetic, a few dozen
//! roundings on terms no larger than the scale s below, so |f32 − oracle| ≤ 16·ε₃₂·s with
//! s = |f(z)| for values and s = |Φ(z)| + |z·φ(z)| (GELU′), σ(z)·(1 + |z|·σ(−z)) (SiLU′) for
//! derivatives: near f′'s zero the error is relative to the terms, not to f′. Arguments are
//! `f32` values, so both engines see the same z; below 1e−30 values are compared absolutely
//! (`f32`'s subnormals hold only a few bits).

use proptest::prelude::*;
use vectorised::Activation;
use vectorised::math::erf as engine;

const F32_ULPS: f64 = 16.0;
const TINY: f64 = 1e-30;

fn arguments() -> impl Strategy<Value = f64> {
    prop_oneof![
        -6.0..6.0f64,
        -40.0..40.0f64,
        -1e3..1e3f64,
        prop_oneof![Just(0.0), Just(-0.0), Just(5e-324), Just(-1e300), Just(1e300), Just(f64::MAX), Just(-f64::MAX)],
        prop_oneof![Just(0.84375), Just(1.25), Just(1.0 / 0.35), Just(6.0), Just(28.0), Just(-1.0), Just(-0.7518)],
        any::<f64>().prop_filter("finite", |z| z.is_finite()),
    ]
}

/// [`arguments`] for `f32`: the same ranges and break points, `f32`'s own extremes, and any finite
/// `f32` (drawing `f64`s and rounding them would overflow `f32` for most of `f64`'s exponents).
fn arguments32() -> impl Strategy<Value = f32> {
    prop_oneof![
        -6.0..6.0f32,
        -40.0..40.0f32,
        -1e3..1e3f32,
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f32::from_bits(1)),
            Just(-1e30),
            Just(1e30),
            Just(f32::MAX),
            Just(f32::MIN)
        ],
        prop_oneof![Just(0.84375), Just(1.25), Just(1.0 / 0.35), Just(6.0), Just(28.0), Just(-1.0), Just(-0.7518)],
        any::<f32>().prop_filter("finite", |z| z.is_finite()),
    ]
}

fn gelu_derivative_scale(z: f64) -> f64 {
    let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    0.5 * scalar::erf::erfc(-z / std::f64::consts::SQRT_2) + (z * phi).abs()
}

fn silu_derivative_scale(z: f64) -> f64 {
    let s = |x: f64| scalar::Activation::Sigmoid.value(x);
    s(z) * (1.0 + z.abs() * s(-z))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn f64_erf_erfc_erfcx_have_the_oracles_bits(z in arguments()) {
        prop_assert_eq!(engine::erf(z).to_bits(), scalar::erf::erf(z).to_bits(), "erf({})", z);
        prop_assert_eq!(engine::erfc(z).to_bits(), scalar::erf::erfc(z).to_bits(), "erfc({})", z);
        if z > -26.0 {
            prop_assert_eq!(engine::erfcx(z).to_bits(), scalar::erf::erfcx(z).to_bits(), "erfcx({})", z);
        }
    }

    #[test]
    fn f64_gelu_and_silu_have_the_oracles_bits(z in arguments()) {
        for (fast, oracle) in [(Activation::Gelu, scalar::Activation::Gelu), (Activation::Silu, scalar::Activation::Silu)] {
            prop_assert_eq!(fast.value(z).to_bits(), oracle.value(z).to_bits(), "{}({})", oracle, z);
            prop_assert_eq!(fast.derivative(z).to_bits(), oracle.derivative(z).to_bits(), "{}′({})", oracle, z);
            let (ln, oln) = (vectorised::scaled::ln_abs_derivative(fast, z), oracle.ln_abs_derivative(z));
            prop_assert_eq!(ln.to_bits(), oln.to_bits(), "ln |{}′({})|", oracle, z);
        }
    }

    #[test]
    fn f32_gelu_and_silu_are_within_the_stated_bound(z32 in arguments32()) {
        let zf = f64::from(z32);
        let eps32 = f64::from(f32::EPSILON);
        for (fast, oracle, scale) in [
            (Activation::Gelu, scalar::Activation::Gelu, gelu_derivative_scale(zf)),
            (Activation::Silu, scalar::Activation::Silu, silu_derivative_scale(zf)),
        ] {
            let (v, d) = (f64::from(fast.value(z32)), f64::from(fast.derivative(z32)));
            let (ov, od) = (oracle.value(zf), oracle.derivative(zf));
            if ov.abs() <= f64::from(f32::MAX) {
                let tol = F32_ULPS * eps32 * ov.abs() + TINY;
                prop_assert!((v - ov).abs() <= tol, "{}({}) = {} vs {}", oracle, z32, v, ov);
            }
            let tol = F32_ULPS * eps32 * scale + TINY;
            prop_assert!((d - od).abs() <= tol, "{}′({}) = {} vs {} (scale {})", oracle, z32, d, od, scale);
        }
    }
}

#[test]
fn the_suprema_are_the_oracles() {
    for (fast, oracle) in [(Activation::Gelu, scalar::Activation::Gelu), (Activation::Silu, scalar::Activation::Silu)] {
        assert_eq!(vectorised::stats::sup_derivative(fast), oracle.sup_derivative(), "{oracle}");
    }
    assert_eq!(vectorised::activation::SILU_ARGMAX, scalar::activation::SILU_ARGMAX);
}
