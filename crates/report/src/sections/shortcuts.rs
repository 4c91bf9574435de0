//! Section 5's shortcuts, shown working, as controlled experiments (the same weights and data for
//! every row of a table; only the shortcut changes):
//!
//! - **ReLU** ([`Shortcuts::relu`]): deep dense ReLU networks, He-initialised (w ~ N(0, 2/n)),
//!   wide enough that no unit dies for every sample, without a shortcut and with the article's
//!   block — a span-2 shortcut joining before the ReLU, a_m = relu(W·a_{m−1} + a_{m−2}).
//! - **Sigmoid** ([`Shortcuts::sigmoid`]): a deep dense sigmoid network (w ~ N(0, 1/n)) without a
//!   shortcut, with the pre-activation one and with the identity one,
//!   a_m = a_{m−2} + σ(W·a_{m−1}). In the pre-activation form ∂a_m/∂a_{m−2} = diag σ′(z_m), at
//!   most 1/4: the skipped signal still meets f′. In the identity form it is the identity.
//!
//! Both measure the backward factor ‖∂L/∂a_1‖ ÷ ‖∂L/∂a_L‖ of each network under the linear loss
//! L = Σ p·y with a Gaussian probe p (a vector–Jacobian product: the gradient reaching layer 1 for
//! a unit-size gradient at the output), and the same ratio at every layer l, ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖
//! ([`log10_profile`], from the statistics the engine gathers anyway).
//!
//! - **Growth** ([`Shortcuts::growth`]): residual blocks a_m = a_{m−2} + α·W_m·relu(W_{m−1}·a_{m−2})
//!   (identity skip of span 2; the branch's ReLU layer He, N(0, 2/n), its linear layer N(0, g/n)).
//!   Given a_{m−2}, E‖a_m‖² = (1 + g·α²)·‖a_{m−2}‖² exactly (`docs/derivation.md` §14): the
//!   squared norm doubles per block for g = 1, α = 1, and over B blocks grows by (1 + 1/B)^B < e
//!   with α = 1/√B. The branch is scaled by scaling its ReLU layer's W (and b, here 0): for α > 0,
//!   relu(α·z) = α·relu(z) (positive homogeneity), so the two are the same network. g = 2 (He's
//!   N(0, 2/n) for the linear layer too) is the control: its factor is 3.

use super::stats::{percentile, sort};
use super::{Config, Stream, stream_rng};
use rayon::prelude::*;
use serde::Serialize;
use vectorised::{Activation, Batch, Dense, DenseLayer, Loss, Normalisation, Skip, Workspace};

/// Units per layer of the ReLU networks.
pub const RELU_WIDTH: usize = 32;
/// Layers of the ReLU networks.
pub const RELU_DEPTH: usize = 40;
/// Units per layer of the sigmoid networks.
pub const SIGMOID_WIDTH: usize = 16;
/// Layers of the sigmoid networks.
pub const SIGMOID_DEPTH: usize = 30;
/// The shortcut's span in every experiment.
pub const SPAN: usize = 2;
/// Samples per batch.
pub const BATCH: usize = 32;
/// Networks (seeds) per row of the gradient tables.
pub const NETWORKS: usize = 16;
/// Units per layer of the residual blocks.
pub const GROWTH_WIDTH: usize = 32;
/// Residual blocks (of two layers each).
pub const BLOCKS: usize = 16;
/// Networks per row of the growth table.
pub const GROWTH_NETWORKS: usize = 64;

/// Where a row's shortcut joins, if it has one (an identifier programs match: `none`,
/// `pre_activation`, `identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// No shortcut.
    None,
    /// a_m = f(W·a_{m−1} + b + a_{m−s}).
    PreActivation,
    /// a_m = a_{m−s} + f(W·a_{m−1} + b).
    Identity,
}

impl Form {
    fn net(self, layers: Vec<DenseLayer<f64>>) -> Dense<f64> {
        let (shortcut, skip) = match self {
            Form::None => (None, Skip::PreActivation),
            Form::PreActivation => (Some(SPAN), Skip::PreActivation),
            Form::Identity => (Some(SPAN), Skip::Identity),
        };
        Dense::new(layers, shortcut).expect("square layers").with_skip(skip)
    }
}

/// The whole subsection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shortcuts {
    /// Dense ReLU networks: no shortcut, the article's block.
    pub relu: Vec<GradientRow>,
    /// Dense sigmoid networks: no shortcut, pre-activation, identity.
    pub sigmoid: Vec<GradientRow>,
    /// Residual blocks: unscaled, scaled by 1/√blocks, and the control.
    pub growth: Vec<GrowthRow>,
    /// The ReLU networks' blocks, L/s: the scaled row's α is 1/√ of it.
    pub relu_blocks: usize,
    /// The sigmoid networks' blocks, L/s: a scaled sigmoid row's α would be 1/√ of it.
    pub sigmoid_blocks: usize,
    /// The sigmoid networks' shortcut joins between layer L and layer [`SPAN`]: (L − s)/s.
    pub sigmoid_joins: usize,
    /// log10 (1/4)^joins: at most this much of the gradient survives a path taking the
    /// pre-activation shortcut at every join (σ′ ≤ 1/4 at each).
    pub sigmoid_path_bound: f64,
    /// log10 (1/4), one σ′ at its largest.
    pub log10_quarter: f64,
}

/// One network kind and shortcut form over [`NETWORKS`] seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradientRow {
    /// Where the shortcut joins.
    pub form: Form,
    /// α: the weights of the layers that receive the shortcut are scaled by α (1: unscaled).
    pub alpha: f64,
    /// log10 ‖∂L/∂a_1‖ ÷ ‖∂L/∂a_L‖ per network, ascending.
    pub log10_ratio: Vec<f64>,
    /// Their median (nearest rank).
    pub median: f64,
    /// The largest minus the smallest, in decades.
    pub spread: f64,
    /// The median over the networks of log10 ‖∂L/∂a_s‖ ÷ ‖∂L/∂a_L‖ (s = [`SPAN`]: the first
    /// layer a shortcut joins).
    pub median_at_span: f64,
    /// The median over the networks of log10 ‖∂L/∂a_1‖ ÷ ‖∂L/∂a_s‖.
    pub median_first_to_span: f64,
    /// Per layer l = 1…L, log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖ over the networks ([`log10_profile`]).
    pub by_layer: Vec<LayerSpread>,
}

/// One layer's log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖ over a row's networks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LayerSpread {
    /// l, 1-based.
    pub layer: usize,
    /// The median (nearest rank).
    pub median: f64,
    /// The smallest.
    pub lowest: f64,
    /// The largest.
    pub highest: f64,
}

/// One branch scaling over [`GROWTH_NETWORKS`] networks of [`BLOCKS`] blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthRow {
    /// α, the branch's scale.
    pub alpha: f64,
    /// g: the branch's linear layer is N(0, g/n).
    pub gain: f64,
    /// 1 + g·α², the predicted factor of E‖a‖² per block.
    pub predicted_factor: f64,
    /// (1 + g·α²)^B, the predicted E‖a_B‖² ÷ ‖a_0‖².
    pub predicted_growth: f64,
    /// The mean over the networks of Σ_b ‖a_B‖² ÷ Σ_b ‖a_0‖² (each network's value has the
    /// predicted expectation).
    pub measured_growth: f64,
    /// Its standard error: the networks' standard deviation ÷ √networks.
    pub standard_error: f64,
    /// measured_growth^(1/B).
    pub measured_factor: f64,
    /// Per block m = 1…B, the mean over the networks of Σ_b ‖a_m‖² ÷ Σ_b ‖a_0‖² (the last is
    /// `measured_growth`).
    pub by_block: Vec<f64>,
    /// Per block m = 1…B, the prediction (1 + g·α²)^m.
    pub predicted_by_block: Vec<f64>,
}

/// Computes the subsection (the same for `--quick`: it takes well under a second).
pub fn compute(config: &Config) -> Shortcuts {
    let relu_blocks = RELU_DEPTH / SPAN;
    let relu =
        [(Form::None, 1.0), (Form::PreActivation, 1.0), (Form::PreActivation, 1.0 / (relu_blocks as f64).sqrt())]
            .into_iter()
            .map(|(form, alpha)| gradient_row(config.seed, Stream::ShortcutsRelu, form, alpha, Activation::Relu))
            .collect();
    let sigmoid = [Form::None, Form::PreActivation, Form::Identity]
        .into_iter()
        .map(|form| gradient_row(config.seed, Stream::ShortcutsSigmoid, form, 1.0, Activation::Sigmoid))
        .collect();
    let alpha_scaled = 1.0 / (BLOCKS as f64).sqrt();
    let growth = [(1.0, 1.0), (alpha_scaled, 1.0), (1.0, 2.0)]
        .into_iter()
        .map(|(alpha, gain)| growth_row(config.seed, alpha, gain))
        .collect();
    let sigmoid_joins = (SIGMOID_DEPTH - SPAN) / SPAN;
    let log10_quarter = 0.25f64.log10();
    Shortcuts {
        relu,
        sigmoid,
        growth,
        relu_blocks,
        sigmoid_blocks: SIGMOID_DEPTH / SPAN,
        sigmoid_joins,
        sigmoid_path_bound: sigmoid_joins as f64 * log10_quarter,
        log10_quarter,
    }
}

/// The networks of one row: network k draws its weights, inputs and probe from
/// `stream_rng(seed, stream, k)` whatever the form and α (common random numbers across a
/// table's rows); with a shortcut, the layers it joins (every [`SPAN`]-th) have their weights
/// scaled by α.
pub fn gradient_row(seed: u64, stream: Stream, form: Form, alpha: f64, f: Activation) -> GradientRow {
    let profiles: Vec<Vec<f64>> =
        (0..NETWORKS).into_par_iter().map(|k| log10_profile(seed, stream, k, form, alpha, f)).collect();
    let by_layer = (0..profiles[0].len())
        .map(|l| {
            let mut at: Vec<f64> = profiles.iter().map(|p| p[l]).collect();
            sort(&mut at);
            LayerSpread { layer: l + 1, median: percentile(&at, 50.0), lowest: at[0], highest: at[at.len() - 1] }
        })
        .collect();
    let ratios: Vec<(f64, f64)> = profiles.iter().map(|p| (p[0], p[SPAN - 1])).collect();
    let mut first_to_span: Vec<f64> = ratios.iter().map(|(first, at_span)| first - at_span).collect();
    let (mut log10_ratio, mut at_span): (Vec<f64>, Vec<f64>) = ratios.into_iter().unzip();
    sort(&mut log10_ratio);
    sort(&mut at_span);
    sort(&mut first_to_span);
    GradientRow {
        form,
        alpha,
        median: percentile(&log10_ratio, 50.0),
        spread: log10_ratio[log10_ratio.len() - 1] - log10_ratio[0],
        log10_ratio,
        median_at_span: percentile(&at_span, 50.0),
        median_first_to_span: percentile(&first_to_span, 50.0),
        by_layer,
    }
}

/// Network k of a row: log10 ‖∂L/∂a_1‖ ÷ ‖∂L/∂a_L‖ and log10 ‖∂L/∂a_s‖ ÷ ‖∂L/∂a_L‖.
pub fn log10_ratios(seed: u64, stream: Stream, k: usize, form: Form, alpha: f64, f: Activation) -> (f64, f64) {
    let profile = log10_profile(seed, stream, k, form, alpha, f);
    (profile[0], profile[SPAN - 1])
}

/// Network k of a row: log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖ for every layer l = 1…L.
pub fn log10_profile(seed: u64, stream: Stream, k: usize, form: Form, alpha: f64, f: Activation) -> Vec<f64> {
    let (width, depth, variance) = match f {
        Activation::Relu => (RELU_WIDTH, RELU_DEPTH, 2.0),
        _ => (SIGMOID_WIDTH, SIGMOID_DEPTH, 1.0),
    };
    let mut rng = stream_rng(seed, stream, k as u64);
    let sd = (variance / width as f64).sqrt();
    let layers = (1..=depth)
        .map(|l| {
            let scale = if form != Form::None && l % SPAN == 0 { alpha * sd } else { sd };
            let w = (0..width * width).map(|_| scale * rng.normal()).collect();
            DenseLayer::new(width, width, w, None, f).expect("finite weights")
        })
        .collect();
    let x: Vec<f64> = (0..BATCH * width).map(|_| rng.normal()).collect();
    let probe: Vec<f64> = (0..BATCH * width).map(|_| rng.normal()).collect();
    let net = form.net(layers);
    let mut ws = Workspace::new();
    let input = Batch::new(&x, BATCH, width).expect("shape");
    let target = Batch::new(&probe, BATCH, width).expect("shape");
    net.gradients(input, target, Loss::Linear, Normalisation::PerSample, &mut ws).expect("a valid batch");
    let stats = ws.stats().expect("statistics are on by default");
    let top = stats.layers[depth - 1].activation.norm;
    stats.layers.iter().map(|l| (l.activation.norm / top).log10()).collect()
}

/// The residual blocks' layers for network `k`: 2·[`BLOCKS`] square layers, ReLU then linear,
/// the ReLU layer's weights N(0, 2/n) times α, the linear layer's N(0, g/n); and its inputs.
pub fn growth_network(seed: u64, k: usize, alpha: f64, gain: f64) -> (Vec<DenseLayer<f64>>, Vec<f64>) {
    let n = GROWTH_WIDTH;
    let mut rng = stream_rng(seed, Stream::ShortcutsGrowth, k as u64);
    let layers = (0..2 * BLOCKS)
        .map(|l| {
            let (scale, f) = if l % 2 == 0 {
                (alpha * (2.0 / n as f64).sqrt(), Activation::Relu)
            } else {
                ((gain / n as f64).sqrt(), Activation::Identity)
            };
            let w = (0..n * n).map(|_| scale * rng.normal()).collect();
            DenseLayer::new(n, n, w, None, f).expect("finite weights")
        })
        .collect();
    let x = (0..BATCH * n).map(|_| rng.normal()).collect();
    (layers, x)
}

/// Σ_b ‖a_{2B}‖² ÷ Σ_b ‖a_0‖² of one network of residual blocks (identity skip of span 2).
pub fn growth_of(layers: Vec<DenseLayer<f64>>, x: &[f64]) -> f64 {
    *growth_by_block(layers, x).last().expect("at least one block")
}

/// Σ_b ‖a_{2m}‖² ÷ Σ_b ‖a_0‖² after each block m = 1…B of one network of residual blocks.
pub fn growth_by_block(layers: Vec<DenseLayer<f64>>, x: &[f64]) -> Vec<f64> {
    let n = GROWTH_WIDTH;
    let depth = layers.len();
    let net = Dense::new(layers, Some(SPAN)).expect("square layers").with_skip(Skip::Identity);
    let mut ws = Workspace::new();
    let batch = Batch::new(x, BATCH, n).expect("shape");
    net.gradients(batch, batch, Loss::Linear, Normalisation::PerSample, &mut ws).expect("a valid batch");
    let squares = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>();
    let start = squares(x);
    (SPAN..=depth).step_by(SPAN).map(|l| squares(ws.activations(l).expect("a layer of the network")) / start).collect()
}

fn growth_row(seed: u64, alpha: f64, gain: f64) -> GrowthRow {
    let curves: Vec<Vec<f64>> = (0..GROWTH_NETWORKS)
        .into_par_iter()
        .map(|k| {
            let (layers, x) = growth_network(seed, k, alpha, gain);
            growth_by_block(layers, &x)
        })
        .collect();
    let count = curves.len() as f64;
    // Means in network order, so the bits do not depend on the threads.
    let by_block: Vec<f64> = (0..BLOCKS).map(|m| curves.iter().map(|c| c[m]).sum::<f64>() / count).collect();
    let values: Vec<f64> = curves.iter().map(|c| c[BLOCKS - 1]).collect();
    let mean = values.iter().sum::<f64>() / count;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (count - 1.0);
    let predicted_factor = 1.0 + gain * alpha * alpha;
    GrowthRow {
        alpha,
        gain,
        predicted_factor,
        predicted_growth: predicted_factor.powi(BLOCKS as i32),
        measured_growth: mean,
        standard_error: (variance / count).sqrt(),
        measured_factor: mean.powf(1.0 / BLOCKS as f64),
        by_block,
        predicted_by_block: (1..=BLOCKS).map(|m| predicted_factor.powi(m as i32)).collect(),
    }
}
