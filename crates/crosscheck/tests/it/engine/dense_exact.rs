//! The dense engine against the `scalar` oracle bit for bit, wherever [`crosscheck::exactness`]
//! vouches for it: dyadic cases (property tests, the linear loss), and shortcuts of every span
//! through one workspace, with the span's layers and with layers named off its rule.

use super::dense::{LayerCase, NetCase, oracle_weight_in_out, skip_strategy};
use crosscheck::exactness::{DyadicLayer, DyadicNet, FractionBits, MAX_EXACT_BITS};
use proptest::prelude::*;
use vectorised::Activation;
use vectorised::Skip;
use vectorised::dense::{Gradients, Loss, Workspace};

/// Values k/16 with |k| ≤ 16.
fn sixteenths() -> impl Strategy<Value = f64> {
    (-16i32..=16).prop_map(|k| k as f64 / 16.0)
}

/// Weights in {−1, −½, 0, ½, 1}.
fn halves() -> impl Strategy<Value = f64> {
    (-2i32..=2).prop_map(|k| k as f64 / 2.0)
}

fn exact_activation_strategy() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Relu),
        Just(Activation::Identity),
        Just(Activation::LeakyRelu { slope: 0.25 }),
        Just(Activation::LeakyRelu { slope: 0.5 }),
    ]
}

/// The one exactness bound ([`crosscheck::exactness`]) for a case of this file: inputs, biases
/// and targets are sixteenths in [−1, 1], weights halves, leaky slopes ¼ or ½, and the loss is a
/// mean over the batch. At most [`MAX_EXACT_BITS`] means every operation of the loss and its
/// gradient is exact in `f64`, in any summation order. The bound holds for either [`Skip`] (see
/// `crosscheck::exactness`), so the case's form is not an input.
fn exact_bits(case: &NetCase) -> f64 {
    let layers: Vec<DyadicLayer> =
        case.layers.iter().map(|(w, b, a)| (w.clone(), b.clone(), super::to_oracle(*a))).collect();
    let fractions = FractionBits { value: 4.0, weight: 1.0, slope: 2.0, mean_over_batch: true };
    DyadicNet {
        n_input: case.n_input,
        layers: &layers,
        shortcut: case.shortcut,
        joins: case.joins.as_deref(),
        batch: case.input.len(),
        fractions,
    }
    .exact_bits()
}

/// Exact cases, the shortcut's layers named in half of those with a shortcut.
fn exact_case_strategy() -> impl Strategy<Value = NetCase> {
    (exact_cases(), proptest::option::of(any::<u64>())).prop_map(|(case, mask)| case.named(mask))
}

fn exact_cases() -> impl Strategy<Value = NetCase> {
    (
        1usize..=8,
        proptest::collection::vec((1usize..=8, exact_activation_strategy(), any::<bool>()), 1..=12),
        prop_oneof![Just(None), (1usize..=4).prop_map(Some)],
        prop_oneof![Just(1usize), Just(2), Just(4), Just(8)],
        skip_strategy(),
    )
        .prop_flat_map(|(n_input, shape, shortcut, batch, skip)| {
            let mut fan_in = n_input;
            let layers: Vec<_> = shape
                .iter()
                .map(|&(width, act, has_bias)| {
                    let w = proptest::collection::vec(proptest::collection::vec(halves(), fan_in), width);
                    fan_in = width;
                    let b = if has_bias {
                        proptest::collection::vec(sixteenths(), width).prop_map(Some).boxed()
                    } else {
                        Just(None).boxed()
                    };
                    (w, b, Just(act))
                })
                .collect();
            let n_out = fan_in;
            let shortcut = shortcut.filter(|&s| s <= shape.len());
            (
                Just(n_input),
                layers,
                Just(shortcut),
                proptest::collection::vec(proptest::collection::vec(sixteenths(), n_input), batch),
                proptest::collection::vec(proptest::collection::vec(sixteenths(), n_out), batch),
                Just(skip),
            )
        })
        .prop_map(|(n_input, mut layers, shortcut, input, mut target, skip)| {
            // Keep the deepest prefix whose every operation is provably exact (see exact_bits).
            loop {
                let n_out = layers.last().map_or(0, |(w, _, _)| w.len());
                let case = NetCase {
                    n_input,
                    layers: layers.clone(),
                    shortcut: shortcut.filter(|&s| s <= layers.len()),
                    joins: None,
                    skip,
                    input: input.clone(),
                    target: target.iter().map(|r| r[..n_out.min(r.len())].to_vec()).collect(),
                    loss: Loss::SquaredError,
                };
                if layers.len() == 1 || exact_bits(&case) <= MAX_EXACT_BITS {
                    let n = case.layers.last().unwrap().0.len();
                    target = case.target.clone();
                    debug_assert!(target.iter().all(|r| r.len() == n));
                    return case;
                }
                layers.pop();
                // Re-derive the target width from the new last layer: pad with sixteenths the
                // strategy drew for the old one (targets only need the right width).
                let n_new = layers.last().unwrap().0.len();
                target = input.iter().map(|x| (0..n_new).map(|j| x[j % x.len()]).collect()).collect();
            }
        })
}

/// The engine's loss, weight and bias gradients have the oracle's bits, layer by layer.
fn same_bits(got: &Gradients<f64>, want: &scalar::dense::DenseGradients) -> Result<(), TestCaseError> {
    let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(got.loss.to_bits(), want.loss.to_bits());
    for l in 0..got.weight.len() {
        let w = oracle_weight_in_out(want, l);
        prop_assert_eq!(bits(&got.weight[l]), bits(&w), "weight gradient of layer {}", l + 1);
        prop_assert_eq!(bits(&got.bias[l]), bits(&want.bias[l]), "bias gradient of layer {}", l + 1);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Dyadic inputs, relu/leaky/identity, squared error: every operation is exact (checked by
    /// `exact_bits`), so any summation order gives the oracle's bits — with statistics (G kept
    /// whole for its summary) and without (a product may store Δ = G ⊙ D at once, except where
    /// an identity shortcut needs G).
    #[test]
    fn exact_domain_gradients_are_bit_identical_to_scalar(case in exact_case_strategy(), stats in any::<bool>()) {
        prop_assume!(exact_bits(&case) <= MAX_EXACT_BITS);
        let want = case.oracle();
        let mut ws = Workspace::new();
        ws.set_stats(stats.then_some(0.01)).unwrap();
        same_bits(&case.fast::<f64>(&mut ws), &want)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The same cases under the linear loss Σ t·y: its seed T and sum need no more bits than
    /// squared error's 2(y − t) and Σ (y − t)² (|t| ≤ 1 ≤ 2(m_L + 1), and t·y has fewer
    /// fractional bits than (y − t)²), so the same bound vouches for bit-identical gradients.
    #[test]
    fn exact_domain_linear_loss_gradients_are_bit_identical_to_scalar(case in exact_case_strategy()) {
        prop_assume!(exact_bits(&case) <= MAX_EXACT_BITS);
        let case = NetCase { loss: Loss::Linear, ..case };
        let want = case.oracle();
        same_bits(&case.fast::<f64>(&mut Workspace::new()), &want)?;
    }
}

// ---------------------------------------------------------------- general domain: tolerances

/// Networks of one width with a shortcut of every span 1…8, in both forms (8 layers, dyadic
/// values, exact activations) give the oracle's bits, through one workspace reused from span to span and
/// back: backward keeps span + 1 buffers for G and passes them down, and a shortcut's Δ must
/// land in a buffer that is still G_{l−s} when layer l − s is reached.
#[test]
fn shortcuts_of_every_span_give_the_oracles_bits_through_one_workspace() {
    let (width, depth, batch) = (2, 8, 4); // B a power of two: the loss's 1/B is exact
    let acts = [Activation::Identity, Activation::Relu, Activation::Identity];
    let layers: Vec<LayerCase> = (0..depth)
        .map(|l| {
            let w = (0..width)
                .map(|o| (0..width).map(|i| ((o * 7 + i * 3 + l) % 3) as f64 / 2.0 - 0.5).collect())
                .collect();
            let b = (l % 2 == 0).then(|| (0..width).map(|o| ((o + l) % 3) as f64 / 16.0).collect());
            (w, b, acts[l % 3])
        })
        .collect();
    let rows = |seed: usize| -> Vec<Vec<f64>> {
        (0..batch).map(|b| (0..width).map(|i| ((b * 5 + i * 3 + seed) % 9) as f64 / 8.0 - 0.5).collect()).collect()
    };
    // With statistics G_l is kept whole for its summary; without, a product may store
    // Δ_{l−1} = G_{l−1} ⊙ D_{l−1} at once — except where layer l − 1's identity shortcut needs G.
    for stats in [Some(0.01), None] {
        every_span_through_one_workspace(&layers, &rows(1), &rows(4), stats);
    }
}

fn every_span_through_one_workspace(layers: &[LayerCase], input: &[Vec<f64>], target: &[Vec<f64>], stats: Option<f64>) {
    let (width, depth) = (input[0].len(), layers.len());
    let mut ws = Workspace::new();
    ws.set_stats(stats).unwrap();
    let spans = (1..=depth).chain([3, 1, 8, 2]);
    let forms = spans.clone().map(|s| (s, Skip::PreActivation)).chain(spans.map(|s| (s, Skip::Identity)));
    // Each span with its rule's layers, then with layers named off the rule (every layer from s
    // up but each third: blocks that start above the input, joins s − 1 layers apart).
    let named = |span: usize| Some((span..=depth).filter(|l| !(l + span).is_multiple_of(3)).collect::<Vec<_>>());
    for ((span, skip), joins) in forms.flat_map(|form| [(form, None), (form, named(form.0))]) {
        let case = NetCase {
            n_input: width,
            layers: layers.to_vec(),
            shortcut: Some(span),
            joins: joins.clone(),
            skip,
            input: input.to_vec(),
            target: target.to_vec(),
            loss: Loss::SquaredError,
        };
        assert!(
            exact_bits(&case) <= MAX_EXACT_BITS,
            "span {span}, {skip:?}, {joins:?}: the case must be exact ({} bits)",
            exact_bits(&case)
        );
        let (want, got) = (case.oracle(), case.fast::<f64>(&mut ws));
        for l in 0..depth {
            let w: Vec<u64> = oracle_weight_in_out(&want, l).iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got.weight[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                w,
                "span {span}, {skip:?}, {joins:?}, statistics {stats:?}, layer {}",
                l + 1
            );
            let b: Vec<u64> = want.bias[l].iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got.bias[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b,
                "span {span}, {skip:?}, {joins:?}, layer {}",
                l + 1
            );
        }
    }
}
