//! Section 3 — dense networks and initialisation: how the back-propagated gradient's size changes
//! layer by layer in wide random networks, measured on the vectorised engine, beside the
//! mean-field prediction ([`super::meanfield`]).
//!
//! For every initialisation scheme and activation, `nets` networks of `depth` square layers of
//! `width` units (no biases, the last layer linear; the same weights for each activation) are drawn and differentiated on a batch of
//! inputs x ~ N(0, 1) with targets t ~ N(0, 1) under squared error. Per layer l the engine's
//! statistics give ‖∂L/∂a_l‖² (over the batch) and ‖∂L/∂W_l‖²; the section reports log10 of their
//! means over the networks. The prediction: ‖∂L/∂a_{l−1}‖² ≈ χ_l·‖∂L/∂a_l‖², with
//! χ_l = σ_w²·E[f′_l(√q_l·z)²] and q_l the mean-field pre-activation variance of layer l, anchored
//! at the measured top layer.

use super::meanfield::{chi, fixed_point, layer_q};
use super::{Config, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;
use vectorised::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};

/// The schemes compared, with the names the report prints.
pub fn schemes(width: usize) -> Vec<(&'static str, Init)> {
    vec![
        ("U[±1/√n]", Init::Uniform { a: 1.0 / (width as f64).sqrt() }),
        ("Xavier", Init::XavierNormal),
        ("LeCun", Init::LeCun),
        ("He", Init::He),
        ("orthogonal", Init::Orthogonal { gain: 1.0 }),
        ("N(0, 1)", Init::Normal { std: 1.0 }),
    ]
}

/// The activations compared.
pub const ACTIVATIONS: [Activation; 2] = [Activation::Tanh, Activation::Relu];

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DenseInit {
    /// Units per layer.
    pub width: usize,
    /// Layers.
    pub depth: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Networks per configuration.
    pub nets: usize,
    /// One entry per (activation, scheme).
    pub configs: Vec<InitConfig>,
}

/// One (activation, scheme) measured and predicted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitConfig {
    /// The activation's name.
    pub activation: String,
    /// The scheme's name.
    pub init: String,
    /// σ_w² = width·Var(w).
    pub sigma_w2: f64,
    /// The fixed point q*.
    pub q_star: f64,
    /// χ₁ = χ(q*): < 1 vanishing, > 1 exploding, 1 critical.
    pub chi_1: f64,
    /// Per layer (index l − 1): log10 of the mean of ‖∂L/∂a_l‖² over the networks.
    pub activation_grad: Vec<f64>,
    /// Per layer: log10 of the mean of ‖∂L/∂W_l‖².
    pub weight_grad: Vec<f64>,
    /// Per layer: the mean-field prediction for `activation_grad`, anchored at the top layer.
    pub predicted: Vec<f64>,
    /// Least-squares slope of `activation_grad` against l (decades per layer, towards the output).
    pub measured_slope: Option<f64>,
    /// The same for `predicted`.
    pub predicted_slope: Option<f64>,
    /// Networks whose gradients were not finite (left out), with the first location met.
    pub non_finite: Option<(usize, String)>,
    /// "vanishing", "critical" or "exploding", from χ₁ (critical within ±[`CRITICAL_BAND`]).
    pub phase: String,
    /// Measured minus predicted log10 ‖∂L/∂a_1‖²: how far theory is off after the whole depth.
    pub gap_at_layer_1: Option<f64>,
}

/// |χ₁ − 1| below this counts as critical.
pub const CRITICAL_BAND: f64 = 0.01;
/// A gap at layer 1 beyond this many decades is called a disagreement.
pub const DISAGREEMENT_DECADES: f64 = 0.5;

/// Computes the section.
pub fn compute(config: &Config) -> DenseInit {
    let (width, depth, batch, nets) = if config.quick { (32, 8, 8, 2) } else { (256, 30, 16, 3) };
    let shape = Shape { width, depth, batch };
    let mut by_scheme = Vec::new();
    for (s, (name, init)) in schemes(width).into_iter().enumerate() {
        // The same weights and data for every activation (a controlled comparison), drawn once.
        let stream = Stream::DenseInit { scheme: s };
        let draws: Vec<Draw> =
            (0..nets).into_par_iter().map(|k| Draw::new(config.seed, stream, k, init, &shape)).collect();
        by_scheme.push(ACTIVATIONS.map(|activation| measure(activation, name, init, &draws, &shape)));
    }
    // Order: by activation, then by scheme.
    let configs = (0..ACTIVATIONS.len())
        .flat_map(|a| by_scheme.iter().map(move |per_activation| per_activation[a].clone()))
        .collect();
    DenseInit { width, depth, batch, nets, configs }
}

/// The section's sizes.
struct Shape {
    width: usize,
    depth: usize,
    batch: usize,
}

/// ‖∂L/∂a_l‖² and ‖∂L/∂W_l‖² of one network, per layer.
struct Norms {
    activation: Vec<f64>,
    weight: Vec<f64>,
}

/// One network's weights (`[layer][out][in]`) and batch.
struct Draw {
    weights: Vec<Vec<Vec<f64>>>,
    x: Vec<f64>,
    t: Vec<f64>,
}

impl Draw {
    fn new(seed: u64, stream: Stream, k: usize, init: Init, shape: &Shape) -> Draw {
        let mut rng = stream_rng(seed, stream, k as u64);
        let weights = (0..shape.depth)
            .map(|_| init.matrix(shape.width, shape.width, &mut rng).expect("valid scheme and shape"))
            .collect();
        let n = shape.batch * shape.width;
        let x = (0..n).map(|_| rng.normal()).collect();
        let t = (0..n).map(|_| rng.normal()).collect();
        Draw { weights, x, t }
    }

    /// ‖∂L/∂a_l‖² and ‖∂L/∂W_l‖² per layer, or where a value first became non-finite.
    fn squared_norms(&self, activation: vectorised::Activation, shape: &Shape) -> Result<Norms, String> {
        let layers: Vec<DenseLayer<f64>> = self
            .weights
            .iter()
            .enumerate()
            .map(|(l, rows)| {
                let f = if l + 1 == shape.depth { vectorised::Activation::Identity } else { activation };
                DenseLayer::from_out_in(rows, None, f).expect("finite weights")
            })
            .collect();
        let net = Dense::new(layers, None).expect("consistent widths");
        let mut ws = Workspace::new();
        let input = Batch::new(&self.x, shape.batch, shape.width).expect("shape");
        let target = Batch::new(&self.t, shape.batch, shape.width).expect("shape");
        net.gradients(input, target, Loss::SquaredError, Normalisation::PerSample, &mut ws)
            .map_err(|e| e.to_string())?;
        let stats = ws.stats().expect("statistics are on by default");
        if let Some(nf) = stats.first_non_finite {
            return Err(format!("layer {} unit {} ({:?})", nf.layer, nf.unit, nf.stage));
        }
        let sq = |v: f64| v * v;
        Ok(Norms {
            activation: stats.layers.iter().map(|s| sq(s.activation.norm)).collect(),
            weight: stats.layers.iter().map(|s| sq(s.weight.norm)).collect(),
        })
    }
}

fn measure(activation: Activation, name: &str, init: Init, draws: &[Draw], shape: &Shape) -> InitConfig {
    let (width, depth) = (shape.width, shape.depth);
    let engine_activation = super::engine_activation(activation);
    let runs: Vec<Result<Norms, String>> =
        draws.par_iter().map(|draw| draw.squared_norms(engine_activation, shape)).collect();
    let ok: Vec<&Norms> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    let non_finite = runs.iter().filter(|r| r.is_err()).count();
    let first_error = runs.iter().find_map(|r| r.as_ref().err().cloned());
    let mean_log = |pick: fn(&Norms) -> &Vec<f64>, l: usize| {
        (ok.iter().map(|r| pick(r)[l]).sum::<f64>() / ok.len() as f64).log10()
    };
    let (activation_grad, weight_grad): (Vec<f64>, Vec<f64>) = if ok.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (0..depth).map(|l| (mean_log(|r| &r.activation, l), mean_log(|r| &r.weight, l))).unzip()
    };
    let sigma_w2 = init.std_dev(width, width).powi(2) * width as f64;
    let (q_star, chi_1) = fixed_point(activation, sigma_w2, 0.0);
    // q_l for the hidden layers (inputs have E[x²] = 1); the top layer is linear.
    let q = layer_q(activation, sigma_w2, 0.0, 1.0, depth);
    let predicted = if activation_grad.is_empty() {
        Vec::new()
    } else {
        let mut p = vec![0.0; depth];
        p[depth - 1] = activation_grad[depth - 1];
        for l in (1..depth).rev() {
            // p[l − 1] is layer l, p[l] layer l + 1: ‖∂L/∂a_l‖² ≈ χ_{l+1}·‖∂L/∂a_{l+1}‖², where
            // χ_{l+1} uses q_{l+1} = q[l], and the linear top layer passes σ_w² back.
            let layer_chi = if l + 1 == depth { sigma_w2 } else { chi(activation, sigma_w2, q[l]) };
            p[l - 1] = p[l] + layer_chi.log10();
        }
        p
    };
    let gap_at_layer_1 = activation_grad.first().zip(predicted.first()).map(|(m, p)| m - p);
    let points = |v: &[f64]| -> Vec<(f64, f64)> { v.iter().enumerate().map(|(l, &y)| ((l + 1) as f64, y)).collect() };
    InitConfig {
        activation: activation.name().to_string(),
        init: name.to_string(),
        sigma_w2,
        q_star,
        chi_1,
        measured_slope: super::stats::slope(&points(&activation_grad)),
        predicted_slope: super::stats::slope(&points(&predicted)),
        activation_grad,
        weight_grad,
        predicted,
        non_finite: first_error.map(|e| (non_finite, e)),
        phase: if chi_1 < 1.0 - CRITICAL_BAND {
            "vanishing"
        } else if chi_1 > 1.0 + CRITICAL_BAND {
            "exploding"
        } else {
            "critical"
        }
        .to_string(),
        gap_at_layer_1,
    }
}
