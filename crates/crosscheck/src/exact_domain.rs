//! The exact domain: small chains and dense nets with dyadic parameters through ReLU, leaky ReLU
//! (slope k/8) and identity, where every operation is exact, get the same gradients from
//! `vectorised` and `scalar` (compared with `==`, so −0 equals +0), a shortcut joining in either
//! form. Dense nets keep only the layers [`crate::exactness`] vouches for.

use crate::bytes::Bytes;
use crate::exactness::{DyadicLayer, DyadicNet, FractionBits};
use report::sections::{engine_activation as vectorised_activation, engine_skip};
use scalar::chain::Chain;
use scalar::{Activation, Skip};

/// The activations of the exact domain: only `+` and `×` by dyadic numbers.
fn exact_activation(bytes: &mut Bytes<'_>) -> Activation {
    match bytes.int_in(0, 2) {
        0 => Activation::Relu,
        1 => Activation::Identity,
        _ => Activation::LeakyRelu { slope: bytes.int_in(0, 16) as f64 / 8.0 - 1.0 },
    }
}

/// Where a shortcut joins, read after every other draw: a seed written before the identity form
/// was drawn ends before this byte and keeps its meaning (the pre-activation shortcut).
fn skip_form(bytes: &mut Bytes<'_>) -> Skip {
    if bytes.bool() { Skip::Identity } else { Skip::PreActivation }
}

/// Fractional bits of a leaky slope k/8.
const SLOPE_BITS: f64 = 3.0;
/// Fractional bits of every parameter, input and target (k/16).
const VALUE_BITS: f64 = 4.0;

/// Small chains (depth ≤ 8, batch ≤ 5) or dense nets (depth ≤ 8, width ≤ 6, batch 1, 2 or 4)
/// with dyadic parameters: `vectorised` and `scalar` agree exactly. The first byte picks chains
/// (even) or nets (odd).
///
/// # Panics
/// When the engines disagree, or either refuses a valid case.
pub fn check_exact_domain(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    if bytes.byte().is_multiple_of(2) { exact_chains(&mut bytes) } else { exact_dense(&mut bytes) }
}

/// A batch of chains sharing activations and shortcut: the engine's `ChainBatch` (plain and
/// extended magnitudes) against the oracle's closed form per chain. The chain recurrence runs in
/// the oracle's order, so the values agree even where a product rounds.
fn exact_chains(bytes: &mut Bytes<'_>) {
    let depth = bytes.int_in(1, 8);
    let n_chains = bytes.int_in(1, 5);
    let activations: Vec<Activation> = (0..depth).map(|_| exact_activation(bytes)).collect();
    let biased = bytes.bool();
    let shortcut = if bytes.bool() { Some(bytes.int_in(1, depth)) } else { None };
    // chains[c] = (weights, biases, x, t)
    type Params = (Vec<f64>, Option<Vec<f64>>, f64, f64);
    let chains: Vec<Params> = (0..n_chains)
        .map(|_| {
            let w = (0..depth).map(|_| bytes.sixteenths(32)).collect();
            let b = biased.then(|| (0..depth).map(|_| bytes.sixteenths(16)).collect());
            (w, b, bytes.sixteenths(32), bytes.sixteenths(16))
        })
        .collect();
    let layer_major = |f: &dyn Fn(&Params, usize) -> f64| -> Vec<f64> {
        (0..depth * n_chains).map(|q| f(&chains[q % n_chains], q / n_chains)).collect()
    };
    let skip = skip_form(bytes);
    let engine_acts: Vec<vectorised::Activation> = activations.iter().map(|&f| vectorised_activation(f)).collect();
    let mut batch = vectorised::ChainBatch::new(n_chains, layer_major(&|c, l| c.0[l]), engine_acts)
        .expect("a valid exact-domain batch")
        .with_skip(engine_skip(skip));
    if biased {
        batch = batch.with_biases(layer_major(&|c, l| c.1.as_ref().expect("biased")[l])).expect("valid biases");
    }
    if let Some(span) = shortcut {
        batch = batch.with_shortcut(span).expect("a valid span");
    }
    let x: Vec<f64> = chains.iter().map(|c| c.2).collect();
    let t: Vec<f64> = chains.iter().map(|c| c.3).collect();
    let plain = batch.gradients(&x, &t, vectorised::Magnitudes::Plain).expect("valid inputs");
    let extended = batch.gradients(&x, &t, vectorised::Magnitudes::Extended).expect("valid inputs");
    for (c, (w, b, x, t)) in chains.iter().enumerate() {
        let oracle =
            Chain::new(w.clone(), activations.clone(), b.clone(), shortcut).expect("a valid chain").with_skip(skip);
        let want = oracle.gradients_closed_form(*x, *t);
        let exact = oracle.gradients_ext(*x, *t);
        for g in [&plain, &extended] {
            assert_eq!(g.output[c], want.output, "chain {c}: output");
            assert_eq!(g.loss[c], want.loss, "chain {c}: loss");
            assert_eq!(g.input[c], want.input, "chain {c}: ∂L/∂x");
            assert_eq!(g.chain_weight(c), want.weight, "chain {c}: ∂L/∂w");
            if biased {
                let bias: Vec<f64> = (0..depth).map(|l| g.bias[l * n_chains + c]).collect();
                assert_eq!(bias, want.bias, "chain {c}: ∂L/∂b");
            }
        }
        for (l, e) in exact.weight.iter().enumerate() {
            let ours = extended.weight_scaled[l * n_chains + c];
            assert_eq!(ours.to_f64(), e.to_f64(), "chain {c} layer {}: extended ∂L/∂w", l + 1);
        }
    }
}

/// The engine's layers of a dyadic net.
fn engine_layers(layers: &[DyadicLayer]) -> Vec<vectorised::DenseLayer<f64>> {
    layers
        .iter()
        .map(|(w, b, a)| vectorised::DenseLayer::from_out_in(w, b.clone(), vectorised_activation(*a)).expect("valid"))
        .collect()
}

/// Dense nets: the engine's `Dense` (squared error, per-sample normalisation) against the
/// oracle's tape. Layers the exactness bound cannot vouch for are dropped from the top.
fn exact_dense(bytes: &mut Bytes<'_>) {
    let n_input = bytes.int_in(1, 6);
    let n_layers = bytes.int_in(1, 8);
    let batch = 1 << bytes.int_in(0, 2); // 1, 2 or 4: 1/B must be exact
    let mut fan_in = n_input;
    let mut layers: Vec<DyadicLayer> = Vec::with_capacity(n_layers);
    for _ in 0..n_layers {
        let width = bytes.int_in(1, 6);
        let weight: Vec<Vec<f64>> = (0..width).map(|_| (0..fan_in).map(|_| bytes.sixteenths(16)).collect()).collect();
        let bias = bytes.bool().then(|| (0..width).map(|_| bytes.sixteenths(16)).collect());
        layers.push((weight, bias, exact_activation(bytes)));
        fan_in = width;
    }
    let shortcut = if bytes.bool() { Some(bytes.int_in(1, 4)) } else { None };
    let input: Vec<Vec<f64>> = (0..batch).map(|_| (0..n_input).map(|_| bytes.sixteenths(16)).collect()).collect();
    let fractions = FractionBits { value: VALUE_BITS, weight: VALUE_BITS, slope: SLOPE_BITS, mean_over_batch: true };
    let exact = |layers: &[DyadicLayer]| {
        DyadicNet { n_input, layers, shortcut, joins: None, batch, fractions }.is_exact_in_f64()
    };
    while !exact(&layers) && layers.len() > 1 {
        layers.pop();
    }
    if !exact(&layers) {
        return; // not provably exact: rounding may legitimately differ
    }
    let shortcut = shortcut.filter(|&s| s <= layers.len());
    let n_out = layers.last().expect("at least one layer").0.len();
    let target: Vec<Vec<f64>> = (0..batch).map(|_| (0..n_out).map(|_| bytes.sixteenths(16)).collect()).collect();
    let skip = skip_form(bytes);
    // Sometimes the layers that receive the shortcut are named: any of equal width, s or more
    // layers up (a stem before the blocks, a head after them). Drawn last, so that older seeds
    // keep their meaning.
    let joins: Option<Vec<usize>> = shortcut.filter(|_| bytes.bool()).map(|s| {
        let width = |l: usize| if l == 0 { n_input } else { layers[l - 1].0.len() };
        (s..=layers.len()).filter(|&l| width(l - s) == width(l) && bytes.bool()).collect()
    });
    let named = DyadicNet { n_input, layers: &layers, shortcut, joins: joins.as_deref(), batch, fractions };
    if !named.is_exact_in_f64() {
        return; // the named layers' paths need more bits
    }

    let oracle_layers = layers
        .iter()
        .map(|(w, b, a)| scalar::dense::DenseLayer { weight: w.clone(), bias: b.clone(), activation: *a })
        .collect();
    let mut oracle = scalar::dense::Dense::new(oracle_layers, shortcut).expect("a valid net").with_skip(skip);
    let mut engine =
        vectorised::Dense::new(engine_layers(&layers), shortcut).expect("a valid net").with_skip(engine_skip(skip));
    if let Some(joins) = &joins {
        oracle = oracle.with_shortcut_layers(joins.clone()).expect("layers of equal width, s or more up");
        engine = engine.with_shortcut_layers(joins).expect("layers of equal width, s or more up");
    }
    let want = oracle.gradients(&input, &target, scalar::dense::Loss::SquaredError).expect("a valid batch");

    let x: Vec<f64> = input.iter().flatten().copied().collect();
    let t: Vec<f64> = target.iter().flatten().copied().collect();
    let mut ws = vectorised::Workspace::new();
    let got = engine
        .gradients(
            vectorised::Batch::new(&x, batch, n_input).expect("a valid batch"),
            vectorised::Batch::new(&t, batch, n_out).expect("a valid batch"),
            vectorised::Loss::SquaredError,
            vectorised::Normalisation::PerSample,
            &mut ws,
        )
        .expect("valid inputs");
    assert_eq!(got.loss, want.loss, "loss");
    for (l, rows) in want.weight.iter().enumerate() {
        let n_out = rows.len();
        for (j, row) in rows.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                // The engine stores ∂L/∂W_l as [in][out].
                assert_eq!(got.weight[l][i * n_out + j], v, "layer {} ∂L/∂W[{j}][{i}]", l + 1);
            }
        }
        assert_eq!(got.bias[l], want.bias[l], "layer {} ∂L/∂b", l + 1);
    }
}
