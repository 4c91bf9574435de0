//! Section 2 — decay per depth: single-neuron chains with N(0, 1) weights, per activation and
//! shortcut, measured exactly in the log domain with the oracle's [`Ext`](scalar::Ext) gradients.
//!
//! For each configuration, `samples` chains of depth D = `max_depth` are drawn (weights
//! w_d ~ N(0, 1), input x ~ N(0, 1), target ŷ ~ U(0, 1)); "depth k" is the layer k layers below
//! the output (k = 1 is the output layer, k = D the input layer), whose gradient has passed
//! through k − 1 layers of the backward recursion.
//!
//! Theory beside it, for chains without shortcut: the article's bound, computed per chain, and its
//! slope; in expectation its factor ∏ sup|f′|·|w| costs −log10(sup|f′|) − E[log10|w|] decades per
//! layer, with E[log10|w|] = −(γ + ln 2)/(2 ln 10) ≈ −0.276 for w ~ N(0, 1)
//! ([`super::stats::mean_log10_abs_std_normal`]). The bound's other factor, |u_d|, can trend with
//! depth too (in a tanh chain the forward signal shrinks towards the output as fast as the
//! backward one shrinks towards the input), which is why both slopes are shown.

use super::stats::{mean_log10_abs_std_normal, percentile, slope, sort};
use super::{Config, Stream, stream_rng};
use rayon::prelude::*;
use scalar::chain::Chain;
use scalar::{Activation, FloatFormat};
use serde::Serialize;

/// The activations compared, in the report's order.
pub const ACTIVATIONS: [Activation; 5] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu { slope: scalar::activation::DEFAULT_LEAKY_SLOPE },
    Activation::Softplus,
];

/// The shortcut spans compared (none, 2, 3).
pub const SHORTCUTS: [Option<usize>; 3] = [None, Some(2), Some(3)];

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decay {
    /// D, the depth of every chain.
    pub max_depth: usize,
    /// Chains per configuration.
    pub samples: usize,
    /// The depths k reported: 1, 2, 4, … and D.
    pub depths: Vec<usize>,
    /// One entry per (activation, shortcut).
    pub configs: Vec<DecayConfig>,
}

/// One configuration's measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecayConfig {
    /// The activation's name.
    pub activation: String,
    /// The shortcut span, if any.
    pub shortcut: Option<usize>,
    /// One row per reported depth.
    pub rows: Vec<DecayRow>,
    /// Least-squares slope of the median log10 |∂L/∂w| against depth (decades per layer; negative
    /// means vanishing). `None` when fewer than two medians are non-zero.
    pub decades_per_layer: Option<f64>,
    /// The same slope for the median of the article's bound (computed per chain); `None` with a
    /// shortcut, where the bound does not apply.
    pub bound_decades_per_layer: Option<f64>,
    /// The bound's slope in expectation without its |u_d| factor: log10(sup|f′|) + E[log10|w|].
    /// It matches the measured slope only where u_d does not itself trend with depth.
    pub expected_bound_decades_per_layer: Option<f64>,
    /// Median depth k at which the gradient first rounds to 0, per format (f16, bf16, f32, f64);
    /// `None` when more than half the chains never underflow within D.
    pub underflow_depth: Vec<Option<usize>>,
    /// Chains with a non-finite gradient (excluded from the statistics; none are expected, since
    /// the forward and backward passes run in Ext).
    pub non_finite_chains: usize,
}

/// One depth's statistics over the samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecayRow {
    /// k, layers below the output.
    pub depth: usize,
    /// 10th percentile of log10 |∂L/∂w| (−∞ for an exact zero).
    pub p10: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Median of log10 of the article's bound (`None` with a shortcut).
    pub bound_median: Option<f64>,
    /// Share of samples whose gradient is exactly 0.
    pub zero_share: f64,
    /// n such that a loss scale of 2^n lifts the 10th-percentile gradient to f16's smallest normal
    /// (2^−14); 0 when none is needed, `None` when that gradient is exactly 0.
    pub f16_loss_scale_log2: Option<i64>,
}

/// What one sampled chain contributes.
struct ChainSample {
    /// log10 |∂L/∂w| at each reported depth, or `None` if the gradient is not finite.
    log10_at: Option<Vec<f64>>,
    /// log10 of the article's bound at each reported depth (`None` with a shortcut).
    bound_at: Option<Vec<f64>>,
    /// Depth k of the first underflow per format (`usize::MAX` when none).
    underflow: Vec<usize>,
}

/// 1, 2, 4, … below `max_depth`, then `max_depth`.
pub fn reported_depths(max_depth: usize) -> Vec<usize> {
    let mut depths: Vec<usize> =
        std::iter::successors(Some(1usize), |k| k.checked_mul(2)).take_while(|&k| k < max_depth).collect();
    depths.push(max_depth);
    depths
}

/// Computes the section.
pub fn compute(config: &Config) -> Decay {
    let depths = reported_depths(config.max_depth);
    let mut configs = Vec::new();
    for (a, &activation) in ACTIVATIONS.iter().enumerate() {
        for (s, &shortcut) in SHORTCUTS.iter().enumerate() {
            let stream = Stream::Decay { activation: a, shortcut: s };
            configs.push(measure(config, activation, shortcut, stream, &depths));
        }
    }
    Decay { max_depth: config.max_depth, samples: config.samples, depths, configs }
}

fn measure(
    config: &Config,
    activation: Activation,
    shortcut: Option<usize>,
    stream: Stream,
    depths: &[usize],
) -> DecayConfig {
    let d = config.max_depth;
    let samples: Vec<ChainSample> = (0..config.samples)
        .into_par_iter()
        .map(|i| {
            let mut rng = stream_rng(config.seed, stream, i as u64);
            let weights: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let x = rng.normal();
            let target = rng.uniform(0.0, 1.0);
            let chain = Chain::new(weights, vec![activation; d], None, shortcut.filter(|&s| s <= d))
                .expect("finite N(0,1) weights");
            let m = chain.magnitudes(x, target);
            if m.exact.iter().any(|g| !g.is_finite()) {
                return ChainSample {
                    log10_at: None,
                    bound_at: None,
                    underflow: vec![usize::MAX; FloatFormat::ALL.len()],
                };
            }
            let bound = chain.bound(x, target);
            ChainSample {
                log10_at: Some(depths.iter().map(|&k| m.log10_abs[d - k]).collect()),
                bound_at: bound.map(|b| depths.iter().map(|&k| b[d - k].log10_abs()).collect()),
                underflow: FloatFormat::ALL
                    .iter()
                    .map(|&f| m.first_underflow(f).map_or(usize::MAX, |layer| d - layer + 1))
                    .collect(),
            }
        })
        .collect();

    let finite: Vec<&Vec<f64>> = samples.iter().filter_map(|s| s.log10_at.as_ref()).collect();
    let bounds: Vec<&Vec<f64>> = samples.iter().filter_map(|s| s.bound_at.as_ref()).collect();
    let rows: Vec<DecayRow> = if finite.is_empty() {
        Vec::new()
    } else {
        depths
            .iter()
            .enumerate()
            .map(|(j, &depth)| {
                let mut values: Vec<f64> = finite.iter().map(|v| v[j]).collect();
                sort(&mut values);
                let p10 = percentile(&values, 10.0);
                let bound_median = (!bounds.is_empty()).then(|| {
                    let mut b: Vec<f64> = bounds.iter().map(|v| v[j]).collect();
                    sort(&mut b);
                    percentile(&b, 50.0)
                });
                DecayRow {
                    bound_median,
                    depth,
                    p10,
                    median: percentile(&values, 50.0),
                    p90: percentile(&values, 90.0),
                    zero_share: values.iter().filter(|v| **v == f64::NEG_INFINITY).count() as f64 / values.len() as f64,
                    f16_loss_scale_log2: p10
                        .is_finite()
                        .then(|| ((-14.0 - p10 * std::f64::consts::LOG2_10).ceil() as i64).max(0)),
                }
            })
            .collect()
    };
    let medians: Vec<(f64, f64)> = rows.iter().map(|r| (r.depth as f64, r.median)).collect();
    let bound_medians: Vec<(f64, f64)> = rows.iter().filter_map(|r| Some((r.depth as f64, r.bound_median?))).collect();
    let underflow_depth = (0..FloatFormat::ALL.len())
        .map(|f| {
            let mut ks: Vec<usize> = samples.iter().map(|s| s.underflow[f]).collect();
            ks.sort_unstable();
            let median = ks[(ks.len() - 1) / 2];
            (median != usize::MAX).then_some(median)
        })
        .collect();
    DecayConfig {
        activation: activation.name().to_string(),
        shortcut,
        rows,
        decades_per_layer: slope(&medians),
        bound_decades_per_layer: slope(&bound_medians),
        expected_bound_decades_per_layer: shortcut
            .is_none()
            .then(|| activation.sup_derivative().log10() + mean_log10_abs_std_normal()),
        underflow_depth,
        non_finite_chains: samples.len() - finite.len(),
    }
}
