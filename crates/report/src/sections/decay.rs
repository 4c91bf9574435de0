//! Section 2 — decay per depth: single-neuron chains with N(0, 1) weights, per activation and
//! shortcut, measured exactly in the log domain on the engine's extended pass (a block of chains
//! at a time; the oracle's [`Ext`](scalar::Ext) operations in the oracle's order, so its bits:
//! `decay/chains.rs`).
//!
//! For each configuration, `decay_samples` chains of depth D = `max_depth` are drawn (weights
//! w_d ~ N(0, 1), input x ~ N(0, 1), target ŷ ~ U(0, 1)); "depth k" is the layer k layers below
//! the output (k = 1 is the output layer, k = D the input layer), whose gradient has passed
//! through k − 1 layers of the backward recursion. Every slope is d log10|·|/dk in decades per
//! layer: **negative means shrinking towards the input (vanishing)**.
//!
//! The weight gradient mixes two signals (docs/derivation.md §3a):
//!
//! ```text
//! ∂L/∂w_d = f′_d(z_d) · ∂L/∂a_d · u_d        backward factor ∂L/∂a_d, forward signal u_d
//! ```
//!
//! so beside it the section measures the backward factor ∂L/∂a_d (its own slope, with a bootstrap
//! standard error over chains) and where the forward signal u_d has collapsed. Where the backward
//! slope has a derivation it is printed beside the measurement ([`Prediction`]): tanh once the
//! forward signal has collapsed (tanh′(z) = 1 − O(z²), so E[log10|w·tanh′(z)|] → E[log10|w|]),
//! leaky ReLU (E[log10|w|] + ½·log10 α: each unit is on its α side with probability ½,
//! independently of |w|), and live ReLU chains (E[log10|w|]). The article's bound gives, in
//! expectation, log10 sup|f′| + E[log10|w|] ≥ E[log10|w·f′(z)|]: a bound on the backward slope,
//! not a prediction.
//!
//! **Shortcuts** in two forms, the pre-activation shortcut (today's) and the identity skip,
//! with their per-block recursions, bounds and prediction: [`skips`].
//!
//! A bias-free ReLU chain's gradient is non-zero only if all D units are active, which happens
//! with probability 2^−D ([`survival`]); its "live" chains are drawn exactly from that condition
//! by folding each chain to |w_d|, |x| ([`ChainSet::Live`]).
//!
//! The f16 columns: the loss scale 2^n that lifts the 10th-percentile gradient to f16's smallest
//! normal 2^−14, capped where the scaled loss S·L itself leaves f16 (S ≤ 65504/L for the median
//! chain's loss), and the spread of log10|∂L/∂w| across one chain's layers beside the decades
//! f16 spans: one scale cannot serve a chain whose gradients spread wider than the format.

mod chains;
pub mod curve;
mod fit;
pub mod skips;
pub mod survival;

pub use curve::DecayCurve;
pub use skips::{IDENTITY_SKIP_ACTIVATION, IDENTITY_SKIP_SPANS, SkipForm, identity_depths, skip_slope_bound};

use super::stats::{mean_log10_abs_std_normal, percentiles};
use super::{Config, Stream};
use chains::{Buffers, ChainSample};
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

/// The shortcut spans compared (none, 2, 3), in the pre-activation form.
pub const SHORTCUTS: [Option<usize>; 3] = [None, Some(2), Some(3)];

/// Bootstrap resamples (of the chains, with replacement) behind every slope's standard error.
pub const BOOTSTRAP_RESAMPLES: usize = 200;

/// A prediction agrees with a measured slope when they differ by at most this many standard
/// errors.
pub const AGREEMENT_STANDARD_ERRORS: f64 = 3.0;

/// The forward signal counts as collapsed below f16's smallest normal, 2^−14 (a value f16 could
/// hold only as a subnormal, with lost digits).
pub const COLLAPSE_LEVEL: FloatFormat = FloatFormat::F16;

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decay {
    /// D, the depth of every chain.
    pub max_depth: usize,
    /// Chains per configuration (this section's own sample count).
    pub samples: usize,
    /// Bootstrap resamples behind each standard error.
    pub bootstrap_resamples: usize,
    /// The depths k reported: 1, 2, 4, … and D.
    pub depths: Vec<usize>,
    /// log10 of the level below which the forward signal counts as collapsed (2^−14).
    pub collapse_level_log10: f64,
    /// f16's range, for the loss-scale columns.
    pub f16: F16Range,
    /// One entry per (activation, shortcut), and the live ReLU chains after the ReLU chains
    /// without shortcut.
    pub configs: Vec<DecayConfig>,
    /// Survival of bias-free ReLU chains against their depth.
    pub survival: survival::Survival,
}

/// f16's range, from [`FloatFormat::F16`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct F16Range {
    /// The exponent of its smallest normal (−14): the loss scale's target is 2^this.
    pub min_normal_exponent: i64,
    /// log10 of its smallest subnormal, 2^−24.
    pub log10_min_subnormal: f64,
    /// log10 of its largest finite value, 65504.
    pub log10_max: f64,
    /// The decades it spans, smallest subnormal to largest finite.
    pub decades: f64,
}

/// Which chains a configuration's statistics are over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChainSet {
    /// Every chain drawn.
    All,
    /// The same draws folded to w_d → |w_d|, x → |x|: every unit active. For a bias-free ReLU
    /// chain, liveness depends only on the signs, so these are distributed exactly as the chains
    /// that survive (up to the sign of ∂L/∂w_1, which follows x's).
    Live,
}

/// A least-squares slope of per-depth medians and its bootstrap standard error over chains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    /// Decades per layer (negative: vanishing).
    pub slope: f64,
    /// The standard deviation of the slope over [`BOOTSTRAP_RESAMPLES`] resamples of the chains.
    pub standard_error: f64,
    /// Whether the slope is within [`AGREEMENT_STANDARD_ERRORS`] standard errors of 0 (flat).
    pub flat: bool,
}

/// Why a backward slope can be derived.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Basis {
    /// tanh with a collapsed forward signal: tanh′(z) = 1 − O(z²), so the per-layer factor is |w|.
    CollapsedTanh,
    /// Leaky ReLU of slope α: half the units on the α side, independently of |w|.
    LeakyHalf {
        /// α.
        slope: f64,
    },
    /// Live ReLU chains: every f′ = 1.
    LiveRelu,
    /// The identity skip: at the layers it joins, ∂L/∂a_m = (1 + P_m)·∂L/∂a_{m+s} with P_m → 0.
    IdentitySkip {
        /// s.
        span: usize,
    },
}

/// A derived backward slope beside the measured one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// Why it holds.
    pub basis: Basis,
    /// E[log10|w·f′(z)|] in decades per layer.
    pub slope: f64,
    /// Whether the measured slope is within [`AGREEMENT_STANDARD_ERRORS`] standard errors of it.
    pub agrees: bool,
}

/// Where a chain's forward signal has collapsed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Collapse {
    /// The median over chains of c, where a chain's c is the lowest layer from which |u_j| stays
    /// below the level for every j ≥ c: the layers at depths k ≤ `through_depth` = D − c + 1 see a
    /// collapsed input.
    FromLayer {
        /// c.
        layer: usize,
        /// D − c + 1.
        through_depth: usize,
    },
    /// More than half the chains' |u_D| is at or above the level.
    NotCollapsed,
}

/// The median over chains of the first depth where the gradient rounds to 0 in a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Underflow {
    /// At depth k (over the chains whose gradient is not exactly 0 at every layer).
    At(usize),
    /// More than half those chains never underflow within D.
    BeyondDepth,
    /// Every chain's gradient is exactly 0 at every layer: there is nothing to underflow.
    AllExactZero,
}

/// The f16 loss scale for one depth's 10th-percentile gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LossScale {
    /// That gradient is already at least 2^−14.
    NotNeeded,
    /// 2^n lifts it to 2^−14, and S·L stays finite in f16.
    Scale(i64),
    /// 2^n would be needed, beyond the cap at which the scaled loss overflows f16.
    BeyondRange(i64),
    /// That gradient is exactly 0: no scale lifts it.
    ExactZero,
}

/// One configuration's measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecayConfig {
    /// The activation's name.
    pub activation: String,
    /// The shortcut span, if any.
    pub shortcut: Option<usize>,
    /// Where the shortcut joins (`None` without one).
    pub skip: Option<SkipForm>,
    /// D for this configuration's chains: s·⌊D/s⌋ with the identity skip, D otherwise.
    pub chain_depth: usize,
    /// Which chains.
    pub chains: ChainSet,
    /// One row per reported depth.
    pub rows: Vec<DecayRow>,
    /// The weight gradient's percentiles and the backward factor's median at every layer where
    /// the data exist ([`curve`]), for the figure.
    pub curve: DecayCurve,
    /// Whether every gradient of every chain is exactly 0 at every reported depth.
    pub all_exact_zero: bool,
    /// Slope of the median log10 |∂L/∂w| against depth; `None` when fewer than two medians are
    /// non-zero.
    pub weight_fit: Option<Fit>,
    /// The same for the backward factor ∂L/∂a_d.
    pub backward_fit: Option<Fit>,
    /// The same for the forward signal u_d (positive where it dies towards the output).
    pub forward_fit: Option<Fit>,
    /// The derived backward slope, where there is one.
    pub prediction: Option<Prediction>,
    /// An upper bound on the backward slope in expectation: without a shortcut the article's,
    /// log10(sup|f′|) + E[log10|w|] ≥ E[log10|w·f′(z)|]; with one, [`skip_slope_bound`].
    pub backward_slope_bound: Option<f64>,
    /// Slope of the median of the article's bound on |∂L/∂w| (computed per chain; it carries
    /// |u_d|). `None` with a shortcut.
    pub weight_bound_slope: Option<f64>,
    /// Where the forward signal has collapsed.
    pub collapse: Collapse,
    /// For positively homogeneous activations (f(z) = f′(z)·z) without shortcut: the largest
    /// relative deviation, over chains and layers, of w_d·∂L/∂w_d from 2(y − ŷ)·y (0 if exact).
    pub homogeneity_deviation: Option<f64>,
    /// Per format (f16, bf16, f32, f64).
    pub underflow: Vec<Underflow>,
    /// The largest n for which 2^n·L is finite in f16, L the median chain's loss.
    pub loss_scale_cap: i64,
    /// Median over chains (with two or more non-zero layers) of max − min of log10 |∂L/∂w_d| over
    /// the chain's layers.
    pub layer_spread: Option<f64>,
    /// Whether that spread fits within the decades f16 spans (necessary for one loss scale to
    /// serve every layer, not sufficient: see `loss_scale_cap`).
    pub spread_fits_f16: Option<bool>,
    /// Chains with a non-finite gradient (excluded from the statistics; none are expected, since
    /// the forward and backward passes run in Ext).
    pub non_finite_chains: usize,
}

/// One depth's statistics over the chains.
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
    /// Median log10 |∂L/∂a_d|, the backward factor.
    pub backward_median: f64,
    /// Median log10 |u_d|, the forward signal into the layer.
    pub forward_median: f64,
    /// Median of log10 of the article's bound (`None` with a shortcut).
    pub bound_median: Option<f64>,
    /// Share of chains whose gradient is exactly 0.
    pub zero_share: f64,
    /// The f16 loss scale for `p10`.
    pub f16_loss_scale: LossScale,
}

impl Decay {
    /// The configuration of `activation` (by name), `shortcut` (pre-activation) and `chains`, if
    /// measured.
    pub fn config(&self, activation: &str, shortcut: Option<usize>, chains: ChainSet) -> Option<&DecayConfig> {
        self.configs.iter().find(|c| {
            c.activation == activation
                && c.shortcut == shortcut
                && c.chains == chains
                && c.skip != Some(SkipForm::Identity)
        })
    }

    /// The identity-skip configuration of `activation` (by name) with span `span`, if measured.
    pub fn identity_config(&self, activation: &str, span: usize) -> Option<&DecayConfig> {
        self.configs
            .iter()
            .find(|c| c.activation == activation && c.shortcut == Some(span) && c.skip == Some(SkipForm::Identity))
    }
}

/// 1, 2, 4, … below `max_depth`, then `max_depth`.
pub fn reported_depths(max_depth: usize) -> Vec<usize> {
    let mut depths: Vec<usize> =
        std::iter::successors(Some(1usize), |k| k.checked_mul(2)).take_while(|&k| k < max_depth).collect();
    depths.push(max_depth);
    depths
}

/// f16's range.
pub fn f16_range() -> F16Range {
    let f = FloatFormat::F16;
    F16Range {
        min_normal_exponent: f.min_exponent,
        log10_min_subnormal: f.log10_min_subnormal(),
        log10_max: f.log10_max(),
        decades: f.log10_max() - f.log10_min_subnormal(),
    }
}

/// Computes the section.
pub fn compute(config: &Config) -> Decay {
    let depths = reported_depths(config.max_depth);
    let f16 = f16_range();
    let mut configs = Vec::new();
    let buffers = Buffers::default();
    for (a, &activation) in ACTIVATIONS.iter().enumerate() {
        for (s, &shortcut) in SHORTCUTS.iter().enumerate() {
            let sets: &[ChainSet] = if activation == Activation::Relu && shortcut.is_none() {
                &[ChainSet::All, ChainSet::Live]
            } else {
                &[ChainSet::All]
            };
            let skip = shortcut.map(|_| SkipForm::PreActivation);
            for &chains in sets {
                let setting =
                    Setting { activation, shortcut, skip, chains, chain_depth: config.max_depth, index: (a, s) };
                configs.push(measure(config, &setting, &depths, &f16, &buffers));
            }
        }
        if activation == IDENTITY_SKIP_ACTIVATION {
            for span in IDENTITY_SKIP_SPANS {
                let chain_depth = config.max_depth / span * span;
                if chain_depth == 0 {
                    continue;
                }
                // The pre-activation row's stream: the same draws (common random numbers).
                let s = SHORTCUTS.iter().position(|&sc| sc == Some(span)).expect("each identity span is a shortcut's");
                let setting = Setting {
                    activation,
                    shortcut: Some(span),
                    skip: Some(SkipForm::Identity),
                    chains: ChainSet::All,
                    chain_depth,
                    index: (a, s),
                };
                configs.push(measure(config, &setting, &identity_depths(&depths, chain_depth, span), &f16, &buffers));
            }
        }
    }
    Decay {
        max_depth: config.max_depth,
        samples: config.decay_samples,
        bootstrap_resamples: BOOTSTRAP_RESAMPLES,
        depths,
        collapse_level_log10: collapse_level_log10(),
        f16,
        configs,
        survival: survival::compute(config),
    }
}

/// The section's per-chain work for the time budget's rate probe: blocks of sigmoid chains
/// without shortcut, drawn from [`Stream::RateProbe`], run and reduced as [`compute`] does it, on
/// the calling thread, with the engine's buffers kept between calls as `compute` keeps them.
pub struct Probe {
    config: Config,
    setting: Setting,
    depths: (Vec<usize>, Vec<usize>),
    engine: chains::Engine,
}

impl Probe {
    /// `chains` chains (at most one engine block, 128 in `f64`) of `depth` layers per call.
    pub fn new(chains: usize, depth: usize) -> Probe {
        let chains = chains.min(chains::BLOCK);
        let config = Config { max_depth: depth, decay_samples: chains, ..Config::new(0, false) };
        let setting = Setting {
            activation: Activation::Sigmoid,
            shortcut: None,
            skip: None,
            chains: ChainSet::All,
            chain_depth: depth,
            index: (0, 0),
        };
        let reported = reported_depths(depth);
        let measured = curve::measured_depths(&reported, depth, None);
        Probe { config, setting, depths: (measured, reported), engine: chains::Engine::default() }
    }

    /// One block's work; returns the chain layers done.
    pub fn run(&mut self) -> usize {
        let (chains, depth) = (self.config.decay_samples, self.config.max_depth);
        let samples = ChainSample::draw_block(
            &self.config,
            Stream::RateProbe,
            0..chains,
            &self.setting,
            (&self.depths.0, &self.depths.1),
            collapse_level_log10(),
            &mut self.engine,
        );
        std::hint::black_box(samples);
        chains * depth
    }
}

/// log10 2^−14.
fn collapse_level_log10() -> f64 {
    scalar::Ext::pow2(COLLAPSE_LEVEL.min_exponent).log10_abs()
}

/// What one configuration draws and how.
struct Setting {
    activation: Activation,
    shortcut: Option<usize>,
    skip: Option<SkipForm>,
    chains: ChainSet,
    /// D of the chains (the first `chain_depth` of the D weights drawn).
    chain_depth: usize,
    /// Indices into [`ACTIVATIONS`] and [`SHORTCUTS`]: the random stream.
    index: (usize, usize),
}

fn measure(config: &Config, setting: &Setting, depths: &[usize], f16: &F16Range, buffers: &Buffers) -> DecayConfig {
    let (a, s) = setting.index;
    let stream = Stream::Decay { activation: a, shortcut: s };
    let level = collapse_level_log10();
    let identity_span = setting.shortcut.filter(|_| setting.skip == Some(SkipForm::Identity));
    let measured = curve::measured_depths(depths, setting.chain_depth, identity_span);
    let samples =
        ChainSample::draw_all(config, stream, config.decay_samples, setting, (&measured, depths), level, buffers);
    let finite: Vec<&ChainSample> = samples.iter().filter(|s| s.finite).collect();
    // Depth-major: values[j][chain], over the measured depths (weight, backward) or the reported.
    let by_depth = |get: fn(&ChainSample) -> &[f64], n: usize| -> Vec<Vec<f64>> {
        (0..n).map(|j| finite.iter().map(|s| get(s)[j]).collect()).collect()
    };
    let weight_all = by_depth(|s| &s.weight, measured.len());
    let backward_all = by_depth(|s| &s.backward, measured.len());
    let curve = DecayCurve::of(&measured, &weight_all, &backward_all);
    // The reported depths' columns, for the table and the fits.
    let pick = |all: &[Vec<f64>]| -> Vec<Vec<f64>> {
        let at = |k: &usize| measured.binary_search(k).expect("the measured depths include the reported");
        depths.iter().map(|k| all[at(k)].clone()).collect()
    };
    let weight = pick(&weight_all);
    let backward = pick(&backward_all);
    let forward = by_depth(|s| &s.forward, depths.len());
    let bound = setting.shortcut.is_none().then(|| by_depth(|s| &s.bound, depths.len()));

    let median_loss_log10 = median(finite.iter().map(|s| s.loss_log10).collect());
    // 2^n·L ≤ f16's largest finite value ⇔ n ≤ log2(65504) − log2(L).
    let loss_scale_cap = ((f16.log10_max - median_loss_log10) * std::f64::consts::LOG2_10).floor() as i64;

    let rows: Vec<DecayRow> = if finite.is_empty() {
        Vec::new()
    } else {
        depths
            .iter()
            .enumerate()
            .map(|(j, &depth)| {
                let mut values = weight[j].clone();
                let [p10, median_weight, p90] = percentiles(&mut values, &[10.0, 50.0, 90.0])[..] else {
                    unreachable!("three percentiles asked for")
                };
                DecayRow {
                    depth,
                    p10,
                    median: median_weight,
                    p90,
                    backward_median: median(backward[j].clone()),
                    forward_median: median(forward[j].clone()),
                    bound_median: bound.as_ref().map(|b| median(b[j].clone())),
                    zero_share: values.iter().filter(|v| **v == f64::NEG_INFINITY).count() as f64 / values.len() as f64,
                    f16_loss_scale: loss_scale(p10, f16, loss_scale_cap),
                }
            })
            .collect()
    };

    let streams = (a, s, setting.chains == ChainSet::Live);
    let weight_fit = fit::median_slope(config.seed, streams, 0, depths, &weight);
    let backward_fit = fit::median_slope(config.seed, streams, 1, depths, &backward);
    let forward_fit = fit::median_slope(config.seed, streams, 2, depths, &forward);
    let mean_log10_w = mean_log10_abs_std_normal();
    let prediction = basis(setting).map(|basis| {
        let slope = match basis {
            Basis::CollapsedTanh | Basis::LiveRelu => mean_log10_w,
            Basis::LeakyHalf { slope } => mean_log10_w + 0.5 * slope.abs().log10(),
            Basis::IdentitySkip { .. } => 0.0,
        };
        let agrees =
            backward_fit.is_some_and(|f| (f.slope - slope).abs() <= AGREEMENT_STANDARD_ERRORS * f.standard_error);
        Prediction { basis, slope, agrees }
    });
    let bound_medians: Vec<(f64, f64)> = rows.iter().filter_map(|r| Some((r.depth as f64, r.bound_median?))).collect();
    let spreads: Vec<f64> = finite.iter().filter_map(|s| s.layer_spread).collect();
    let layer_spread = (!spreads.is_empty()).then(|| median(spreads));
    DecayConfig {
        activation: setting.activation.name().to_string(),
        shortcut: setting.shortcut,
        skip: setting.skip,
        chain_depth: setting.chain_depth,
        chains: setting.chains,
        all_exact_zero: weight.iter().flatten().all(|v| *v == f64::NEG_INFINITY),
        rows,
        curve,
        weight_fit,
        backward_fit,
        forward_fit,
        prediction,
        backward_slope_bound: Some(match (setting.shortcut, setting.skip) {
            (Some(span), Some(form)) => skip_slope_bound(setting.activation, span, form),
            _ => setting.activation.sup_derivative().log10() + mean_log10_w,
        }),
        weight_bound_slope: super::stats::slope(&bound_medians),
        collapse: collapse(&finite, setting.chain_depth),
        homogeneity_deviation: chains::positively_homogeneous(setting.activation, setting.shortcut)
            .then(|| finite.iter().filter_map(|s| s.homogeneity_deviation).fold(0.0, f64::max)),
        underflow: (0..FloatFormat::ALL.len()).map(|f| underflow(&samples, f)).collect(),
        loss_scale_cap,
        layer_spread,
        spread_fits_f16: layer_spread.map(|s| s <= f16.decades),
        non_finite_chains: samples.len() - finite.len(),
    }
}

/// The derivation that applies to `setting`'s backward slope, if any (none with a shortcut
/// before f).
fn basis(setting: &Setting) -> Option<Basis> {
    match (setting.activation, setting.shortcut, setting.chains) {
        (_, Some(span), _) if setting.skip == Some(SkipForm::Identity) => Some(Basis::IdentitySkip { span }),
        (_, Some(_), _) => None,
        (Activation::Tanh, None, _) => Some(Basis::CollapsedTanh),
        (Activation::LeakyRelu { slope }, None, _) => Some(Basis::LeakyHalf { slope }),
        (Activation::Relu, None, ChainSet::Live) => Some(Basis::LiveRelu),
        _ => None,
    }
}

/// Nearest-rank median of log10 values (−∞ for exact zeros).
fn median(mut values: Vec<f64>) -> f64 {
    percentiles(&mut values, &[50.0])[0]
}

/// The f16 loss scale for a 10th-percentile log10 gradient `p10`: the least n with
/// 2^n·10^p10 ≥ 2^−14, capped at `cap`.
fn loss_scale(p10: f64, f16: &F16Range, cap: i64) -> LossScale {
    if p10 == f64::NEG_INFINITY {
        return LossScale::ExactZero;
    }
    let n = (f16.min_normal_exponent as f64 - p10 * std::f64::consts::LOG2_10).ceil() as i64;
    if n <= 0 {
        LossScale::NotNeeded
    } else if n > cap {
        LossScale::BeyondRange(n)
    } else {
        LossScale::Scale(n)
    }
}

/// The median over chains of each chain's collapse layer (D + 1 when it has not collapsed).
fn collapse(finite: &[&ChainSample], depth: usize) -> Collapse {
    if finite.is_empty() {
        return Collapse::NotCollapsed;
    }
    let mut layers: Vec<usize> = finite.iter().map(|s| s.collapse_layer).collect();
    layers.sort_unstable();
    let layer = layers[layers.len().div_ceil(2) - 1];
    if layer > depth { Collapse::NotCollapsed } else { Collapse::FromLayer { layer, through_depth: depth - layer + 1 } }
}

/// The median underflow depth in format `f` over the chains not exactly 0 at every layer.
fn underflow(samples: &[ChainSample], f: usize) -> Underflow {
    let mut ks: Vec<Option<usize>> = samples.iter().filter(|s| !s.all_zero).map(|s| s.underflow[f]).collect();
    if ks.is_empty() {
        return Underflow::AllExactZero;
    }
    // None (never) sorts after every depth.
    ks.sort_unstable_by_key(|k| k.unwrap_or(usize::MAX));
    ks[ks.len().div_ceil(2) - 1].map_or(Underflow::BeyondDepth, Underflow::At)
}
