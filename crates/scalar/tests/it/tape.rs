//! The tape: every primitive's rule, derived ops, deep chains, and what a second backward does.

use scalar::{Activation, Tape};

/// Central difference with Richardson extrapolation, for checking rules on smooth functions.
fn numeric(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let d = |h: f64| (f(x + h) - f(x - h)) / (2.0 * h);
    let h = 1e-3 * x.abs().max(1.0);
    (4.0 * d(h / 2.0) - d(h)) / 3.0
}

type Plain = Box<dyn Fn(f64) -> f64>;
type Recorded = Box<dyn Fn(scalar::Var<'_>) -> scalar::Var<'_>>;

#[test]
fn each_primitive_has_its_textbook_derivative() {
    let x0 = 0.7;
    let cases: Vec<(&str, Plain, f64)> = vec![
        ("x + x", Box::new(|x| x + x), 2.0),
        ("x · x", Box::new(|x| x * x), 2.0 * x0),
        ("−x", Box::new(|x| -x), -1.0),
        ("x⁵", Box::new(|x: f64| x.powi(5)), 5.0 * x0.powi(4)),
        ("x⁻²", Box::new(|x: f64| x.powi(-2)), -2.0 * x0.powi(-3)),
        ("eˣ", Box::new(f64::exp), x0.exp()),
        ("ln x", Box::new(f64::ln), 1.0 / x0),
        ("√x", Box::new(f64::sqrt), 0.5 / x0.sqrt()),
        ("σ(x)", Box::new(|x| Activation::Sigmoid.value(x)), Activation::Sigmoid.derivative(x0)),
    ];
    let recorded: Vec<Recorded> = vec![
        Box::new(|x| x + x),
        Box::new(|x| x * x),
        Box::new(|x| -x),
        Box::new(|x| x.powi(5)),
        Box::new(|x| x.powi(-2)),
        Box::new(|x| x.exp()),
        Box::new(|x| x.ln()),
        Box::new(|x| x.sqrt()),
        Box::new(|x| x.activate(Activation::Sigmoid)),
    ];
    for ((name, f, exact), record) in cases.iter().zip(&recorded) {
        let tape = Tape::new();
        let x = tape.var(x0);
        let y = record(x);
        assert_eq!(y.value(), f(x0), "{name} value");
        let g = tape.backward(y).wrt(x);
        assert_eq!(g, *exact, "{name}: tape rule");
        assert!((g - numeric(f, x0)).abs() <= 1e-9 * exact.abs(), "{name}: finite difference");
    }
}

#[test]
fn derived_operations_follow_from_primitives() {
    let tape = Tape::new();
    let (a, b) = (tape.var(3.0), tape.var(-0.5));
    let q = (a - b) / (a * b) + 2.0 * a - 1.0 / b;
    let g = tape.backward(q);
    // q = (a−b)/(ab) + 2a − 1/b = 1/b − 1/a + 2a − 1/b = 2a − 1/a: ∂q/∂a = 2 + 1/a², ∂q/∂b = 0.
    assert!((g.wrt(a) - (2.0 + 1.0 / 9.0)).abs() < 1e-15);
    assert!(g.wrt(b).abs() < 1e-14);
    assert!((q.value() - (6.0 - 1.0 / 3.0)).abs() < 1e-14);
}

#[test]
fn gradients_of_intermediate_nodes_can_be_read() {
    let tape = Tape::new();
    let x = tape.var(2.0);
    let h = x * x; // 4
    let y = h * 3.0 + h.exp();
    let g = tape.backward(y);
    assert_eq!(g.wrt(h), 3.0 + 4f64.exp());
    assert_eq!(g.wrt(y), 1.0);
    assert_eq!(g.wrt(x), (3.0 + 4f64.exp()) * 4.0);
}

#[test]
fn a_second_backward_is_independent_and_recording_may_continue() {
    let tape = Tape::new();
    let x = tape.var(1.5);
    let y = x * x;
    let first = tape.backward(y);
    let second = tape.backward(y);
    assert_eq!(first, second, "backward does not accumulate across calls");
    let z = y * x; // recorded after the first backward
    let third = tape.backward(z);
    assert_eq!(third.wrt(x), 3.0 * 1.5 * 1.5);
    assert_eq!(first.wrt(z), 0.0, "a node recorded after the output has no influence on it");
    assert_eq!(tape.backward(x).wrt(x), 1.0);
}

#[test]
#[should_panic(expected = "another tape")]
fn backward_of_another_tapes_node_panics_as_documented() {
    let (t1, t2) = (Tape::new(), Tape::new());
    let y = t2.var(1.0);
    let _ = t1.var(1.0);
    t1.backward(y);
}

#[test]
fn a_chain_of_a_million_nodes_differentiates_without_stack_overflow() {
    let tape = Tape::with_capacity(1_000_000);
    let x = tape.var(0.75);
    let mut y = x;
    for _ in 0..999_999 {
        y = -y;
    }
    assert_eq!(tape.len(), 1_000_000);
    let g = tape.backward(y);
    assert_eq!(g.wrt(x), -1.0); // an odd number of negations
    assert_eq!(y.value(), -0.75);
}

#[test]
fn every_primitive_records_one_node_and_derived_ops_record_their_primitives() {
    let tape = Tape::new();
    assert!(tape.is_empty());
    assert_eq!(tape.len(), 0);
    let x = tape.var(2.0);
    assert!(!tape.is_empty());
    assert_eq!((tape.len(), x.index()), (1, 0));
    let y = tape.var(0.5);
    assert_eq!(y.index(), 1);
    let sum = x + y; // one Add
    assert_eq!((tape.len(), sum.index()), (3, 2));
    let diff = x - y; // Neg, then Add
    assert_eq!((tape.len(), diff.index()), (5, 4));
    let quotient = x / y; // Powi(−1), then Mul
    assert_eq!((tape.len(), quotient.index()), (7, 6));
    let shifted = x + 1.0; // a constant leaf, then Add
    assert_eq!((tape.len(), shifted.index()), (9, 8));
    let root = x.sqrt(); // one Sqrt
    assert_eq!((tape.len(), root.index()), (10, 9));
    assert_eq!((sum.value(), diff.value(), quotient.value(), shifted.value()), (2.5, 1.5, 4.0, 3.0));
    assert_eq!(Tape::with_capacity(16).len(), 0);
}

#[test]
fn powi_zero_has_derivative_zero_even_at_zero() {
    // d/dx x⁰ = 0 everywhere; the rule must not evaluate 0·x⁻¹ (= NaN at x = 0).
    let tape = Tape::new();
    let x = tape.var(0.0);
    let y = x.powi(0);
    assert_eq!(y.value(), 1.0);
    assert_eq!(tape.backward(y).wrt(x), 0.0);
}

#[test]
fn square_and_recip_have_their_textbook_derivatives() {
    // d(x²)/dx = 2x = 3 at x = 3/2;  d(1/x)/dx = −1/x² = −4 at x = 1/2 (both exact).
    let tape = Tape::new();
    let (a, b) = (tape.var(1.5), tape.var(0.5));
    let (sq, rc) = (a.square(), b.recip());
    assert_eq!((sq.value(), rc.value()), (2.25, 2.0));
    assert_eq!(tape.backward(sq).wrt(a), 3.0);
    assert_eq!(tape.backward(rc).wrt(b), -4.0);
}

#[test]
fn wrt_all_returns_each_gradient_in_the_order_asked() {
    // y = 3a − b·c with a = 1/4, b = 2, c = −1/2: ∂y/∂(a, b, c) = (3, −c, −b) = (3, 1/2, −2).
    let tape = Tape::new();
    let (a, b, c) = (tape.var(0.25), tape.var(2.0), tape.var(-0.5));
    let y = 3.0 * a - b * c;
    let g = tape.backward(y);
    assert_eq!(g.wrt_all(&[a, b, c]), vec![3.0, 0.5, -2.0]);
    assert_eq!(g.wrt_all(&[c, a]), vec![-2.0, 3.0]);
    assert_eq!(g.wrt_all(&[]), Vec::<f64>::new());
}

// Mutants that `cargo mutants -p scalar -f crates/scalar/src/tape.rs` leaves alive, each
// equivalent (no test can tell it from the original):
// - `replace Tape::with_capacity -> Self with Default::default()`: the capacity is a reservation
//   only; no value, gradient or `len` depends on it.
// Two mutants time out instead of failing, which cargo-mutants counts apart from caught: `a − b`
// as `a − (−b)` and `a / b` as `a / b⁻¹` call themselves without end.

/// `backward_error_scales` on sums worked by hand: a sum that cancels keeps its terms' size, an
/// exact operation adds nothing, and errors from earlier in the sweep add in quadrature.
#[test]
fn error_scales_follow_the_module_docs_rule() {
    // ∂(a·b + a·c)/∂a = b + c = 0 with b = 3, c = −3: a's sum rounds (two terms), so its scale is
    // Σ|terms| = 6; b's and c's adjoint is a = 2, one term times a power of two: exact, 0.
    let tape = Tape::new();
    let (a, b, c) = (tape.var(2.0), tape.var(3.0), tape.var(-3.0));
    let f = a * b + a * c;
    let (g, e) = (tape.backward(f), tape.backward_error_scales(f));
    assert_eq!((g.wrt(a), e.wrt(a)), (0.0, 6.0));
    assert_eq!((g.wrt(b), e.wrt(b), e.wrt(c)), (2.0, 0.0, 0.0));
    assert_eq!(e.wrt(f), 0.0, "the output's adjoint, 1, is exact");
    // y = (x·3)·5: x·3's adjoint is 1·5, one rounding of size 5; x's is 5·3, a rounding of size
    // 15 beside the earlier one carried by its factor 3: √(15² + (3·5)²) = 15√2.
    let tape = Tape::new();
    let x = tape.var(0.7);
    let m = x * 3.0;
    let y = m * 5.0;
    let e = tape.backward_error_scales(y);
    assert_eq!(e.wrt(m), 5.0);
    assert!((e.wrt(x) - 15.0 * 2f64.sqrt()).abs() < 1e-13, "{}", e.wrt(x));
    // ln divides: ∂ln(x)/∂x = 1/x, one rounding; exp of the same node is not a power of two.
    let tape = Tape::new();
    let x = tape.var(3.0);
    let y = x.ln();
    assert_eq!(tape.backward_error_scales(y).wrt(x), 1.0 / 3.0);
}

/// Where no sum cancels, the scale is the gradient's size times the square root of the number
/// of roundings along the way, so it is at least the gradient; where one cancels, it is the
/// terms' size however small the gradient.
#[test]
fn error_scales_are_the_gradient_where_nothing_cancels_and_the_terms_where_it_does() {
    let tape = Tape::new();
    let x = tape.var(0.3);
    let mut y = x;
    for k in 0..20 {
        y = (y * (1.1 + f64::from(k) * 0.01)).activate(Activation::Tanh);
    }
    let (g, e) = (tape.backward(y).wrt(x), tape.backward_error_scales(y).wrt(x));
    // 20 products by a weight and 20 by tanh′ (the first, 1·tanh′, too): 40 roundings.
    assert!((e / g.abs() - 40f64.sqrt()).abs() < 1e-9, "{e} against {g}");
    let tape = Tape::new();
    let x = tape.var(0.3);
    let y = (x * 1.1).activate(Activation::Tanh) - (x * 1.1).activate(Activation::Tanh);
    assert_eq!(tape.backward(y).wrt(x), 0.0);
    let term = 1.1 * Activation::Tanh.derivative(0.33); // ≈ 0.988, each of the two terms
    assert!(tape.backward_error_scales(y).wrt(x) >= 1.999 * term);
}
