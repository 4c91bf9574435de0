//! `Dense::backprop_over` (no tape) against `Dense::gradients_over` (the tape): every bit of the
//! loss, the outputs and every gradient, on random networks with every activation, loss, skip
//! form, shortcut span and layer normalisation (with and without γ and β), and with exact zeros
//! of both signs where the order of additions decides a zero's sign. The same for the error
//! estimates: `backprop_error_scales_over` against `error_scales_over` (the tape's).

use proptest::prelude::*;
use scalar::dense::{Dense, DenseGradients, DenseLayer, LayerNorm, Loss, NormAt, NormKind};
use scalar::{Activation, Skip};

/// A value that is often an exact ±0 or 1, where the sign of a zero gradient depends on the order
/// of the tape's additions.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![6 => -2.0..2.0f64, 1 => Just(0.0), 1 => Just(-0.0), 1 => Just(1.0), 1 => Just(-0.5)]
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Relu),
        (0.0..0.5f64).prop_map(|slope| Activation::LeakyRelu { slope }),
        Just(Activation::Softplus),
        Just(Activation::Identity),
        Just(Activation::Gelu),
        Just(Activation::Silu),
    ]
}

/// A layer or RMS normalisation of a layer of `n_in` inputs and `n_out` units, of either, with
/// or without γ and β.
fn norm(n_in: usize, n_out: usize) -> impl Strategy<Value = LayerNorm> {
    let kind = prop_oneof![Just(NormKind::Layer), Just(NormKind::Rms)];
    (prop_oneof![Just(NormAt::Input), Just(NormAt::PreActivation)], kind).prop_flat_map(move |(at, kind)| {
        let width = if at == NormAt::Input { n_in } else { n_out };
        let values = move || prop::option::of(prop::collection::vec(value(), width));
        (values(), values(), prop_oneof![Just(LayerNorm::DEFAULT_EPS), 0.01..2.0f64])
            .prop_map(move |(weight, bias, eps)| LayerNorm { weight, bias, eps, at, kind })
    })
}

fn loss() -> impl Strategy<Value = Loss> {
    prop_oneof![
        Just(Loss::SquaredError),
        Just(Loss::BinaryCrossEntropy),
        Just(Loss::Linear),
        Just(Loss::BceWithLogits),
        Just(Loss::CrossEntropy),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    net: Dense,
    input: Vec<Vec<f64>>,
    target: Vec<Vec<f64>>,
    loss: Loss,
    denominator: f64,
}

/// Widths 1–3 (so that shortcuts join often), depth 1–5, batch 1–3.
fn case() -> impl Strategy<Value = Case> {
    (prop::collection::vec(1usize..=3, 2..=6), 1usize..=3, loss(), prop_oneof![Just(1.0), 1.0..10.0f64])
        .prop_flat_map(|(widths, batch, loss, denominator)| {
            let depth = widths.len() - 1;
            let layers: Vec<_> = widths
                .windows(2)
                .map(|w| {
                    let (n_in, n_out) = (w[0], w[1]);
                    (
                        prop::collection::vec(prop::collection::vec(value(), n_in), n_out),
                        prop::option::of(prop::collection::vec(value(), n_out)),
                        activation(),
                        prop::option::weighted(0.3, norm(n_in, n_out)),
                    )
                })
                .collect();
            let shortcut = prop::option::of(1..=depth);
            let skip = prop_oneof![Just(Skip::PreActivation), Just(Skip::Identity)];
            let input = prop::collection::vec(prop::collection::vec(value(), widths[0]), batch);
            let target = prop::collection::vec(prop::collection::vec(value(), widths[depth]), batch);
            (layers, shortcut, skip, input, target, Just(loss), Just(denominator))
        })
        .prop_map(|(layers, shortcut, skip, input, target, loss, denominator)| {
            let (layers, norms): (Vec<DenseLayer>, Vec<Option<LayerNorm>>) = layers
                .into_iter()
                .map(|(weight, bias, activation, norm)| (DenseLayer { weight, bias, activation }, norm))
                .unzip();
            let mut layers = layers;
            if loss == Loss::BinaryCrossEntropy {
                let last = layers.len() - 1;
                layers[last].activation = Activation::Sigmoid;
            }
            let net = Dense::new(layers, shortcut)
                .and_then(|net| net.with_norms(norms))
                .expect("a valid network")
                .with_skip(skip);
            Case { net, input, target, loss, denominator }
        })
}

/// Bits, with every NaN equal to every NaN.
fn bits(v: f64) -> u64 {
    if v.is_nan() { u64::MAX } else { v.to_bits() }
}

fn assert_same_bits(tape: &DenseGradients, direct: &DenseGradients) -> Result<(), TestCaseError> {
    prop_assert_eq!(bits(tape.loss), bits(direct.loss), "loss {} against {}", tape.loss, direct.loss);
    let flat = |g: &DenseGradients| -> Vec<u64> {
        let out = g.output.iter().flatten();
        let w = g.weight.iter().flatten().flatten();
        let norm = g.norm.iter().flatten().flat_map(|n| n.weight.iter().chain(&n.bias));
        out.chain(w).chain(g.bias.iter().flatten()).chain(norm).map(|&v| bits(v)).collect()
    };
    prop_assert_eq!(flat(tape), flat(direct), "tape {:?}\ndirect {:?}", tape, direct);
    let has_norm = |g: &DenseGradients| g.norm.iter().map(Option::is_some).collect::<Vec<_>>();
    prop_assert_eq!(has_norm(tape), has_norm(direct));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn backprop_has_the_tapes_bits(case in case()) {
        let Case { net, input, target, loss, denominator } = case;
        let pairs = [
            (net.gradients_over(&input, &target, loss, denominator), net.backprop_over(&input, &target, loss, denominator)),
            (
                net.error_scales_over(&input, &target, loss, denominator),
                net.backprop_error_scales_over(&input, &target, loss, denominator),
            ),
        ];
        for (tape, direct) in pairs {
            match (tape, direct) {
                (Ok(tape), Ok(direct)) => assert_same_bits(&tape, &direct)?,
                // Refused alike (binary cross-entropy under an identity shortcut into the output).
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "tape {:?}, direct {:?}", a, b),
            }
        }
    }
}

/// Wide layers, where a unit's products and the adjoint of each input are long sums: every
/// order of addition shows in the last bits (of the gradients and of their error estimates).
#[test]
fn a_wide_network_has_the_tapes_bits_for_every_loss() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let widths = [7, 12, 12, 12, 5];
    let activations = [Activation::Tanh, Activation::Gelu, Activation::Softplus, Activation::Sigmoid];
    let layers: Vec<DenseLayer> = widths
        .windows(2)
        .zip(activations)
        .map(|(w, activation)| DenseLayer {
            weight: (0..w[1]).map(|_| (0..w[0]).map(|_| next()).collect()).collect(),
            bias: Some((0..w[1]).map(|_| next()).collect()),
            activation,
        })
        .collect();
    let input: Vec<Vec<f64>> = (0..6).map(|_| (0..7).map(|_| next() * 3.0).collect()).collect();
    let target: Vec<Vec<f64>> = (0..6).map(|_| (0..5).map(|_| next().abs()).collect()).collect();
    // Every layer after the first normalises its input, or its Linear output (with γ alone and
    // not centred, neither, both).
    let mut norms_at = |at: NormAt| {
        let last = if at == NormAt::Input { 12 } else { 5 };
        let mut values = |n: usize| Some((0..n).map(|_| next()).collect());
        vec![
            None,
            Some(LayerNorm { weight: values(12), bias: None, eps: 1e-5, at, kind: NormKind::Rms }),
            Some(LayerNorm { at, ..LayerNorm::plain() }),
            Some(LayerNorm { weight: values(last), bias: values(last), eps: 0.1, at, kind: NormKind::Layer }),
        ]
    };
    let norms = [None, Some(norms_at(NormAt::Input)), Some(norms_at(NormAt::PreActivation))];
    let losses = [Loss::SquaredError, Loss::BinaryCrossEntropy, Loss::Linear, Loss::BceWithLogits, Loss::CrossEntropy];
    for skip in [Skip::PreActivation, Skip::Identity] {
        for span in [1, 2] {
            for normed in &norms {
                let net = Dense::new(layers.clone(), Some(span)).unwrap().with_skip(skip);
                let net = match normed {
                    Some(norms) => net.with_norms(norms.clone()).unwrap(),
                    None => net,
                };
                for loss in losses {
                    let (Ok(tape), Ok(direct)) =
                        (net.gradients_over(&input, &target, loss, 6.0), net.backprop_over(&input, &target, loss, 6.0))
                    else {
                        assert_eq!(
                            (skip, loss),
                            (Skip::Identity, Loss::BinaryCrossEntropy),
                            "only this pair is refused"
                        );
                        continue;
                    };
                    assert_same_bits(&tape, &direct)
                        .unwrap_or_else(|e| panic!("{skip:?} span {span} {loss:?} norms {normed:?}: {e}"));
                    let tape = net.error_scales_over(&input, &target, loss, 6.0).unwrap();
                    let direct = net.backprop_error_scales_over(&input, &target, loss, 6.0).unwrap();
                    assert_same_bits(&tape, &direct).unwrap_or_else(|e| {
                        panic!("error scales, {skip:?} span {span} {loss:?} norms {normed:?}: {e}")
                    });
                }
            }
        }
    }
}

#[test]
fn backprop_refuses_what_the_tape_refuses() {
    let net =
        Dense::new(vec![DenseLayer { weight: vec![vec![1.0, 2.0]], bias: None, activation: Activation::Tanh }], None)
            .unwrap();
    let x = vec![vec![1.0, 2.0]];
    let t = vec![vec![0.5]];
    for (input, target, loss, denominator) in [
        (vec![], vec![], Loss::SquaredError, 1.0),
        (vec![vec![1.0]], t.clone(), Loss::SquaredError, 1.0),
        (vec![vec![f64::NAN, 1.0]], t.clone(), Loss::SquaredError, 1.0),
        (x.clone(), t.clone(), Loss::SquaredError, 0.0),
        (x.clone(), t.clone(), Loss::BinaryCrossEntropy, 1.0),
    ] {
        let tape = net.gradients_over(&input, &target, loss, denominator).unwrap_err();
        let direct = net.backprop_over(&input, &target, loss, denominator).unwrap_err();
        assert_eq!(tape.to_string(), direct.to_string());
    }
}

/// `backprop_with_branches` at a relu unit whose z is exactly 0 (f′ = 0 by convention): its other
/// branch is f′ = 1, the derivative just right of the kink, so the gradients are those of the same
/// network with the unit's bias raised by 1e−300 (z > 0; the forward pass differs by 1e−300 in
/// a_1[0] alone).
/// No branch gives `backprop_over`'s bits; a unit's flip touches only its own sample; places
/// outside the network and smooth activations are refused.
#[test]
fn the_other_branch_of_a_kink_is_the_derivative_on_its_other_side() {
    let layer = |weight: Vec<Vec<f64>>, bias: Vec<f64>, activation| DenseLayer { weight, bias: Some(bias), activation };
    let net = |shift: f64| {
        Dense::new(
            vec![
                layer(vec![vec![1.0, -1.0], vec![0.5, 0.25]], vec![shift, 0.1], Activation::Relu),
                layer(vec![vec![0.75, -1.5]], vec![0.2], Activation::Tanh),
            ],
            None,
        )
        .unwrap()
    };
    // Sample 0 has z_1[0] = 0.5 − 0.5 + 0 = 0 exactly; sample 1 has z_1[0] = −1 (relu′ = 0 too).
    let (x, t) = (vec![vec![0.5, 0.5], vec![-1.0, 0.0]], vec![vec![1.0], vec![-0.5]]);
    let flip = [scalar::dense::OtherBranch { sample: 0, layer: 1, unit: 0 }];
    let flipped = net(0.0).backprop_with_branches(&x, &t, Loss::SquaredError, 2.0, &flip).unwrap();
    let right_of_the_kink = net(1e-300).backprop_over(&x, &t, Loss::SquaredError, 2.0).unwrap();
    let plain = net(0.0).backprop_over(&x, &t, Loss::SquaredError, 2.0).unwrap();
    // Everything but ∂L/∂W_2[0][0], which reads a_1[0] (0, against 1e−300 there).
    assert_eq!(
        (&flipped.weight[0], &flipped.bias, flipped.loss),
        (&right_of_the_kink.weight[0], &right_of_the_kink.bias, right_of_the_kink.loss)
    );
    assert_eq!(flipped.weight[1][0][1], right_of_the_kink.weight[1][0][1]);
    assert!(flipped.weight[1][0][0] == 0.0 && right_of_the_kink.weight[1][0][0].abs() < 1e-299);
    assert_ne!(flipped.weight[0], plain.weight[0]);
    assert_eq!(net(0.0).backprop_with_branches(&x, &t, Loss::SquaredError, 2.0, &[]).unwrap(), plain);
    // Sample 1 alone: the flip at sample 0 changes nothing of it.
    let one = |branches: &[scalar::dense::OtherBranch]| {
        net(0.0).backprop_with_branches(&x[1..], &t[1..], Loss::SquaredError, 2.0, branches).unwrap()
    };
    assert_eq!(one(&[]), net(0.0).backprop_over(&x[1..], &t[1..], Loss::SquaredError, 2.0).unwrap());
    let refused = |sample, layer, unit| {
        let branch = [scalar::dense::OtherBranch { sample, layer, unit }];
        net(0.0).backprop_with_branches(&x, &t, Loss::SquaredError, 2.0, &branch).unwrap_err().to_string()
    };
    assert_eq!(refused(2, 1, 0), "branch (sample 2, layer 1, unit 0): outside the batch or the network");
    assert_eq!(refused(0, 1, 2), "branch (sample 0, layer 1, unit 2): outside the batch or the network");
    assert_eq!(refused(0, 0, 0), "branch (sample 0, layer 0, unit 0): outside the batch or the network");
    assert_eq!(refused(0, 2, 0), "branch (sample 0, layer 2, unit 0): tanh has no kink");
}
