//! The identity skip in the oracle's chain: a_d = f_d(z_d) + a_{d−s}, so ∂a_{d+s}/∂a_d = 1 and the
//! recursion carries ∂L/∂a_{d+s} past f′ (`scalar::chain`'s module docs; docs/derivation.md §5a).
//! The pre-activation form, and everything else about chains, is `chain.rs`.

use super::chain::{assert_exact_in_every_engine, chain_case_strategy, hand_worked_chain};
use proptest::prelude::*;
use scalar::chain::{Chain, ChainGradients};
use scalar::{Activation, Ext, Skip};

/// ReLU chain of depth 3, span 2, identity skip: w = (1/2, −2, 1/4), b = (1/8, 0, 1/2), x = 1,
/// ŷ = 0. Layer 2's unit is dead (z_2 < 0), and the identity path carries the gradient past it.
///
/// Forward: z_1 = 1/2 + 1/8 = 5/8, a_1 = 5/8;  z_2 = −2·5/8 = −5/4, a_2 = relu(−5/4) + a_0 = 1;
/// z_3 = 1/4·1 + 1/2 = 3/4 = a_3 = y;  L = 9/16.
/// Backward: ∂L/∂a_3 = 2y = 3/2, δ_3 = 3/2;  ∂L/∂a_2 = δ_3·w_3 = 3/8 (a_2 feeds no later layer),
/// δ_2 = relu′(−5/4)·3/8 = 0;  ∂L/∂a_1 = δ_2·w_2 = 0 (2 ∤ 1), δ_1 = 0;
/// ∂L/∂x = δ_1·w_1 + ∂L/∂a_2 = 3/8 (the pre-activation form would add δ_2 = 0 instead);
/// ∂L/∂w_d = δ_d·u_d with u = (1, 5/8, 1): (0, 0, 3/2).
fn identity_skip_chain() -> Chain {
    Chain::new(vec![0.5, -2.0, 0.25], vec![Activation::Relu; 3], Some(vec![0.125, 0.0, 0.5]), Some(2))
        .unwrap()
        .with_skip(Skip::Identity)
}

#[test]
fn the_identity_skips_hand_worked_chain_is_exact_in_every_engine() {
    let chain = identity_skip_chain();
    let trace = chain.forward(1.0);
    assert_eq!(trace.pre_activation, vec![0.625, -1.25, 0.75]);
    assert_eq!(trace.input, vec![1.0, 0.625, 1.0]);
    assert_eq!(trace.output, 0.75);
    let ext = chain.forward_ext(1.0);
    assert_eq!(ext.pre_activation, [0.625, -1.25, 0.75].map(Ext::from_f64).to_vec());
    assert_eq!(ext.input, [1.0, 0.625, 1.0].map(Ext::from_f64).to_vec());
    assert_eq!(ext.output, Ext::from_f64(0.75));
    let expected = ChainGradients {
        loss: 0.5625,
        output: 0.75,
        weight: vec![0.0, 0.0, 1.5],
        bias: vec![0.0, 0.0, 1.5],
        layer_output: vec![0.0, 0.375, 1.5],
        input: 0.375,
    };
    assert_exact_in_every_engine(&chain, &expected);
    assert_eq!(chain.loss(1.0, 0.0), 0.5625);
    assert_eq!(chain.magnitudes(1.0, 0.0).exact, [0.0, 0.0, 1.5].map(Ext::from_f64).to_vec());
    assert_eq!(chain.bound(1.0, 0.0), None, "no bound with a shortcut, in either form");

    // Control, the same parameters in the pre-activation form: z_2 = −5/4 + a_0 = −1/4 is dead
    // too, a_2 = 0, z_3 = 1/2 = y; the skip now passes through relu′(z_2) = 0, so ∂L/∂x = 0.
    let pre = chain.clone().with_skip(Skip::PreActivation);
    let g = pre.gradients_closed_form(1.0, 0.0);
    assert_eq!((g.output, g.input), (0.5, 0.0));
    assert_eq!(pre.gradients_tape(1.0, 0.0), g);
}

#[test]
fn a_chain_says_where_its_shortcut_joins_and_keeps_everything_else() {
    let pre = hand_worked_chain();
    assert_eq!(pre.skip(), Skip::PreActivation, "Chain::new means today's form");
    let identity = pre.clone().with_skip(Skip::Identity);
    assert_eq!(identity.skip(), Skip::Identity);
    assert_eq!(identity.weights(), pre.weights());
    assert_eq!(identity.biases(), pre.biases());
    assert_eq!(identity.activations(), pre.activations());
    assert_eq!(identity.shortcut(), pre.shortcut());
    assert_ne!(identity, pre);
    assert_eq!(identity.clone().with_skip(Skip::PreActivation), pre);
    // Without a shortcut the form changes nothing.
    let plain = Chain::uniform(Activation::Sigmoid, vec![1.5, -0.5, 2.0]).unwrap();
    let plain_identity = plain.clone().with_skip(Skip::Identity);
    assert_eq!(plain_identity.gradients_closed_form(0.5, 0.25), plain.gradients_closed_form(0.5, 0.25));
    assert_eq!(plain_identity.bound(0.5, 0.25), plain.bound(0.5, 0.25));
}

proptest! {
    #[test]
    fn identity_skip_closed_form_is_its_own_recursion_written_again(case in chain_case_strategy(20)) {
        // ∂L/∂a_d = δ_{d+1}·w_{d+1} + [s | d, d + s ≤ D]·∂L/∂a_{d+s}, δ_d = f′_d·∂L/∂a_d, written
        // here from the layer-by-layer definition (1-based arrays) instead of the oracle's loop.
        let chain = case.chain.clone().with_skip(Skip::Identity);
        let depth = chain.depth();
        let trace = chain.forward(case.x);
        let mut a = trace.input.clone();
        a.push(trace.output);
        // a_d = f(z_d) + a_{d−s}: the forward pass, checked against the trace.
        for d in 1..=depth {
            let mut want = chain.activations()[d - 1].value(trace.pre_activation[d - 1]);
            if chain.has_shortcut_into(d) {
                want += a[d - chain.shortcut().unwrap()];
            }
            prop_assert_eq!(a[d], want, "a_{}", d);
        }
        let mut dl_da = vec![0.0; depth + 1];
        let mut delta = vec![0.0; depth + 1];
        dl_da[depth] = 2.0 * (trace.output - case.target);
        for d in (0..=depth).rev() {
            if d < depth {
                dl_da[d] = delta[d + 1] * chain.weights()[d];
                if let Some(s) = chain.shortcut().filter(|&s| d % s == 0 && d + s <= depth) {
                    dl_da[d] += dl_da[d + s];
                }
            }
            if d > 0 {
                delta[d] = chain.activations()[d - 1].derivative(trace.pre_activation[d - 1]) * dl_da[d];
            }
        }
        let g = chain.gradients_closed_form(case.x, case.target);
        prop_assert_eq!(&g.layer_output, &dl_da[1..].to_vec());
        prop_assert_eq!(&g.bias, &delta[1..].to_vec());
        prop_assert_eq!(g.input, dl_da[0]);
    }
}

#[test]
fn an_identity_skip_sigmoid_chain_keeps_its_gradient_where_the_pre_activation_form_loses_a_factor_4_per_block() {
    // Sigmoid, D = 300, span 2, weights cycling 0.5, 1, 1.5, x = 1, ŷ = 0. At the layers the skip
    // joins (m = 2, 4, …), per block of two layers:
    //   identity:       ∂L/∂a_m = ∂L/∂a_{m+2}·(1 + w_{m+1}w_{m+2}σ′(z_{m+1})σ′(z_{m+2}))
    //   pre-activation: ∂L/∂a_m = ∂L/∂a_{m+2}·σ′(z_{m+2})·(1 + w_{m+1}w_{m+2}σ′(z_{m+1}))
    // With σ′ ≤ 1/4 and |w| ≤ 3/2, the identity form's factor is at least 1 − 9/64 and the
    // pre-activation form's at most (1/4)(1 + 9/16) = 25/64: over the 149 blocks from layer 300
    // down to layer 2, ∂L/∂a_2 keeps at least (55/64)^149 of the seed in the identity form and at
    // most (25/64)^149 in the pre-activation form. The article's (1/4)^D would be 10^−181.
    const DEPTH: usize = 300;
    let weights: Vec<f64> = (0..DEPTH).map(|i| 0.5 * (1 + i % 3) as f64).collect();
    let pre = Chain::new(weights, vec![Activation::Sigmoid; DEPTH], None, Some(2)).unwrap();
    let identity = pre.clone().with_skip(Skip::Identity);
    let blocks = (DEPTH / 2 - 1) as f64;
    for (chain, factor_log10, is_lower_bound) in
        [(&identity, (55.0f64 / 64.0).log10(), true), (&pre, (25.0f64 / 64.0).log10(), false)]
    {
        let trace = chain.forward_ext(1.0);
        let g = chain.backward_ext(&trace, 0.0);
        let seed = g.layer_output[DEPTH - 1].log10_abs();
        let bottom = g.layer_output[1].log10_abs(); // ∂L/∂a_2
        let bound = seed + blocks * factor_log10;
        if is_lower_bound {
            assert!(bottom >= bound, "identity: log10|∂L/∂a_2| = {bottom} < derived {bound}");
        } else {
            assert!(bottom <= bound, "pre-activation: log10|∂L/∂a_2| = {bottom} > derived {bound}");
        }
    }
    // Far from (1/4)^D: the identity form's gradient at layer 1 is within ten decades of the
    // seed's scale, while the pre-activation form's is below 10^−60 of it.
    let top = |c: &Chain| c.gradients_ext(1.0, 0.0).weight[DEPTH - 1].log10_abs();
    let bottom = |c: &Chain| c.gradients_ext(1.0, 0.0).weight[0].log10_abs();
    assert!(bottom(&identity) - top(&identity) > -10.0, "{} vs {}", bottom(&identity), top(&identity));
    assert!(bottom(&pre) - top(&pre) < -60.0, "{} vs {}", bottom(&pre), top(&pre));
    assert!(bottom(&identity) > DEPTH as f64 * 0.25f64.log10() + 100.0);
}
