//! Weight decay in the trainer: coupled L2 (λ·w added to the gradient) and decoupled decay
//! (AdamW's w·(1 − ηλ) beside the optimizer's step), each against its equations redone by hand,
//! and the coupled form's artefact under Adam. The update rules themselves are `train.rs`.

use super::train::{EPS64, StateByHand, bits, engine_gradients, flatten, small_batch, small_net, step, update_by_hand};
use vectorised::Activation;
use vectorised::dense::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};
use vectorised::train::{DecayForm, Optimizer, StepReport, TrainConfig, Trainer};

#[test]
fn l2_decay_with_zero_data_gradient_shrinks_weights_by_one_minus_eta_lambda() {
    // η = 1/4, λ = 1/2: 1 − ηλ = 7/8, and w − η·(λ·w) = 7w/8 exactly for weights of few bits.
    let (eta, lambda) = (0.25, 0.5);
    for decay_biases in [false, true] {
        let layer = |n_in, n_out, w: &[f64], b: &[f64], act| {
            DenseLayer::new(n_in, n_out, w.to_vec(), Some(b.to_vec()), act).unwrap()
        };
        let l1 = layer(2, 2, &[0.5, -0.75, 1.25, 0.25], &[0.125, -0.5], Activation::Tanh);
        let l2 = layer(2, 1, &[1.5, -0.625], &[0.375], Activation::Identity);
        let mut net = Dense::new(vec![l1, l2], None).unwrap();
        let start = net.clone();
        let config = TrainConfig::new(eta, Optimizer::sgd(), Loss::SquaredError)
            .with_weight_decay(lambda)
            .with_decay_biases(decay_biases);
        let mut trainer = Trainer::new(&net, config).unwrap();
        let x = [0.5, -1.0, 2.0, 0.25];
        let mut factor = 1.0;
        for _ in 0..5 {
            // The target is the current output: the data gradient is exactly 0.
            let mut ws = Workspace::new();
            let zeros = [0.0; 2];
            net.gradients(
                Batch::new(&x, 2, 2).unwrap(),
                Batch::new(&zeros, 2, 1).unwrap(),
                Loss::SquaredError,
                Normalisation::PerSample,
                &mut ws,
            )
            .unwrap();
            let y = ws.activations(2).unwrap().to_vec();
            let pre = net.clone();
            let report = step(&mut trainer, &mut net, &x, &y);
            assert_eq!((report.loss, report.grad_norm_before_clip), (0.0, 0.0));
            // The penalty (λ/2)·Σ‖W‖² at the weights before the step, to a few roundings.
            let squares: f64 = pre
                .layers()
                .iter()
                .flat_map(|l| l.weight().iter().chain(if decay_biases { l.bias().unwrap() } else { &[] }))
                .map(|w| w * w)
                .sum();
            let expected_penalty = 0.5 * lambda * squares;
            assert!((report.penalty - expected_penalty).abs() <= 8.0 * EPS64 * expected_penalty);
            factor *= 1.0 - eta * lambda;
            for (new, old) in net.layers().iter().zip(start.layers()) {
                for (&w, &w0) in new.weight().iter().zip(old.weight()) {
                    assert_eq!(w, factor * w0);
                }
                for (&b, &b0) in new.bias().unwrap().iter().zip(old.bias().unwrap()) {
                    assert_eq!(b, if decay_biases { factor * b0 } else { b0 });
                }
            }
        }
    }
}

/// η and λ for the decay tests: ηλ = 1/8, so 1 − ηλ = 7/8 is exact.
const DECAY_ETA: f64 = 0.25;
const DECAY_LAMBDA: f64 = 0.5;

#[test]
fn decoupled_decay_shrinks_by_one_minus_eta_lambda_then_steps_from_the_data_gradient_bitwise() {
    // AdamW (and SGDW with momentum): w ← w·(1 − ηλ) − η·u with u the optimizer's step from the
    // data gradient alone, redone by hand over three steps; the optimizer's state never sees λ·w.
    let (eta, lambda) = (0.01, 0.3);
    let (b1, b2, eps, mu) = (0.9, 0.999, 1e-8, 0.9);
    for optimizer in [Optimizer::Adam { beta1: b1, beta2: b2, epsilon: eps }, Optimizer::momentum(mu)] {
        for decay_biases in [false, true] {
            let mut net = small_net(21);
            let (x, t) = small_batch(22, 5);
            let config = TrainConfig::new(eta, optimizer, Loss::SquaredError)
                .with_decoupled_weight_decay(lambda)
                .with_decay_biases(decay_biases);
            assert_eq!(config.decay_form, DecayForm::Decoupled);
            let mut trainer = Trainer::new(&net, config).unwrap();
            let mut expected = net.clone();
            let mut state = StateByHand::new(&net);
            let keep = 1.0 - eta * lambda;
            for _ in 0..3 {
                state.next_step(b1, b2);
                let g = engine_gradients(&expected, &x, &t, Loss::SquaredError);
                update_by_hand(&mut expected, &g, |w, g, idx, is_bias, i| {
                    let w = if is_bias && !decay_biases { w } else { w * keep };
                    match optimizer {
                        Optimizer::Adam { .. } => state.adam(w, g, (idx, is_bias, i), b1, b2, eta, eps),
                        Optimizer::Sgd { .. } => {
                            let velocity = state.first(idx, is_bias, i);
                            *velocity = mu * *velocity + g;
                            w - eta * *velocity
                        }
                    }
                });
                let report = step(&mut trainer, &mut net, &x, &t);
                assert!(report.applied());
                assert_eq!(bits(&net), bits(&expected), "{optimizer:?}, biases decayed: {decay_biases}");
                // The gradient the update used is the data gradient: λ·w is not in it.
                let applied = trainer.applied_gradient();
                assert_eq!(flatten(applied), flatten(&g));
            }
        }
    }
}

/// A 2-2-1 network (tanh, identity output) with weights of few bits, and inputs for it.
fn decay_net() -> (Dense<f64>, [f64; 4]) {
    let layer = |n_in, n_out, w: &[f64], b: &[f64], act| {
        DenseLayer::new(n_in, n_out, w.to_vec(), Some(b.to_vec()), act).unwrap()
    };
    let l1 = layer(2, 2, &[0.5, -0.75, 1.25, 0.25], &[0.125, -0.5], Activation::Tanh);
    let l2 = layer(2, 1, &[1.5, -0.625], &[0.375], Activation::Identity);
    (Dense::new(vec![l1, l2], None).unwrap(), [0.5, -1.0, 2.0, 0.25])
}

/// One step of `trainer` on `net` with the target set to the network's own output, so the data
/// gradient is exactly 0 and only the decay moves the weights.
fn step_with_zero_data_gradient(trainer: &mut Trainer<f64>, net: &mut Dense<f64>, x: &[f64]) -> StepReport {
    let mut ws = Workspace::new();
    let zeros = vec![0.0; x.len() / 2];
    net.gradients(
        Batch::new(x, x.len() / 2, 2).unwrap(),
        Batch::new(&zeros, x.len() / 2, 1).unwrap(),
        Loss::SquaredError,
        Normalisation::PerSample,
        &mut ws,
    )
    .unwrap();
    let y = ws.activations(2).unwrap().to_vec();
    let report = step(trainer, net, x, &y);
    assert_eq!((report.loss, report.grad_norm_before_clip), (0.0, 0.0));
    report
}

#[test]
fn with_no_data_gradient_decoupled_decay_is_exactly_one_minus_eta_lambda_per_step_under_every_optimizer() {
    // 1 − ηλ = 7/8: w·(7/8)ᵏ is exact for these weights, and the optimizer's step from g = 0 is 0
    // (Adam: m = v = 0, so m̂/(√v̂ + ε) = 0).
    for optimizer in [Optimizer::sgd(), Optimizer::momentum(0.9), Optimizer::adam()] {
        let (mut net, x) = decay_net();
        let start = net.clone();
        let config =
            TrainConfig::new(DECAY_ETA, optimizer, Loss::SquaredError).with_decoupled_weight_decay(DECAY_LAMBDA);
        let mut trainer = Trainer::new(&net, config).unwrap();
        let mut factor = 1.0;
        for _ in 0..5 {
            let _ = step_with_zero_data_gradient(&mut trainer, &mut net, &x);
            factor *= 1.0 - DECAY_ETA * DECAY_LAMBDA;
            for (new, old) in net.layers().iter().zip(start.layers()) {
                for (&w, &w0) in new.weight().iter().zip(old.weight()) {
                    assert_eq!(w, factor * w0, "{optimizer:?}");
                }
                assert_eq!(new.bias(), old.bias(), "biases are not decayed by default");
            }
        }
    }
}

/// |Δw| ÷ η for coupled L2 under Adam where λ|w| dominates the (zero) data gradient: the first
/// step is exactly λ|w|/(λ|w| + ε) ≈ 1 up to rounding; later steps see g = λ·w shrink by η·λ a
/// step, and Adam's moments (averages of past g) lag it by a few percent at most over a few steps.
const COUPLED_STEP_BAND: f64 = 0.05;

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// The artefact coupled L2 causes under Adam: with no data gradient, every weight moves by
    /// about η per step towards 0, whatever λ and |w| (so the weights fall to 0 in |w|/η steps);
    /// AdamW's decoupled decay moves it by ηλ|w|, as decay alone should.
    #[test]
    fn coupled_l2_under_adam_moves_each_weight_by_about_eta_decoupled_by_eta_lambda_w(
        log_lambda in -4.0..-1.0_f64,
        log_eta in -4.0..-2.0_f64,
    ) {
        let (eta, lambda) = (10f64.powf(log_eta), 10f64.powf(log_lambda));
        let steps = 5;
        for form in [DecayForm::Coupled, DecayForm::Decoupled] {
            let (mut net, x) = decay_net();
            let config = TrainConfig { decay_form: form, ..TrainConfig::new(eta, Optimizer::adam(), Loss::SquaredError) }
                .with_weight_decay(lambda);
            let mut trainer = Trainer::new(&net, config).unwrap();
            for _ in 0..steps {
                let before = net.clone();
                let _ = step_with_zero_data_gradient(&mut trainer, &mut net, &x);
                for (new, old) in net.layers().iter().zip(before.layers()) {
                    for (&w, &w0) in new.weight().iter().zip(old.weight()) {
                        let moved = w0 - w;
                        proptest::prop_assert_eq!(moved.signum(), w0.signum(), "towards 0");
                        match form {
                            DecayForm::Coupled => proptest::prop_assert!(
                                (moved.abs() / eta - 1.0).abs() <= COUPLED_STEP_BAND,
                                "coupled: |Δw|/η = {} (w = {w0}, λ = {lambda})", moved.abs() / eta
                            ),
                            DecayForm::Decoupled => {
                                let expected = eta * lambda * w0.abs();
                                proptest::prop_assert!(
                                    (moved.abs() - expected).abs() <= 4.0 * EPS64 * w0.abs(),
                                    "decoupled: |Δw| = {} vs ηλ|w| = {expected}", moved.abs()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
