//! The dense engine's diagnosis (`Dense::diagnose`: per-layer log10 norms rescaled by powers of
//! two, exact beyond `f64`'s range) against the oracle's `Dense::magnitudes` (backward in `Ext`),
//! against the engine's own plain gradients where those are in range, and its located non-finite
//! values.

use super::dense::{NetCase, general_case_strategy};
use proptest::prelude::*;
use scalar::dense as oracle;
use vectorised::dense::{Batch, Dense, DenseLayer, Loss, SeedAt, Workspace, flatten_rows};
use vectorised::stats::{NonFinite, Stage, Summary};
use vectorised::workload::uniform;
use vectorised::{Activation, Skip};

/// The seed of the loss for one sample, from its outputs y (n_L) and targets t, written out per
/// loss from its formula (not from the engine's code): squared error's 2(y − t) at the output;
/// binary cross-entropy's σ(z) − t = y − t at a sigmoid layer's logits; the linear loss's t;
/// BCE-with-logits' σ(y) − t; softmax cross-entropy's ∂/∂y_j Σ_k t_k·(lse(y) − y_k) =
/// softmax(y)_j·Σ_k t_k − t_j (targets need not be one-hot).
pub(super) fn seed_of(loss: Loss, y: &[f64], t: &[f64], out: &mut [f64]) {
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    match loss {
        Loss::SquaredError => out.iter_mut().zip(y.iter().zip(t)).for_each(|(o, (&y, &t))| *o = 2.0 * (y - t)),
        Loss::BinaryCrossEntropy => out.iter_mut().zip(y.iter().zip(t)).for_each(|(o, (&y, &t))| *o = y - t),
        Loss::Linear => out.copy_from_slice(t),
        Loss::BceWithLogits => out.iter_mut().zip(y.iter().zip(t)).for_each(|(o, (&y, &t))| *o = sigmoid(y) - t),
        Loss::CrossEntropy => {
            let max = y.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            let sum_exp: f64 = y.iter().map(|&v| (v - max).exp()).sum();
            let sum_t: f64 = t.iter().sum();
            for (o, (&y, &t)) in out.iter_mut().zip(y.iter().zip(t)) {
                *o = (y - max).exp() / sum_exp * sum_t - t;
            }
        }
    }
}

/// Where [`seed_of`]'s seed enters: binary cross-entropy's at the sigmoid layer's logits, the
/// others' at the outputs.
pub(super) fn seed_at(loss: Loss) -> SeedAt {
    if loss == Loss::BinaryCrossEntropy { SeedAt::Logit } else { SeedAt::Output }
}

pub(super) fn engine_net(case: &NetCase) -> Dense<f64> {
    let layers = case.layers.iter().map(|(w, b, a)| DenseLayer::from_out_in(w, b.clone(), *a).unwrap()).collect();
    let net = Dense::new(layers, case.shortcut).unwrap().with_skip(case.skip);
    match &case.joins {
        Some(joins) => net.with_shortcut_layers(joins).unwrap(),
        None => net,
    }
}

fn oracle_net(case: &NetCase) -> oracle::Dense {
    case.oracle_net()
}

/// The engine's diagnosis of a case, ν = B.
fn diagnose(case: &NetCase, ws: &mut Workspace<f64>) -> vectorised::dense::Diagnosis {
    let net = engine_net(case);
    let b = case.input.len();
    let x = flatten_rows("input", &case.input, case.n_input).unwrap();
    let t = flatten_rows("target", &case.target, net.output_width()).unwrap();
    let at = seed_at(case.loss);
    let (loss, n_out) = (case.loss, net.output_width());
    let seed = |y: &[f64], s: &mut [f64]| {
        for ((y, t), s) in y.chunks(n_out).zip(t.chunks(n_out)).zip(s.chunks_mut(n_out)) {
            seed_of(loss, y, t, s);
        }
    };
    net.diagnose(Batch::new(&x, b, case.n_input).unwrap(), seed, at, b as f64, ws).unwrap().clone()
}

/// The oracle's magnitudes of a case, ν = B, from its own outputs.
fn magnitudes(case: &NetCase) -> Vec<oracle::LayerMagnitudes> {
    let net = oracle_net(case);
    let y = net.outputs(&case.input).unwrap();
    let at = match seed_at(case.loss) {
        SeedAt::Output => oracle::SeedAt::Output,
        SeedAt::Logit => oracle::SeedAt::Logit,
    };
    let seed: Vec<Vec<f64>> = y
        .iter()
        .zip(&case.target)
        .map(|(y, t)| {
            let mut s = vec![0.0; y.len()];
            seed_of(case.loss, y, t, &mut s);
            s
        })
        .collect();
    net.magnitudes(&case.input, &seed, at, case.input.len() as f64).unwrap()
}

/// Per-entry error of the engine's f64 gradients against the oracle, relative to the layer's
/// largest entry (the dense suite's `F64_NORMWISE_TOL`); a norm of n entries then differs by at
/// most √n times that.
const F64_NORMWISE_TOL: f64 = 1e-11;

/// The same norm computed from the same gradients scaled by powers of two (the diagnosis) and
/// unscaled (the statistics): Blue's sums may group the scaled values otherwise, a few ε apart,
/// and the diagnosis subtracts log10 ν where the gradients were divided by ν.
const SAME_NORM_LOG10_TOL: f64 = 1e-13;

/// log10 norms of a network 600 layers deep, accumulated roundings of ~600 layers: far below
/// this in log10 (a relative 2·10⁻⁹), far above what a wrong exponent or factor would be off by.
pub(super) const DEEP_LOG10_TOL: f64 = 1e-9;

fn close_norm(got: Option<f64>, want: f64, count: usize, scale: f64) -> bool {
    let Some(got) = got else { return false };
    if want == f64::NEG_INFINITY || got == f64::NEG_INFINITY {
        return 10f64.powf(got.max(want)) <= F64_NORMWISE_TOL * (count as f64).sqrt() * scale + 1e-30;
    }
    (10f64.powf(got) - 10f64.powf(want)).abs() <= F64_NORMWISE_TOL * (count as f64).sqrt() * scale + 1e-30
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn diagnosis_norms_agree_with_the_oracle_and_with_plain_gradients(case in general_case_strategy()) {
        let mut ws = Workspace::new();
        let got = diagnose(&case, &mut ws);
        let want = magnitudes(&case);
        let plain = case.oracle();
        prop_assert_eq!(got.first_non_finite, None);
        let fast_plain = case.fast::<f64>(&mut ws);
        let stats = ws.stats().unwrap().clone();
        for (l, (g, w)) in got.layers.iter().zip(&want).enumerate() {
            let layer_max = plain.weight[l].iter().flatten().chain(&plain.bias[l]).fold(0.0f64, |m, v| m.max(v.abs()));
            let (n_out, n_in) = (plain.weight[l].len(), plain.weight[l][0].len());
            prop_assert!(close_norm(g.log10_weight_grad_norm, w.log10_weight_grad_norm, n_in * n_out, layer_max),
                "layer {} weight: {:?} vs {}", l + 1, g.log10_weight_grad_norm, w.log10_weight_grad_norm);
            prop_assert!(close_norm(g.log10_bias_grad_norm, w.log10_bias_grad_norm, n_out, layer_max),
                "layer {} bias: {:?} vs {}", l + 1, g.log10_bias_grad_norm, w.log10_bias_grad_norm);
            let delta_scale = 10f64.powf(w.log10_delta_norm);
            prop_assert!(close_norm(g.log10_delta_norm, w.log10_delta_norm, n_out * case.input.len(), delta_scale),
                "layer {} delta: {:?} vs {}", l + 1, g.log10_delta_norm, w.log10_delta_norm);
            prop_assert!((g.activation_rms - w.activation_rms).abs() <= 1e-12 * (1.0 + w.activation_rms));
            prop_assert!((g.mean_square_derivative - w.mean_square_derivative).abs() <= 1e-12 * (1.0 + w.mean_square_derivative));
            // The engine's plain ∂L/∂W_l, summarised by its statistics, where it is in range.
            let plain_norm = Summary::of(&fast_plain.weight[l]).norm;
            prop_assert_eq!(plain_norm, stats.layers[l].weight.norm);
            if plain_norm > 1e-250 {
                let d = g.log10_weight_grad_norm.unwrap() - plain_norm.log10();
                prop_assert!(d.abs() <= SAME_NORM_LOG10_TOL, "layer {}: {} vs plain {}", l + 1, d, plain_norm);
            }
        }
    }
}

/// A deep sigmoid network (width `width`, weights uniform in ±1 from `seed`, optional shortcut)
/// with squared error on a batch of `batch`.
pub(super) fn deep_sigmoid(
    depth: usize,
    width: usize,
    batch: usize,
    shortcut: Option<usize>,
    skip: Skip,
    seed: u64,
) -> NetCase {
    let layers = (0..depth)
        .map(|l| {
            let w = uniform(seed + l as u64, width * width);
            let rows = w.chunks(width).map(|r| r.iter().map(|u| 2.0 * u - 1.0).collect()).collect();
            (rows, Some(vec![0.1; width]), Activation::Sigmoid)
        })
        .collect();
    let input = uniform(seed ^ 0xABCD, batch * width).chunks(width).map(<[f64]>::to_vec).collect();
    let target = vec![vec![0.0; width]; batch];
    NetCase { n_input: width, layers, shortcut, joins: None, skip, input, target, loss: Loss::SquaredError }
}

#[test]
fn deep_sigmoid_gradients_far_below_f64_are_the_oracles_in_log10() {
    let case = deep_sigmoid(600, 4, 3, None, Skip::PreActivation, 7);
    let got = diagnose(&case, &mut Workspace::new());
    let want = magnitudes(&case);
    // The claim is about gradients past f64's range: the lowest layers' must be there.
    assert!(want[0].log10_weight_grad_norm < -330.0, "{}", want[0].log10_weight_grad_norm);
    for (l, (g, w)) in got.layers.iter().zip(&want).enumerate() {
        for (name, g, w) in [
            ("weight", g.log10_weight_grad_norm, w.log10_weight_grad_norm),
            ("bias", g.log10_bias_grad_norm, w.log10_bias_grad_norm),
            ("delta", g.log10_delta_norm, w.log10_delta_norm),
        ] {
            let g = g.unwrap();
            assert!((g - w).abs() <= DEEP_LOG10_TOL * w.abs().max(1.0), "layer {} {name}: {g} vs {w}", l + 1);
        }
    }
    // The plain engine cannot say this: its lowest gradient is 0 or subnormal.
    let plain = case.fast::<f64>(&mut Workspace::new());
    assert!(Summary::of(&plain.weight[0]).norm < f64::MIN_POSITIVE);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn deep_networks_with_shortcuts_agree_with_the_oracle_past_f64s_range(
        depth in 300usize..700,
        width in 1usize..=4,
        batch in 1usize..=4,
        shortcut in prop::option::of(1usize..=5),
        identity in any::<bool>(),
        named in prop::option::of(any::<u64>()),
        seed in 0u64..1000,
    ) {
        let skip = if identity { Skip::Identity } else { Skip::PreActivation };
        let case = deep_sigmoid(depth, width, batch, shortcut, skip, seed).named(named);
        let got = diagnose(&case, &mut Workspace::new());
        let want = magnitudes(&case);
        for (l, (g, w)) in got.layers.iter().zip(&want).enumerate() {
            for (name, g, w) in [
                ("weight", g.log10_weight_grad_norm, w.log10_weight_grad_norm),
                ("delta", g.log10_delta_norm, w.log10_delta_norm),
            ] {
                let g = g.unwrap();
                prop_assert!((g - w).abs() <= DEEP_LOG10_TOL * w.abs().max(1.0), "layer {} {}: {} vs {}", l + 1, name, g, w);
            }
        }
    }
}

#[test]
fn diagnosis_is_the_same_on_one_and_two_threads() {
    let case = deep_sigmoid(40, 96, 70, Some(3), Skip::Identity, 3);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| diagnose(&case, &mut Workspace::new()))
    };
    let (one, two) = (run(1), run(2));
    for (a, b) in one.layers.iter().zip(&two.layers) {
        assert_eq!(a.log10_weight_grad_norm.map(f64::to_bits), b.log10_weight_grad_norm.map(f64::to_bits));
        assert_eq!(a.log10_delta_norm.map(f64::to_bits), b.log10_delta_norm.map(f64::to_bits));
    }
    assert_eq!(one, two);
}

#[test]
fn a_forward_overflow_is_located_and_backward_is_not_run() {
    // Layer 1: z = 1e200·x; layer 2: z = 1e200·a_1 = ∞ for sample 1 (x = 1), 0 for sample 0.
    let l1 = DenseLayer::new(1, 1, vec![1e200], None, Activation::Relu).unwrap();
    let l2 = DenseLayer::new(1, 2, vec![1.0, 1e200], None, Activation::Relu).unwrap();
    let net = Dense::new(vec![l1, l2], None).unwrap();
    let mut ws = Workspace::new();
    let d =
        net.diagnose(Batch::new(&[0.0, 1.0], 2, 1).unwrap(), |_, s| s.fill(1.0), SeedAt::Output, 2.0, &mut ws).unwrap();
    assert_eq!(d.first_non_finite, Some(NonFinite { layer: 2, unit: 1, sample: Some(1), stage: Stage::Forward }));
    assert!(d.layers.iter().all(|l| l.log10_weight_grad_norm.is_none()));
}

#[test]
fn a_non_finite_seed_is_located_at_the_top_layer() {
    let l1 = DenseLayer::new(2, 3, vec![0.5; 6], None, Activation::Tanh).unwrap();
    let net = Dense::new(vec![l1], None).unwrap();
    let mut ws = Workspace::new();
    let seed = |_: &[f64], s: &mut [f64]| {
        s.fill(1.0);
        s[4] = f64::INFINITY; // sample 1, unit 1
    };
    let d = net.diagnose(Batch::new(&[1.0, 2.0, 3.0, 4.0], 2, 2).unwrap(), seed, SeedAt::Output, 2.0, &mut ws).unwrap();
    assert_eq!(
        d.first_non_finite,
        Some(NonFinite { layer: 1, unit: 1, sample: Some(1), stage: Stage::ActivationGradient })
    );
}

#[test]
fn an_all_zero_delta_gives_exact_zero_norms() {
    // relu with z < 0 everywhere: Δ = 0 exactly, log10 = −∞ (an exact 0, not an underflow).
    let l1 = DenseLayer::new(1, 2, vec![-1.0, -2.0], Some(vec![-1.0, -1.0]), Activation::Relu).unwrap();
    let net = Dense::new(vec![l1], None).unwrap();
    let mut ws = Workspace::new();
    let d =
        net.diagnose(Batch::new(&[1.0, 2.0], 2, 1).unwrap(), |_, s| s.fill(1.0), SeedAt::Output, 2.0, &mut ws).unwrap();
    assert_eq!(d.layers[0].log10_weight_grad_norm, Some(f64::NEG_INFINITY));
    assert_eq!(d.layers[0].dead_fraction, 1.0);
}
