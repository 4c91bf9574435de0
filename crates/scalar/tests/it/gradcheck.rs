//! The gradient checker and the Taylor test: they accept right gradients (including the tape's),
//! reject wrong ones and say where, recognise kinks, and report the convergence order.

use proptest::prelude::*;
use scalar::gradcheck::{Options, TaylorOptions, TaylorOutcome, Verdict, check_gradient, taylor_test};
use scalar::{Activation, Error, Tape};

/// An observed Taylor order within this of 2 (or 1) counts as 2 (or 1). Residuals that count sit
/// ≥ 1024·ε above round-off, which moves an order by ≲ 0.03; the rest is the next Taylor term at
/// the smallest usable steps.
const ORDER_TOL: f64 = 0.1;

/// f(x) = sin(x₀)·x₁² + e^{x₂}/(1 + x₀²) + x₁·x₂, a smooth function of three variables.
fn smooth(p: &[f64]) -> f64 {
    p[0].sin() * p[1] * p[1] + p[2].exp() / (1.0 + p[0] * p[0]) + p[1] * p[2]
}

/// ∇f for [`smooth`], by hand.
fn smooth_gradient(p: &[f64]) -> Vec<f64> {
    let d = 1.0 + p[0] * p[0];
    vec![
        p[0].cos() * p[1] * p[1] - 2.0 * p[0] * p[2].exp() / (d * d),
        2.0 * p[0].sin() * p[1] + p[2],
        p[2].exp() / d + p[1],
    ]
}

const POINTS: [[f64; 3]; 4] = [[0.0, 0.0, 0.0], [0.5, -1.25, 0.75], [-2.0, 3.0, -1.5], [40.0, -0.01, 2.0]];

#[test]
fn right_gradients_pass_every_coordinate_in_both_modes() {
    for options in [Options::central(), Options::richardson()] {
        for x in POINTS {
            let report = check_gradient(smooth, &x, &smooth_gradient(&x), &options).unwrap();
            assert!(report.passed(), "{report}");
            assert!(
                report.coordinates.iter().all(|c| c.verdict == Verdict::Pass),
                "a smooth point was taken for a kink:\n{report}"
            );
        }
    }
}

#[test]
fn wrong_gradient_fails_and_names_the_wrong_coordinate_as_worst() {
    // Negative control: the checker must reject a gradient with one wrong entry, and say which.
    for options in [Options::central(), Options::richardson()] {
        for (x, wrong_idx) in POINTS.iter().zip([0, 1, 2, 1]) {
            let mut claimed = smooth_gradient(x);
            claimed[wrong_idx] += 1e-3 * claimed[wrong_idx].abs().max(1.0);
            let report = check_gradient(smooth, x, &claimed, &options).unwrap();
            assert!(!report.passed(), "{report}");
            let worst = report.worst().unwrap();
            assert_eq!(worst.index, wrong_idx, "{report}");
            assert_eq!(worst.verdict, Verdict::Fail);
            let n_failed = report.coordinates.iter().filter(|c| c.verdict == Verdict::Fail).count();
            assert_eq!(n_failed, 1, "{report}");
            let table = report.to_string();
            let headline = format!("FAIL (1 of 3 coordinates; worst {wrong_idx} ");
            assert!(table.contains(&headline), "{table}");
        }
    }
}

#[test]
fn common_gradient_bugs_fail() {
    let x = [0.5, -1.25, 0.75];
    let right = smooth_gradient(&x);
    let bugs: [(&str, Vec<f64>); 3] = [
        ("sign", vec![-right[0], right[1], right[2]]),
        ("swapped entries", vec![right[1], right[0], right[2]]),
        ("factor 2", right.iter().map(|g| 2.0 * g).collect()),
    ];
    for (what, claimed) in bugs {
        let report = check_gradient(smooth, &x, &claimed, &Options::default()).unwrap();
        assert!(!report.passed(), "{what}:\n{report}");
    }
}

#[test]
fn central_error_stays_within_the_truncation_plus_round_off_bound() {
    // For f = e^{kx}: D(h) − f′ = f‴(ξ)·h²/6 + (rounding), |f‴(ξ)| ≤ k³e^{k(x+h)} and the rounding of
    // f(x ± h) (exp is within 1 ulp; ×k adds ½ ulp) is at most 2ε·e^{k(x+h)}/(2h)·2. The module docs
    // derive the default tolerances from this bound; check that it holds, and that it is far below
    // the default tolerance.
    let eps = f64::EPSILON;
    for k in [1.0, 3.0, 10.0] {
        for x in [-2.0, -0.5, 0.0, 0.3, 1.0, 2.0] {
            let f = |p: &[f64]| (k * p[0]).exp();
            let exact = k * (k * x).exp();
            let report = check_gradient(f, &[x], &[exact], &Options::central()).unwrap();
            let c = report.coordinates[0];
            let h = c.step;
            let top = (k * (x + h)).exp();
            let bound = k * k * k * top * h * h / 6.0 + 2.0 * eps * top / h;
            assert!(c.abs_err <= bound, "k {k}, x {x}: {} > {bound}", c.abs_err);
            assert!(c.abs_err <= 1e-2 * c.tolerance, "k {k}, x {x}:\n{report}");
            assert_eq!(c.verdict, Verdict::Pass);
        }
    }
}

#[test]
fn richardson_is_more_accurate_than_central_differences() {
    let f = |p: &[f64]| (3.0 * p[0]).sin() * p[1].exp();
    let x = [0.4f64, 0.2];
    let exact = [3.0 * (3.0 * x[0]).cos() * x[1].exp(), (3.0 * x[0]).sin() * x[1].exp()];
    let central = check_gradient(f, &x, &exact, &Options::central()).unwrap();
    let richardson = check_gradient(f, &x, &exact, &Options::richardson()).unwrap();
    for (c, r) in central.coordinates.iter().zip(&richardson.coordinates) {
        assert!(r.abs_err < c.abs_err / 10.0, "{central}{richardson}");
    }
    assert!(richardson.passed(), "{richardson}");
}

#[test]
fn tape_gradients_pass_the_check() {
    // Any gradient from the tape is a claim the checker can test: here a two-layer tanh/sigmoid
    // expression with a ln and a division.
    let f_and_grad = |p: &[f64]| {
        let tape = Tape::new();
        let v: Vec<_> = p.iter().map(|&pi| tape.var(pi)).collect();
        let hidden = (v[0] * v[1] + v[2]).activate(Activation::Tanh);
        let out = (hidden * v[3] - v[0]).activate(Activation::Sigmoid);
        let y = (out + 1.0).ln() / (v[1].square() + 1.0);
        let grads = tape.backward(y);
        (y.value(), grads.wrt_all(&v))
    };
    let f = |p: &[f64]| f_and_grad(p).0;
    for x in [[0.1, -0.7, 0.3, 2.0], [-1.5, 0.25, 1.0, -0.5]] {
        let (_, claimed) = f_and_grad(&x);
        for options in [Options::central(), Options::richardson()] {
            let report = check_gradient(f, &x, &claimed, &options).unwrap();
            assert!(report.passed(), "{report}");
        }
    }
}

#[test]
fn abs_at_zero_accepts_zero_as_a_subgradient_and_rejects_five() {
    let f = |p: &[f64]| p[0].abs();
    for claimed in [0.0, 1.0, -1.0, 0.5] {
        let report = check_gradient(f, &[0.0], &[claimed], &Options::default()).unwrap();
        let c = report.coordinates[0];
        assert!(c.kink, "{report}");
        assert_eq!(c.verdict, Verdict::Subgradient, "{report}");
        assert_eq!((c.backward, c.forward), (-1.0, 1.0));
        assert!(report.passed());
    }
    let report = check_gradient(f, &[0.0], &[5.0], &Options::default()).unwrap();
    assert_eq!(report.coordinates[0].verdict, Verdict::Fail, "{report}");
    assert!(!report.passed());
    assert!(report.to_string().contains("kink"), "{report}");
}

#[test]
fn relu_at_zero_accepts_any_slope_between_zero_and_one() {
    let f = |p: &[f64]| Activation::Relu.value(p[0]);
    let at_zero =
        |claimed: f64| check_gradient(f, &[0.0], &[claimed], &Options::default()).unwrap().coordinates[0].verdict;
    // The tape's convention relu′(0) = 0 is a subgradient; so is 1 and anything between.
    assert_eq!(at_zero(Activation::Relu.derivative(0.0)), Verdict::Subgradient);
    assert_eq!(at_zero(1.0), Verdict::Subgradient);
    assert_eq!(at_zero(0.3), Verdict::Subgradient);
    assert_eq!(at_zero(1.5), Verdict::Fail);
    assert_eq!(at_zero(-0.5), Verdict::Fail);
}

#[test]
fn a_kink_within_one_step_is_recognised() {
    // At x = 1e−7 (inside the step h ≈ 6e−6), |x| is differentiable with derivative 1, but the
    // central difference straddles the kink and reads x/h ≈ 0.017. The one-sided differences see
    // the kink, so the right derivative 1 passes as a subgradient instead of failing.
    let f = |p: &[f64]| p[0].abs();
    let report = check_gradient(f, &[1e-7], &[1.0], &Options::default()).unwrap();
    let c = report.coordinates[0];
    assert!(c.numeric < 0.1, "{report}");
    assert_eq!(c.verdict, Verdict::Subgradient, "{report}");
}

#[test]
fn smooth_minimum_is_not_a_kink() {
    // x² at 0: the one-sided second-order differences are exact for a quadratic, so no kink, and
    // 0 is a plain pass.
    let f = |p: &[f64]| p[0] * p[0];
    let report = check_gradient(f, &[0.0], &[0.0], &Options::default()).unwrap();
    assert_eq!(report.coordinates[0].verdict, Verdict::Pass, "{report}");
    assert!(!report.coordinates[0].kink);
    let report = check_gradient(f, &[0.0], &[1e-3], &Options::default()).unwrap();
    assert_eq!(report.coordinates[0].verdict, Verdict::Fail, "{report}");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let f = |p: &[f64]| p.iter().sum::<f64>();
    let opts = Options::default();
    assert!(matches!(check_gradient(f, &[1.0, 2.0], &[1.0], &opts), Err(Error::Shape { expected: 2, got: 1, .. })));
    assert!(matches!(check_gradient(f, &[f64::NAN], &[1.0], &opts), Err(Error::NonFinite { .. })));
    assert!(matches!(check_gradient(f, &[1.0], &[f64::INFINITY], &opts), Err(Error::NonFinite { .. })));
    assert!(matches!(check_gradient(|_: &[f64]| f64::NAN, &[1.0], &[1.0], &opts), Err(Error::NonFinite { .. })));
    for bad in [Options { atol: -1.0, ..opts }, Options { rtol: f64::NAN, ..opts }, Options { rel_step: 0.0, ..opts }] {
        assert!(matches!(check_gradient(f, &[1.0], &[1.0], &bad), Err(Error::Invalid { .. })));
    }
    let taylor = TaylorOptions::default();
    assert!(matches!(taylor_test(f, &[1.0], &[1.0, 2.0], &taylor), Err(Error::Shape { .. })));
    assert!(matches!(taylor_test(f, &[], &[], &taylor), Err(Error::Invalid { .. })));
    assert!(matches!(
        taylor_test(f, &[1.0], &[1.0], &TaylorOptions { halvings: 0, ..taylor }),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(taylor_test(f, &[1.0], &[f64::NAN], &taylor), Err(Error::NonFinite { .. })));
}

#[test]
fn a_non_finite_difference_fails_its_coordinate_without_error() {
    // ln x at x = 1e−300 is finite, but x − h < 0 makes the central difference NaN.
    let f = |p: &[f64]| p[0].ln();
    let report = check_gradient(f, &[1e-300], &[1e300], &Options::default()).unwrap();
    assert_eq!(report.coordinates[0].verdict, Verdict::Fail, "{report}");
    assert_eq!(report.worst().unwrap().index, 0);
}

#[test]
fn empty_input_passes_with_no_worst_coordinate() {
    let report = check_gradient(|_: &[f64]| 1.0, &[], &[], &Options::default()).unwrap();
    assert!(report.passed());
    assert!(report.worst().is_none());
}

#[test]
fn taylor_order_is_two_for_the_right_gradient_and_one_for_a_wrong_one() {
    for x in POINTS {
        let right = smooth_gradient(&x);
        let report = taylor_test(smooth, &x, &right, &TaylorOptions::default()).unwrap();
        let order = report.order().unwrap_or(f64::NAN);
        assert!((order - 2.0).abs() < ORDER_TOL, "{report}");

        let mut wrong = right.clone();
        wrong[1] += 1e-2;
        let report = taylor_test(smooth, &x, &wrong, &TaylorOptions::default()).unwrap();
        let order = report.order().unwrap_or(f64::NAN);
        assert!((order - 1.0).abs() < ORDER_TOL, "{report}");
        assert!(report.to_string().contains("observed order"), "{report}");
    }
}

#[test]
fn taylor_test_says_so_when_every_residual_is_round_off() {
    // f is linear, so with the right gradient r(h) is pure rounding at every h.
    let f = |p: &[f64]| 0.5 * p[0] - 2.0 * p[1] + 3.0;
    let report = taylor_test(f, &[1.0, 2.0], &[0.5, -2.0], &TaylorOptions::default()).unwrap();
    assert_eq!(report.outcome(), TaylorOutcome::RoundOffOnly, "{report}");
    assert!(report.order().is_none());
    assert!(report.to_string().contains("round-off level"), "{report}");
    // … and a wrong gradient of a linear f is first order.
    let report = taylor_test(f, &[1.0, 2.0], &[0.5, -1.0], &TaylorOptions::default()).unwrap();
    let order = report.order().unwrap_or(f64::NAN);
    assert!((order - 1.0).abs() < ORDER_TOL, "{report}");
}

#[test]
fn taylor_direction_is_a_seeded_unit_vector() {
    let x = [0.5, -1.25, 0.75];
    let g = smooth_gradient(&x);
    let run = |seed| taylor_test(smooth, &x, &g, &TaylorOptions { seed, ..TaylorOptions::default() }).unwrap();
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a, b);
    assert_ne!(a.direction, c.direction);
    let norm = a.direction.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() <= 4.0 * f64::EPSILON);
    assert_eq!(a.steps.len(), TaylorOptions::default().halvings + 1);
    assert!(a.steps.windows(2).all(|s| s[1].h == s[0].h / 2.0));
}

/// A quadratic f(x) = ½·xᵀAx + bᵀx with symmetric A, at a point x, all entries multiples of 1/16
/// so that the gradient A·x + b is exact.
#[derive(Debug, Clone)]
struct QuadraticCase {
    a: Vec<Vec<f64>>,
    b: Vec<f64>,
    x: Vec<f64>,
}

fn quadratic_case_strategy() -> impl Strategy<Value = QuadraticCase> {
    (1usize..6).prop_flat_map(|n| {
        let dyadic = (-64i32..=64).prop_map(|k| f64::from(k) / 16.0);
        (
            proptest::collection::vec(dyadic.clone(), n * n),
            proptest::collection::vec(dyadic.clone(), n),
            proptest::collection::vec(dyadic, n),
        )
            .prop_map(move |(raw, b, x)| {
                let a = (0..n).map(|i| (0..n).map(|j| raw[i.min(j) * n + i.max(j)]).collect()).collect();
                QuadraticCase { a, b, x }
            })
    })
}

proptest! {
    #[test]
    fn exact_gradients_of_quadratics_pass(case in quadratic_case_strategy()) {
        let QuadraticCase { a, b, x } = case;
        let f = |p: &[f64]| {
            let quad: f64 = (0..p.len())
                .map(|i| (0..p.len()).map(|j| p[i] * a[i][j] * p[j]).sum::<f64>())
                .sum();
            0.5 * quad + b.iter().zip(p).map(|(bi, pi)| bi * pi).sum::<f64>()
        };
        let grad: Vec<f64> = (0..x.len())
            .map(|i| (0..x.len()).map(|j| a[i][j] * x[j]).sum::<f64>() + b[i])
            .collect();
        for options in [Options::central(), Options::richardson()] {
            let report = check_gradient(f, &x, &grad, &options).unwrap();
            prop_assert!(report.coordinates.iter().all(|c| c.verdict == Verdict::Pass), "{}", report);
        }
        // Perturbing one coordinate by 1/16 must fail there.
        let mut wrong = grad.clone();
        wrong[0] += 1.0 / 16.0;
        let report = check_gradient(f, &x, &wrong, &Options::default()).unwrap();
        prop_assert_eq!(report.worst().unwrap().index, 0);
        prop_assert!(!report.passed());
    }
}
