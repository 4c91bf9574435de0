//! Section 4 — exploding gradients: weight-scale sweeps on deep ReLU networks in f32 and f64,
//! where values first overflow or turn NaN (located by layer, unit and stage), and what clipping
//! by norm and by value does to an exploding gradient.
//!
//! Weights are He-scaled times a gain g: w ~ N(0, g²·2/n). He (g = 1) keeps a ReLU network's
//! activations the same size layer to layer; a gain g multiplies them by about g per layer, so a
//! unit reaches a format's largest value after about log10(max)/log10(g) layers (38.5/log10 g in
//! f32, 308/log10 g in f64) — the naive expectation. The typical network of finite width grows
//! more slowly: `walk` has the exact law of its signal and the corrected expectation; `spread`
//! measures many networks, the forward signal and where the gradient leaves each format (at about
//! half the forward pass's depth: the output error grows with the signal, so the weight gradient's
//! log grows twice as fast); `largest` predicts that depth from the largest layer's gradient.

use super::{Config, Label, Stream, stream_rng};
use rayon::prelude::*;
use scalar::init::Init;
use serde::Serialize;
use vectorised::stats::Stage;
use vectorised::train::{Clip, clip_gradients, global_norm, norm};
use vectorised::{Batch, Dense, DenseLayer, Gradients, Loss, Normalisation, Real, Workspace};

pub mod largest;
pub mod spread;
pub mod walk;

/// Networks per gain in [`spread`] (the default report; `--quick` draws [`QUICK_NETWORKS`]).
pub const NETWORKS: usize = 32;
/// Networks per gain under `--quick`.
pub const QUICK_NETWORKS: usize = 8;

/// The gains swept.
pub const GAINS: [f64; 4] = [1.0, 2.0, 4.0, 16.0];
/// The clipping thresholds shown.
pub const CLIP_NORM: f64 = 1.0;
/// Clip-by-value threshold.
pub const CLIP_VALUE: f64 = 1e-2;

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exploding {
    /// Units per layer.
    pub width: usize,
    /// Layers of the sweep's networks.
    pub depth: usize,
    /// Samples per batch.
    pub batch: usize,
    /// One row per gain.
    pub sweep: Vec<GainRow>,
    /// Clipping on one exploding (but finite) network.
    pub clipping: ClipDemo,
    /// Many networks per gain: spread, overflow depths, expectations.
    pub spread: spread::Spread,
}

/// Where one gain's network first produced a non-finite value, in each format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GainRow {
    /// g.
    pub gain: f64,
    /// In f32: the first non-finite value (layer, unit, stage), or `None` if all stayed finite.
    pub f32: Option<Location>,
    /// The same in f64.
    pub f64: Option<Location>,
    /// log10(f32::MAX)/log10(g): where a unit of size ≈ g^l reaches f32's largest value.
    pub naive_f32_layer: Option<f64>,
    /// The same for f64.
    pub naive_f64_layer: Option<f64>,
    /// Where the typical sample's pre-activation norm reaches f32's largest value
    /// ([`walk::ReluWalk::forward_crossing`]).
    pub corrected_f32_layer: Option<f64>,
    /// The same for f64.
    pub corrected_f64_layer: Option<f64>,
    /// log10 ‖∂L/∂W_l‖ at the first and the last layer in f64, when finite.
    pub f64_first_last_grad_log10: Option<(f64, f64)>,
}

/// A located non-finite value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    /// The layer, 1-based.
    pub layer: usize,
    /// The unit (output unit j; for a weight gradient the flat index i·n_out + j).
    pub unit: usize,
    /// The sample, for forward values and activation gradients.
    pub sample: Option<usize>,
    /// Which value: a forward value, an activation gradient or a weight gradient.
    pub stage: Label<Stage>,
}

/// What clipping does to one exploding gradient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipDemo {
    /// The gain of the network shown.
    pub gain: f64,
    /// Its depth.
    pub depth: usize,
    /// Per layer (index l − 1): ‖∂L/∂W_l‖ before clipping.
    pub raw: Vec<f64>,
    /// After clipping the global norm to [`CLIP_NORM`].
    pub by_norm: Vec<f64>,
    /// After clamping every entry to ±[`CLIP_VALUE`].
    pub by_value: Vec<f64>,
    /// The global norm before clipping.
    pub raw_norm: f64,
    /// cos(raw, clipped by norm): 1 means the direction is kept.
    pub cos_norm: f64,
    /// cos(raw, clipped by value).
    pub cos_value: f64,
    /// Largest ÷ smallest layer norm: raw (the same clipped by norm) and clipped by value.
    pub layer_spread: [f64; 2],
}

/// Computes the section.
pub fn compute(config: &Config) -> Exploding {
    let (width, depth, batch) = if config.quick { (8, 150, 4) } else { (32, 1200, 8) };
    let sweep = GAINS
        .par_iter()
        .enumerate()
        .map(|(i, &gain)| {
            let draw = draw(config.seed, i as u64, gain, width, depth, batch);
            let (f64_loc, f64_grads) = run::<f64>(&draw, width, batch);
            let (f32_loc, _) = run::<f32>(&draw, width, batch);
            let naive = |max: f64| (gain > 1.0).then(|| max.log10() / gain.log10());
            let walk = walk::ReluWalk { width, gain };
            GainRow {
                gain,
                f32: f32_loc,
                f64: f64_loc,
                naive_f32_layer: naive(f32::MAX as f64),
                naive_f64_layer: naive(f64::MAX),
                corrected_f32_layer: walk.forward_crossing((f32::MAX as f64).log10()),
                corrected_f64_layer: walk.forward_crossing(f64::MAX.log10()),
                f64_first_last_grad_log10: f64_grads
                    .map(|g| (norm(&g.weight[0]).log10(), norm(&g.weight[g.weight.len() - 1]).log10())),
            }
        })
        .collect();
    let networks = if config.quick { QUICK_NETWORKS } else { NETWORKS };
    let spread = spread::compute(config.seed, &GAINS, networks, depth, width, batch, !config.quick);
    Exploding { width, depth, batch, sweep, clipping: clip_demo(config, width, batch), spread }
}

/// Weights `[layer][out][in]` and a batch for one gain.
struct Draw {
    weights: Vec<Vec<Vec<f64>>>,
    x: Vec<f64>,
    t: Vec<f64>,
}

fn draw(seed: u64, index: u64, gain: f64, width: usize, depth: usize, batch: usize) -> Draw {
    let mut rng = stream_rng(seed, Stream::Exploding, index);
    let init = Init::Normal { std: gain * (2.0 / width as f64).sqrt() };
    let weights = (0..depth).map(|_| init.matrix(width, width, &mut rng).expect("valid scheme")).collect();
    let x = (0..batch * width).map(|_| rng.normal()).collect();
    let t = (0..batch * width).map(|_| rng.normal()).collect();
    Draw { weights, x, t }
}

/// Differentiates the drawn network in `T`: the first non-finite value, or the gradients.
fn run<T: Real>(draw: &Draw, width: usize, batch: usize) -> (Option<Location>, Option<Gradients<T>>) {
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let net = relu_net(
        draw.weights.iter().map(|rows| {
            let mut flat = vec![T::ZERO; width * width];
            for (j, row) in rows.iter().enumerate() {
                for (i, &w) in row.iter().enumerate() {
                    flat[i * width + j] = T::from_f64(w);
                }
            }
            flat
        }),
        width,
    );
    let (x, t) = (cast(&draw.x), cast(&draw.t));
    let mut ws = Workspace::new();
    let input = Batch::new(&x, batch, width).expect("shape");
    let target = Batch::new(&t, batch, width).expect("shape");
    let grads = net.gradients(input, target, Loss::SquaredError, Normalisation::PerSample, &mut ws).ok().cloned();
    let stats = ws.stats().expect("statistics are on by default");
    match stats.first_non_finite {
        Some(nf) => {
            (Some(Location { layer: nf.layer, unit: nf.unit, sample: nf.sample, stage: Label(nf.stage) }), None)
        }
        None => (None, grads),
    }
}

/// A network of square ReLU layers of `width` without biases, the last layer linear, from
/// weights `[i·n + j]` (input i to unit j).
fn relu_net<T: Real>(layers: impl ExactSizeIterator<Item = Vec<T>>, width: usize) -> Dense<T> {
    let depth = layers.len();
    let layers = layers
        .enumerate()
        .map(|(l, w)| {
            let f = if l + 1 == depth { vectorised::Activation::Identity } else { vectorised::Activation::Relu };
            DenseLayer::new(width, width, w, None, f).expect("finite weights of the right length")
        })
        .collect();
    Dense::new(layers, None).expect("consistent widths")
}

fn clip_demo(config: &Config, width: usize, batch: usize) -> ClipDemo {
    let (gain, depth) = (2.0, if config.quick { 12 } else { 40 });
    let draw = draw(config.seed, 100, gain, width, depth, batch);
    let (_, grads) = run::<f64>(&draw, width, batch);
    let mut raw = grads.expect("a network of this depth stays finite");
    // The engine reports ∂L/∂b even for layers without biases; these layers have none, so they
    // must not count in the global norm.
    raw.bias.iter_mut().for_each(Vec::clear);
    let per_layer = |g: &Gradients<f64>| g.weight.iter().map(|w| norm(w)).collect::<Vec<f64>>();
    let mut by_norm = raw.clone();
    clip_gradients(&mut by_norm, Clip::Norm(CLIP_NORM));
    let mut by_value = raw.clone();
    clip_gradients(&mut by_value, Clip::Value(CLIP_VALUE));
    let (raw_layers, by_value_layers) = (per_layer(&raw), per_layer(&by_value));
    let spread = |v: &[f64]| v.iter().copied().fold(0.0, f64::max) / v.iter().copied().fold(f64::INFINITY, f64::min);
    ClipDemo {
        gain,
        depth,
        layer_spread: [spread(&raw_layers), spread(&by_value_layers)],
        raw: raw_layers,
        by_norm: per_layer(&by_norm),
        by_value: by_value_layers,
        raw_norm: global_norm(&raw),
        cos_norm: cosine(&raw, &by_norm),
        cos_value: cosine(&raw, &by_value),
    }
}

/// cos(a, b) over every weight and bias, with norms computed by the engine's scaled `norm`.
fn cosine(a: &Gradients<f64>, b: &Gradients<f64>) -> f64 {
    let (na, nb) = (global_norm(a), global_norm(b));
    let pairs = a.weight.iter().zip(&b.weight).chain(a.bias.iter().zip(&b.bias));
    pairs.flat_map(|(x, y)| x.iter().zip(y)).map(|(x, y)| (x / na) * (y / nb)).sum()
}
