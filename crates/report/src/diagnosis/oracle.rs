//! The diagnosis's measurements on the oracle instead of the engine
//! ([`super::diagnose_on_the_oracle`]): the same quantities, defined as the engine's
//! ([`vectorised::stats`]). The forward pass is the oracle's trace in `f64`, the log10 norms come
//! from [`scalar::dense::Dense::magnitudes`] (backward in `Ext`, exact beyond `f64`'s range; with
//! them the normalisations' γ and β), and the saturated and dead fractions, the RMS and E[f′²]
//! are counted from the trace. Slower than the engine (every sample's backward in `Ext`);
//! `crates/report/tests/it/diagnose.rs` and `diagnose_norm.rs` check that both give the same
//! diagnosis.

use super::{SATURATION_THRESHOLD, seed_row};
use crate::error::Error;
use crate::model::Model;
use scalar::Activation;
use scalar::Skip;
use scalar::dense::{SeedAt as OracleSeedAt, Trace};
use vectorised::dense::{Diagnosis, LayerDiagnosis, SeedAt};
use vectorised::stats::{NonFinite, Stage};

/// What [`vectorised::Dense::diagnose`] measures, measured on the oracle.
pub(super) fn measure(model: &Model, at: SeedAt, nu: f64) -> Result<Diagnosis, Error> {
    let net = model.net();
    let n_layers = net.layers().len();
    let widths = net.widths();
    let traces: Vec<Trace> = model.input().iter().map(|x| net.forward_trace(x)).collect::<Result<_, _>>()?;
    let batch = traces.len();
    let mean_square = |sum: f64, n: usize| sum / (batch * n) as f64;
    let mut diagnosis = Diagnosis {
        input_rms: rms(&mut model.input().iter().flatten(), batch * widths[0]),
        layers: Vec::with_capacity(n_layers),
        first_non_finite: None,
    };
    for (idx, layer) in net.layers().iter().enumerate() {
        let n = widths[idx + 1];
        let f = layer.activation;
        let limit = SATURATION_THRESHOLD * f.sup_derivative();
        let (mut saturated, mut alive, mut d_sq) = (0usize, vec![false; n], 0.0);
        for trace in &traces {
            for (j, &z) in trace.z[idx].iter().enumerate() {
                let d = f.derivative(z);
                saturated += usize::from(d.abs() < limit);
                alive[j] |= d != 0.0;
                d_sq += d * d;
            }
        }
        let dead = if f == Activation::Relu { alive.iter().filter(|&&a| !a).count() } else { 0 };
        diagnosis.layers.push(LayerDiagnosis {
            activation_rms: rms(&mut traces.iter().flat_map(|t| &t.a[idx + 1]), batch * n),
            mean_square_derivative: mean_square(d_sq, n),
            saturated_fraction: saturated as f64 / (batch * n) as f64,
            dead_fraction: dead as f64 / n as f64,
            ..LayerDiagnosis::default()
        });
    }
    diagnosis.first_non_finite = first_forward_non_finite(model, &traces);
    if diagnosis.first_non_finite.is_some() {
        return Ok(diagnosis);
    }
    let n_out = widths[n_layers];
    let mut seeds = vec![vec![0.0; n_out]; batch];
    for ((seed, trace), t) in seeds.iter_mut().zip(&traces).zip(model.target()) {
        seed_row(model.loss(), &trace.a[n_layers], t, seed);
    }
    let bad_seed = seeds.iter().enumerate().find_map(|(b, s)| s.iter().position(|v| !v.is_finite()).map(|j| (b, j)));
    if let Some((sample, unit)) = bad_seed {
        let stage = Stage::ActivationGradient;
        diagnosis.first_non_finite = Some(NonFinite { layer: n_layers, unit, sample: Some(sample), stage });
        return Ok(diagnosis);
    }
    let at = match at {
        SeedAt::Output => OracleSeedAt::Output,
        SeedAt::Logit => OracleSeedAt::Logit,
    };
    let magnitudes = net.magnitudes(model.input(), &seeds, at, nu)?;
    for (row, m) in diagnosis.layers.iter_mut().zip(&magnitudes) {
        row.log10_weight_grad_norm = Some(m.log10_weight_grad_norm);
        row.log10_bias_grad_norm = Some(m.log10_bias_grad_norm);
        row.log10_delta_norm = Some(m.log10_delta_norm);
        row.log10_norm_weight_grad_norm = m.norm.map(|n| n.log10_weight_grad_norm);
        row.log10_norm_bias_grad_norm = m.norm.map(|n| n.log10_bias_grad_norm);
    }
    Ok(diagnosis)
}

/// √(Σ v²/n) without overflow or underflow of the squares (the largest |v| factored out, as the
/// engine's norms are scaled); ∞ where a value is not finite.
fn rms(values: &mut dyn Iterator<Item = &f64>, n: usize) -> f64 {
    let values: Vec<f64> = values.copied().collect();
    let top = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if !values.iter().all(|v| v.is_finite()) {
        return f64::INFINITY;
    }
    if top == 0.0 {
        return 0.0;
    }
    top * (values.iter().map(|v| (v / top).powi(2)).sum::<f64>() / n as f64).sqrt()
}

/// The engine's scan order: layer by layer upwards, in each layer its z (the first sample, then
/// unit), then an identity shortcut's sum a = f(z) + a_{l−s}.
fn first_forward_non_finite(model: &Model, traces: &[Trace]) -> Option<NonFinite> {
    let net = model.net();
    let joins = net.shortcut_layers();
    (0..net.layers().len()).find_map(|idx| {
        let first = |values: &dyn Fn(&Trace) -> &[f64], stage: Stage| {
            traces.iter().enumerate().find_map(|(b, t)| {
                values(t).iter().position(|v| !v.is_finite()).map(|j| NonFinite {
                    layer: idx + 1,
                    unit: j,
                    sample: Some(b),
                    stage,
                })
            })
        };
        let identity = net.skip() == Skip::Identity && joins.contains(&(idx + 1));
        first(&|t| &t.z[idx], Stage::Forward)
            .or_else(|| identity.then(|| first(&|t| &t.a[idx + 1], Stage::ShortcutSum)).flatten())
    })
}
