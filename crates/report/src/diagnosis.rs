//! `diagnose`: the per-layer measurements of a model file's network and batch, and one verdict.
//!
//! The measurements are the fast engine's [`vectorised::Dense::diagnose`] (log10 norms exact
//! beyond `f64`'s range, tested against the oracle in `crosscheck`; the same quantities on the
//! oracle are [`diagnose_on_the_oracle`], slower, which the tests hold the engine to). Per layer
//! l (1-based):
//!
//! ```text
//! gain_l           = ‖∂L/∂z_{l−1}‖ / ‖∂L/∂z_l‖                    (l ≥ 2)
//! predicted_gain_l = √(σ²_{w,l} · E[f′_{l−1}(z)²]),  σ²_{w,l} = n_{l−1} · mean(W_l²)  (mean field)
//! r_l              = log10 ‖∂L/∂z_l‖ − log10 ‖∂L/∂z_L‖            (decades below the top layer)
//! ```
//!
//! σ²_{w,l} takes the weights' mean square, which is their variance when their mean is 0 (mean
//! field's assumption) and which the gain depends on in any case: averaged over the directions of
//! ∂L/∂z_l, ‖W_lᵀ·∂L/∂z_l‖² = ‖W_l‖_F²/n_l·‖∂L/∂z_l‖² = n_{l−1}·mean(W_l²)·‖∂L/∂z_l‖². For a
//! layer of one unit with one input the prediction is then the measured gain |w·f′(z)| itself.
//! Mean field has no layer normalisation in it: a layer with a `"norm"` has no prediction.
//!
//! The mean field ignores the seed: where the seed depends on the weights (squared error's
//! 2(y − t)), the top layers' measured gains differ from it. The verdict's criteria and their
//! precedence are the table in `docs/model-format.md` (the constants below).

mod oracle;

use crate::error::Error;
use crate::model::Model;
use crate::sections::{engine_activation, engine_skip};
use scalar::dense::Loss;
use vectorised::dense::{Batch, DenseLayer, LayerNorm, NormAt, NormKind, SeedAt, Workspace, flatten_rows};
use vectorised::stats::{DEFAULT_SATURATION_THRESHOLD, Stage};

/// forward_collapse: a layer's input RMS at or below this fraction of the input batch's (or an
/// all-zero input).
pub const COLLAPSE_RATIO: f64 = 1e-6;
/// dead: a relu layer with at least this fraction of units inactive for the whole batch.
pub const DEAD_FRACTION: f64 = 0.5;
/// saturated: a layer (not relu) with at least this fraction of (sample, unit) pairs saturated.
pub const SATURATED_FRACTION: f64 = 0.5;
/// vanishing / exploding: ‖∂L/∂z_l‖ more than this many decades below / above the top layer's.
pub const DECADES: f64 = 3.0;
/// "saturated": |f′(z)| below this fraction of sup |f′|.
pub const SATURATION_THRESHOLD: f64 = DEFAULT_SATURATION_THRESHOLD;

/// The verdict, in order of precedence (the first that holds wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A NaN or ±∞ in the forward or backward pass.
    NonFinite,
    /// Relu units inactive for the whole batch (a layer of them also collapses the signal above).
    Dead,
    /// A layer's input carries (almost) nothing.
    ForwardCollapse,
    /// Units whose f′ is (almost) 0.
    Saturated,
    /// ‖∂L/∂z_l‖ grows by more than [`DECADES`] below the top.
    Exploding,
    /// ‖∂L/∂z_l‖ falls by more than [`DECADES`] below the top.
    Vanishing,
    /// None of the above.
    Healthy,
}

impl Verdict {
    /// The identifier programs match.
    pub fn id(self) -> &'static str {
        match self {
            Verdict::NonFinite => "non_finite",
            Verdict::ForwardCollapse => "forward_collapse",
            Verdict::Dead => "dead",
            Verdict::Saturated => "saturated",
            Verdict::Exploding => "exploding",
            Verdict::Vanishing => "vanishing",
            Verdict::Healthy => "healthy",
        }
    }
}

/// One layer's row.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRow {
    /// l, 1-based.
    pub layer: usize,
    /// The activation's name.
    pub activation: &'static str,
    /// log10 ‖∂L/∂W_l‖ (`None`: not computed; −∞: exactly 0).
    pub log10_weight_grad_norm: Option<f64>,
    /// log10 ‖∂L/∂b_l‖.
    pub log10_bias_grad_norm: Option<f64>,
    /// log10 ‖∂L/∂z_l‖.
    pub log10_delta_norm: Option<f64>,
    /// The layer's normalisation's γ and β, where it has one.
    pub norm: Option<NormRow>,
    /// RMS of a_l.
    pub activation_rms: f64,
    /// Saturated fraction.
    pub saturated_fraction: f64,
    /// Dead fraction.
    pub dead_fraction: f64,
    /// log10 of the measured gain (l ≥ 2, both norms finite and non-zero).
    pub log10_gain: Option<f64>,
    /// The mean-field gain (l ≥ 2).
    pub predicted_gain: Option<f64>,
}

/// The gradient norms of a layer normalisation's parameters, γ and β (those of γ = 1 and β = 0
/// where the file leaves them out, as `grad` gives their gradients).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormRow {
    /// log10 ‖∂L/∂γ_l‖ (`None`: not computed; −∞: exactly 0).
    pub log10_weight_grad_norm: Option<f64>,
    /// log10 ‖∂L/∂β_l‖.
    pub log10_bias_grad_norm: Option<f64>,
}

/// Where the first non-finite value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFiniteAt {
    /// Forward (`true`) or backward.
    pub forward: bool,
    /// In an identity shortcut's sum f(z) + a (forward; otherwise the value is z or ∂L/∂z).
    pub shortcut_sum: bool,
    /// The layer, 1-based.
    pub layer: usize,
    /// The unit.
    pub unit: usize,
    /// The sample.
    pub sample: Option<usize>,
}

/// The measurement behind the verdict: which quantity, at which layer, its value and threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// The layer.
    pub layer: usize,
    /// The measured value (RMS ratio, fraction, decades).
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosisReport {
    /// The verdict.
    pub verdict: Verdict,
    /// The layer where it starts.
    pub from_layer: Option<usize>,
    /// The measurement behind it (none for healthy and non_finite).
    pub evidence: Option<Evidence>,
    /// Per layer.
    pub layers: Vec<LayerRow>,
    /// The first NaN or ±∞.
    pub non_finite: Option<NonFiniteAt>,
    /// The input batch's RMS.
    pub input_rms: f64,
    /// The geometric mean of the predicted gains (layers ≥ 2), if any.
    pub mean_predicted_gain: Option<f64>,
    /// The loss's name (the seed's origin: squared error's depends on the weights).
    pub loss: &'static str,
    /// The batch size.
    pub batch: usize,
    /// Where the network's shortcut joins, if any layer receives one (the remedy depends on it).
    pub shortcut: Option<scalar::Skip>,
    /// Whether a layer normalises (those layers have no predicted gain). Not in the JSON
    /// contract.
    pub normalised: bool,
}

/// The diagnosis of a model's network and batch, measured by the engine.
///
/// # Errors
/// What the engine refuses.
pub fn diagnose(model: &Model) -> Result<DiagnosisReport, Error> {
    report_of(model, Measure::Engine)
}

/// [`diagnose`] with every measurement made on the oracle: slower, and the same diagnosis (the
/// tests hold them to it).
///
/// # Errors
/// What the oracle refuses.
pub fn diagnose_on_the_oracle(model: &Model) -> Result<DiagnosisReport, Error> {
    report_of(model, Measure::Oracle)
}

/// Which code measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Measure {
    Engine,
    Oracle,
}

fn report_of(model: &Model, measure: Measure) -> Result<DiagnosisReport, Error> {
    let net = model.net();
    let layers: Vec<DenseLayer<f64>> = net
        .layers()
        .iter()
        .map(|l| DenseLayer::from_out_in(&l.weight, l.bias.clone(), engine_activation(l.activation)))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::input(e.to_string()))?;
    let mut engine = vectorised::Dense::new(layers, net.shortcut())
        .map_err(|e| Error::input(e.to_string()))?
        .with_skip(engine_skip(net.skip()));
    if net.names_shortcut_layers() {
        engine = engine.with_shortcut_layers(&net.shortcut_layers()).map_err(|e| Error::input(e.to_string()))?;
    }
    let norms = net.norms().iter().map(|n| n.as_ref().map(engine_norm).transpose()).collect::<Result<_, _>>();
    let engine =
        engine.with_norms(norms.map_err(|e| Error::input(e.to_string()))?).map_err(|e| Error::input(e.to_string()))?;
    let batch = model.batch();
    let (n_in, n_out) = (net.input_width(), net.output_width());
    let x = flatten_rows("input", model.input(), n_in).map_err(|e| Error::input(e.to_string()))?;
    let t = flatten_rows("target", model.target(), n_out).map_err(|e| Error::input(e.to_string()))?;
    // The seed ∂S/∂(output) of the model's loss, S = ν·L: any loss whose gradient at the output
    // or at the logits is known slots in here.
    let (at, loss_name) = match model.loss() {
        Loss::SquaredError => (SeedAt::Output, "squared_error"),
        Loss::BinaryCrossEntropy => (SeedAt::Logit, "bce"),
        Loss::BceWithLogits => (SeedAt::Output, "bce_with_logits"),
        Loss::CrossEntropy => (SeedAt::Output, "cross_entropy"),
        Loss::Linear => (SeedAt::Output, "linear"),
    };
    let nu = model.denominator();
    let loss = model.loss();
    let seed = |y: &[f64], s: &mut [f64]| {
        for ((s, y), t) in s.chunks_mut(n_out).zip(y.chunks(n_out)).zip(t.chunks(n_out)) {
            seed_row(loss, y, t, s);
        }
    };
    let mut ws = Workspace::new();
    let measured;
    let d = match measure {
        Measure::Engine => {
            ws.set_stats(Some(SATURATION_THRESHOLD)).map_err(|e| Error::input(e.to_string()))?;
            let input = Batch::new(&x, batch, n_in).map_err(|e| Error::input(e.to_string()))?;
            engine.diagnose(input, seed, at, nu, &mut ws).map_err(|e| Error::input(e.to_string()))?
        }
        Measure::Oracle => {
            measured = oracle::measure(model, at, nu)?;
            &measured
        }
    };

    let weights = net.layers();
    let rows: Vec<LayerRow> = d
        .layers
        .iter()
        .enumerate()
        .map(|(idx, m)| {
            let below = idx.checked_sub(1).map(|i| &d.layers[i]);
            let log10_gain = below.and_then(|b| match (b.log10_delta_norm, m.log10_delta_norm) {
                (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => Some(lo - hi),
                _ => None,
            });
            let normalised = net.norms()[idx].is_some();
            let predicted_gain = below
                .filter(|_| !normalised)
                .map(|b| (weight_second_moment_gain(&weights[idx].weight) * b.mean_square_derivative).sqrt());
            LayerRow {
                layer: idx + 1,
                activation: weights[idx].activation.name(),
                log10_weight_grad_norm: m.log10_weight_grad_norm,
                log10_bias_grad_norm: m.log10_bias_grad_norm,
                log10_delta_norm: m.log10_delta_norm,
                norm: normalised.then_some(NormRow {
                    log10_weight_grad_norm: m.log10_norm_weight_grad_norm,
                    log10_bias_grad_norm: m.log10_norm_bias_grad_norm,
                }),
                activation_rms: m.activation_rms,
                saturated_fraction: m.saturated_fraction,
                dead_fraction: m.dead_fraction,
                log10_gain,
                predicted_gain: predicted_gain.filter(|g| g.is_finite()),
            }
        })
        .collect();
    let non_finite = d.first_non_finite.map(|nf| NonFiniteAt {
        forward: matches!(nf.stage, Stage::Forward | Stage::ShortcutSum),
        shortcut_sum: nf.stage == Stage::ShortcutSum,
        layer: nf.layer,
        unit: nf.unit,
        sample: nf.sample,
    });
    let predicted: Vec<f64> = rows.iter().filter_map(|r| r.predicted_gain).filter(|&g| g > 0.0).collect();
    let mean_predicted_gain =
        (!predicted.is_empty()).then(|| (predicted.iter().map(|g| g.ln()).sum::<f64>() / predicted.len() as f64).exp());
    let (verdict, from_layer, evidence) = verdict(&rows, non_finite, d.input_rms);
    Ok(DiagnosisReport {
        verdict,
        from_layer,
        evidence,
        layers: rows,
        non_finite,
        input_rms: d.input_rms,
        mean_predicted_gain,
        loss: loss_name,
        batch,
        shortcut: (!net.shortcut_layers().is_empty()).then(|| net.skip()),
        normalised: net.norms().iter().any(Option::is_some),
    })
}

/// The engine's copy of the oracle's normalisation.
fn engine_norm(n: &scalar::dense::LayerNorm) -> Result<LayerNorm<f64>, vectorised::Error> {
    let at = match n.at {
        scalar::dense::NormAt::Input => NormAt::Input,
        scalar::dense::NormAt::PreActivation => NormAt::PreActivation,
    };
    let kind = match n.kind {
        scalar::dense::NormKind::Layer => NormKind::Layer,
        scalar::dense::NormKind::Rms => NormKind::Rms,
    };
    Ok(LayerNorm::new(n.weight.clone(), n.bias.clone(), n.eps, at)?.with_kind(kind))
}

/// σ²_w = fan-in × the mean square of the weights `rows[j][i]`.
fn weight_second_moment_gain(rows: &[Vec<f64>]) -> f64 {
    let fan_in = rows[0].len() as f64;
    let n = (rows.len() * rows[0].len()) as f64;
    fan_in * rows.iter().flatten().map(|w| w * w).sum::<f64>() / n
}

/// The criteria in order of precedence (module docs; `docs/model-format.md`).
fn verdict(
    rows: &[LayerRow],
    non_finite: Option<NonFiniteAt>,
    input_rms: f64,
) -> (Verdict, Option<usize>, Option<Evidence>) {
    if let Some(nf) = non_finite {
        return (Verdict::NonFinite, Some(nf.layer), None);
    }
    let first = |f: &dyn Fn(&LayerRow) -> Option<f64>, threshold: f64| {
        rows.iter()
            .find_map(|r| f(r).filter(|&v| v >= threshold).map(|v| Evidence { layer: r.layer, value: v, threshold }))
    };
    if let Some(e) = first(&|r| Some(r.dead_fraction), DEAD_FRACTION) {
        return (Verdict::Dead, Some(e.layer), Some(e));
    }
    // Layer l's input: the batch for l = 1, a_{l−1} above.
    let collapsed = (0..rows.len()).find_map(|idx| {
        let rms = if idx == 0 { input_rms } else { rows[idx - 1].activation_rms };
        let ratio = if input_rms > 0.0 { rms / input_rms } else { 0.0 };
        (input_rms == 0.0 || ratio <= COLLAPSE_RATIO).then_some(Evidence {
            layer: idx + 1,
            value: ratio,
            threshold: COLLAPSE_RATIO,
        })
    });
    if let Some(e) = collapsed {
        return (Verdict::ForwardCollapse, Some(e.layer), Some(e));
    }
    // A relu's f′ = 0 is counted as saturated in the table, but inactivity is a relu's normal
    // state (half its inputs): relu layers are judged by `dead` alone.
    if let Some(e) = first(&|r| (r.activation != "relu").then_some(r.saturated_fraction), SATURATED_FRACTION) {
        return (Verdict::Saturated, Some(e.layer), Some(e));
    }
    let top = rows.last().and_then(|r| r.log10_delta_norm).unwrap_or(f64::NEG_INFINITY);
    if top.is_finite() {
        // The highest layer past the threshold: where the growth or decay has first built up.
        let past = |sign: f64| {
            rows.iter().rev().find_map(|r| {
                let decades = r.log10_delta_norm? - top;
                (sign * decades > DECADES).then_some(Evidence {
                    layer: r.layer,
                    value: decades,
                    threshold: sign * DECADES,
                })
            })
        };
        if let Some(e) = past(1.0) {
            return (Verdict::Exploding, Some(e.layer), Some(e));
        }
        if let Some(e) = past(-1.0) {
            return (Verdict::Vanishing, Some(e.layer), Some(e));
        }
    }
    (Verdict::Healthy, None, None)
}

/// One sample's ∂S/∂(output) for `loss`, S the batch's unreduced sum (∂S/∂z_L for
/// `BinaryCrossEntropy`, whose sigmoid is folded into the loss): the closed forms of
/// `scalar::dense`'s losses.
fn seed_row(loss: Loss, y: &[f64], t: &[f64], s: &mut [f64]) {
    match loss {
        Loss::SquaredError => s.iter_mut().zip(y).zip(t).for_each(|((s, y), t)| *s = 2.0 * (y - t)),
        Loss::BinaryCrossEntropy => s.iter_mut().zip(y).zip(t).for_each(|((s, y), t)| *s = y - t),
        Loss::BceWithLogits => s.iter_mut().zip(y).zip(t).for_each(|((s, y), t)| *s = 1.0 / (1.0 + (-y).exp()) - t),
        Loss::CrossEntropy => {
            // (Σ_j t_j)·softmax(y) − t, the largest output subtracted first.
            let top = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = y.iter().map(|v| (v - top).exp()).sum();
            let mass: f64 = t.iter().sum();
            s.iter_mut().zip(y).zip(t).for_each(|((s, y), t)| *s = mass * (y - top).exp() / total - t);
        }
        Loss::Linear => s.copy_from_slice(t),
    }
}
