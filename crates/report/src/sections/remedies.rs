//! Section 5 — remedies compared: one task, a deep sigmoid network that fails to learn it, and
//! the usual remedies one at a time — ReLU, softplus, a shortcut, an initialisation scaled for
//! the sigmoid, gradient clipping, L2 decay, Adam, fewer layers — each trained on the vectorised
//! engine's [`Trainer`] from the same seeds.
//!
//! Task: 32 points drawn uniformly from [−1, 1]², labelled 1 where x₁·x₂ > 0 (the XOR quadrants);
//! binary cross-entropy on a sigmoid output; full-batch Adam steps (one row uses plain momentum
//! SGD instead, to show that the optimizer alone does not rescue the baseline). Measured per run: the gradient ratio
//! ‖∂L/∂W_1‖ / ‖∂L/∂W_L‖ at initialisation (the vanishing gradient in one number), the final loss
//! and accuracy, and the loss and weight histories the symptom checklist (section 7) reads.

use super::{Config, Label, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;
use vectorised::train::{Clip, Optimizer, Refusal, TrainConfig, Trainer};
use vectorised::{Batch, Dense, DenseLayer, Loss};

/// Points in the task.
pub const POINTS: usize = 32;
/// Hidden units per hidden layer.
pub const WIDTH: usize = 8;
/// Hidden layers of the deep networks.
pub const DEEP: usize = 10;
/// A run succeeds when it classifies at least this share of the points right.
pub const SUCCESS_ACCURACY: f64 = 0.95;

/// The rows of the section: the baseline and each remedy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Sigmoid, U[±1/√n], Adam.
    Baseline,
    /// ReLU hidden layers under He.
    ReluHe,
    /// Softplus hidden layers under He.
    SoftplusHe,
    /// A shortcut of span 2.
    Shortcut2,
    /// N(0, 16/n): σ_w²·σ′(0)² = 1.
    ScaledNormal,
    /// Gradient norm clipped to 1.
    ClipNorm1,
    /// L2 decay λ = 10⁻³.
    L2,
    /// Plain momentum SGD instead of Adam.
    Momentum,
    /// Two hidden layers instead of ten.
    TwoHidden,
}

/// One remedy: how the network and the training differ from the baseline.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// Which row it is.
    pub name: Remedy,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// Hidden layers.
    pub hidden: usize,
    /// The hidden layers' initialisation.
    pub init: Init,
    /// The shortcut span.
    pub shortcut: Option<usize>,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Its step size.
    pub learning_rate: f64,
    /// Gradient clipping.
    pub clip: Clip,
    /// L2 weight decay λ.
    pub weight_decay: f64,
}

/// The baseline and the remedies, in the report's order.
pub fn variants() -> Vec<Variant> {
    let n = WIDTH as f64;
    let base = Variant {
        name: Remedy::Baseline,
        activation: Activation::Sigmoid,
        hidden: DEEP,
        init: Init::Uniform { a: 1.0 / n.sqrt() },
        shortcut: None,
        optimizer: Optimizer::adam(),
        learning_rate: 0.01,
        clip: Clip::None,
        weight_decay: 0.0,
    };
    vec![
        base,
        Variant { name: Remedy::ReluHe, activation: Activation::Relu, init: Init::He, ..base },
        Variant { name: Remedy::SoftplusHe, activation: Activation::Softplus, init: Init::He, ..base },
        Variant { name: Remedy::Shortcut2, shortcut: Some(2), ..base },
        Variant { name: Remedy::ScaledNormal, init: Init::Normal { std: 4.0 / n.sqrt() }, ..base },
        Variant { name: Remedy::ClipNorm1, clip: Clip::Norm(1.0), ..base },
        Variant { name: Remedy::L2, weight_decay: 1e-3, ..base },
        Variant { name: Remedy::Momentum, optimizer: Optimizer::momentum(0.9), learning_rate: 0.5, ..base },
        Variant { name: Remedy::TwoHidden, hidden: 2, ..base },
    ]
}

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remedies {
    /// Steps per run.
    pub steps: usize,
    /// Seeds per variant.
    pub seeds: usize,
    /// The baseline's optimizer (every row but the one that says otherwise).
    pub optimizer: BaselineOptimizer,
    /// Its step size.
    pub learning_rate: f64,
    /// One row per variant.
    pub rows: Vec<RemedyRow>,
}

/// The baseline's optimizer, as the report names it (its sentence is `render`'s, in the
/// Markdown and the JSON alike).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BaselineOptimizer {
    /// Adam with these moment decays.
    Adam {
        /// β₁.
        beta1: f64,
        /// β₂.
        beta2: f64,
    },
    /// SGD with momentum.
    Sgd {
        /// The momentum.
        momentum: f64,
    },
}

/// One variant over every seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemedyRow {
    /// The variant (serialized as its name).
    pub name: Label<Remedy>,
    /// Median log10(‖∂L/∂W_1‖ / ‖∂L/∂W_L‖) at initialisation, over the runs where the last
    /// layer's gradient is not 0 (`None` if there are none).
    pub log10_grad_ratio: Option<f64>,
    /// Runs whose last layer had an exactly zero gradient at initialisation (a dead ReLU network).
    pub dead_at_init: usize,
    /// Median final loss.
    pub median_final_loss: f64,
    /// Share of seeds reaching [`SUCCESS_ACCURACY`].
    pub success_rate: f64,
    /// The runs, for the symptom checklist.
    pub runs: Vec<RunTrace>,
}

/// What the symptom checklist reads from one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunTrace {
    /// The seed index.
    pub seed: usize,
    /// The loss before the first step.
    pub initial_loss: f64,
    /// The constant predictor's loss on this run's points: the label entropy
    /// H(p) = −p·ln p − (1 − p)·ln(1 − p), p the share of points labelled 1 (the cross-entropy
    /// of always answering p, the best constant answer; [`label_entropy`]).
    pub constant_loss: f64,
    /// ‖∂L/∂W_1‖ ÷ ‖∂L/∂W_L‖ at initialisation (`None` when ‖∂L/∂W_L‖ = 0).
    pub initial_grad_ratio: Option<f64>,
    /// The loss after the last step.
    pub final_loss: f64,
    /// Steps whose loss rose more than 5% over the step before.
    pub loss_jumps: usize,
    /// Steps the trainer refused for a non-finite value, if any.
    pub refused: Option<Refused>,
    /// ‖W‖ over every layer, after the last step ÷ before the first.
    pub weight_growth: f64,
    /// Σ over steps of ‖ΔW_1‖ ÷ Σ of ‖ΔW_L‖: how much the first layer moved relative to the last
    /// (`None` if the last layer never moved).
    pub first_last_update_ratio: Option<f64>,
    /// Final accuracy.
    pub accuracy: f64,
}

/// The steps of one run that the trainer refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Refused {
    /// How many.
    pub steps: usize,
    /// The first one (0-based).
    pub first_step: usize,
    /// Why the first one was refused.
    pub first: Label<Refusal>,
}

/// Computes the section.
pub fn compute(config: &Config) -> Remedies {
    let (steps, seeds) = if config.quick { (100, 2) } else { (800, 3) };
    let rows = variants()
        .iter()
        .enumerate()
        .map(|(v, variant)| {
            let runs: Vec<RunTrace> =
                (0..seeds).into_par_iter().map(|seed| train(config, variant, v, seed, steps)).collect();
            let median = |f: fn(&RunTrace) -> f64| {
                let mut v: Vec<f64> = runs.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                super::stats::percentile(&v, 50.0)
            };
            RemedyRow {
                name: Label(variant.name),
                log10_grad_ratio: {
                    let mut v: Vec<f64> = runs.iter().filter_map(|r| r.initial_grad_ratio.map(f64::log10)).collect();
                    v.sort_by(f64::total_cmp);
                    (!v.is_empty()).then(|| super::stats::percentile(&v, 50.0))
                },
                dead_at_init: runs.iter().filter(|r| r.initial_grad_ratio.is_none()).count(),
                median_final_loss: median(|r| r.final_loss),
                success_rate: runs.iter().filter(|r| r.accuracy >= SUCCESS_ACCURACY).count() as f64 / runs.len() as f64,
                runs,
            }
        })
        .collect();
    let base = variants()[0];
    let optimizer = match base.optimizer {
        Optimizer::Adam { beta1, beta2, .. } => BaselineOptimizer::Adam { beta1, beta2 },
        Optimizer::Sgd { momentum } => BaselineOptimizer::Sgd { momentum },
    };
    Remedies { steps, seeds, optimizer, learning_rate: base.learning_rate, rows }
}

fn train(config: &Config, v: &Variant, variant: usize, seed: usize, steps: usize) -> RunTrace {
    // The data depend on the seed only, so every variant sees the same points.
    let mut data_rng = stream_rng(config.seed, Stream::RemediesData, seed as u64);
    let x: Vec<f64> = (0..2 * POINTS).map(|_| data_rng.uniform(-1.0, 1.0)).collect();
    let t: Vec<f64> = x.chunks(2).map(|p| if p[0] * p[1] > 0.0 { 1.0 } else { 0.0 }).collect();
    let mut rng = stream_rng(config.seed, Stream::RemediesInit { variant }, seed as u64);
    let widths: Vec<usize> = std::iter::once(2).chain(std::iter::repeat_n(WIDTH, v.hidden)).chain([1]).collect();
    let layers: Vec<DenseLayer<f64>> = widths
        .windows(2)
        .enumerate()
        .map(|(l, w)| {
            let last = l + 2 == widths.len();
            let rows = v.init.matrix(w[1], w[0], &mut rng).expect("valid scheme");
            let f = if last { vectorised::Activation::Sigmoid } else { super::engine_activation(v.activation) };
            DenseLayer::from_out_in(&rows, Some(vec![0.0; w[1]]), f).expect("finite weights")
        })
        .collect();
    let mut net = Dense::new(layers, v.shortcut).expect("consistent widths");
    let train_config = TrainConfig::new(v.learning_rate, v.optimizer, Loss::BinaryCrossEntropy)
        .with_clip(v.clip)
        .with_weight_decay(v.weight_decay);
    let mut trainer = Trainer::new(&net, train_config).expect("valid hyper-parameters");
    let input = Batch::new(&x, POINTS, 2).expect("shape");
    let target = Batch::new(&t, POINTS, 1).expect("shape");
    let weight_norm = |net: &Dense<f64>| {
        net.layers().iter().map(|l| l.weight().iter().map(|w| w * w).sum::<f64>()).sum::<f64>().sqrt()
    };
    let initial_weights = weight_norm(&net);
    let (mut initial_loss, mut initial_grad_ratio) = (f64::NAN, None);
    let (mut previous, mut jumps, mut refused) = (f64::NAN, 0, None::<Refused>);
    let (mut first_moved, mut last_moved) = (0.0, 0.0);
    for step in 0..steps {
        let report = trainer.step(&mut net, input, target).expect("shapes checked above");
        if step == 0 {
            initial_loss = report.loss;
            let layers = &report.stats.layers;
            let last = layers[layers.len() - 1].weight.norm;
            initial_grad_ratio = (last > 0.0).then(|| layers[0].weight.norm / last);
        }
        if let Some(why) = report.refused {
            refused = Some(refused.map_or(Refused { steps: 1, first_step: step, first: Label(why) }, |r| Refused {
                steps: r.steps + 1,
                ..r
            }));
            continue;
        }
        if report.loss > previous * 1.05 {
            jumps += 1;
        }
        previous = report.loss;
        first_moved += report.update_norm[0];
        last_moved += report.update_norm[report.update_norm.len() - 1];
    }
    let (final_loss, outputs) = evaluate(&net, &x, &t);
    let correct = outputs.iter().zip(&t).filter(|(y, t)| (**y > 0.5) == (**t > 0.5)).count();
    RunTrace {
        seed,
        initial_loss,
        constant_loss: label_entropy(&t),
        initial_grad_ratio,
        final_loss,
        loss_jumps: jumps,
        refused,
        weight_growth: weight_norm(&net) / initial_weights,
        first_last_update_ratio: if last_moved > 0.0 { Some(first_moved / last_moved) } else { None },
        accuracy: correct as f64 / POINTS as f64,
    }
}

/// The binary cross-entropy of the best constant answer for targets `t` in {0, 1}: answering
/// p = mean(t) costs H(p) = −p·ln p − (1 − p)·ln(1 − p) per point (0 when every label is equal), and
/// no other constant costs less (the cross-entropy −p·ln c − (1 − p)·ln(1 − c) is least at c = p).
pub fn label_entropy(t: &[f64]) -> f64 {
    let p = t.iter().sum::<f64>() / t.len() as f64;
    let term = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 };
    term(p) + term(1.0 - p)
}

/// The loss (computed by the engine from the logits, so a saturated output costs no precision) and
/// the outputs on `x` (2 inputs per point), by one pass of the engine.
fn evaluate(net: &Dense<f64>, x: &[f64], t: &[f64]) -> (f64, Vec<f64>) {
    let mut ws = vectorised::Workspace::new();
    let input = Batch::new(x, POINTS, 2).expect("shape");
    let target = Batch::new(t, POINTS, 1).expect("shape");
    let loss = net
        .gradients(input, target, Loss::BinaryCrossEntropy, vectorised::Normalisation::PerSample, &mut ws)
        .expect("finite weights and data")
        .loss;
    (loss, ws.activations(net.layers().len()).expect("the last layer").to_vec())
}
