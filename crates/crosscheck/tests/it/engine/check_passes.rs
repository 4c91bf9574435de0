//! `report check` against a correct backprop written independently of the oracle: the engine's
//! `f64` gradients (its own kernels, products in another order, its own `exp`) must pass the
//! check's default tolerances on random networks — every activation, loss and shortcut form the
//! dense suites draw — and its `f32` gradients the `f32` preset (on activations without a kink,
//! where f32 and f64 may take different branches). A failure here is a false alarm the check
//! would raise on a user's correct code; `crates/report/tests/it/check.rs` shows the wrong
//! gradients it catches.
//!
//! What a correct `f32` backprop gets wrong is relative to what its sums cancel, not to the size
//! of the gradients: the scale the check uses carries that (`docs/derivation.md` §10a), and
//! [`a_seed_that_cancels_is_within_the_scale`] shows a case where the gradients' own size is not
//! enough.

use super::dense::NetCase;
use super::dense::general_case_strategy;
use proptest::prelude::*;
use report::model::{ClaimedGradients, ClaimedLayer, Model};
use report::reference::{F32_ATOL, F32_RTOL, Tolerance, check_gradients_against, model_gradients};
use vectorised::Real;
use vectorised::Skip;
use vectorised::dense::Loss;
use vectorised::dense::Workspace;

/// The check of the engine's gradients in `T` for `case` at `tolerance`; `None` when the reference
/// refuses the model (a forward pass that overflows, as `report check` refuses it).
fn check_engine<T: Real>(case: &NetCase, tolerance: Tolerance) -> Option<report::reference::CheckReport> {
    let model =
        Model::new(case.oracle_net(), case.input.clone(), case.target.clone(), super::to_oracle_loss(case.loss))
            .unwrap();
    let reference = model_gradients(&model).ok()?;
    let got = case.fast::<T>(&mut Workspace::new());
    let layers = got
        .weight
        .iter()
        .zip(&got.bias)
        .map(|(w, b)| {
            // The engine's n_in × n_out row-major as the model's [out][in] rows.
            let n_out = b.len();
            let n_in = w.len() / n_out;
            let weight_grad = (0..n_out).map(|j| (0..n_in).map(|i| w[i * n_out + j].to_f64()).collect()).collect();
            let bias_grad = Some(b.iter().map(|v| v.to_f64()).collect());
            ClaimedLayer { weight_grad, bias_grad, norm_weight_grad: None, norm_bias_grad: None }
        })
        .collect();
    let theirs = ClaimedGradients { loss: Some(got.loss.to_f64()), layers };
    Some(check_gradients_against(&model, &reference, &theirs, tolerance).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_engines_gradients_pass_the_check(case in general_case_strategy()) {
        if let Some(report) = check_engine::<f64>(&case, Tolerance::default()) {
            prop_assert!(report.pass, "{report}");
        }
    }

    #[test]
    fn the_engines_f32_gradients_pass_the_f32_check(case in super::dense::smooth_case_strategy()) {
        // The scale leaves the forward pass's rounding out (as the docs say): where the output
        // cancels against the target in the seed, f32's rounding of y alone moves every gradient.
        prop_assume!(seed_cancellation(&case) < 1e3);
        if let Some(report) = check_engine::<f32>(&case, Tolerance::f32()) {
            prop_assert!(report.pass, "{report}");
        }
    }

    /// Every activation, kinks included, with a unit of a kinked layer put on its kink: the
    /// engine's f32 forward pass rounds its z to either side of 0, and takes that side's
    /// derivative; the check takes the same branch there (and names it) rather than fail.
    /// Without the check's second look every case with a flip fails; with it, about one case in
    /// 2,000 still does (the values downstream of the kink are tiny in f64 and not in f32, and
    /// the search of `docs/derivation.md` §10b can pick the wrong subset), so it is run by hand,
    /// not in CI: `cargo test --release -p crosscheck --test it at_kinks -- --ignored`.
    #[test]
    #[ignore = "about one case in 2,000 fails: a measurement of the kink search, run by hand"]
    fn the_engines_f32_gradients_pass_the_f32_check_at_kinks(case in general_case_strategy().prop_map(on_the_kinks)) {
        prop_assume!(seed_cancellation(&case) < 1e3);
        if let Some(report) = check_engine::<f32>(&case, Tolerance::f32()) {
            prop_assert!(report.pass, "{report}");
        }
    }
}

/// `case` with unit 0 of sample 0 moved onto the kink of the first layer whose activation has one
/// (relu, leaky relu) and which has biases: its bias shifted by −z, so that z is 0 to within
/// f64's rounding, and an `f32` forward pass's rounding puts it on either side. (One kink per
/// case, as a real network meets them: several at once in one sample, each feeding the next, can
/// leave the check failing — `docs/derivation.md` §10b, "Left out".)
fn on_the_kinks(mut case: NetCase) -> NetCase {
    let kinked = |a: vectorised::Activation| {
        matches!(a, vectorised::Activation::Relu | vectorised::Activation::LeakyRelu { .. })
    };
    if let Some(idx) = (0..case.layers.len()).find(|&idx| kinked(case.layers[idx].2) && case.layers[idx].1.is_some()) {
        let z = case.oracle_net().forward_trace(&case.input[0]).unwrap().z[idx][0];
        if let (true, Some(bias)) = (z.is_finite(), case.layers[idx].1.as_mut()) {
            bias[0] -= z;
        }
    }
    case
}

/// How much the loss's seed cancels, over samples and outputs: (|a| + |b|)/|a − b| for the seed
/// a − b (y − t; σ(z) − t; (Σt)·softmax(y) − t; none for the linear loss). An `f32` forward pass
/// rounds y: where the squared error's y − t cancels κ-fold, its seed and every gradient of its
/// sample are off by about κ·u relative, and where any loss is near its minimum the loss value
/// is — the forward pass's rounding, which the check's scale does not model
/// (`docs/model-format.md`, `--dtype f32`). The cross-entropies' seeds are left out with the
/// rest for their loss values.
fn seed_cancellation(case: &NetCase) -> f64 {
    let ratio = |a: f64, b: f64| {
        if a == b { if a == 0.0 { 1.0 } else { f64::INFINITY } } else { (a.abs() + b.abs()) / (a - b).abs() }
    };
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let outputs = case.oracle().output;
    (outputs.iter().zip(&case.target))
        .flat_map(|(y, t)| {
            let seed: Vec<(f64, f64)> = match case.loss {
                Loss::SquaredError | Loss::BinaryCrossEntropy => y.iter().copied().zip(t.iter().copied()).collect(),
                Loss::BceWithLogits => y.iter().map(|&v| sigmoid(v)).zip(t.iter().copied()).collect(),
                Loss::CrossEntropy => {
                    let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let exps: Vec<f64> = y.iter().map(|&v| (v - m).exp()).collect();
                    let (sum, total) = (exps.iter().sum::<f64>(), t.iter().sum::<f64>());
                    exps.iter().map(|e| total * e / sum).zip(t.iter().copied()).collect()
                }
                Loss::Linear => Vec::new(),
            };
            seed.into_iter().map(|(a, b)| ratio(a, b))
        })
        .fold(1.0, f64::max)
}

/// One sigmoid unit feeding two logits of a cross-entropy with soft targets: the seed
/// (Σt)·softmax(y) − t cancels (Σt ≈ 1.015) to ~10⁻⁵ of its terms, so the engine's correct `f32`
/// gradient is off by 0.3% of its size (~5·10⁴ u), and by ~0.3·u of the scale. Against the size
/// of the gradients alone (Σ_b |∂L_b/∂θ|, the check's scale before the backward pass's own sums
/// were in it) that is a false alarm; against the scale it passes. The property below found it.
#[test]
fn a_seed_that_cancels_is_within_the_scale() {
    let case = NetCase {
        n_input: 1,
        layers: vec![(
            vec![vec![-0.6393507417357939], vec![0.7810008433446674]],
            None,
            vectorised::Activation::Sigmoid,
        )],
        shortcut: None,
        joins: None,
        skip: Skip::PreActivation,
        input: vec![vec![-1.7630375487923937]],
        target: vec![vec![0.6449110454967937, 0.3706463669219014]],
        loss: Loss::CrossEntropy,
    };
    let report = check_engine::<f32>(&case, Tolerance::f32()).unwrap();
    assert!(report.pass, "{report}");
    let layer = &report.layers[0];
    let gradient_size =
        layer.worst.reference.abs().max(case.oracle().weight[0].iter().flatten().fold(0.0f64, |m, v| m.max(v.abs())));
    let error = (layer.worst.theirs - layer.worst.reference).abs();
    let allowed_by_gradient_size = F32_ATOL * gradient_size + F32_RTOL * layer.worst.reference.abs();
    assert!(
        error > allowed_by_gradient_size,
        "{error:e} within {allowed_by_gradient_size:e}: the case no longer cancels"
    );
    assert!(layer.scale > 1e4 * gradient_size, "scale {:e}, gradients {gradient_size:e}", layer.scale);
}
