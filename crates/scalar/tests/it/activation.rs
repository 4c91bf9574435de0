//! Activations: values and derivatives at ordinary and extreme arguments, checked against
//! independent formulas.

use scalar::{Activation, Ext};

const ALL: [Activation; 8] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu { slope: 0.01 },
    Activation::Softplus,
    Activation::Identity,
    Activation::Gelu,
    Activation::Silu,
];

/// Arguments from the ordinary to the absurd, both signs, subnormals included.
fn arguments() -> Vec<f64> {
    let mut zs = vec![0.0, -0.0, 5e-324, -5e-324, 1e-310, f64::MIN_POSITIVE, 1e-8, 0.5, 1.0, 3.0];
    zs.extend([10.0, 20.0, 36.9, 40.0, 100.0, 355.0, 700.0, 709.9, 745.0, 800.0, 1e5, 1e300, f64::MAX]);
    let neg: Vec<f64> = zs.iter().map(|z| -z).collect();
    zs.extend(neg);
    zs
}

/// Relative distance in units of f64 epsilon (0 when both are 0).
fn rel_eps(a: f64, b: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / (a.abs().max(b.abs()) * f64::EPSILON) }
}

/// σ′ and tanh′ are each a product/quotient of a few correctly rounded operations.
const DERIVATIVE_FORMULA_EPS: f64 = 8.0;

#[test]
fn values_and_derivatives_are_finite_at_every_finite_argument() {
    for f in ALL {
        for z in arguments() {
            assert!(f.value(z).is_finite(), "{f}({z})");
            assert!(f.derivative(z).is_finite(), "{f}′({z})");
            assert!(f.derivative(z).abs() <= f.sup_derivative(), "|{f}′({z})| exceeds its sup");
        }
    }
}

#[test]
fn values_at_extreme_arguments_are_the_limits() {
    assert_eq!(Activation::Softplus.value(1e300), 1e300);
    assert_eq!(Activation::Softplus.value(-1e300), 0.0);
    assert_eq!(Activation::Softplus.value(f64::MAX), f64::MAX);
    // softplus(−700) = ln(1 + e^−700) = e^−700 to within rounding.
    assert!(rel_eps(Activation::Softplus.value(-700.0), (-700f64).exp()) <= 2.0);
    assert_eq!(Activation::Sigmoid.value(1e300), 1.0);
    assert_eq!(Activation::Sigmoid.value(-1e300), 0.0);
    assert_eq!(Activation::Sigmoid.value(5e-324), 0.5);
    assert!(rel_eps(Activation::Sigmoid.value(-700.0), (-700f64).exp()) <= 2.0);
    assert_eq!(Activation::Tanh.value(1e300), 1.0);
    assert_eq!(Activation::Tanh.value(-1e300), -1.0);
    assert_eq!(Activation::Relu.value(-1e300), 0.0);
    assert_eq!(Activation::Relu.value(1e300), 1e300);
    assert!(rel_eps(Activation::LeakyRelu { slope: 0.01 }.value(-1e300), -1e298) <= 1.0);
}

#[test]
fn sigmoid_derivative_equals_sigma_times_sigma_of_minus_z_everywhere() {
    // σ′(z) = σ(z)·σ(−z): an independent formula, free of cancellation on both sides.
    for z in arguments() {
        let f = Activation::Sigmoid;
        let expected = f.value(z) * f.value(-z);
        if expected.is_normal() {
            assert!(rel_eps(f.derivative(z), expected) <= DERIVATIVE_FORMULA_EPS, "σ′({z})");
        }
    }
    // At z = 40 the textbook σ(1 − σ) is 0; the true value is e^−40.
    let d = Activation::Sigmoid.derivative(40.0);
    assert!(rel_eps(d, (-40f64).exp()) <= DERIVATIVE_FORMULA_EPS, "σ′(40) = {d}");
    assert_eq!(Activation::Sigmoid.derivative(0.0), 0.25);
}

#[test]
fn tanh_derivative_matches_one_minus_tanh_squared_and_its_tail() {
    for z in [-0.9f64, -0.3, 0.0, 1e-9, 0.4, 0.99] {
        let t = z.tanh();
        assert!(rel_eps(Activation::Tanh.derivative(z), 1.0 - t * t) <= DERIVATIVE_FORMULA_EPS, "tanh′({z})");
    }
    // For |z| ≥ 20, sech²z = 4e^{−2|z|}(1 + O(e^{−2|z|})) and the O term is below f64's precision.
    for z in [20.0, -40.0, 300.0, -350.0] {
        let tail = 4.0 * (-2.0 * f64::abs(z)).exp();
        assert!(rel_eps(Activation::Tanh.derivative(z), tail) <= DERIVATIVE_FORMULA_EPS, "tanh′({z})");
    }
}

#[test]
fn softplus_derivative_is_sigmoid() {
    for z in arguments() {
        assert_eq!(Activation::Softplus.derivative(z), Activation::Sigmoid.value(z), "z = {z}");
    }
}

#[test]
fn derivatives_match_central_differences_on_smooth_activations() {
    // Central difference with Richardson extrapolation: error O(h⁴) + round-off O(ε/h).
    let h = 1e-3;
    for f in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softplus,
        Activation::Identity,
        Activation::Gelu,
        Activation::Silu,
    ] {
        for z in [-6.0, -2.5, -0.7, 0.0, 0.3, 1.1, 4.0] {
            let d = |h: f64| (f.value(z + h) - f.value(z - h)) / (2.0 * h);
            let numeric = (4.0 * d(h / 2.0) - d(h)) / 3.0;
            let exact = f.derivative(z);
            assert!((numeric - exact).abs() <= 1e-10 * exact.abs().max(1e-3), "{f}′({z}): {exact} vs {numeric}");
        }
    }
}

#[test]
fn relu_derivative_at_zero_is_zero_and_leaky_is_its_slope() {
    assert_eq!(Activation::Relu.derivative(0.0), 0.0);
    assert_eq!(Activation::Relu.derivative(-0.0), 0.0);
    assert_eq!(Activation::Relu.derivative(1e-300), 1.0);
    let leaky = Activation::LeakyRelu { slope: 0.125 };
    assert_eq!(leaky.derivative(0.0), 0.125);
    assert_eq!(leaky.derivative(-3.0), 0.125);
    assert_eq!(leaky.derivative(3.0), 1.0);
    assert_eq!(Activation::LeakyRelu { slope: -2.0 }.sup_derivative(), 2.0);
}

#[test]
fn sup_derivative_is_attained_or_approached() {
    // The bound is tight: sigmoid reaches 1/4 at 0, tanh 1 at 0, the others 1 for z > 0.
    assert_eq!(Activation::Sigmoid.derivative(0.0), Activation::Sigmoid.sup_derivative());
    assert_eq!(Activation::Tanh.derivative(0.0), Activation::Tanh.sup_derivative());
    assert!(Activation::Softplus.derivative(40.0) == 1.0);
    for f in [Activation::Relu, Activation::LeakyRelu { slope: 0.01 }, Activation::Identity] {
        assert_eq!(f.derivative(1.0), f.sup_derivative());
    }
}

#[test]
fn ln_abs_derivative_is_right_where_the_derivative_underflows() {
    for f in [Activation::Sigmoid, Activation::Tanh, Activation::Softplus, Activation::Gelu, Activation::Silu] {
        for z in arguments() {
            let d = f.derivative(z);
            if d.is_normal() {
                let l = f.ln_abs_derivative(z);
                assert!(
                    (l - d.abs().ln()).abs() <= 4.0 * f64::EPSILON * l.abs().max(1.0),
                    "{f}: ln f′({z}) = {l} vs {}",
                    d.abs().ln()
                );
            }
        }
    }
    // Below the f64 range: ln σ′(−800) = −800 − 2·ln(1 + e^−800) = −800; ln tanh′(−800) = ln 4 − 1600.
    assert_eq!(Activation::Sigmoid.ln_abs_derivative(-800.0), -800.0);
    assert_eq!(Activation::Tanh.ln_abs_derivative(-800.0), 4f64.ln() - 1600.0);
    assert_eq!(Activation::Softplus.ln_abs_derivative(-1e300), -1e300);
    let ext = Activation::Sigmoid.derivative_ext(Ext::from_f64(-800.0));
    assert!((ext.ln_abs() + 800.0).abs() < 1e-12, "{ext}");
    assert_eq!(Activation::Relu.ln_abs_derivative(-1.0), f64::NEG_INFINITY);
    assert!(Activation::Relu.derivative_ext(Ext::from_f64(-1.0)).is_zero());
}

#[test]
fn derivative_ext_equals_derivative_wherever_that_is_normal() {
    for f in ALL {
        for z in arguments() {
            let d = f.derivative(z);
            if d.is_normal() {
                assert_eq!(f.derivative_ext(Ext::from_f64(z)).to_f64(), d, "{f}′({z})");
                assert_eq!(f.value_ext(Ext::from_f64(z)).to_f64(), f.value(z), "{f}({z})");
            }
        }
    }
}

#[test]
fn names_round_trip_and_unknown_names_are_refused() {
    for name in Activation::NAMES {
        assert_eq!(Activation::from_name(name, 0.01).unwrap().name(), name);
    }
    let err = Activation::from_name("sigmod", 0.01).unwrap_err().to_string();
    assert!(err.contains("sigmod") && err.contains("sigmoid"), "{err}");
    assert!(Activation::from_name("leaky_relu", f64::NAN).is_err());
}

#[test]
fn value_ext_and_derivative_ext_reach_beyond_f64() {
    let tiny = Ext::pow2(-5000);
    let huge = Ext::pow2(5000);
    assert_eq!(Activation::Tanh.value_ext(tiny), tiny);
    assert_eq!(Activation::Sigmoid.value_ext(tiny).to_f64(), 0.5);
    assert_eq!(Activation::Softplus.value_ext(tiny).to_f64(), std::f64::consts::LN_2);
    assert_eq!(Activation::Sigmoid.derivative_ext(tiny).to_f64(), 0.25);
    assert_eq!(Activation::Tanh.derivative_ext(tiny).to_f64(), 1.0);
    assert_eq!(Activation::Relu.value_ext(-huge), Ext::ZERO);
    assert_eq!(Activation::LeakyRelu { slope: 0.5 }.value_ext(-tiny), -Ext::pow2(-5001));
    assert_eq!(Activation::Softplus.value_ext(huge), huge);
    assert_eq!(Activation::Sigmoid.value_ext(-huge), Ext::ZERO);
    assert_eq!(Activation::Tanh.value_ext(-huge).to_f64(), -1.0);
    assert_eq!(Activation::Softplus.derivative_ext(huge).to_f64(), 1.0);
}

#[test]
fn display_writes_the_name_and_a_leaky_slope() {
    let shown: Vec<String> = ALL.iter().map(|f| f.to_string()).collect();
    assert_eq!(shown, ["sigmoid", "tanh", "relu", "leaky_relu(0.01)", "softplus", "identity", "gelu", "silu"]);
    assert_eq!(Activation::LeakyRelu { slope: -0.125 }.to_string(), "leaky_relu(-0.125)");
}

#[test]
fn value_ext_follows_e_to_the_z_where_sigmoid_and_softplus_underflow_f64() {
    // For z < −745 both σ(z) and softplus(z) are e^z to a relative e^z, far below f64's
    // subnormals; from the logarithm, ln f(z) = z to within `from_ln`'s rounding.
    for f in [Activation::Sigmoid, Activation::Softplus] {
        let v = f.value_ext(Ext::from_f64(-800.0));
        assert!((v.ln_abs() + 800.0).abs() < 1e-12, "{f}(−800) = {v}");
    }
    // Tanh's value never leaves f64's range: tanh(−800) = −1.
    assert_eq!(Activation::Tanh.value_ext(Ext::from_f64(-800.0)), -Ext::ONE);
}

#[test]
fn derivative_ext_at_huge_arguments_is_the_limit_of_each_derivative() {
    // σ′, tanh′ → 0 as |z| → ∞; softplus′ = σ → 1 as z → +∞ and → 0 as z → −∞.
    let huge = Ext::pow2(5000);
    for z in [huge, -huge] {
        assert!(Activation::Sigmoid.derivative_ext(z).is_zero(), "σ′({z})");
        assert!(Activation::Tanh.derivative_ext(z).is_zero(), "tanh′({z})");
    }
    assert_eq!(Activation::Softplus.derivative_ext(huge), Ext::ONE);
    assert!(Activation::Softplus.derivative_ext(-huge).is_zero());
    assert_eq!(Activation::Relu.derivative_ext(huge), Ext::ONE);
    assert_eq!(Activation::LeakyRelu { slope: 0.25 }.derivative_ext(-huge), Ext::from_f64(0.25));
}

#[test]
fn ext_values_at_signed_zero_and_nan_have_the_bits_of_f64_values() {
    // relu(−0) = max(−0, 0) takes the "z ≤ 0" side: +0, in f64 and in Ext alike.
    for f in ALL {
        for z in [0.0, -0.0] {
            let (ext, plain) = (f.value_ext(Ext::from_f64(z)).to_f64(), f.value(z));
            assert_eq!(ext.to_bits(), plain.to_bits(), "{f}({z:?}): {ext:?} vs {plain:?}");
        }
        assert!(f.value_ext(Ext::from_f64(f64::NAN)).is_nan(), "{f}(NaN)");
        assert!(f.derivative_ext(Ext::from_f64(f64::NAN)).is_nan(), "{f}′(NaN)");
    }
}

// Mutants that `cargo mutants -p scalar -f crates/scalar/src/activation.rs` leaves alive, each
// equivalent (no test can tell it from the original):
// - `replace > with >= in Activation::value_ext` (`positive = z.signum() > 0.0`): `positive` is
//   read only where z is beyond `f64`'s range (|z| > f64::MAX, so z ≠ 0 and signum is ±1), and
//   there `>` and `>=` agree.

/// f′ by bisection of f″'s sign change between a and b (f″ by central differences of f′).
fn bisect(g: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    assert!(g(a) * g(b) < 0.0, "no sign change in [{a}, {b}]");
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if m == a || m == b {
            break;
        }
        if g(a) * g(m) <= 0.0 { b = m } else { a = m }
    }
    0.5 * (a + b)
}

#[test]
fn gelu_and_silu_derivatives_pass_gradcheck_over_a_wide_range() {
    use scalar::gradcheck::{Options, check_gradient};
    for f in [Activation::Gelu, Activation::Silu] {
        // 400 points over [−40, 40] (f′ from −0.13 to 1.13, e^{−800} in GELU′'s left tail), plus the
        // extremes of f′ and its zero.
        let mut zs: Vec<f64> = (0..=400).map(|i| -40.0 + 0.2 * f64::from(i) + 0.013).collect();
        zs.extend([
            std::f64::consts::SQRT_2,
            -std::f64::consts::SQRT_2,
            scalar::activation::SILU_ARGMAX,
            -0.7518,
            -1.2785,
        ]);
        for z in zs {
            let report = check_gradient(|x| f.value(x[0]), &[z], &[f.derivative(z)], &Options::richardson()).unwrap();
            assert!(report.passed(), "{f}′({z}) = {} fails gradcheck: {report:?}", f.derivative(z));
        }
    }
}

#[test]
fn gelu_and_silu_suprema_are_where_f_second_vanishes_and_exceed_one() {
    // GELU″ = φ(z)(2 − z²): the maximum of GELU′ is at √2, found again here as the sign change of
    // a central difference of GELU′, and equals ½(1 + erf 1) + 1/(e√π).
    let second = |f: Activation| move |z: f64| f.derivative(z + 1e-6) - f.derivative(z - 1e-6);
    let zg = bisect(second(Activation::Gelu), 1.0, 2.0);
    assert!((zg - std::f64::consts::SQRT_2).abs() < 1e-6, "argmax GELU′ = {zg}");
    let closed = 0.5 * (1.0 + scalar::erf::erf(1.0)) + (-1f64).exp() / std::f64::consts::PI.sqrt();
    assert!(rel_eps(Activation::Gelu.sup_derivative(), closed) <= 2.0, "{closed}");
    // SiLU″ = σ′(z)(2 − z·tanh(z/2)): its root solves z·tanh(z/2) = 2.
    let x0 = bisect(|z| z * (z / 2.0).tanh() - 2.0, 2.0, 3.0);
    assert!((x0 - scalar::activation::SILU_ARGMAX).abs() <= 4.0 * f64::EPSILON * x0, "x₀ = {x0}");
    let zs = bisect(second(Activation::Silu), 2.0, 3.0);
    assert!((zs - x0).abs() < 1e-6, "argmax SiLU′ = {zs}");
    for f in [Activation::Gelu, Activation::Silu] {
        let sup = f.sup_derivative();
        assert!(sup > 1.0, "{f}: sup |f′| = {sup} exceeds 1");
        // No sampled |f′| exceeds it, and f′(−z) = 1 − f′(z) puts the minimum at 1 − sup.
        for i in 0..=20_000 {
            let z = -10.0 + 1e-3 * f64::from(i);
            assert!(f.derivative(z).abs() <= sup, "|{f}′({z})| > {sup}");
            assert!((f.derivative(-z) - (1.0 - f.derivative(z))).abs() <= 4.0 * f64::EPSILON, "{f}′(−{z})");
        }
    }
    // The quoted figures (docs and the table of activation.rs).
    assert_eq!(format!("{:.4}", Activation::Gelu.sup_derivative()), "1.1289");
    assert_eq!(format!("{:.4}", Activation::Silu.sup_derivative()), "1.0998");
    assert_eq!(format!("{:.4}", scalar::activation::SILU_ARGMAX), "2.3994");
}

#[test]
fn gelu_and_silu_derivatives_change_sign_once_and_stay_negative_to_the_left() {
    let zero = |f: Activation| bisect(|z| f.derivative(z), -3.0, 0.0);
    let (zg, zs) = (zero(Activation::Gelu), zero(Activation::Silu));
    assert_eq!(format!("{zg:.4} {zs:.4}"), "-0.7518 -1.2785");
    for (f, z0) in [(Activation::Gelu, zg), (Activation::Silu, zs)] {
        for z in [z0 - 1e-6, -2.0, -10.0, -30.0, -700.0] {
            assert!(f.derivative(z) < 0.0 || f.ln_abs_derivative(z) < -700.0, "{f}′({z}) ≥ 0");
            assert_eq!(f.derivative_ext(Ext::from_f64(z)).signum(), -1.0, "{f}′({z}) as Ext");
        }
        assert!(f.derivative(z0 + 1e-6) > 0.0);
    }
}

#[test]
fn gelu_and_silu_reach_beyond_f64_at_extreme_arguments() {
    for f in [Activation::Gelu, Activation::Silu] {
        let huge = Ext::from_f64(1e300) * Ext::from_f64(1e300);
        assert_eq!(f.value_ext(huge), huge, "{f}(1e600) = 1e600");
        assert!(f.value_ext(-huge).is_zero());
        assert_eq!(f.derivative_ext(huge), Ext::ONE);
        assert!(f.derivative_ext(-huge).is_zero());
        assert_eq!(f.value(1e300), 1e300);
        assert_eq!(f.derivative(1e300), 1.0);
        let tiny = Ext::from_f64(1e-300) * Ext::from_f64(1e-300);
        assert_eq!(f.value_ext(tiny), tiny * 0.5, "{f}(1e−600) = 1e−600/2");
    }
    // SiLU(−800) = −800·e^{−800}: ln |·| = ln 800 − 800 − ln(1 + e^{−800}).
    let v = Activation::Silu.value_ext(Ext::from_f64(-800.0));
    assert!((v.ln_abs() - (800f64.ln() - 800.0)).abs() < 1e-12 && v.signum() < 0.0, "{v}");
    assert_eq!(Activation::Gelu.ln_abs_derivative(-1e300), f64::NEG_INFINITY, "−5e599 is below f64");
}

#[test]
fn where_gelu_and_silu_count_as_saturated() {
    // diagnose's criterion |f′| < 10⁻³·sup|f′| (docs/model-format.md quotes these figures): the
    // left-tail threshold, and the width of the band around f′'s zero.
    let theta = 1e-3;
    let mut quoted = Vec::new();
    for f in [Activation::Gelu, Activation::Silu] {
        let level = theta * f.sup_derivative();
        let tail = bisect(|z| f.derivative(z) + level, -20.0, -2.0);
        let zero = bisect(|z| f.derivative(z), -3.0, 0.0);
        let width = bisect(|z| f.derivative(z) - level, zero, zero + 0.1)
            - bisect(|z| f.derivative(z) + level, zero - 0.1, zero);
        quoted.push(format!("{f}: z < {tail:.2}, band {width:.4}"));
    }
    assert_eq!(quoted, ["gelu: z < -3.78, band 0.0052", "silu: z < -8.88, band 0.0101"]);
}
