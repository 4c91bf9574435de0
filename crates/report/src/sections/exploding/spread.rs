//! Section 4 over many networks: for each gain, N networks of the sweep's shape (each the first
//! layers of a network of the sweep's depth, its own [`Stream::ExplodingSpread`] draw), measured
//! on the vectorised engine, with their spread and bootstrap standard errors beside the naive
//! and the corrected expectations of [`ReluWalk`].
//!
//! Per network:
//! - the forward signal's growth log10(‖a_ℓ‖/‖x‖) at a reference layer ℓ where every value stays
//!   finite in f64 (the mean over the batch's samples), to compare with ℓ·log10 g (naive) and
//!   ℓ·E\[step\] (the walk's exact mean);
//! - in f32 and f64, the first layer with a non-finite forward value (the engine's statistics);
//! - in f32 and f64, the depth D at which the gradient first leaves the format: the smallest depth
//!   whose network (the first D − 1 ReLU layers and layer D linear, the same weights) holds a
//!   non-finite value, found by bisection on the engine's located first non-finite value (the
//!   log of the gradient grows by about twice the forward step per layer of depth, by far more
//!   than its noise, so it crosses once), and what the engine located there;
//! - log10 ‖∂L/∂W_1‖ of the whole network in f64 where it is finite;
//! - at the depth where [`LargestLaw`] expects the gradient to leave each format, the largest
//!   gradient value the engine holds (which layer, and how far above the top layer's norm), in
//!   f64 on inputs and targets scaled by a power of two so that it stays finite (exact: without
//!   biases a ReLU network is positively homogeneous, so values scale by 2^s and weight
//!   gradients by 2^2s, with the same roundings).

use super::largest::LargestLaw;
use super::walk::ReluWalk;
use super::{Location, relu_net};
use crate::sections::stats::{percentile, sort};
use crate::sections::{Label, Stream, stream_rng};
use rayon::prelude::*;
use vectorised::stats::Stage;
use vectorised::train::norm;
use vectorised::{Batch, Loss, Normalisation, Real, Workspace};

/// The least disagreement, in decades, that counts: a measurement agrees with an expectation
/// within max(this, 3 standard errors).
pub const MIN_TOLERANCE: f64 = 0.15;

/// Bootstrap resamples behind every standard error.
pub const RESAMPLES: usize = 1000;

/// A statistic over networks: the values' mean and median with bootstrap standard errors
/// (resampling networks), and the 10th and 90th percentiles.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OverNetworks {
    /// The mean.
    pub mean: f64,
    /// Its bootstrap standard error.
    pub mean_se: f64,
    /// The median (nearest rank).
    pub median: f64,
    /// Its bootstrap standard error.
    pub median_se: f64,
    /// The 10th percentile.
    pub p10: f64,
    /// The 90th percentile.
    pub p90: f64,
}

impl OverNetworks {
    /// The statistics of `values` (one per network, finite), resampled [`RESAMPLES`] times from
    /// `rng`.
    pub fn of(values: &[f64], rng: &mut scalar::rng::Rng) -> OverNetworks {
        let n = values.len();
        let mut sorted = values.to_vec();
        sort(&mut sorted);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (mut means, mut medians) = (Vec::with_capacity(RESAMPLES), Vec::with_capacity(RESAMPLES));
        let mut sample = vec![0.0; n];
        for _ in 0..RESAMPLES {
            for s in sample.iter_mut() {
                *s = values[(rng.next_u64() % n as u64) as usize];
            }
            sort(&mut sample);
            means.push(mean(&sample));
            medians.push(percentile(&sample, 50.0));
        }
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        OverNetworks {
            mean: mean(values),
            mean_se: sd(&means),
            median: percentile(&sorted, 50.0),
            median_se: sd(&medians),
            p10: percentile(&sorted, 10.0),
            p90: percentile(&sorted, 90.0),
        }
    }
}

/// N networks per gain.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Spread {
    /// Networks per gain.
    pub networks: usize,
    /// Bootstrap resamples per standard error.
    pub resamples: usize,
    /// Whether the configuration bears the comparisons with the expectations: not `--quick`'s,
    /// whose networks (width 8) die, one layer in 2⁸ having every unit inactive, and whose 150
    /// layers are too few for most gains to overflow; its rows are shown, not compared.
    pub compared: bool,
    /// One row per gain.
    pub rows: Vec<SpreadRow>,
}

/// One gain's networks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpreadRow {
    /// g.
    pub gain: f64,
    /// The layers drawn per network: enough for the forward pass to leave f64 (1.25 times the
    /// naive f64 layer), at most the sweep's depth.
    pub depth: usize,
    /// ℓ, where the forward signal is compared: 3/4 of the naive f64 layer, at most depth − 1.
    pub reference_layer: usize,
    /// log10(‖a_ℓ‖/‖x‖) per network, the mean over its samples.
    pub signal: OverNetworks,
    /// ℓ·log10 g.
    pub signal_naive: f64,
    /// ℓ·E[log10 ‖a_l‖/‖a_{l−1}‖]: the walk's exact mean.
    pub signal_corrected: f64,
    /// Decades per layer (positive: growing): naive log10 g, corrected E\[step\], measured mean/ℓ.
    pub step: [f64; 3],
    /// max(0.15 decades, 3 standard errors of the mean).
    pub signal_tolerance: f64,
    /// Whether |mean − corrected| and |mean − naive| are within the tolerance.
    pub signal_agrees: [bool; 2],
    /// In f32.
    pub f32: Overflow,
    /// In f64.
    pub f64: Overflow,
    /// log10 ‖∂L/∂W_1‖ of the whole network in f64, if it stayed finite in every network.
    pub first_weight_grad: Option<OverNetworks>,
}

/// Where one format's values leave its range, over the networks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Overflow {
    /// log10 of the format's largest value.
    pub log10_max: f64,
    /// log10(max)/log10 g: where a unit of size g^l reaches it.
    pub forward_naive: Option<f64>,
    /// Where the typical sample's pre-activation norm reaches it ([`ReluWalk::forward_crossing`]).
    pub forward_corrected: Option<f64>,
    /// The first layer with a non-finite forward value, if every network has one.
    pub forward: Option<OverNetworks>,
    /// Networks whose forward pass stayed finite through `depth`.
    pub forward_finite: usize,
    /// Layers: max(0.15 decades at the corrected step, 3 standard errors of the median), plus
    /// the one layer a layer index cannot resolve.
    pub forward_tolerance: f64,
    /// Whether the measured median is within the tolerance of the corrected and of the naive layer.
    pub forward_agrees: [bool; 2],
    /// log10(max)/(2·log10 g).
    pub gradient_naive: Option<f64>,
    /// The top-layer estimate, [`ReluWalk::gradient_crossing`].
    pub gradient_top_layer: Option<f64>,
    /// The prediction, [`LargestLaw::crossing`]: where the expected largest gradient value
    /// reaches the format's largest value.
    pub gradient_predicted: Option<f64>,
    /// Layers: max(0.15 decades at the gradient's step 2·E\[step\], 3 standard errors of the
    /// median), plus the one layer a depth cannot resolve.
    pub gradient_tolerance: f64,
    /// Whether the measured median is within the tolerance of the prediction and of the
    /// top-layer estimate.
    pub gradient_agrees: [bool; 2],
    /// The largest gradient value at the predicted depth, if every network's is finite and
    /// nonzero.
    pub largest: Option<Largest>,
    /// The depth at which the gradient first leaves the range, if it does in every network.
    pub gradient: Option<OverNetworks>,
    /// Networks in which it does, before the forward pass does.
    pub gradient_found: usize,
    /// Of those, how many the engine located first in a weight gradient ∂L/∂W_l.
    pub gradient_in_weights: usize,
    /// Of those, how many with every forward value finite.
    pub gradient_forward_finite: usize,
    /// Median gradient depth ÷ median forward layer.
    pub gradient_ratio: Option<f64>,
}

/// The largest gradient value at depth D, over the networks: which layer holds it and how far
/// above the top layer's norm it lies (the measurement behind [`LargestLaw`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Largest {
    /// D: the predicted depth, rounded (at least 2, at most the networks' depth).
    pub depth: usize,
    /// log10 of the largest |∂S/∂W_l| or |∂S/∂a_l| entry minus log10 ‖∂S/∂W_D‖, per network
    /// (S = B·L, the summed loss the engine differentiates).
    pub excess: OverNetworks,
    /// [`LargestLaw::excess`] at D.
    pub excess_predicted: f64,
    /// max(0.15 decades, 3 standard errors of the mean).
    pub excess_tolerance: f64,
    /// The tolerance plus [`APPROXIMATION`](super::largest::APPROXIMATION): what the prediction
    /// is allowed.
    pub excess_model_tolerance: f64,
    /// Whether the measured mean is within the model's tolerance of the prediction, and within
    /// the tolerance of 0 (the top layer's gradient the largest, as the top-layer estimate assumes).
    pub excess_agrees: [bool; 2],
    /// The layer holding the largest value.
    pub layer: OverNetworks,
    /// Networks in which the largest value is a weight gradient (else ∂S/∂a_l).
    pub in_weights: usize,
}

/// One network's largest gradient value at a depth: (excess over the top layer's norm, layer,
/// whether a weight gradient).
type LargestAt = (f64, usize, bool);

/// What one network gave.
struct NetworkResult {
    signal: f64,
    forward: [Option<usize>; 2],
    gradient: [Option<(usize, Location)>; 2],
    first_weight_grad: Option<f64>,
    largest: [Option<LargestAt>; 2],
}

/// The weights (`[layer][i·n + j]`, input i to unit j), inputs and targets of one network.
pub(super) struct Weights {
    pub(super) layers: Vec<Vec<f64>>,
    pub(super) x: Vec<f64>,
    pub(super) t: Vec<f64>,
    pub(super) width: usize,
    pub(super) batch: usize,
    pub(super) gain: f64,
}

/// Computes the rows: `networks` per gain, `max_depth` layers at most, width and batch as the
/// sweep; `compared` says whether the configuration bears the comparisons ([`Spread::compared`]).
pub fn compute(
    seed: u64,
    gains: &[f64],
    networks: usize,
    max_depth: usize,
    width: usize,
    batch: usize,
    compared: bool,
) -> Spread {
    let rows = gains
        .iter()
        .enumerate()
        .map(|(gi, &gain)| {
            let naive_f64 = f64::MAX.log10() / gain.log10();
            let depth = if gain > 1.0 { max_depth.min((1.25 * naive_f64).ceil() as usize) } else { max_depth };
            let reference_layer =
                if gain > 1.0 { (depth - 1).min((0.75 * naive_f64).floor() as usize) } else { depth - 1 };
            let walk = ReluWalk { width, gain };
            let law = LargestLaw::new(walk, batch);
            let log10_max = [(f32::MAX as f64).log10(), f64::MAX.log10()];
            let predicted = log10_max.map(|m| law.crossing(m));
            let largest_depth = predicted.map(|p| p.map(|d| (d.round() as usize).clamp(2, depth)));
            let results: Vec<NetworkResult> = (0..networks)
                .into_par_iter()
                .map(|k| {
                    let mut rng = stream_rng(seed, Stream::ExplodingSpread { gain: gi }, k as u64);
                    network(&draw(&mut rng, gain, width, depth, batch), reference_layer, largest_depth, log10_max)
                })
                .collect();
            let boot = |q: u64| stream_rng(seed, Stream::ExplodingBootstrap { gain: gi }, q);
            let all = |v: Vec<Option<f64>>, rng: &mut scalar::rng::Rng| {
                let found: Vec<f64> = v.into_iter().flatten().collect();
                (found.len() == networks).then(|| OverNetworks::of(&found, rng))
            };
            let overflow = |f: usize,
                            log10_max: f64,
                            rng: &mut scalar::rng::Rng,
                            rng2: &mut scalar::rng::Rng,
                            rng3: &mut scalar::rng::Rng| {
                let grown = gain > 1.0;
                let found: Vec<&(usize, Location)> = results.iter().filter_map(|r| r.gradient[f].as_ref()).collect();
                let forward_naive = grown.then(|| log10_max / gain.log10());
                let forward_corrected = walk.forward_crossing(log10_max);
                let forward = all(results.iter().map(|r| r.forward[f].map(|l| l as f64)).collect(), rng);
                let gradient = all(results.iter().map(|r| r.gradient[f].as_ref().map(|g| g.0 as f64)).collect(), rng2);
                let forward_tolerance = forward
                    .map_or(f64::INFINITY, |m| (MIN_TOLERANCE / walk.hidden_step()).max(3.0 * m.median_se) + 1.0);
                let within = |expected: Option<f64>| {
                    forward.zip(expected).is_some_and(|(m, e)| (m.median - e).abs() <= forward_tolerance)
                };
                let gradient_tolerance = gradient.map_or(f64::INFINITY, |m| {
                    (MIN_TOLERANCE / (2.0 * walk.hidden_step())).max(3.0 * m.median_se) + 1.0
                });
                let gradient_within = |expected: Option<f64>| {
                    gradient.zip(expected).is_some_and(|(m, e)| (m.median - e).abs() <= gradient_tolerance)
                };
                let (gradient_predicted, gradient_top_layer) = (predicted[f], walk.gradient_crossing(log10_max));
                Overflow {
                    log10_max,
                    forward_naive,
                    forward_corrected,
                    forward,
                    forward_tolerance,
                    forward_agrees: [within(forward_corrected), within(forward_naive)],
                    forward_finite: results.iter().filter(|r| r.forward[f].is_none()).count(),
                    gradient_naive: grown.then(|| log10_max / (2.0 * gain.log10())),
                    gradient_top_layer,
                    gradient_predicted,
                    gradient_tolerance,
                    gradient_agrees: [gradient_within(gradient_predicted), gradient_within(gradient_top_layer)],
                    largest: largest_depth[f].and_then(|d| largest(&results, f, d, &law, rng3)),
                    gradient,
                    gradient_ratio: gradient.zip(forward).map(|(g, f)| g.median / f.median),
                    gradient_found: found.len(),
                    gradient_in_weights: found.iter().filter(|g| g.1.stage == Label(Stage::WeightGradient)).count(),
                    gradient_forward_finite: found.iter().filter(|g| !is_forward(g.1.stage.0)).count(),
                }
            };
            let signals: Vec<f64> = results.iter().map(|r| r.signal).collect();
            let signal = OverNetworks::of(&signals, &mut boot(0));
            let signal_naive = reference_layer as f64 * walk.naive_step();
            let signal_corrected = reference_layer as f64 * walk.hidden_step();
            let signal_tolerance = MIN_TOLERANCE.max(3.0 * signal.mean_se);
            SpreadRow {
                gain,
                depth,
                reference_layer,
                signal,
                signal_naive,
                signal_corrected,
                step: [walk.naive_step(), walk.hidden_step(), signal.mean / reference_layer as f64],
                signal_tolerance,
                signal_agrees: [
                    (signal.mean - signal_corrected).abs() <= signal_tolerance,
                    (signal.mean - signal_naive).abs() <= signal_tolerance,
                ],
                f32: overflow(0, log10_max[0], &mut boot(1), &mut boot(2), &mut boot(6)),
                f64: overflow(1, log10_max[1], &mut boot(3), &mut boot(4), &mut boot(7)),
                first_weight_grad: all(results.iter().map(|r| r.first_weight_grad).collect(), &mut boot(5)),
            }
        })
        .collect();
    Spread { networks, resamples: RESAMPLES, compared, rows }
}

/// One network's draw: inputs and targets first, then the layers in order, so that a shallower
/// draw is a prefix of a deeper one.
pub(super) fn draw(rng: &mut scalar::rng::Rng, gain: f64, width: usize, depth: usize, batch: usize) -> Weights {
    let std = gain * (2.0 / width as f64).sqrt();
    let x = (0..batch * width).map(|_| rng.normal()).collect();
    let t = (0..batch * width).map(|_| rng.normal()).collect();
    let layers = (0..depth).map(|_| (0..width * width).map(|_| std * rng.normal()).collect()).collect();
    Weights { layers, x, t, width, batch, gain }
}

/// Differentiates the first `depth` layers of `w` (the last one linear) in `T`, on inputs and
/// targets times 2^`scale`: the first non-finite value, if any; the rest is in `ws`.
pub(super) fn differentiate<T: Real>(w: &Weights, depth: usize, scale: i32, ws: &mut Workspace<T>) -> Option<Location> {
    let cast = |v: &[f64], by: f64| v.iter().map(|&x| T::from_f64(x * by)).collect::<Vec<T>>();
    let net = relu_net(w.layers[..depth].iter().map(|l| cast(l, 1.0)), w.width);
    let by = 2f64.powi(scale);
    let (x, t) = (cast(&w.x, by), cast(&w.t, by));
    let input = Batch::new(&x, w.batch, w.width).expect("shape");
    let target = Batch::new(&t, w.batch, w.width).expect("shape");
    net.gradients(input, target, Loss::SquaredError, Normalisation::PerSample, ws).expect("valid inputs");
    let nf = ws.stats().expect("statistics are on by default").first_non_finite;
    nf.map(|nf| Location { layer: nf.layer, unit: nf.unit, sample: nf.sample, stage: Label(nf.stage) })
}

/// Whether a non-finite value was met in the forward pass (in z, or in an identity shortcut's sum).
fn is_forward(stage: Stage) -> bool {
    matches!(stage, Stage::Forward | Stage::ShortcutSum)
}

/// The networks' largest values in format `f` at depth `depth`, if every network has one.
fn largest(
    results: &[NetworkResult],
    f: usize,
    depth: usize,
    law: &LargestLaw,
    rng: &mut scalar::rng::Rng,
) -> Option<Largest> {
    let found: Vec<LargestAt> = results.iter().filter_map(|r| r.largest[f]).collect();
    if found.len() < results.len() {
        return None;
    }
    let excess = OverNetworks::of(&found.iter().map(|v| v.0).collect::<Vec<f64>>(), rng);
    let layer = OverNetworks::of(&found.iter().map(|v| v.1 as f64).collect::<Vec<f64>>(), rng);
    let excess_predicted = law.excess(depth as f64);
    let excess_tolerance = MIN_TOLERANCE.max(3.0 * excess.mean_se);
    let excess_model_tolerance = excess_tolerance + super::largest::APPROXIMATION;
    Some(Largest {
        depth,
        excess,
        excess_predicted,
        excess_tolerance,
        excess_model_tolerance,
        excess_agrees: [
            (excess.mean - excess_predicted).abs() <= excess_model_tolerance,
            excess.mean.abs() <= excess_tolerance,
        ],
        layer,
        in_weights: found.iter().filter(|v| v.2).count(),
    })
}

/// The largest |∂S/∂W_l| or |∂S/∂a_l| entry of the first `depth` layers of `w`, as
/// (log10 of it − log10 ‖∂S/∂W_D‖, its layer, whether a weight gradient); in f64 on x and t scaled
/// by 2^s, s = −⌊log10_max/(2·log10 2)⌉, so that values near 10^log10_max are near 1. `None`
/// if a value is non-finite or the top layer's gradient is 0 (a network that died).
fn largest_at(w: &Weights, depth: usize, log10_max: f64) -> Option<LargestAt> {
    let s = -(log10_max / (2.0 * std::f64::consts::LOG10_2)).round() as i32;
    let mut ws = Workspace::<f64>::new();
    if differentiate(w, depth, s, &mut ws).is_some() {
        return None;
    }
    let stats = ws.stats().expect("statistics are on by default");
    // The statistics hold ∂L = ∂S/B; ∂S/∂a_l is scaled by 2^s, ∂S/∂W_l by 2^2s.
    let shift = (w.batch as f64).log10() - f64::from(s) * std::f64::consts::LOG10_2;
    let top = stats.layers[depth - 1].weight.norm.log10() + 2.0 * shift;
    let (mut best, mut layer, mut weight) = (f64::NEG_INFINITY, 0, false);
    for (l, st) in stats.layers.iter().enumerate() {
        for (v, is_weight) in
            [(st.activation.max_abs.log10() + shift, false), (st.weight.max_abs.log10() + 2.0 * shift, true)]
        {
            if v > best {
                (best, layer, weight) = (v, l + 1, is_weight);
            }
        }
    }
    (top.is_finite() && best.is_finite()).then_some((best - top, layer, weight))
}

fn network(
    w: &Weights,
    reference_layer: usize,
    largest_depth: [Option<usize>; 2],
    log10_max: [f64; 2],
) -> NetworkResult {
    let depth = w.layers.len();
    let (n, b) = (w.width, w.batch);
    let mut ws64 = Workspace::<f64>::new();
    let forward64 = differentiate(w, depth, 0, &mut ws64);
    // log10 ‖a_l,b‖ for l = 0 (the input) … depth, per sample; ±∞ or NaN once values overflow.
    let log_norms: Vec<Vec<f64>> = std::iter::once(w.x.as_slice())
        .chain((1..=depth).map(|l| ws64.activations(l).expect("a layer of the network")))
        .map(|a| a.chunks_exact(n).map(|row| norm(row).log10()).collect())
        .collect();
    let signal = (0..b).map(|s| log_norms[reference_layer][s] - log_norms[0][s]).sum::<f64>() / b as f64;
    let first_weight_grad =
        forward64.is_none().then(|| norm(&ws64.gradients().weight[0]).log10()).filter(|v| v.is_finite());
    let forward_layer = |l: &Option<Location>| l.as_ref().filter(|l| is_forward(l.stage.0)).map(|l| l.layer);
    let full64 = forward64;
    let forward64 = forward_layer(&full64);
    // In f32 the forward pass is run as deep as its values can stay finite by the naive count
    // (until the f64 pass has grown past the square of f32's largest value), or to the end.
    let depth32 = log_norms.iter().position(|l| l.iter().any(|&v| v >= 2.0 * (f32::MAX as f64).log10() || v.is_nan()));
    let full32 = differentiate(w, depth32.unwrap_or(depth).clamp(1, depth), 0, &mut Workspace::<f32>::new());
    let forward32 = forward_layer(&full32);
    // Where to start looking (only the number of probes depends on it): the top layer's weight
    // gradient is about (2/B)·Σ_b ‖a_{D−1,b}‖²·g, and the largest layer's some decades more.
    let gain_log10 = w.gain.log10();
    let guess = |log10_max: f64| {
        let top =
            |d: usize| 2.0 * log_norms[d - 1].iter().copied().fold(f64::NEG_INFINITY, f64::max) + gain_log10 + 2.0;
        (2..=depth).find(|&d| top(d) >= log10_max || top(d).is_nan()).unwrap_or(depth)
    };
    // A run that met no non-finite value at all had a finite gradient too: nothing to look for.
    let gradient32 = full32.and_then(|_| gradient_overflow::<f32>(w, forward32, guess((f32::MAX as f64).log10())));
    let gradient64 = full64.and_then(|_| gradient_overflow::<f64>(w, forward64, guess(f64::MAX.log10())));
    let largest = [0, 1].map(|f| largest_depth[f].and_then(|d| largest_at(w, d, log10_max[f])));
    NetworkResult {
        signal,
        forward: [forward32, forward64],
        gradient: [gradient32, gradient64],
        first_weight_grad,
        largest,
    }
}

/// The smallest depth D ≤ the last whose forward pass the full network keeps finite at which the
/// network's gradient holds a non-finite value, and where the engine located it; bisection from
/// a bracket around `guess` (the crossing is assumed single).
fn gradient_overflow<T: Real>(w: &Weights, forward: Option<usize>, guess: usize) -> Option<(usize, Location)> {
    let limit = forward.map_or(w.layers.len(), |l| l - 1);
    if limit < 2 {
        return None;
    }
    let mut ws = Workspace::<T>::new();
    let mut probe = |d: usize| differentiate(w, d, 0, &mut ws);
    // A bracket: depth lo finite (depth 1, a single product, always is), depth hi not.
    let (mut d, mut step) = (guess.clamp(2, limit), 2);
    let (mut lo, hi) = match probe(d) {
        Some(loc) => {
            let mut hi = (d, loc);
            loop {
                let next = d.saturating_sub(step).max(1);
                if next == 1 {
                    break (1, hi);
                }
                match probe(next) {
                    Some(loc) => (hi, d, step) = ((next, loc), next, 2 * step),
                    None => break (next, hi),
                }
            }
        }
        None => loop {
            if d == limit {
                return None;
            }
            let next = (d + step).min(limit);
            match probe(next) {
                Some(loc) => break (d, (next, loc)),
                None => (d, step) = (next, 2 * step),
            }
        },
    };
    let (mut hi_d, mut hi_loc) = hi;
    while hi_d > lo + 1 {
        let mid = lo + (hi_d - lo) / 2;
        match probe(mid) {
            Some(loc) => (hi_d, hi_loc) = (mid, loc),
            None => lo = mid,
        }
    }
    Some((hi_d, hi_loc))
}
