//! Section 3, the sigmoid's critical line: where χ₁ = 1 for bias-free sigmoid networks, by theory
//! ([`meanfield::critical_sigma_w2`]) and measured.
//!
//! The bound σ′ ≤ 1/4 caps χ(q) = σ_w²·E[σ′(√q·z)²] at σ_w²/16, not at 1: a dense layer multiplies
//! by σ_w² as well. With σ_b = 0 the sigmoid's outputs are positive, E[σ(√q·z)²] → 1/2 as q grows,
//! so the fixed point is large, q* ≈ σ_w²/2, and its mean squared slope small:
//!
//! ```text
//! E[σ′(√q·z)²] ≈ (1/√(2πq))·∫σ′(u)²du = 1/(6·√(2πq))      (∫σ′² du = ∫₀¹ p(1 − p) dp = 1/6)
//! χ₁ ≈ σ_w²/(6·√(π·σ_w²)) = √σ_w² / (6√π)
//! ```
//!
//! which reaches 1 near σ_w² = 36π ≈ 113 (the quadrature's value is the one reported). Networks of
//! `depth` bias-free sigmoid layers (the top linear) at multiples of that σ_w² are differentiated
//! under the probe seed of [`super::dense_init`] (a backward seed independent of the weights), and
//! their per-layer factor of mean ‖∂L/∂a_l‖² set beside mean field's.

use super::dense_init::hidden_factor;
use super::meanfield::{self, FixedPoint, fixed_point};
use super::{Config, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;
use vectorised::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};

/// The multiples of the critical σ_w² measured (the same draws, scaled: a controlled comparison).
pub const MULTIPLES: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// Where the search for the sigmoid's critical σ_w² looks.
pub const SEARCH: (f64, f64) = (1.0, 1e4);

/// The sigmoid's critical line, by theory and measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SigmoidCritical {
    /// Units per layer.
    pub width: usize,
    /// Layers (the top one linear).
    pub depth: usize,
    /// Samples per batch.
    pub batch: usize,
    /// Networks per row.
    pub nets: usize,
    /// Mean field's σ_w² at which χ₁ = 1 (σ_b = 0), if the search found it.
    pub sigma_w2: Option<f64>,
    /// q* there.
    pub q_star: Option<f64>,
    /// The asymptotic estimate 36π of the module's derivation, beside the quadrature's value.
    pub asymptotic: f64,
    /// One row per multiple of `sigma_w2`.
    pub rows: Vec<SigmoidRow>,
    /// Where the measured per-layer factor crosses 1, interpolated between the rows that straddle
    /// it (linearly in log σ_w² against log factor); `None` if no two rows straddle it.
    pub measured_critical: Option<f64>,
}

/// One σ_w², predicted and measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SigmoidRow {
    /// σ_w² = width·Var(w).
    pub sigma_w2: f64,
    /// σ_w² as a multiple of the critical σ_w² (one of [`MULTIPLES`]).
    pub multiple: f64,
    /// Mean field's χ₁ = χ(q*).
    pub chi_1: f64,
    /// Mean field's per-layer factor in networks of this depth ([`hidden_factor`]).
    pub predicted: f64,
    /// Measured: 10^(log10(mean ‖∂L/∂a_1‖² / mean ‖∂L/∂a_{D−1}‖²)/(D − 2)), the probe seed.
    pub measured: f64,
    /// log10 `measured`.
    pub log10_measured: f64,
    /// The standard error of log10 `measured` over networks (from the per-network log ratios).
    pub se: f64,
    /// Networks whose gradients were finite.
    pub networks: usize,
}

/// Computes the sigmoid's critical line and measures around it.
pub fn compute(config: &Config) -> SigmoidCritical {
    let (width, depth, batch, nets) = if config.quick { (32, 8, 8, 4) } else { (128, 30, 16, 8) };
    let critical = meanfield::critical_sigma_w2(Activation::Sigmoid, 0.0, SEARCH.0, SEARCH.1);
    let q_star = critical.and_then(|s| match fixed_point(Activation::Sigmoid, s, 0.0).0 {
        FixedPoint::At(q) => Some(q),
        _ => None,
    });
    let rows = match critical {
        Some(critical) => {
            // Per network, per multiple: log10(‖∂L/∂a_1‖² / ‖∂L/∂a_{D−1}‖²) and the two norms.
            let runs: Vec<Vec<Option<(f64, f64)>>> = (0..nets)
                .into_par_iter()
                .map(|k| {
                    let mut rng = stream_rng(config.seed, Stream::SigmoidCritical, k as u64);
                    let unit = Init::Normal { std: 1.0 };
                    let weights: Vec<Vec<Vec<f64>>> =
                        (0..depth).map(|_| unit.matrix(width, width, &mut rng).expect("valid shape")).collect();
                    let x: Vec<f64> = (0..batch * width).map(|_| rng.normal()).collect();
                    let probe: Vec<f64> = (0..batch * width).map(|_| rng.normal()).collect();
                    let mut ws = Workspace::new();
                    MULTIPLES
                        .iter()
                        .map(|m| {
                            let scale = (m * critical / width as f64).sqrt();
                            probe_ends(&weights, scale, &x, &probe, batch, &mut ws)
                        })
                        .collect()
                })
                .collect();
            MULTIPLES
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let sigma_w2 = m * critical;
                    let ok: Vec<(f64, f64)> = runs.iter().filter_map(|r| r[i]).collect();
                    let steps = (depth - 2) as f64;
                    let mean = |v: &mut dyn Iterator<Item = f64>| v.sum::<f64>() / ok.len() as f64;
                    let log_ratio = (mean(&mut ok.iter().map(|r| r.0)) / mean(&mut ok.iter().map(|r| r.1))).log10();
                    let per_net: Vec<f64> = ok.iter().map(|r| (r.0 / r.1).log10() / steps).collect();
                    let m_net = per_net.iter().sum::<f64>() / per_net.len() as f64;
                    let var = per_net.iter().map(|v| (v - m_net).powi(2)).sum::<f64>() / (per_net.len() as f64 - 1.0);
                    SigmoidRow {
                        sigma_w2,
                        multiple: *m,
                        chi_1: fixed_point(Activation::Sigmoid, sigma_w2, 0.0).1,
                        predicted: hidden_factor(Activation::Sigmoid, sigma_w2, depth).expect("depth ≥ 3"),
                        measured: 10f64.powf(log_ratio / steps),
                        log10_measured: log_ratio / steps,
                        se: (var / per_net.len() as f64).sqrt(),
                        networks: ok.len(),
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let measured_critical = crossing(&rows);
    SigmoidCritical {
        width,
        depth,
        batch,
        nets,
        sigma_w2: critical,
        q_star,
        asymptotic: 36.0 * std::f64::consts::PI,
        rows,
        measured_critical,
    }
}

/// Where log10 `measured` crosses 0 between two consecutive rows, interpolated linearly against
/// log σ_w².
pub fn crossing(rows: &[SigmoidRow]) -> Option<f64> {
    rows.windows(2).find_map(|w| {
        let (a, b) = (w[0].log10_measured, w[1].log10_measured);
        (a < 0.0 && b >= 0.0).then(|| {
            let (la, lb) = (w[0].sigma_w2.ln(), w[1].sigma_w2.ln());
            (la + (lb - la) * (-a) / (b - a)).exp()
        })
    })
}

/// ‖∂L/∂a_1‖² and ‖∂L/∂a_{D−1}‖² of one bias-free sigmoid network (weights `scale`·`weights`, the
/// top layer linear) under the linear loss with seed `probe`; `None` if a value was not finite.
fn probe_ends(
    weights: &[Vec<Vec<f64>>],
    scale: f64,
    x: &[f64],
    probe: &[f64],
    batch: usize,
    ws: &mut Workspace<f64>,
) -> Option<(f64, f64)> {
    let depth = weights.len();
    let width = x.len() / batch;
    let layers: Vec<DenseLayer<f64>> = weights
        .iter()
        .enumerate()
        .map(|(l, rows)| {
            let scaled: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().map(|w| w * scale).collect()).collect();
            let f = if l + 1 == depth { vectorised::Activation::Identity } else { vectorised::Activation::Sigmoid };
            DenseLayer::from_out_in(&scaled, None, f).expect("finite weights")
        })
        .collect();
    let net = Dense::new(layers, None).expect("consistent widths");
    let input = Batch::new(x, batch, width).expect("shape");
    let seed = Batch::new(probe, batch, width).expect("shape");
    net.gradients(input, seed, Loss::Linear, Normalisation::PerSample, ws).ok()?;
    let stats = ws.stats().expect("statistics are on by default");
    if stats.first_non_finite.is_some() {
        return None;
    }
    let sq = |l: usize| stats.layers[l].activation.norm.powi(2);
    Some((sq(0), sq(depth - 2)))
}
