//! Section 3 — dense networks and initialisation: how the back-propagated gradient's size changes
//! layer by layer in wide random networks, measured on the vectorised engine, beside the
//! mean-field prediction ([`super::meanfield`]).
//!
//! For every initialisation scheme and activation, `nets` networks of `depth` square layers of
//! `width` units (no biases, the last layer linear; the same weights for each activation) are
//! drawn and differentiated on a batch of inputs x ~ N(0, 1) twice: under squared error with
//! targets t ~ N(0, 1), and under the linear loss L = Σ p·y/B with a probe p ~ N(0, 1) drawn
//! independently of the weights (the control: its backward seed does not depend on the network).
//! Per layer l the engine's statistics give ‖∂L/∂a_l‖² (over the batch) and ‖∂L/∂W_l‖², and
//! the workspace the forward signal ‖a_l‖²; the section reports log10 of their means over the
//! networks, each with its bootstrap standard error over networks ([`super::bootstrap`]).
//!
//! Predictions, anchored at the measured top layer: mean field, ‖∂L/∂a_{l−1}‖² ≈ χ_l·‖∂L/∂a_l‖²
//! with χ_l = σ_w²·E[f′_l(√q_l·z)²], which assumes a backward signal independent of the weights;
//! and, for ReLU with Gaussian weights under squared error, whose seed 2(y − t) carries the
//! network's Jacobian (y = J·x), the exact second moment of [`meanfield::relu_squared_error_grad`].
//! The comparison is the statistic log10(mean ‖∂L/∂a_1‖² / mean ‖∂L/∂a_D‖²) ([`Decades`]).

use super::bootstrap::{self, Bootstrap};
use super::meanfield::{self, FixedPoint, chi, fixed_point, layer_q};
use super::{Config, Label, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;
use vectorised::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};

/// One scheme: its stream index (fixed forever: [`Stream::DenseInit`]), name and distribution.
#[derive(Debug, Clone, Copy)]
pub struct Scheme {
    /// The `scheme` of its [`Stream::DenseInit`].
    pub stream: usize,
    /// Which scheme it is (its name is `render::labels`').
    pub name: SchemeName,
    /// The distribution.
    pub init: Init,
}

/// The schemes section 3 compares, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeName {
    /// U[±1/√n], the classic default.
    Uniform,
    /// Glorot and Bengio's N(0, 2/(n_in + n_out)).
    Xavier,
    /// He et al.'s N(0, 2/n_in).
    He,
    /// A random orthogonal matrix.
    Orthogonal,
    /// N(0, 1), unscaled.
    StandardNormal,
}

/// Where χ₁ puts a configuration (critical within ±[`CRITICAL_BAND`] of 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// χ₁ < 1 − [`CRITICAL_BAND`]: gradients shrink layer by layer on the way down.
    Vanishing,
    /// |χ₁ − 1| ≤ [`CRITICAL_BAND`].
    Critical,
    /// χ₁ > 1 + [`CRITICAL_BAND`]: gradients grow layer by layer on the way down.
    Exploding,
}

impl Phase {
    /// The phase of χ₁.
    pub fn of(chi_1: f64) -> Phase {
        if chi_1 < 1.0 - CRITICAL_BAND {
            Phase::Vanishing
        } else if chi_1 > 1.0 + CRITICAL_BAND {
            Phase::Exploding
        } else {
            Phase::Critical
        }
    }
}

/// The schemes compared. LeCun's N(0, 1/n_in) (stream 2) is Xavier's N(0, 2/(n_in + n_out))
/// for square layers, so it is not drawn again; the others keep their streams.
pub fn schemes(width: usize) -> Vec<Scheme> {
    let scheme = |stream, name, init| Scheme { stream, name, init };
    vec![
        scheme(0, SchemeName::Uniform, Init::Uniform { a: 1.0 / (width as f64).sqrt() }),
        scheme(1, SchemeName::Xavier, Init::XavierNormal),
        scheme(3, SchemeName::He, Init::He),
        scheme(4, SchemeName::Orthogonal, Init::Orthogonal { gain: 1.0 }),
        scheme(5, SchemeName::StandardNormal, Init::Normal { std: 1.0 }),
    ]
}

/// Whether every weight of the scheme is an independent Gaussian (what the corrected
/// prediction's derivation assumes).
pub fn is_gaussian(init: Init) -> bool {
    matches!(init, Init::Normal { .. } | Init::XavierNormal | Init::He | Init::LeCun)
}

/// The activations compared (the sigmoid last, so the other rows keep their bootstrap streams).
pub const ACTIVATIONS: [Activation; 3] = [Activation::Tanh, Activation::Relu, Activation::Sigmoid];

/// Networks per configuration in the default report: enough that the bootstrap standard error of
/// the top-to-layer-1 decades is about 0.1 or less where networks differ by half a decade or
/// less, few enough that the default report stays well under 30 s on two cores (drawing the
/// weights, orthogonal ones above all, costs more than differentiating them).
pub const NETS: usize = 16;
/// Networks per configuration with `--quick`.
pub const QUICK_NETS: usize = 8;

/// Theory and measurement agree when they differ by at most this many decades, or by at most
/// [`AGREEMENT_SE`] bootstrap standard errors, whichever is larger.
pub const AGREEMENT_DECADES: f64 = 0.15;
/// See [`AGREEMENT_DECADES`].
pub const AGREEMENT_SE: f64 = 3.0;

/// |χ₁ − 1| below this counts as critical.
pub const CRITICAL_BAND: f64 = 0.01;

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DenseInit {
    /// Units per layer.
    pub width: usize,
    /// Layers.
    pub depth: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Networks drawn per configuration.
    pub nets: usize,
    /// Bootstrap resamples per configuration.
    pub resamples: usize,
    /// One entry per (activation, scheme), by activation then scheme.
    pub configs: Vec<InitConfig>,
    /// What the vanishing rows' forward signal does, if there are vanishing rows.
    pub collapse: Option<ForwardCollapse>,
    /// Mean field's χ₁ against σ_w², per activation: the curve the rows' measured factors sit on.
    pub chi_curves: Vec<ChiCurve>,
    /// The sigmoid's critical σ_w², by theory and measured.
    pub sigmoid_critical: super::criticality::SigmoidCritical,
    /// Criticality with depth: signals, gradients and correlations through a few hundred layers.
    pub critical_depth: super::critical_depth::CriticalDepth,
}

/// Mean field's χ₁ = χ(q*) against σ_w² for one activation, without biases, and its prediction of
/// what the section measures in networks of its depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiCurve {
    /// The activation's name.
    pub activation: String,
    /// (σ_w², χ₁) for σ_w² = 2^{k/4}, from 1/4 to 512 (the sigmoid's critical σ_w² is past 100).
    pub chi_1: Vec<(f64, f64)>,
    /// (σ_w², the geometric mean of χ_l over the D − 2 hidden steps from a_{D−1} down to a_1),
    /// with q_l from q_1 = 1 (inputs x ~ N(0, 1)): the per-layer factor the measured networks
    /// should show, since q_l is still on its way to q* in a network of D layers.
    pub at_depth: Vec<(f64, f64)>,
}

/// The χ curves of [`ACTIVATIONS`] for networks of `depth` layers (no `at_depth` below 3).
pub fn chi_curves(depth: usize) -> Vec<ChiCurve> {
    let grid: Vec<f64> = (-8..=36).map(|k| 2f64.powf(f64::from(k) / 4.0)).collect();
    ACTIVATIONS
        .iter()
        .map(|&activation| ChiCurve {
            activation: activation.name().to_string(),
            chi_1: grid.iter().map(|&s| (s, fixed_point(activation, s, 0.0).1)).collect(),
            at_depth: grid.iter().filter_map(|&s| Some((s, hidden_factor(activation, s, depth)?))).collect(),
        })
        .collect()
}

/// The geometric mean of χ_{l+1} = χ(q_l), l = 1 … D − 2: the hidden steps of ‖∂L/∂a‖² from
/// a_{D−1} down to a_1 (the step from the linear top, σ_w², left out); `None` below 3 layers.
pub fn hidden_factor(activation: Activation, sigma_w2: f64, depth: usize) -> Option<f64> {
    let steps = depth.checked_sub(2).filter(|&s| s > 0)?;
    let q = layer_q(activation, sigma_w2, 0.0, 1.0, depth);
    let log_sum: f64 = (1..=steps).map(|l| chi(activation, sigma_w2, q[l]).log10()).sum();
    Some(10f64.powf(log_sum / steps as f64))
}

/// The measured counterpart of [`hidden_factor`] for one row: the geometric mean per-layer
/// factor of mean ‖∂L/∂a_l‖² under the probe seed from layer D − 1 down to 1; `None` below 3
/// layers.
pub fn measured_hidden_factor(c: &InitConfig) -> Option<f64> {
    let steps = c.probe_grad.len().checked_sub(2).filter(|&s| s > 0)?;
    Some(10f64.powf((c.probe_grad[0].log10_mean - c.probe_grad[steps].log10_mean) / steps as f64))
}

/// log10 of a mean over networks, with its bootstrap standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// log10 of the mean over the networks.
    pub log10_mean: f64,
    /// Its bootstrap standard error over networks (decades).
    pub se: f64,
}

/// The statistic theory is checked on: log10(mean ‖∂L/∂a_1‖² / mean ‖∂L/∂a_D‖²), the decades the
/// back-propagated gradient gains from the top layer down to layer 1 (negative: vanishing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decades {
    /// Measured, on the networks drawn.
    pub measured: f64,
    /// Its bootstrap standard error over networks.
    pub se: f64,
    /// The spread over networks: the standard deviation of the per-network log10 ratio.
    pub spread: f64,
    /// Mean field's prediction: log10 of the product of χ over layers D … 2.
    pub mean_field: f64,
    /// The corrected prediction, where one is derived (ReLU, Gaussian weights, squared error).
    pub corrected: Option<f64>,
    /// Whether the measurement agrees with the prediction that applies (the corrected one where
    /// there is one) within max([`AGREEMENT_DECADES`], [`AGREEMENT_SE`]·se).
    pub agrees: bool,
    /// Whether it agrees with mean field within the same tolerance.
    pub agrees_with_mean_field: bool,
}

impl Decades {
    fn new(measured: f64, se: f64, spread: f64, mean_field: f64, corrected: Option<f64>) -> Decades {
        let close = |p: f64| (measured - p).abs() <= AGREEMENT_DECADES.max(AGREEMENT_SE * se);
        Decades {
            measured,
            se,
            spread,
            mean_field,
            corrected,
            agrees: close(corrected.unwrap_or(mean_field)),
            agrees_with_mean_field: close(mean_field),
        }
    }
}

/// One (activation, scheme) measured and predicted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitConfig {
    /// The activation's name.
    pub activation: String,
    /// The scheme.
    pub init: Label<SchemeName>,
    /// σ_w² = width·Var(w).
    pub sigma_w2: f64,
    /// Where mean field's pre-activation variance goes.
    pub q_star: FixedPoint,
    /// χ₁ = χ(q*): < 1 vanishing, > 1 exploding, 1 critical.
    pub chi_1: f64,
    /// Vanishing, critical or exploding, from χ₁.
    pub phase: Label<Phase>,
    /// Networks whose gradients were finite (the means are over these).
    pub networks: usize,
    /// Per layer (index l − 1): ‖∂L/∂a_l‖² under squared error.
    pub activation_grad: Vec<Estimate>,
    /// Per layer: ‖∂L/∂W_l‖² under squared error.
    pub weight_grad: Vec<Estimate>,
    /// Per layer: ‖∂L/∂a_l‖² under the probe seed.
    pub probe_grad: Vec<Estimate>,
    /// Per layer: mean field's prediction for `activation_grad`, anchored at the measured top.
    pub predicted: Vec<f64>,
    /// Per layer: the corrected prediction for `activation_grad`, anchored at the measured top.
    pub corrected: Option<Vec<f64>>,
    /// Least-squares slope of log10 mean ‖∂L/∂a_l‖² against D − l, the layers below the top
    /// (decades per layer; negative: vanishing).
    pub measured_slope: Option<f64>,
    /// The same for `predicted`.
    pub predicted_slope: Option<f64>,
    /// Squared error: top to layer 1.
    pub decades: Decades,
    /// The probe seed: top to layer 1.
    pub probe_decades: Decades,
    /// log10(mean ‖a_D‖² / mean ‖a_1‖²): what the forward signal gains over the same layers.
    pub forward_decades: f64,
    /// log10(mean ‖∂L/∂W_1‖² / mean ‖∂L/∂W_D‖²).
    pub weight_decades: f64,
    /// log10(mean ‖y‖² / mean ‖y − t‖²): the share of the output error that depends on the input.
    pub output_share: f64,
    /// Networks whose gradients were not finite (left out), with the first location met.
    pub non_finite: Option<(usize, String)>,
}

/// Whether a row is vanishing with q* = 0: its forward signal dies with its backward one.
pub fn collapses(c: &InitConfig) -> bool {
    c.phase.0 == Phase::Vanishing && c.q_star == FixedPoint::Zero
}

/// The collapsing rows' ([`collapses`]) backward and forward signals and weight gradients, side
/// by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardCollapse {
    /// The rows: (activation, scheme).
    pub rows: Vec<(String, Label<SchemeName>)>,
    /// Least and most decades ‖∂L/∂a_l‖² gains from the top to layer 1.
    pub backward: (f64, f64),
    /// Least and most decades ‖a_l‖² gains from layer 1 to the top.
    pub forward: (f64, f64),
    /// The largest |decades| of ‖∂L/∂W_l‖² from the top to layer 1.
    pub weight_max_abs: f64,
    /// The largest log10 share of the output error that depends on the input.
    pub output_share_max: f64,
}

/// Computes the section.
pub fn compute(config: &Config) -> DenseInit {
    let (width, depth, batch, nets) = if config.quick { (32, 8, 8, QUICK_NETS) } else { (256, 30, 16, NETS) };
    let shape = Shape { width, depth, batch };
    let mut by_scheme = Vec::new();
    for scheme in schemes(width) {
        // The same weights and data for every activation (a controlled comparison), drawn once
        // per network, which is then differentiated under each activation and both seeds.
        let runs: Vec<[Result<NetRun, String>; ACTIVATIONS.len()]> =
            (0..nets).into_par_iter().map(|k| Draw::new(config.seed, scheme, k, &shape).run_all(&shape)).collect();
        by_scheme.push((scheme, runs));
    }
    // Order: by activation, then by scheme.
    let mut configs = Vec::new();
    for (a, &activation) in ACTIVATIONS.iter().enumerate() {
        for (scheme, runs) in &by_scheme {
            let runs: Vec<&Result<NetRun, String>> = runs.iter().map(|r| &r[a]).collect();
            let mut rng = stream_rng(config.seed, Stream::DenseInitBootstrap { config: configs.len() }, 0);
            configs.push(summarise(activation, *scheme, &runs, &shape, &mut rng));
        }
    }
    let collapse = forward_collapse(&configs);
    DenseInit {
        width,
        depth,
        batch,
        nets,
        resamples: bootstrap::RESAMPLES,
        configs,
        collapse,
        chi_curves: chi_curves(depth),
        sigmoid_critical: super::criticality::compute(config),
        critical_depth: super::critical_depth::compute(config),
    }
}

/// The section's sizes.
struct Shape {
    width: usize,
    depth: usize,
    batch: usize,
}

/// One network's squared norms (each over the batch), per layer l = 1…D (index l − 1).
struct NetRun {
    /// ‖∂L/∂a_l‖², squared error.
    activation: Vec<f64>,
    /// ‖∂L/∂W_l‖², squared error.
    weight: Vec<f64>,
    /// ‖∂L/∂a_l‖², probe seed.
    probe: Vec<f64>,
    /// ‖a_l‖².
    forward: Vec<f64>,
    /// ‖y − t‖².
    error: f64,
}

/// One network (its layers built once from the drawn `[layer][out][in]` weights, the last one
/// linear; the hidden activation set per run), batch, targets and probe.
struct Draw {
    net: Dense<f64>,
    x: Vec<f64>,
    t: Vec<f64>,
    probe: Vec<f64>,
}

impl Draw {
    fn new(seed: u64, scheme: Scheme, k: usize, shape: &Shape) -> Draw {
        let mut rng = stream_rng(seed, Stream::DenseInit { scheme: scheme.stream }, k as u64);
        let layers = (0..shape.depth)
            .map(|_| {
                let rows = scheme.init.matrix(shape.width, shape.width, &mut rng).expect("valid scheme and shape");
                DenseLayer::from_out_in(&rows, None, vectorised::Activation::Identity).expect("finite weights")
            })
            .collect();
        let net = Dense::new(layers, None).expect("consistent widths");
        let n = shape.batch * shape.width;
        let x = (0..n).map(|_| rng.normal()).collect();
        let t = (0..n).map(|_| rng.normal()).collect();
        let mut rng = stream_rng(seed, Stream::DenseInitProbe { scheme: scheme.stream }, k as u64);
        let probe = (0..n).map(|_| rng.normal()).collect();
        Draw { net, x, t, probe }
    }

    fn run_all(mut self, shape: &Shape) -> [Result<NetRun, String>; ACTIVATIONS.len()] {
        let mut ws = Workspace::new();
        ACTIVATIONS.map(|a| self.run(super::engine_activation(a), shape, &mut ws))
    }

    /// The squared-error and the probe runs of one activation (in every layer but the last), or
    /// where a value first became non-finite.
    fn run(
        &mut self,
        activation: vectorised::Activation,
        shape: &Shape,
        ws: &mut Workspace<f64>,
    ) -> Result<NetRun, String> {
        let hidden = shape.depth - 1;
        for layer in &mut self.net.layers_mut()[..hidden] {
            layer.set_activation(activation).expect("the report's activations are valid");
        }
        let (net, x, t) = (&self.net, &self.x, &self.t);
        let input = Batch::new(x, shape.batch, shape.width).expect("shape");
        let sq = |v: f64| v * v;
        let mut pass = |seed: &[f64], loss: Loss| -> Result<(Vec<f64>, Vec<f64>), String> {
            let seed = Batch::new(seed, shape.batch, shape.width).expect("shape");
            net.gradients(input, seed, loss, Normalisation::PerSample, ws).map_err(|e| e.to_string())?;
            let stats = ws.stats().expect("statistics are on by default");
            if let Some(nf) = stats.first_non_finite {
                return Err(format!("layer {} unit {} ({:?})", nf.layer, nf.unit, nf.stage));
            }
            Ok(stats.layers.iter().map(|s| (sq(s.activation.norm), sq(s.weight.norm))).unzip())
        };
        let (probe, _) = pass(&self.probe, Loss::Linear)?;
        let (activation, weight) = pass(t, Loss::SquaredError)?;
        let sum_sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        let forward: Vec<f64> =
            (1..=shape.depth).map(|l| sum_sq(ws.activations(l).expect("the network has layer l"))).collect();
        let y = ws.activations(shape.depth).expect("the network has an output");
        let error = y.iter().zip(t).map(|(y, t)| sq(y - t)).sum();
        Ok(NetRun { activation, weight, probe, forward, error })
    }
}

/// Means, standard errors, predictions and comparisons of one configuration's networks.
fn summarise(
    activation: Activation,
    scheme: Scheme,
    runs: &[&Result<NetRun, String>],
    shape: &Shape,
    rng: &mut scalar::rng::Rng,
) -> InitConfig {
    let (width, depth) = (shape.width, shape.depth);
    let ok: Vec<&NetRun> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    let non_finite = runs.iter().filter(|r| r.is_err()).count();
    let first_error = runs.iter().find_map(|r| r.as_ref().err().cloned());
    let boot = Bootstrap::new(rng, ok.len());
    let every = bootstrap::all(ok.len());
    // Per network, the value `pick` gives; then its log10 mean with a standard error.
    let column = |pick: &dyn Fn(&NetRun) -> f64| -> Vec<f64> { ok.iter().map(|r| pick(r)).collect() };
    let estimate = |values: &[f64]| Estimate {
        log10_mean: bootstrap::log10_mean(values, &every),
        se: boot.standard_error(|idx| bootstrap::log10_mean(values, idx)),
    };
    let per_layer = |pick: fn(&NetRun) -> &Vec<f64>| -> Vec<Estimate> {
        (0..depth).map(|l| estimate(&column(&|r| pick(r)[l]))).collect()
    };
    let activation_grad = per_layer(|r| &r.activation);
    let weight_grad = per_layer(|r| &r.weight);
    let probe_grad = per_layer(|r| &r.probe);
    // log10(mean bottom / mean top) with its standard error and spread over networks.
    let ratio = |bottom: &[f64], top: &[f64], idx: &[usize]| {
        bootstrap::log10_mean(bottom, idx) - bootstrap::log10_mean(top, idx)
    };
    let measured_ratio = |pick: fn(&NetRun) -> &Vec<f64>| {
        let (bottom, top) = (column(&|r| pick(r)[0]), column(&|r| pick(r)[depth - 1]));
        let per_net: Vec<f64> = bottom.iter().zip(&top).map(|(b, t)| (b / t).log10()).collect();
        let n = per_net.len() as f64;
        let mean = per_net.iter().sum::<f64>() / n;
        let spread = (per_net.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt();
        (ratio(&bottom, &top, &every), boot.standard_error(|idx| ratio(&bottom, &top, idx)), spread)
    };

    let sigma_w2 = scheme.init.std_dev(width, width).powi(2) * width as f64;
    let (q_star, chi_1) = fixed_point(activation, sigma_w2, 0.0);
    // q_l for the hidden layers (inputs have E[x²] = 1); the top layer is linear. chi_down[l − 1]
    // is log10 χ_{l+1}: from ∂L/∂a_{l+1} to ∂L/∂a_l.
    let q = layer_q(activation, sigma_w2, 0.0, 1.0, depth);
    let chi_down: Vec<f64> =
        (1..depth).map(|l| if l + 1 == depth { sigma_w2 } else { chi(activation, sigma_w2, q[l]) }.log10()).collect();
    let mean_field: f64 = chi_down.iter().sum();
    let corrected_profile = (activation == Activation::Relu && is_gaussian(scheme.init))
        .then(|| meanfield::relu_squared_error_grad(sigma_w2, width, depth));
    let top = activation_grad.last().map_or(f64::NAN, |e| e.log10_mean);
    let mut predicted = vec![top; depth];
    for l in (0..depth - 1).rev() {
        predicted[l] = predicted[l + 1] + chi_down[l];
    }
    let corrected = corrected_profile.as_ref().map(|p| p.iter().map(|v| top + (v / p[depth - 1]).log10()).collect());
    let corrected_decades = corrected_profile.as_ref().map(|p| (p[0] / p[depth - 1]).log10());

    let (measured, se, spread) = measured_ratio(|r| &r.activation);
    let decades = Decades::new(measured, se, spread, mean_field, corrected_decades);
    let (measured, se, spread) = measured_ratio(|r| &r.probe);
    let probe_decades = Decades::new(measured, se, spread, mean_field, None);
    let forward = |l: usize| bootstrap::log10_mean(&column(&|r| r.forward[l]), &every);
    let weight = |l: usize| bootstrap::log10_mean(&column(&|r| r.weight[l]), &every);
    let output_share = forward(depth - 1) - bootstrap::log10_mean(&column(&|r| r.error), &every);
    // Slopes against the layers below the top, D − l: negative means vanishing.
    let points = |v: &mut dyn Iterator<Item = f64>| -> Vec<(f64, f64)> {
        v.enumerate().map(|(l, y)| ((depth - 1 - l) as f64, y)).collect()
    };
    InitConfig {
        activation: activation.name().to_string(),
        init: Label(scheme.name),
        sigma_w2,
        q_star,
        chi_1,
        phase: Label(Phase::of(chi_1)),
        networks: ok.len(),
        measured_slope: super::stats::slope(&points(&mut activation_grad.iter().map(|e| e.log10_mean))),
        predicted_slope: super::stats::slope(&points(&mut predicted.iter().copied())),
        activation_grad,
        weight_grad,
        probe_grad,
        predicted,
        corrected,
        decades,
        probe_decades,
        forward_decades: forward(depth - 1) - forward(0),
        weight_decades: weight(0) - weight(depth - 1),
        output_share,
        non_finite: first_error.map(|e| (non_finite, e)),
    }
}

/// The vanishing rows whose forward signal dies too (q* = 0), side by side, if any. A vanishing
/// row with q* > 0 (the sigmoid's: its outputs are positive) keeps its forward signal.
fn forward_collapse(configs: &[InitConfig]) -> Option<ForwardCollapse> {
    let rows: Vec<&InitConfig> = configs.iter().filter(|c| collapses(c)).collect();
    let range = |pick: fn(&InitConfig) -> f64| {
        rows.iter().map(|c| pick(c)).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    (!rows.is_empty()).then(|| ForwardCollapse {
        rows: rows.iter().map(|c| (c.activation.clone(), c.init)).collect(),
        backward: range(|c| c.decades.measured),
        forward: range(|c| c.forward_decades),
        weight_max_abs: rows.iter().map(|c| c.weight_decades.abs()).fold(0.0, f64::max),
        output_share_max: range(|c| c.output_share).1,
    })
}
