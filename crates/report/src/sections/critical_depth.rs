//! Section 3, criticality with depth: networks of a few hundred layers on and off the critical
//! line, layer by layer — the forward length ‖a_l‖²/n, the backward ‖∂L/∂a_l‖², the correlation
//! of two inputs — as medians and 10th–90th percentile bands over networks, beside mean field
//! ([`super::meanfield`], [`super::correlation`]); and for ReLU under He, the finite-width drift
//! of the typical network below the preserved mean against its exact law
//! ([`correlation::relu_log_ratio_law`]).
//!
//! Every network of a run has the same draws (unit-variance weights and biases, the input pair,
//! the probe seed), scaled to each setting: a controlled comparison. The top layer is linear, its
//! seed the probe (a linear loss with a Gaussian seed independent of the weights), and the batch
//! is the input pair: two inputs of correlation [`INPUT_CORRELATION`] whose first-layer
//! variance is q* (1 where q* = 0), so q_l stays at its fixed point where there is one.
//!
//! The correlation measured at layer l + 1 is that of the pre-activations h_{l+1} = W·a_l + b
//! given a_l (their expectation over W_{l+1} and b_{l+1}, whose draws add only sampling noise):
//! with q_i = σ_w²‖a_i‖²/n + σ_b², 1 − c = (σ_w²‖a₁ − a₂‖²/(2n) − (√q₁ − √q₂)²/2)/√(q₁q₂),
//! written so that no two nearly equal numbers are subtracted when c is near 1.

use super::correlation::{self, depth_scale};
use super::meanfield::{FixedPoint, chi, fixed_point, gaussian_expectation, layer_q};
use super::stats::{percentile, slope, sort};
use super::{Config, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;
use vectorised::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};

/// The bias variance of the tanh rows on the critical line (Schoenholz et al. 2017's setting).
pub const TANH_SIGMA_B2: f64 = 0.05;
/// The layers the report's tables show (the figures show every layer).
pub const TABLE_LAYERS: [usize; 6] = [1, 10, 25, 50, 100, 150];
/// The ordered-phase tanh rows: these multiples of the critical σ_w² at [`TANH_SIGMA_B2`].
pub const ORDERED_MULTIPLES: [f64; 2] = [0.5, 0.8];
/// The correlation of the input pair.
pub const INPUT_CORRELATION: f64 = 0.5;
/// ReLU's off-critical row: σ_w² = 1.8, χ₁ = 0.9.
pub const RELU_BELOW_HE: f64 = 1.8;
/// ξ_c is fitted where the mean 1 − c lies in this range: below its top the map is linear
/// (1 − C(c) = χ₁·(1 − c) to first order), above its floor rounding is far away.
pub const FIT_RANGE: (f64, f64) = (1e-9, 1e-2);

/// Where a setting sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Regime {
    /// tanh at σ_w² = 1, σ_b = 0: χ₁ = 1 with q* = 0, approached as a power law.
    CriticalPoint,
    /// On the critical line with σ_b > 0: χ₁ = 1 at q* > 0.
    CriticalLine,
    /// χ₁ < 1.
    Ordered,
    /// ReLU at σ_w² = 2, σ_b = 0.
    He,
}

/// The median and 10th–90th percentiles of a quantity over networks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean over the networks.
    pub mean: f64,
}

impl Spread {
    /// The spread of `values` (non-empty, non-NaN).
    pub fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        sort(&mut v);
        Spread {
            p10: percentile(&v, 10.0),
            median: percentile(&v, 50.0),
            p90: percentile(&v, 90.0),
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// One hidden layer l of a setting, measured and by mean field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DepthLayer {
    /// l (1 … D − 1).
    pub layer: usize,
    /// Mean field's E‖a_l‖²/n = (q_{l+1} − σ_b²)/σ_w².
    pub forward_theory: f64,
    /// ‖a_l‖²/n, the mean over the pair.
    pub forward: Spread,
    /// Mean field's ‖∂L/∂a_l‖² ÷ ‖∂L/∂a_{D−1}‖² = Π_{k=l+1}^{D−1} χ(q_k).
    pub backward_theory: f64,
    /// ‖∂L/∂a_l‖² ÷ ‖∂L/∂a_{D−1}‖².
    pub backward: Spread,
    /// Mean field's 1 − c_{l+1}.
    pub decorrelation_theory: f64,
    /// 1 − c_{l+1}, measured as the module says.
    pub decorrelation: Spread,
}

/// One setting through depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepthRun {
    /// The activation's name.
    pub activation: String,
    /// Where it sits.
    pub regime: Regime,
    /// σ_w².
    pub sigma_w2: f64,
    /// σ_b².
    pub sigma_b2: f64,
    /// χ₁ = χ(q*).
    pub chi_1: f64,
    /// q*, if positive.
    pub q_star: Option<f64>,
    /// ξ_c = −1/ln χ₁, finite in the ordered phase with q* > 0.
    pub xi_c: Option<f64>,
    /// ξ_c fitted to the mean over networks of 1 − c_l over [`FIT_RANGE`] (`None` with fewer than
    /// 3 layers there): mean field's quantity is the mean; the median falls faster at finite
    /// width, as the typical network's lengths do (see [`HaninDrift`]).
    pub xi_measured: Option<f64>,
    /// Networks whose values were all finite and positive.
    pub networks: usize,
    /// Layers 1 … D − 1.
    pub layers: Vec<DepthLayer>,
}

/// Hanin's β for ReLU under He: ln(‖a_l‖²/‖x‖²) of the pair's first input, over networks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HaninDrift {
    /// The exact law of one layer: E[ln R].
    pub law_mean: f64,
    /// Var[ln R].
    pub law_var: f64,
    /// Layer by layer.
    pub rows: Vec<HaninRow>,
}

/// One layer of [`HaninDrift`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HaninRow {
    /// l.
    pub layer: usize,
    /// β = l/n.
    pub beta: f64,
    /// Mean over networks of ln(‖a_l‖²/‖x‖²).
    pub mean: f64,
    /// Its sample variance.
    pub var: f64,
    /// The standard error of `var` for a normal sample, var·√(2/(N − 1)).
    pub var_se: f64,
    /// l·E[ln R].
    pub exact_mean: f64,
    /// l·Var[ln R].
    pub exact_var: f64,
}

/// The section's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalDepth {
    /// Units per layer.
    pub width: usize,
    /// Layers D (the top linear).
    pub depth: usize,
    /// Networks per setting.
    pub nets: usize,
    /// The tanh critical σ_w² at σ_b² = [`TANH_SIGMA_B2`], if found.
    pub tanh_critical: Option<f64>,
    /// One per setting.
    pub runs: Vec<DepthRun>,
    /// ReLU under He, if it was run with finite values.
    pub hanin: Option<HaninDrift>,
    /// ξ_c against σ_w² for tanh at σ_b² = [`TANH_SIGMA_B2`], ordered phase: (σ_w², ξ_c).
    pub xi_curve: Vec<(f64, f64)>,
}

/// One setting's parameters.
#[derive(Debug, Clone, Copy)]
struct Setting {
    f: Activation,
    regime: Regime,
    sigma_w2: f64,
    sigma_b2: f64,
}

/// One network's values at one hidden layer.
#[derive(Debug, Clone, Copy)]
struct Raw {
    forward: f64,
    grad: f64,
    decorrelation: f64,
    log_length: f64,
}

/// Runs the settings.
pub fn compute(config: &Config) -> CriticalDepth {
    let (width, depth, nets) = if config.quick { (16, 40, 8) } else { (32, 200, 32) };
    let tanh_critical = critical_line(Activation::Tanh, TANH_SIGMA_B2).map(|(s, _)| s);
    let mut settings =
        vec![Setting { f: Activation::Tanh, regime: Regime::CriticalPoint, sigma_w2: 1.0, sigma_b2: 0.0 }];
    if let Some(s) = tanh_critical {
        settings.push(Setting {
            f: Activation::Tanh,
            regime: Regime::CriticalLine,
            sigma_w2: s,
            sigma_b2: TANH_SIGMA_B2,
        });
        for m in ORDERED_MULTIPLES.iter().rev() {
            settings.push(Setting {
                f: Activation::Tanh,
                regime: Regime::Ordered,
                sigma_w2: m * s,
                sigma_b2: TANH_SIGMA_B2,
            });
        }
    }
    settings.push(Setting { f: Activation::Relu, regime: Regime::He, sigma_w2: 2.0, sigma_b2: 0.0 });
    settings.push(Setting { f: Activation::Relu, regime: Regime::Ordered, sigma_w2: RELU_BELOW_HE, sigma_b2: 0.0 });

    let fixed: Vec<(Option<f64>, f64)> = settings
        .iter()
        .map(|s| match fixed_point(s.f, s.sigma_w2, s.sigma_b2) {
            (FixedPoint::At(q), chi_1) => (Some(q), chi_1),
            (_, chi_1) => (None, chi_1),
        })
        .collect();
    // Per network, per setting: the layers' raw values, or None if one was not finite.
    let raw: Vec<Vec<Option<Vec<Raw>>>> = (0..nets)
        .into_par_iter()
        .map(|k| {
            let mut rng = stream_rng(config.seed, Stream::CriticalDepth, k as u64);
            let unit = Init::Normal { std: 1.0 };
            let weights: Vec<Vec<Vec<f64>>> =
                (0..depth).map(|_| unit.matrix(width, width, &mut rng).expect("valid shape")).collect();
            let biases: Vec<Vec<f64>> = (0..depth).map(|_| (0..width).map(|_| rng.normal()).collect()).collect();
            let pair = input_pair(width, &mut rng);
            let probe: Vec<f64> = (0..2 * width).map(|_| rng.normal()).collect();
            let mut ws = Workspace::new();
            settings
                .iter()
                .zip(&fixed)
                .map(|(s, (q_star, _))| {
                    let length = ((q_star.unwrap_or(1.0) - s.sigma_b2).max(0.0) / s.sigma_w2).sqrt();
                    let x: Vec<f64> = pair.iter().map(|v| v * length).collect();
                    run_network(s, &weights, &biases, &x, &probe, &mut ws)
                })
                .collect()
        })
        .collect();
    let (law_mean, law_var) = correlation::relu_log_ratio_law(width);
    let mut hanin = None;
    let runs = (0..settings.len())
        .into_par_iter()
        .map(|i| {
            let ok: Vec<&Vec<Raw>> = raw.iter().filter_map(|r| r[i].as_ref()).collect();
            let (q_star, chi_1) = fixed[i];
            summarise(&settings[i], q_star, chi_1, depth, &ok)
        })
        .collect();
    if let Some(i) = settings.iter().position(|s| s.regime == Regime::He) {
        let ok: Vec<&Vec<Raw>> = raw.iter().filter_map(|r| r[i].as_ref()).collect();
        if !ok.is_empty() {
            hanin = Some(hanin_drift(&ok, width, law_mean, law_var));
        }
    }
    CriticalDepth { width, depth, nets, tanh_critical, runs, hanin, xi_curve: xi_curve(tanh_critical) }
}

/// Two unit vectors' worth of inputs (‖x_i‖²/n = 1 exactly) with correlation exactly
/// [`INPUT_CORRELATION`], as one batch of two rows.
fn input_pair(width: usize, rng: &mut scalar::rng::Rng) -> Vec<f64> {
    let g1: Vec<f64> = (0..width).map(|_| rng.normal()).collect();
    let g2: Vec<f64> = (0..width).map(|_| rng.normal()).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let e1: Vec<f64> = g1.iter().map(|v| v / dot(&g1, &g1).sqrt()).collect();
    let proj = dot(&g2, &e1);
    let r: Vec<f64> = g2.iter().zip(&e1).map(|(g, e)| g - proj * e).collect();
    let e2: Vec<f64> = r.iter().map(|v| v / dot(&r, &r).sqrt()).collect();
    let (c, s, n) = (INPUT_CORRELATION, (1.0 - INPUT_CORRELATION * INPUT_CORRELATION).sqrt(), (width as f64).sqrt());
    e1.iter().map(|v| v * n).chain(e1.iter().zip(&e2).map(|(a, b)| (c * a + s * b) * n)).collect()
}

/// One network of setting `s` on the pair `x`: each hidden layer's raw values; `None` if any is
/// not finite or a length is 0.
fn run_network(
    s: &Setting,
    weights: &[Vec<Vec<f64>>],
    biases: &[Vec<f64>],
    x: &[f64],
    probe: &[f64],
    ws: &mut Workspace<f64>,
) -> Option<Vec<Raw>> {
    let depth = weights.len();
    let width = x.len() / 2;
    let (scale, bias_scale) = ((s.sigma_w2 / width as f64).sqrt(), s.sigma_b2.sqrt());
    let layers: Vec<DenseLayer<f64>> = weights
        .iter()
        .zip(biases)
        .enumerate()
        .map(|(l, (rows, b))| {
            let scaled: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().map(|w| w * scale).collect()).collect();
            let bias = (s.sigma_b2 > 0.0).then(|| b.iter().map(|v| v * bias_scale).collect());
            let f = if l + 1 == depth { vectorised::Activation::Identity } else { super::engine_activation(s.f) };
            DenseLayer::from_out_in(&scaled, bias, f).expect("finite weights")
        })
        .collect();
    let net = Dense::new(layers, None).expect("consistent widths");
    let input = Batch::new(x, 2, width).expect("shape");
    let seed = Batch::new(probe, 2, width).expect("shape");
    net.gradients(input, seed, Loss::Linear, Normalisation::PerSample, ws).ok()?;
    let stats = ws.stats().expect("statistics are on by default");
    if stats.first_non_finite.is_some() {
        return None;
    }
    let n = width as f64;
    let x0 = x[..width].iter().map(|v| v * v).sum::<f64>();
    let top = stats.layers[depth - 2].activation.norm.powi(2);
    let out: Vec<Raw> = (1..depth)
        .map(|l| {
            let a = ws.activations(l).expect("a hidden layer");
            let (a1, a2) = a.split_at(width);
            let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
            let diff = a1.iter().zip(a2).map(|(p, q)| (p - q) * (p - q)).sum::<f64>();
            let (q1, q2) = (s.sigma_w2 * sq(a1) / n + s.sigma_b2, s.sigma_w2 * sq(a2) / n + s.sigma_b2);
            let decorrelation =
                (s.sigma_w2 * diff / (2.0 * n) - 0.5 * (q1.sqrt() - q2.sqrt()).powi(2)) / (q1 * q2).sqrt();
            Raw {
                forward: (sq(a1) + sq(a2)) / (2.0 * n),
                grad: stats.layers[l - 1].activation.norm.powi(2) / top,
                decorrelation,
                log_length: (sq(a1) / x0).ln(),
            }
        })
        .collect();
    let bad = |v: f64| !v.is_finite();
    (!out
        .iter()
        .any(|r| bad(r.forward) || bad(r.grad) || bad(r.decorrelation) || bad(r.log_length) || r.forward <= 0.0))
    .then_some(out)
}

/// A setting's layers: mean field beside the spread over the networks `ok`.
fn summarise(s: &Setting, q_star: Option<f64>, chi_1: f64, depth: usize, ok: &[&Vec<Raw>]) -> DepthRun {
    let q1 = q_star.unwrap_or(1.0);
    // q_1 … q_D: the first layer's variance is q1 by the inputs' construction.
    let q = layer_q(s.f, s.sigma_w2, s.sigma_b2, (q1 - s.sigma_b2) / s.sigma_w2, depth);
    // 1 − c_l, iterated as such (not as 1 − c, which stops at f64's spacing below 1).
    let eps: Vec<f64> = if s.f == Activation::Relu && s.sigma_b2 == 0.0 {
        // Bias-free ReLU's map does not depend on q or σ_w²: the closed form.
        std::iter::successors(Some(1.0 - INPUT_CORRELATION), |&e| Some(correlation::relu_decorrelation(e)))
            .take(depth)
            .collect()
    } else {
        correlation::decorrelations(s.f, s.sigma_w2, s.sigma_b2, q1, INPUT_CORRELATION, depth)
    };
    // ln Π_{k=l+1}^{D−1} χ(q_k), by l.
    let mut log_backward = vec![0.0; depth];
    for l in (1..depth - 1).rev() {
        log_backward[l - 1] = log_backward[l] + chi(s.f, s.sigma_w2, q[l]).ln();
    }
    let layers: Vec<DepthLayer> = if ok.is_empty() {
        Vec::new()
    } else {
        (1..depth)
            .map(|l| {
                let pick = |f: fn(&Raw) -> f64| Spread::of(&ok.iter().map(|r| f(&r[l - 1])).collect::<Vec<_>>());
                DepthLayer {
                    layer: l,
                    forward_theory: (q[l] - s.sigma_b2) / s.sigma_w2,
                    forward: pick(|r| r.forward),
                    backward_theory: log_backward[l - 1].exp(),
                    backward: pick(|r| r.grad),
                    decorrelation_theory: eps[l],
                    decorrelation: pick(|r| r.decorrelation),
                }
            })
            .collect()
    };
    // ξ_c is finite only in the ordered phase with q* > 0; on the critical line χ₁ is 1 to
    // rounding (its ξ_c infinite), and a fit of an exponential to a power law means nothing.
    let ordered = s.regime == Regime::Ordered && q_star.is_some();
    let xi_c = if ordered { depth_scale(chi_1) } else { None };
    let fit: Vec<(f64, f64)> = layers
        .iter()
        .filter(|d| d.decorrelation.mean > FIT_RANGE.0 && d.decorrelation.mean < FIT_RANGE.1)
        .map(|d| (d.layer as f64, d.decorrelation.mean.ln()))
        .collect();
    let xi_measured = if ordered && fit.len() >= 3 { slope(&fit).filter(|&m| m < 0.0).map(|m| -1.0 / m) } else { None };
    DepthRun {
        activation: s.f.name().to_string(),
        regime: s.regime,
        sigma_w2: s.sigma_w2,
        sigma_b2: s.sigma_b2,
        chi_1,
        q_star,
        xi_c,
        xi_measured,
        networks: ok.len(),
        layers,
    }
}

/// ln(‖a_l‖²/‖x‖²) over networks against its exact law, layer by layer.
fn hanin_drift(ok: &[&Vec<Raw>], width: usize, law_mean: f64, law_var: f64) -> HaninDrift {
    let nets = ok.len() as f64;
    let rows = (1..=ok[0].len())
        .map(|l| {
            let v: Vec<f64> = ok.iter().map(|r| r[l - 1].log_length).collect();
            let mean = v.iter().sum::<f64>() / nets;
            let var = if ok.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nets - 1.0) } else { 0.0 };
            HaninRow {
                layer: l,
                beta: l as f64 / width as f64,
                mean,
                var,
                var_se: var * (2.0 / (nets - 1.0).max(1.0)).sqrt(),
                exact_mean: l as f64 * law_mean,
                exact_var: l as f64 * law_var,
            }
        })
        .collect();
    HaninDrift { law_mean, law_var, rows }
}

/// The σ_w² of the ξ_c curve, as multiples of the critical σ_w².
pub const XI_GRID: [f64; 8] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/// ξ_c = −1/ln χ₁ against σ_w² at σ_b² = [`TANH_SIGMA_B2`], ordered phase.
fn xi_curve(critical: Option<f64>) -> Vec<(f64, f64)> {
    let Some(critical) = critical else { return Vec::new() };
    XI_GRID
        .iter()
        .filter_map(|m| {
            let s = m * critical;
            match fixed_point(Activation::Tanh, s, TANH_SIGMA_B2) {
                (FixedPoint::At(_), chi_1) => depth_scale(chi_1).map(|xi| (s, xi)),
                _ => None,
            }
        })
        .collect()
}

/// The point of the critical line at bias variance `sigma_b2`, as (σ_w², q*): solved in q*, where
/// the line is explicit — χ(q*) = 1 gives σ_w² = 1/E[φ′(√q*·z)²], and q* = σ_w²·E[φ(√q*·z)²] + σ_b²
/// then gives σ_b²(q*) = q* − E\[φ²\]/E\[φ′²\] — by bisection on ln q* over [1e−6, 100] to a
/// relative width of 1e−13 (σ_b²(q*) grows with q* for tanh and the sigmoid: a larger fixed point
/// needs more bias). Independent of [`super::meanfield::critical_sigma_w2`], which bisects on σ_w²
/// through the fixed-point iteration; `None` if `sigma_b2` is not inside σ_b²'s range there.
pub fn critical_line(f: Activation, sigma_b2: f64) -> Option<(f64, f64)> {
    let at = |q: f64| {
        let s = q.sqrt();
        let sigma_w2 = 1.0 / gaussian_expectation(|z| f.derivative(s * z).powi(2));
        (sigma_w2, q - sigma_w2 * gaussian_expectation(|z| f.value(s * z).powi(2)))
    };
    let (mut lo, mut hi) = (1e-6f64.ln(), 100f64.ln());
    if !(at(lo.exp()).1 < sigma_b2 && at(hi.exp()).1 > sigma_b2) {
        return None;
    }
    while hi - lo > 1e-13 {
        let mid = 0.5 * (lo + hi);
        if at(mid.exp()).1 < sigma_b2 { lo = mid } else { hi = mid }
    }
    let q = (0.5 * (lo + hi)).exp();
    Some((at(q).0, q))
}
