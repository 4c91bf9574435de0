//! One run of section 5: the task's points, the network's initial weights (from streams keyed by
//! the seed and the widths, never by the row), the training loop and what it records.

use super::{POINTS, Refused, RunTrace, Variant};
use crate::sections::{Label, Stream, stream_rng};
use vectorised::train::{TrainConfig, Trainer, norm};
use vectorised::{Batch, Dense, DenseLayer, Loss};

/// Run `seed`'s points (2 coordinates each, uniform in [−1, 1]) and labels (1 where x₁·x₂ > 0):
/// the same for every row.
pub fn task(config_seed: u64, seed: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = stream_rng(config_seed, Stream::RemediesData, seed as u64);
    let x: Vec<f64> = (0..2 * POINTS).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let t = x.chunks(2).map(|p| if p[0] * p[1] > 0.0 { 1.0 } else { 0.0 }).collect();
    (x, t)
}

/// Run `seed`'s initial weights for `v`'s network, layer by layer as (fan_out × fan_in) rows, drawn
/// from the stream of its widths ([`Stream::RemediesWeights`]): rows with the same widths and
/// initialisation get the same weights.
pub fn initial_weights(config_seed: u64, v: &Variant, seed: usize) -> Vec<Vec<Vec<f64>>> {
    let stream = Stream::RemediesWeights { hidden: v.hidden, width: super::WIDTH };
    let mut rng = stream_rng(config_seed, stream, seed as u64);
    v.widths().windows(2).map(|w| v.init.matrix(w[1], w[0], &mut rng).expect("valid scheme")).collect()
}

/// `v`'s network for run `seed`, biases at 0, a sigmoid output.
fn network(config_seed: u64, v: &Variant, seed: usize) -> Dense<f64> {
    let weights = initial_weights(config_seed, v, seed);
    let last = weights.len() - 1;
    let layers: Vec<DenseLayer<f64>> = weights
        .iter()
        .enumerate()
        .map(|(l, rows)| {
            let f = if l == last {
                vectorised::Activation::Sigmoid
            } else {
                crate::sections::engine_activation(v.activation)
            };
            DenseLayer::from_out_in(rows, Some(vec![0.0; rows.len()]), f).expect("finite weights")
        })
        .collect();
    Dense::new(layers, v.skip).expect("consistent widths")
}

/// Trains `v` on run `seed`'s points for `steps` full-batch steps.
pub fn train(config_seed: u64, v: &Variant, seed: usize, steps: usize) -> RunTrace {
    let (x, t) = task(config_seed, seed);
    let mut net = network(config_seed, v, seed);
    let tr = v.training;
    let train_config = TrainConfig::new(tr.learning_rate, tr.optimizer, Loss::BinaryCrossEntropy)
        .with_clip(tr.clip)
        .with_weight_decay(tr.weight_decay);
    let train_config = TrainConfig { decay_form: tr.decay_form, ..train_config };
    let mut trainer = Trainer::new(&net, train_config).expect("valid hyper-parameters");
    let input = Batch::new(&x, POINTS, 2).expect("shape");
    let target = Batch::new(&t, POINTS, 1).expect("shape");
    let weight_norm = |net: &Dense<f64>| {
        net.layers().iter().map(|l| l.weight().iter().map(|w| w * w).sum::<f64>()).sum::<f64>().sqrt()
    };
    let initial_weights = weight_norm(&net);
    let initial_layer_norms: Vec<f64> = net.layers().iter().map(|l| norm(l.weight())).collect();
    let (mut initial_loss, mut initial_grad_ratio, mut first_max) = (f64::NAN, None, f64::NAN);
    let (mut previous, mut jumps, mut refused, mut clipped) = (f64::NAN, 0, None::<Refused>, 0);
    let (mut first_moved, mut last_moved) = (0.0, 0.0);
    let (mut initial_grad_norm, mut min_layer_grad, mut first_update) = (f64::NAN, f64::NAN, None);
    let mut loss_curve = Vec::with_capacity(crate::sections::stats::CURVE_POINTS);
    let mut finite = true;
    for step in 0..steps {
        let report = trainer.step(&mut net, input, target).expect("shapes checked above");
        // The curve stops at the first non-finite loss it would record (as section 6's).
        if finite && crate::sections::stats::on_curve(step, steps) {
            finite = report.loss.is_finite();
            if finite {
                loss_curve.push(report.loss);
            }
        }
        if step == 0 {
            initial_loss = report.loss;
            let layers = &report.stats.layers;
            let last = layers[layers.len() - 1].weight.norm;
            initial_grad_ratio = (last > 0.0).then(|| layers[0].weight.norm / last);
            first_max = layers[0].weight.max_abs;
            initial_grad_norm = report.grad_norm_before_clip;
            min_layer_grad = layers.iter().map(|l| l.weight.norm).fold(f64::INFINITY, f64::min);
        }
        if let Some(why) = report.refused {
            refused = Some(refused.map_or(Refused { steps: 1, first_step: step, first: Label(why) }, |r| Refused {
                steps: r.steps + 1,
                ..r
            }));
            continue;
        }
        clipped += usize::from(report.clipped);
        if first_update.is_none() {
            let moved = report.update_norm.iter().zip(&initial_layer_norms);
            first_update = Some(moved.map(|(d, w)| d / w).fold(0.0, f64::max));
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
        initial_first_layer_max: first_max,
        initial_grad_norm,
        initial_min_layer_grad: min_layer_grad,
        first_step_relative_update: first_update,
        final_loss,
        loss_jumps: jumps,
        refused,
        clipped_steps: clipped,
        weight_growth: weight_norm(&net) / initial_weights,
        first_last_update_ratio: if last_moved > 0.0 { Some(first_moved / last_moved) } else { None },
        accuracy: correct as f64 / POINTS as f64,
        loss_curve,
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
