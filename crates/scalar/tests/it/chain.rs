//! The single-neuron chain: tape against closed form, the article's bound, exact magnitudes far
//! beyond f64, and the worked cases whose gradients can be derived by hand.

use proptest::prelude::*;
use scalar::chain::{Chain, ChainGradients, Magnitudes};
use scalar::{Activation, Ext, FloatFormat, Skip};

/// A random chain and the (x, target) it is evaluated at.
#[derive(Debug, Clone)]
pub(super) struct ChainCase {
    pub(super) chain: Chain,
    pub(super) x: f64,
    pub(super) target: f64,
}

fn activation_strategy() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Relu),
        (-0.5f64..0.5).prop_map(|slope| Activation::LeakyRelu { slope }),
        Just(Activation::Softplus),
        Just(Activation::Identity),
    ]
}

pub(super) fn chain_case_strategy(max_depth: usize) -> impl Strategy<Value = ChainCase> {
    (1..=max_depth)
        .prop_flat_map(|depth| {
            (
                prop::collection::vec(-3.0f64..3.0, depth),
                prop::collection::vec(activation_strategy(), depth),
                prop::option::of(prop::collection::vec(-1.0f64..1.0, depth)),
                prop::option::of(1..=depth.min(3)),
                prop_oneof![Just(Skip::PreActivation), Just(Skip::Identity)],
                -2.0f64..2.0,
                -1.0f64..1.0,
            )
        })
        .prop_map(|(w, f, b, s, skip, x, target)| ChainCase {
            chain: Chain::new(w, f, b, s).unwrap().with_skip(skip),
            x,
            target,
        })
}

/// Whether every value of the exact forward pass (z_d, u_d, y, f(z_d), f′(z_d)) is 0 or lies 2^53 or
/// more above f64's smallest normal: then the f64 forward pass has its bits (a value that
/// underflows to 0 in f64 is not 0 here).
fn forward_stays_normal(chain: &Chain, x: f64) -> bool {
    let inside = |v: Ext| v.is_zero() || v.to_f64().abs() >= f64::MIN_POSITIVE * 2f64.powi(53);
    let trace = chain.forward_ext(x);
    trace.input.iter().chain(&trace.pre_activation).chain([&trace.output]).all(|&v| inside(v))
        && chain
            .activations()
            .iter()
            .zip(&trace.pre_activation)
            .all(|(f, &z)| inside(f.value_ext(z)) && inside(f.derivative_ext(z)))
}

proptest! {
    #[test]
    fn tape_and_closed_form_agree_exactly(case in chain_case_strategy(30)) {
        // Both skip forms are drawn: the identity form's recursion carries ∂L/∂a_{d+s}.
        // Both apply the same multiplications and two-term additions, each commutative in IEEE
        // arithmetic, so they agree exactly (stronger than "a few ulps"; `==` treats −0 and +0 as
        // equal, and a dead ReLU's zero gradient may carry either sign).
        let tape = case.chain.gradients_tape(case.x, case.target);
        let closed = case.chain.gradients_closed_form(case.x, case.target);
        prop_assert_eq!(&tape, &closed);
    }

    #[test]
    fn ext_gradients_equal_f64_gradients_inside_the_normal_range(case in chain_case_strategy(30)) {
        // Where f64 rounded an intermediate value in its subnormal range, it kept fewer bits than
        // `Ext` does, and the two part by an ulp even when the result is normal again (the identity
        // skip's sum δ·w + g_{l+s} with a subnormal first term; a subnormal value multiplied back
        // up). With |w| < 3 and |f′| ≤ 1 a layer multiplies a gradient by less than 4 (3·g from the
        // weight, plus g itself through an identity skip), over 30 layers by less than 2^60: a
        // result at least 2^62 above the smallest normal never passed through the subnormal range,
        // and a subnormal term's error (below 2^−1074) is far below half its ulp.
        // That argument is about the backward pass: it needs a forward pass with f64's bits, whose
        // every z_d, u_d, y, f(z_d) and f′(z_d) is 0 or 2^53 (the terms an activation's formula
        // combines) inside the normal range. Without that guard a case like this fails: a sigmoid
        // at z = −799 gives σ(z) = 0 in f64 but 1e−347 exactly, and the next layer's leaky ReLU
        // (w = 0, a span-1 pre-activation shortcut: z = σ) takes its slope at z = 0 where `Ext`
        // takes 1 at z > 0, so a normal ∂L/∂a differs in every bit.
        prop_assume!(forward_stays_normal(&case.chain, case.x));
        let inside = |v: f64| v.abs() >= f64::MIN_POSITIVE * 2f64.powi(62) && v.is_finite();
        let f = case.chain.gradients_closed_form(case.x, case.target);
        let e = case.chain.gradients_ext(case.x, case.target);
        for (d, (gf, ge)) in f.weight.iter().zip(&e.weight).enumerate() {
            if inside(*gf) {
                prop_assert_eq!(ge.to_f64(), *gf, "layer {}", d + 1);
            }
        }
        for (d, (af, ae)) in f.layer_output.iter().zip(&e.layer_output).enumerate() {
            if inside(*af) {
                prop_assert_eq!(ae.to_f64(), *af, "∂L/∂a at layer {}", d + 1);
            }
        }
    }

    #[test]
    fn the_weight_gradient_is_the_backward_factor_times_the_layers_slope_and_input(case in chain_case_strategy(30)) {
        // ∂L/∂w_d = f′_d(z_d)·∂L/∂a_d·u_d: the same two roundings as the closed form, in its order.
        let trace = case.chain.forward(case.x);
        let g = case.chain.gradients_closed_form(case.x, case.target);
        prop_assert_eq!(g.layer_output[case.chain.depth() - 1], 2.0 * (trace.output - case.target));
        for d in 1..=case.chain.depth() {
            let slope = case.chain.activations()[d - 1].derivative(trace.pre_activation[d - 1]);
            prop_assert_eq!(g.weight[d - 1], slope * g.layer_output[d - 1] * trace.input[d - 1], "layer {}", d);
        }
    }

    #[test]
    fn the_bound_always_holds(case in chain_case_strategy(30)) {
        let g = case.chain.gradients_ext(case.x, case.target);
        match case.chain.bound(case.x, case.target) {
            None => prop_assert!(case.chain.shortcut().is_some()),
            Some(bound) => {
                for (d, (g, b)) in g.weight.iter().zip(&bound).enumerate() {
                    // Where |f′| = sup|f′| (ReLU, identity) the two are equal in exact arithmetic
                    // and differ only by the rounding of each product: allow that, per factor.
                    let slack = 1.0 + 4.0 * f64::EPSILON * (case.chain.depth() + 2) as f64;
                    prop_assert!(
                        g.abs().cmp_abs(*b * slack) != Some(std::cmp::Ordering::Greater),
                        "layer {}: |g| = {} > bound {}", d + 1, g, b
                    );
                }
            }
        }
    }

    #[test]
    fn closed_form_is_the_articles_product_without_shortcut(case in chain_case_strategy(20)) {
        prop_assume!(case.chain.shortcut().is_none());
        // ∂L/∂w_d = 2(y−ŷ)·u_d·f′(z_d)·∏_{k>d} w_k·f′(z_k), multiplied in another order.
        let chain = &case.chain;
        let trace = chain.forward(case.x);
        let g = chain.gradients_closed_form(case.x, case.target);
        for d in 1..=chain.depth() {
            let mut p = 2.0 * (trace.output - case.target) * trace.input[d - 1];
            p *= chain.activations()[d - 1].derivative(trace.pre_activation[d - 1]);
            for k in d + 1..=chain.depth() {
                p *= chain.weights()[k - 1] * chain.activations()[k - 1].derivative(trace.pre_activation[k - 1]);
            }
            // Each of the ≤ 2D products rounds once: relative error ≤ 2D·ε (when nothing underflows).
            let tol = 2.0 * (chain.depth() + 2) as f64 * f64::EPSILON * p.abs();
            prop_assert!(
                (g.weight[d - 1] - p).abs() <= tol || (p.abs() < 1e-290),
                "layer {}: {} vs {}", d, g.weight[d - 1], p
            );
        }
    }
}

#[test]
fn the_articles_sigmoid_chain_of_depth_10_loses_at_least_a_factor_4_per_layer() {
    let chain = Chain::uniform(Activation::Sigmoid, vec![1.0; 10]).unwrap();
    let g = chain.gradients_closed_form(1.0, 0.0);
    let bound = chain.bound(1.0, 0.0).unwrap();
    for d in 1..10 {
        // δ_d = ∂L/∂b_d = δ_{d+1}·w_{d+1}·σ′(z_d) with w = 1: each layer costs a factor σ′ ≤ 1/4.
        let ratio = g.bias[d - 1] / g.bias[d];
        assert!(ratio > 0.0 && ratio <= 0.25, "layer {d}: δ ratio {ratio}");
        assert!(g.weight[d - 1].abs() <= bound[d - 1].to_f64());
    }
    // The last layer's gradient is 2(y − 0)·u_D·σ′(z_D), nothing else (in the closed form's order).
    let t = chain.forward(1.0);
    let last = Activation::Sigmoid.derivative(t.pre_activation[9]) * (2.0 * t.output) * t.input[9];
    assert_eq!(g.weight[9], last);
}

/// A tolerance for log10 magnitudes summed over 100,000 layers: each ln f′ carries ≤ 2 ulps, so
/// the sum carries ≤ 2·10⁵·ε·|Σ|; in log10 at ≈ 6·10⁴ that is below 1e−6.
const DEEP_LOG10_TOL: f64 = 1e-6;

#[test]
fn a_sigmoid_chain_of_depth_100000_has_exact_log_magnitudes_far_below_f64() {
    let depth = 100_000;
    // Weights cycling through 0.5, 1, 1.5: each layer multiplies the gradient by ≈ w·σ′ ≤ 0.375.
    let weights: Vec<f64> = (0..depth).map(|i| 0.5 * (1 + i % 3) as f64).collect();
    let chain = Chain::uniform(Activation::Sigmoid, weights.clone()).unwrap();
    let (x, target) = (1.0, 0.0);
    let m = chain.magnitudes(x, target);
    let trace = chain.forward(x);

    // Independent reference: ln|g_d| = ln|2(y−ŷ)| + ln|u_d| + Σ_{k≥d} ln σ′(z_k) + Σ_{k>d} ln|w_k|,
    // summed in f64 logarithms from the output down (no Ext involved).
    let mut ln_tail = (2.0 * (trace.output - target)).abs().ln();
    let mut reference = vec![0.0; depth];
    for d in (1..=depth).rev() {
        ln_tail += Activation::Sigmoid.ln_abs_derivative(trace.pre_activation[d - 1]);
        reference[d - 1] = (ln_tail + trace.input[d - 1].abs().ln()) / std::f64::consts::LN_10;
        ln_tail += weights[d - 1].abs().ln();
    }
    for d in [1, 2, 10, 1000, 50_000, depth] {
        assert!((m.log10_abs[d - 1] - reference[d - 1]).abs() < DEEP_LOG10_TOL, "layer {d}");
        assert_eq!(m.sign[d - 1], 1);
    }
    assert!(m.log10_abs[0] < -50_000.0, "layer 1: 10^{}", m.log10_abs[0]);

    // The f64 gradient is 0 there; the first layer from the output where it underflows is where
    // the exact magnitude drops below half the smallest subnormal.
    let f64_grads = chain.gradients_closed_form(x, target);
    assert_eq!(f64_grads.weight[0], 0.0);
    let d64 = m.first_underflow(FloatFormat::F64).unwrap();
    let d32 = m.first_underflow(FloatFormat::F32).unwrap();
    assert!(d32 > d64, "f32 underflows closer to the output than f64");
    let half_subnormal = -1075.0 * std::f64::consts::LOG10_2; // log10 of 2^−1075
    assert!(m.log10_abs[d64 - 1] <= half_subnormal && m.log10_abs[d64] > half_subnormal - 1e-9);
    assert_eq!(f64_grads.weight[d64 - 1], 0.0);
    assert_ne!(f64_grads.weight[d64], 0.0);
    assert_eq!(m.first_overflow(FloatFormat::F64), None);
}

#[test]
fn an_exploding_chain_overflows_f64_while_its_forward_pass_stays_finite() {
    // Sigmoid, w = 8, biases that hold every z_d at 0: σ′(0) = 1/4, so each layer doubles δ.
    // u_1 = x = 1, u_d = σ(0) = 1/2 for d ≥ 2; b_1 = −8, b_d = −4. With ŷ = 0, y = 1/2:
    // δ_D = 2·(1/2)·(1/4) = 1/4, δ_d = 2^(D−d)/4, ∂L/∂w_d = 2^(D−d−2)·u_d = 2^(D−d−3) for d ≥ 2.
    let depth = 1100;
    let biases: Vec<f64> = (0..depth).map(|i| if i == 0 { -8.0 } else { -4.0 }).collect();
    let chain = Chain::new(vec![8.0; depth], vec![Activation::Sigmoid; depth], Some(biases), None).unwrap();
    let trace = chain.forward(1.0);
    assert!(trace.pre_activation.iter().all(|&z| z == 0.0) && trace.output == 0.5);

    let exact = chain.gradients_ext(1.0, 0.0);
    for d in 2..=depth {
        assert_eq!(exact.weight[d - 1], Ext::pow2((depth - d) as i64 - 3), "layer {d}");
    }
    assert_eq!(exact.weight[0], Ext::pow2(depth as i64 - 3)); // u_1 = 1
    let f = chain.gradients_closed_form(1.0, 0.0);
    assert_eq!(f.weight[1], f64::INFINITY);
    // 2^(D−d−3) ≥ 2^1024 first (from the output) at d = D − 1027.
    let m = Magnitudes::of(&exact.weight);
    assert_eq!(m.first_overflow(FloatFormat::F64), Some(depth - 1027));
    assert_eq!(m.first_overflow(FloatFormat::F32), Some(depth - 131));
    assert_eq!(m.first_overflow(FloatFormat::F16), Some(depth - 19));
    assert_eq!(m.first_underflow(FloatFormat::F64), None);
}

#[test]
fn a_relu_chain_gradient_is_the_product_of_the_weights() {
    // All z > 0: f′ = 1, so ∂L/∂w_d = 2(y−ŷ)·u_d·∏_{k>d} w_k with u_d = x·∏_{k<d} w_k.
    let w = [0.5, 2.0, 1.5, 0.25];
    let chain = Chain::uniform(Activation::Relu, w.to_vec()).unwrap();
    let (x, t) = (2.0, 0.0);
    let y: f64 = x * w.iter().product::<f64>();
    let g = chain.gradients_closed_form(x, t);
    for d in 1..=4 {
        let below: f64 = w[..d - 1].iter().product();
        let above: f64 = w[d..].iter().product();
        assert_eq!(g.weight[d - 1], 2.0 * (y - t) * x * below * above);
    }
    // Every |f′| equals sup|f′| = 1 here, so the article's bound is attained (up to rounding).
    let bound = chain.bound(x, t).unwrap();
    for d in 1..=4 {
        assert!((bound[d - 1].to_f64() - g.weight[d - 1].abs()).abs() <= 4.0 * f64::EPSILON * g.weight[d - 1].abs());
    }
}

#[test]
fn a_shortcut_adds_the_extra_path() {
    // Identity chain of depth 2 with span 2: y = w2·(w1·x) + x, so ∂L/∂x = 2(y−ŷ)(w1·w2 + 1).
    let chain = Chain::new(vec![3.0, 0.5], vec![Activation::Identity; 2], None, Some(2)).unwrap();
    let (x, t) = (2.0, 1.0);
    let y = 0.5 * 3.0 * 2.0 + 2.0;
    let g = chain.gradients_closed_form(x, t);
    assert_eq!(g.output, y);
    assert_eq!(g.input, 2.0 * (y - t) * (3.0 * 0.5 + 1.0));
    assert_eq!(g.weight, vec![2.0 * (y - t) * 0.5 * x, 2.0 * (y - t) * 3.0 * x]);
    assert_eq!(chain.bound(x, t), None);
}

#[test]
fn invalid_chains_are_refused_with_where() {
    let e = |r: Result<Chain, scalar::Error>| r.unwrap_err().to_string();
    assert!(e(Chain::uniform(Activation::Tanh, vec![])).contains("depth"));
    assert!(e(Chain::uniform(Activation::Tanh, vec![1.0, f64::NAN])).contains("layer 2 weight"));
    assert!(e(Chain::new(vec![1.0], vec![], None, None)).contains("activations"));
    assert!(e(Chain::new(vec![1.0], vec![Activation::Relu], Some(vec![]), None)).contains("biases"));
    assert!(e(Chain::new(vec![1.0], vec![Activation::Relu], None, Some(0))).contains("shortcut"));
    assert!(e(Chain::new(vec![1.0], vec![Activation::Relu], None, Some(2))).contains("shortcut"));
}

#[test]
fn gradients_stay_exact_when_the_forward_pass_underflows_f64() {
    // Identity chain, w = 2^−10, depth 200, x = 1, ŷ = 1: a_d = 2^(−10d) underflows f64 from
    // d = 108 on, but exactly y − ŷ = 2^−2000 − 1 → −1 after one rounding, so
    // ∂L/∂w_d = 2(y−ŷ)·u_d·∏_{k>d} w_k = −2·2^(−10(d−1))·2^(−10(D−d)) = −2^(−1989) for every d.
    let depth = 200;
    let chain = Chain::uniform(Activation::Identity, vec![2f64.powi(-10); depth]).unwrap();
    let trace = chain.forward_ext(1.0);
    assert_eq!(trace.output, Ext::pow2(-2000));
    assert_eq!(chain.forward(1.0).output, 0.0, "the f64 forward pass underflows");
    let g = chain.gradients_ext(1.0, 1.0);
    for d in 1..=depth {
        assert_eq!(g.weight[d - 1], -Ext::pow2(-1989), "layer {d}");
    }
    assert_eq!(chain.magnitudes(1.0, 1.0).first_underflow(FloatFormat::F64), Some(depth));
}

#[test]
fn absurd_weights_saturate_ext_instead_of_overflowing_its_exponent() {
    // w = 2e18 at every layer: products of weights reach 2^(60·D) and the sigmoid derivatives
    // e^(−2e18) ≈ 2^(−2.9e18): beyond Ext's exponent range, they must saturate, not wrap or panic.
    let chain = Chain::uniform(Activation::Sigmoid, vec![2e18; 5]).unwrap();
    let g = chain.gradients_ext(1.0, 0.0);
    for (d, g) in g.weight.iter().enumerate() {
        assert!(!g.is_nan(), "layer {}: {g}", d + 1);
        assert!(g.log10_abs() < 0.0, "layer {}: 10^{} is not small", d + 1, g.log10_abs());
    }
}

// The public API, pinned value by value. Weights, biases and inputs are dyadic (k/16 and powers
// of two) and the activations piecewise linear wherever possible, so every sum and product is
// exact and the expected values below are derived by hand, not recorded from a run.

/// Identity chain of depth 3 with biases and a shortcut of span 2 (layer 2 also receives a_0):
/// w = (1/2, 2, 1/4), b = (1/8, −1/4, 1/2), x = 1, ŷ = 0.
///
/// Forward: z_1 = 1/2·1 + 1/8 = 5/8;  z_2 = 2·5/8 − 1/4 + a_0 = 2;  z_3 = 1/4·2 + 1/2 = 1 = y.
/// Backward (f′ = 1): δ_3 = 2(y − ŷ) = 2;  δ_2 = δ_3·w_3 = 1/2;  δ_1 = δ_2·w_2 = 1;
/// ∂L/∂x = δ_1·w_1 + δ_2 (the shortcut from a_0 into layer 2) = 1;
/// ∂L/∂w_d = δ_d·u_d with u = (1, 5/8, 2): (1, 5/16, 4);  ∂L/∂b_d = δ_d;  L = 1;
/// ∂L/∂a_d = δ_{d+1}·w_{d+1} (a_1 feeds no shortcut: 2 ∤ 1) and ∂L/∂a_3 = 2(y − ŷ): (1, 1/2, 2).
pub(super) fn hand_worked_chain() -> Chain {
    Chain::new(vec![0.5, 2.0, 0.25], vec![Activation::Identity; 3], Some(vec![0.125, -0.25, 0.5]), Some(2)).unwrap()
}

#[test]
fn accessors_return_what_the_chain_was_built_with() {
    let chain = hand_worked_chain();
    assert_eq!(chain.depth(), 3);
    assert_eq!(chain.weights(), &[0.5, 2.0, 0.25]);
    assert_eq!(chain.activations(), &[Activation::Identity; 3]);
    assert_eq!(chain.biases(), Some(&[0.125, -0.25, 0.5][..]));
    assert_eq!(chain.shortcut(), Some(2));
    let plain = Chain::uniform(Activation::Tanh, vec![1.5, -0.5]).unwrap();
    assert_eq!(plain.depth(), 2);
    assert_eq!(plain.activations(), &[Activation::Tanh; 2]);
    assert_eq!(plain.biases(), None);
    assert_eq!(plain.shortcut(), None);
}

#[test]
fn a_layer_receives_a_shortcut_exactly_when_the_span_divides_it() {
    let chain = Chain::new(vec![1.0; 6], vec![Activation::Relu; 6], None, Some(3)).unwrap();
    let receiving: Vec<usize> = (1..=6).filter(|&d| chain.has_shortcut_into(d)).collect();
    assert_eq!(receiving, vec![3, 6]);
    let plain = Chain::uniform(Activation::Relu, vec![1.0; 6]).unwrap();
    assert!((1..=6).all(|d| !plain.has_shortcut_into(d)));
    // A span equal to the depth is allowed (the last layer receives x).
    assert!(Chain::new(vec![1.0; 3], vec![Activation::Relu; 3], None, Some(3)).is_ok());
}

#[test]
fn the_forward_pass_of_the_hand_worked_chain_is_exact() {
    let chain = hand_worked_chain();
    let trace = chain.forward(1.0);
    assert_eq!(trace.pre_activation, vec![0.625, 2.0, 1.0]);
    assert_eq!(trace.input, vec![1.0, 0.625, 2.0]);
    assert_eq!(trace.output, 1.0);
    let ext = chain.forward_ext(1.0);
    assert_eq!(ext.pre_activation, [0.625, 2.0, 1.0].map(Ext::from_f64).to_vec());
    assert_eq!(ext.input, [1.0, 0.625, 2.0].map(Ext::from_f64).to_vec());
    assert_eq!(ext.output, Ext::ONE);
}

/// `chain`'s gradients at x = 1, ŷ = 0 are `expected` by closed form, tape and in `Ext`.
pub(super) fn assert_exact_in_every_engine(chain: &Chain, expected: &ChainGradients) {
    assert_eq!(&chain.gradients_closed_form(1.0, 0.0), expected);
    assert_eq!(&chain.gradients_tape(1.0, 0.0), expected);
    let ext = chain.gradients_ext(1.0, 0.0);
    let lift = |v: &[f64]| v.iter().map(|&g| Ext::from_f64(g)).collect::<Vec<_>>();
    assert_eq!(ext.weight, lift(&expected.weight));
    assert_eq!(ext.bias, lift(&expected.bias));
    assert_eq!(ext.layer_output, lift(&expected.layer_output));
    assert_eq!(ext.input, Ext::from_f64(expected.input));
}

#[test]
fn the_gradients_of_the_hand_worked_chain_are_exact_in_every_engine() {
    let expected = ChainGradients {
        loss: 1.0,
        output: 1.0,
        weight: vec![1.0, 0.3125, 4.0],
        bias: vec![1.0, 0.5, 2.0],
        layer_output: vec![1.0, 0.5, 2.0],
        input: 1.0,
    };
    assert_exact_in_every_engine(&hand_worked_chain(), &expected);
}

#[test]
fn a_span_one_shortcut_feeds_every_layer_from_the_one_below() {
    // Identity, depth 2, s = 1, w = (1/2, 1/4), x = 1, ŷ = 0:
    // z_1 = 1/2 + a_0 = 3/2;  z_2 = 1/4·3/2 + a_1 = 15/8 = y;  L = 225/64.
    // δ_2 = 2y = 15/4;  ∂L/∂a_1 = δ_2·w_2 + δ_2 = 75/16 = δ_1;  ∂L/∂x = δ_1·w_1 + δ_1 = 225/32.
    // ∂L/∂w = (δ_1·x, δ_2·a_1) = (75/16, 45/8).
    let chain = Chain::new(vec![0.5, 0.25], vec![Activation::Identity; 2], None, Some(1)).unwrap();
    let g = chain.gradients_closed_form(1.0, 0.0);
    assert_eq!((g.output, g.loss), (15.0 / 8.0, 225.0 / 64.0));
    assert_eq!(g.bias, vec![75.0 / 16.0, 15.0 / 4.0]);
    assert_eq!(g.weight, vec![75.0 / 16.0, 45.0 / 8.0]);
    assert_eq!(g.input, 225.0 / 32.0);
    assert_eq!(chain.gradients_tape(1.0, 0.0), g);
}

#[test]
fn loss_is_the_squared_error_of_the_output() {
    // The hand-worked chain: y = 1, so L = (1 − ŷ)²: 1 at ŷ = 0, 9/16 at ŷ = 1/4, 9/4 at ŷ = −1/2.
    let chain = hand_worked_chain();
    assert_eq!(chain.loss(1.0, 0.0), 1.0);
    assert_eq!(chain.loss(1.0, 0.25), 0.5625);
    assert_eq!(chain.loss(1.0, -0.5), 2.25);
    assert_eq!(chain.loss(1.0, 1.0), 0.0);
    // ReLU, w = (1/2, 3/4), x = 2: y = 3/4; with ŷ = 1/4, L = 1/4 (also from the tape).
    let relu = Chain::uniform(Activation::Relu, vec![0.5, 0.75]).unwrap();
    assert_eq!(relu.loss(2.0, 0.25), 0.25);
    assert_eq!(relu.gradients_tape(2.0, 0.25).loss, 0.25);
}

#[test]
fn the_bound_is_the_articles_product_of_sups_and_weights() {
    // Sigmoid with power-of-two weights: (1/4)^(D−d+1)·∏_{k>d}|w_k| is a power of two, so the
    // bound 2|y−ŷ|·|u_d|·(1/4)^(D−d+1)·∏_{k>d}|w_k| rounds only in 2|y−ŷ|·|u_d|: exact equality.
    let w = [2.0, -4.0, 0.5, 8.0];
    let chain = Chain::uniform(Activation::Sigmoid, w.to_vec()).unwrap();
    let (x, target) = (0.75, -0.5);
    let trace = chain.forward(x);
    let bound = chain.bound(x, target).unwrap();
    let depth = w.len();
    for d in 1..=depth {
        let sups = 0.25f64.powi((depth - d + 1) as i32);
        let weights: f64 = w[d..].iter().map(|w| w.abs()).product();
        let expected = 2.0 * (trace.output - target).abs() * trace.input[d - 1].abs() * sups * weights;
        assert_eq!(bound[d - 1], Ext::from_f64(expected), "layer {d}");
    }
    // Leaky ReLU with slope −2 has sup|f′| = 2 per layer: for one layer, 2|y−ŷ|·|x|·2.
    let leaky = Chain::uniform(Activation::LeakyRelu { slope: -2.0 }, vec![0.5]).unwrap();
    // z = 1/2·(−1) = −1/2, y = (−2)(−1/2) = 1; with ŷ = 0: bound = 2·1·1·2 = 4.
    assert_eq!(leaky.bound(-1.0, 0.0).unwrap(), vec![Ext::from_f64(4.0)]);
}

/// log10 of a power of two computed in f64 carries a few ulps of log10 2 times the exponent.
const LOG10_POW2_TOL: f64 = 1e-12;

#[test]
fn magnitudes_summarise_sign_and_log10_of_each_layer() {
    let exact = [Ext::from_f64(-0.25), Ext::ZERO, Ext::pow2(-2000), Ext::pow2(2000)];
    let m = Magnitudes::of(&exact);
    assert_eq!(m.exact, exact.to_vec());
    assert_eq!(m.sign, vec![-1, 0, 1, 1]);
    assert!((m.log10_abs[0] - (-2.0 * std::f64::consts::LOG10_2)).abs() < LOG10_POW2_TOL);
    assert_eq!(m.log10_abs[1], f64::NEG_INFINITY);
    assert!((m.log10_abs[2] - (-2000.0 * std::f64::consts::LOG10_2)).abs() < LOG10_POW2_TOL);
    assert!((m.log10_abs[3] - 2000.0 * std::f64::consts::LOG10_2).abs() < LOG10_POW2_TOL);
    // Counting from the output: layer 4 overflows every format, layer 3 underflows every format.
    assert_eq!(m.first_overflow(FloatFormat::F64), Some(4));
    assert_eq!(m.first_underflow(FloatFormat::F64), Some(3));
    // The chain's own summary is of its exact gradients: the hand-worked chain's are (1, 5/16, 4).
    let chain_m = hand_worked_chain().magnitudes(1.0, 0.0);
    assert_eq!(chain_m.exact, [1.0, 0.3125, 4.0].map(Ext::from_f64).to_vec());
    assert_eq!(chain_m.sign, vec![1, 1, 1]);
    assert_eq!(chain_m.first_underflow(FloatFormat::F16), None);
}

#[test]
fn leaky_slopes_and_biases_must_be_finite() {
    let e = |r: Result<Chain, scalar::Error>| r.unwrap_err().to_string();
    let leaky = vec![Activation::Relu, Activation::LeakyRelu { slope: f64::NAN }];
    assert!(e(Chain::new(vec![1.0; 2], leaky, None, None)).contains("layer 2 leaky_relu slope"));
    let biases = Some(vec![0.0, f64::INFINITY]);
    assert!(e(Chain::new(vec![1.0; 2], vec![Activation::Relu; 2], biases, None)).contains("layer 2 bias"));
}

// Positive homogeneity. For f(z) = f′(z)·z (ReLU, leaky ReLU, identity) and no bias or shortcut,
// z_d = w_d·u_d, so w_d·∂L/∂w_d = δ_d·z_d = ∂L/∂a_d·f′(z_d)·z_d = ∂L/∂a_d·a_d, and
// ∂L/∂a_{d−1}·a_{d−1} = δ_d·w_d·u_d = δ_d·z_d as well: the product ∂L/∂a_d·a_d is the same at every
// layer, ∂L/∂a_D·a_D = 2(y − ŷ)·y. The weight gradient's trend with depth is therefore exactly the
// inverse of the weight's own: it cannot show the backward factor's decay.

/// The identity's value at every layer of `chain` (bias-free, no shortcut): w_d·∂L/∂w_d and
/// ∂L/∂a_d·a_d beside 2(y − ŷ)·y, in `Ext`.
fn homogeneity_terms(chain: &Chain, x: f64, target: f64) -> (Ext, Vec<(Ext, Ext)>) {
    let trace = chain.forward_ext(x);
    let g = chain.backward_ext(&trace, target);
    let expected = Ext::from_f64(2.0) * (trace.output - Ext::from_f64(target)) * trace.output;
    let mut outputs = trace.input[1..].to_vec();
    outputs.push(trace.output);
    let terms =
        (0..chain.depth()).map(|i| (g.weight[i] * chain.weights()[i], g.layer_output[i] * outputs[i])).collect();
    (expected, terms)
}

#[test]
fn w_times_the_weight_gradient_is_2_y_minus_target_times_y_at_every_layer_exactly_for_dyadic_chains() {
    // Weights k/16, x and ŷ dyadic, leaky slope 1/4: every product and difference is exact, so the
    // identity holds bit for bit.
    let weights = [0.75, -1.25, 1.5, -0.5, 2.0, 0.625, -1.0, 1.125];
    for activation in [Activation::Relu, Activation::LeakyRelu { slope: 0.25 }, Activation::Identity] {
        for (x, target) in [(1.5, 0.25), (-0.75, 0.5), (0.5, -2.0)] {
            let chain = Chain::uniform(activation, weights.to_vec()).unwrap();
            let (expected, terms) = homogeneity_terms(&chain, x, target);
            for (d, (w_g, a_g)) in terms.iter().enumerate() {
                assert_eq!(*w_g, expected, "{activation:?}, x = {x}: w·∂L/∂w at layer {}", d + 1);
                assert_eq!(*a_g, expected, "{activation:?}, x = {x}: a·∂L/∂a at layer {}", d + 1);
            }
        }
    }
}

#[test]
fn w_times_the_weight_gradient_is_2_y_minus_target_times_y_at_every_layer_to_rounding_for_normal_weights() {
    // N(0, 1) weights, the report's leaky slope 0.01, depth 400 (so y is far below f64's range:
    // Ext). Along one layer's path each side has at most D + 3 roundings of relative ε/2 each
    // (forward products, backward products, the seed), so the two agree to (2D + 8)·ε.
    const DEPTH: usize = 400;
    let tolerance = (2 * DEPTH + 8) as f64 * f64::EPSILON;
    let mut rng = scalar::rng::Rng::new(17);
    for activation in [Activation::Relu, Activation::LeakyRelu { slope: scalar::activation::DEFAULT_LEAKY_SLOPE }] {
        for _ in 0..20 {
            let mut weights: Vec<f64> = (0..DEPTH).map(|_| rng.normal()).collect();
            let x = rng.normal();
            let target = rng.uniform(0.0, 1.0);
            if activation == Activation::Relu {
                // A dead ReLU chain satisfies the identity trivially (0 = 0): make it live.
                weights.iter_mut().for_each(|w| *w = w.abs());
            }
            let chain = Chain::uniform(activation, weights).unwrap();
            let (expected, terms) = homogeneity_terms(&chain, x.abs(), target);
            assert!(!expected.is_zero());
            for (d, (w_g, a_g)) in terms.iter().enumerate() {
                for (what, v) in [("w·∂L/∂w", w_g), ("a·∂L/∂a", a_g)] {
                    let deviation = ((*v - expected).log10_abs() - expected.log10_abs()).max(-300.0);
                    assert!(
                        deviation <= tolerance.log10(),
                        "{activation:?}: {what} at layer {} deviates by 10^{deviation}",
                        d + 1
                    );
                }
            }
        }
    }
}
