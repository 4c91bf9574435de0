//! Training refuses a step that is not finite (a non-finite input, a forward pass, loss, bias
//! gradient or update that overflows), says where, and leaves the network and the optimiser's
//! state untouched.

use super::train::*;
use vectorised::dense::{Batch, Dense, DenseLayer, Loss};
use vectorised::stats::Stage;
use vectorised::train::{Clip, Optimizer, Refusal, TrainConfig, Trainer};
use vectorised::{Activation, Error};

#[test]
fn a_non_finite_input_is_an_error_and_changes_nothing() {
    let mut net = small_net(13);
    let before = bits(&net);
    let (mut x, t) = small_batch(14, 3);
    x[4] = f64::NAN;
    let mut trainer = Trainer::new(&net, TrainConfig::new(0.1, Optimizer::adam(), Loss::SquaredError)).unwrap();
    let err = trainer.step(&mut net, Batch::new(&x, 3, 3).unwrap(), Batch::new(&t, 3, 2).unwrap()).unwrap_err();
    assert_eq!(err, Error::NonFinite { what: "input", index: 4 });
    assert_eq!(bits(&net), before);
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn a_step_whose_forward_pass_overflows_is_refused_with_its_location_and_state_untouched() {
    // z₁ = 10³⁰⁰·10¹⁰ = +∞ for sample 1, then 0·∞ = NaN in layer 2.
    let mut net = identity_chain(1e300, 0.0);
    let config = TrainConfig::new(0.01, Optimizer::adam(), Loss::SquaredError);
    let mut trainer = Trainer::new(&net, config).unwrap();
    let before = bits(&net);
    let report = step(&mut trainer, &mut net, &[1e-300, 1e10], &[0.0, 0.0]);
    assert!(!report.applied());
    let Some(Refusal::Network(at)) = report.refused else { panic!("refused by the network: {:?}", report.refused) };
    assert_eq!((at.layer, at.unit, at.sample, at.stage), (1, 0, Some(1), Stage::Forward));
    assert_eq!(bits(&net), before);
    assert_eq!(trainer.steps(), 0);
    assert_eq!(report.update_norm, vec![0.0, 0.0]);
    // The optimizer state is untouched too: the next (finite) step is a first step.
    let x = [1e-300, -1e-300];
    let mut fresh_net = net.clone();
    let mut fresh = Trainer::new(&fresh_net, config).unwrap();
    let a = step(&mut trainer, &mut net, &x, &[1.0, 1.0]);
    let b = step(&mut fresh, &mut fresh_net, &x, &[1.0, 1.0]);
    assert!(a.applied());
    assert_eq!(a, b);
    assert_eq!(bits(&net), bits(&fresh_net));
}

#[test]
fn a_loss_that_overflows_while_gradients_are_finite_is_refused() {
    // One layer, y = 10²⁰⁰·x, x = 1, t = −10²⁰⁰: (y − t)² = +∞ but ∂L/∂w = 2(y − t)·x = 4·10²⁰⁰.
    let layer = || DenseLayer::new(1, 1, vec![1e200], None, Activation::Identity).unwrap();
    let mut net = Dense::new(vec![layer()], None).unwrap();
    let mut trainer = Trainer::new(&net, TrainConfig::new(1e-300, Optimizer::sgd(), Loss::SquaredError)).unwrap();
    let report = step(&mut trainer, &mut net, &[1.0], &[-1e200]);
    assert_eq!(report.refused, Some(Refusal::Loss));
    assert_eq!(report.loss, f64::INFINITY);
    assert!(report.grad_norm_before_clip.is_finite());
    assert_eq!(net.layers()[0], layer());
}

#[test]
fn a_bias_gradient_that_overflows_in_its_sum_over_the_batch_is_refused() {
    // Δ = 2(y − t) = 10³⁰⁸ for each of two samples: the bias gradient's sum is +∞ while every
    // ∂L/∂a (10³⁰⁸) and the weight gradient (Σ x·Δ with x = 10⁻¹⁰) are finite.
    let layer = || DenseLayer::new(1, 1, vec![0.0], Some(vec![0.0]), Activation::Identity).unwrap();
    let mut net = Dense::new(vec![layer()], None).unwrap();
    let mut trainer = Trainer::new(&net, TrainConfig::new(1e-3, Optimizer::sgd(), Loss::SquaredError)).unwrap();
    let report = step(&mut trainer, &mut net, &[1e-10, 1e-10], &[-0.5e308, -0.5e308]);
    assert_eq!(report.stats.first_non_finite, None);
    assert_eq!(report.refused, Some(Refusal::Gradient { layer: 1, bias: true, index: 0 }));
    assert_eq!(net.layers()[0], layer());
}

#[test]
fn an_update_that_would_overflow_is_refused_naming_the_parameter() {
    // g = ∂(w₂·w₁·x − 0)²/∂w₁ = 2·w₂·x·y = 2; η·g = 2·10³⁰⁸ overflows.
    let mut net = identity_chain(1.0, 1.0);
    let mut trainer = Trainer::new(&net, TrainConfig::new(1e308, Optimizer::sgd(), Loss::SquaredError)).unwrap();
    let report = step(&mut trainer, &mut net, &[1.0], &[0.0]);
    assert_eq!(report.refused, Some(Refusal::Update { layer: 1, bias: false, index: 0 }));
    assert_eq!(bits(&net), bits(&identity_chain(1.0, 1.0)));
    assert_eq!(trainer.steps(), 0);
}

#[test]
fn adam_refuses_a_gradient_whose_square_overflows_and_takes_it_once_clipped() {
    // One sigmoid unit, z = w·x = 10⁻²⁰⁰·10²⁰⁰ = 1, cross-entropy with t = 0: the loss is finite,
    // g = x·σ(1) ≈ 0.73·10²⁰⁰ is finite, and g·g overflows.
    let layer = || DenseLayer::new(1, 1, vec![1e-200], None, Activation::Sigmoid).unwrap();
    let eta = 1e-3;
    let adam = TrainConfig::new(eta, Optimizer::adam(), Loss::BinaryCrossEntropy);
    for (clip, applied) in [(Clip::None, false), (Clip::Norm(1.0), true), (Clip::Value(1.0), true)] {
        let mut net = Dense::new(vec![layer()], None).unwrap();
        let mut trainer = Trainer::new(&net, adam.with_clip(clip)).unwrap();
        let report = step(&mut trainer, &mut net, &[1e200], &[0.0]);
        assert!(report.loss.is_finite() && report.grad_norm_before_clip > 1e199);
        if applied {
            assert!(report.applied() && report.clipped, "{clip:?}");
            assert!((report.grad_norm_after_clip - 1.0).abs() <= 4.0 * EPS64);
            // A first Adam step with |g| = 1 moves w by η/(1 + ε).
            assert!((report.update_norm[0] - eta).abs() <= 2e-8 * eta, "{}", report.update_norm[0]);
        } else {
            assert_eq!(report.refused, Some(Refusal::Update { layer: 1, bias: false, index: 0 }));
            assert_eq!(net.layers()[0], layer());
        }
    }
}

#[test]
fn out_of_range_hyper_parameters_are_refused_by_name() {
    let net = small_net(15);
    let base = TrainConfig::new(0.1, Optimizer::sgd(), Loss::SquaredError);
    let adam = |beta1, beta2, epsilon| TrainConfig { optimizer: Optimizer::Adam { beta1, beta2, epsilon }, ..base };
    let cases: Vec<(TrainConfig, &str)> = vec![
        (TrainConfig { learning_rate: 0.0, ..base }, "learning_rate"),
        (TrainConfig { learning_rate: -1.0, ..base }, "learning_rate"),
        (TrainConfig { learning_rate: f64::NAN, ..base }, "learning_rate"),
        (TrainConfig { learning_rate: f64::INFINITY, ..base }, "learning_rate"),
        (TrainConfig { optimizer: Optimizer::momentum(1.0), ..base }, "momentum"),
        (TrainConfig { optimizer: Optimizer::momentum(-0.1), ..base }, "momentum"),
        (TrainConfig { optimizer: Optimizer::momentum(f64::NAN), ..base }, "momentum"),
        (adam(1.0, 0.999, 1e-8), "adam beta1"),
        (adam(-0.5, 0.999, 1e-8), "adam beta1"),
        (adam(0.9, 1.0, 1e-8), "adam beta2"),
        (adam(0.9, 0.999, 0.0), "adam epsilon"),
        (adam(0.9, 0.999, f64::NAN), "adam epsilon"),
        (base.with_clip(Clip::Norm(0.0)), "clip norm"),
        (base.with_clip(Clip::Norm(f64::INFINITY)), "clip norm"),
        (base.with_clip(Clip::Value(-1.0)), "clip value"),
        (base.with_weight_decay(-1e-3), "weight_decay"),
        (base.with_weight_decay(f64::NAN), "weight_decay"),
        // Decoupled decay with ηλ ≥ 1 would zero or flip every weight each step.
        (base.with_decoupled_weight_decay(10.0), "weight_decay"),
        (base.with_decoupled_weight_decay(20.0), "weight_decay"),
    ];
    for (config, name) in cases {
        match Trainer::new(&net, config) {
            Err(Error::Invalid { what, .. }) => assert_eq!(what, name, "{config:?}"),
            other => panic!("{config:?} gave {other:?}"),
        }
    }
    // The edges that are allowed.
    assert!(Trainer::new(&net, adam(0.0, 0.0, 1e-300)).is_ok());
    assert!(Trainer::new(&net, base.with_weight_decay(0.0)).is_ok());
    assert!(Trainer::new(&net, base.with_decoupled_weight_decay(9.99)).is_ok());
    // Coupled decay has no such bound (its η·λ·w is a gradient step, refused only if non-finite).
    assert!(Trainer::new(&net, base.with_weight_decay(20.0)).is_ok());
    // ε = 10⁻³⁰⁰ rounds to 0 in f32: refused there.
    let net32 =
        Dense::new(vec![DenseLayer::new(1, 1, vec![1.0f32], None, Activation::Identity).unwrap()], None).unwrap();
    match Trainer::new(&net32, adam(0.9, 0.999, 1e-300)) {
        Err(Error::Invalid { what, .. }) => assert_eq!(what, "adam epsilon"),
        other => panic!("{other:?}"),
    }
}
