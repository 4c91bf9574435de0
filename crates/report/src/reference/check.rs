//! Checks: their gradients against the reference, entry by entry, and the verdict (see the
//! [parent module](super) for which layer is "the first wrong" one).

mod branches;
mod scales;

pub use branches::{KINK_BAND, MAX_KINK_CANDIDATES, OtherBranchTaken};

use super::convention::{Convention, fitted_factor, ratio};
use super::render;
use super::{LayerGradients, ModelGradients, model_gradients};
use crate::error::Error;
use crate::model::{ClaimedGradients, ClaimedLayer, Model, count};
use scalar::dense::OtherBranch;
use scales::Scales;
use serde::Serialize;
use std::fmt;

/// The default absolute tolerance of [`Tolerance`], relative to the layer's scale s
/// ([`LayerCheck::scale`]: the size of the rounding error a correct backward pass makes in the
/// layer, in units of the unit roundoff; `docs/derivation.md` §10a).
///
/// Two correct `f64` backprops differ by rounding only, about u·s each (u = 2⁻⁵³ ≈ 1.1e−16),
/// where s carries what the pass's sums cancel and the samples' terms the batch's sum adds. 1e−8·s
/// leaves a margin of ~10⁸ over that estimate for what it leaves out (the forward pass's rounding),
/// and covers entries whose reference is near 0 because the samples cancel (where no relative
/// tolerance can work). Being relative to s, it shrinks with the gradients through a vanishing
/// network, where a fixed 1e−8 would pass any gradient of a layer whose entries are 1e−13.
pub const DEFAULT_ATOL: f64 = 1e-8;

/// The default relative tolerance of [`Tolerance`]: 1e−6, a margin of ~10⁹ over `f64` rounding
/// for different summation orders or formulas (σ(1−σ) against e^{−|z|}/(1+e^{−|z|})²). A real
/// bug — a missing σ′ (≤ 1/4), a transposed weight, a sign, a forgotten 1/B — is an O(1)
/// relative error and fails by orders of magnitude. For gradients computed in `f32`, use
/// [`Tolerance::f32`].
pub const DEFAULT_RTOL: f64 = 1e-6;

/// The relative tolerance of [`Tolerance::f32`]: 1e−3 ≈ 16,777·u with u = 2⁻²⁴ ≈ 5.96e−8, `f32`'s
/// unit roundoff. A sum of K rounded products is within γ_K ≈ K·u of the exact sum relative to
/// the sum of the terms' magnitudes (Higham, *Accuracy and Stability*, §3.1), so 1e−3 holds for
/// K ≤ 16,777 terms in the worst case and, as rounding errors add like a random walk (√K·u), for
/// K up to ~10⁸ in practice; a convention or backward bug is still an O(1) relative error.
pub const F32_RTOL: f64 = 1e-3;

/// The absolute tolerance of [`Tolerance::f32`], relative to the layer's scale s: 1e−4·s, about
/// 1,700 times u·s (u = 2⁻²⁴), the estimate of a correct `f32` backward pass's rounding error
/// (`docs/derivation.md` §10a). The margin is for what the estimate leaves out: `f32` code rounds
/// its inputs and weights too, and its forward pass. The engine's `f32` gradients, a correct `f32`
/// backprop, pass it on random networks (crosscheck's `engine::check_passes`).
pub const F32_ATOL: f64 = 1e-4;

/// The floor of [`Tolerance::f32`]: `f32`'s smallest normal number, 2⁻¹²⁶ ≈ 1.2e−38. Below it an
/// `f32` gradient underflows to a subnormal or to 0, which is `f32`'s range and not a bug.
pub const F32_FLOOR: f64 = f32::MIN_POSITIVE as f64;

/// When an entry passes: |theirs − ref| ≤ atol·s + rtol·|ref| + floor, with s the scale of its
/// layer ([`LayerCheck::scale`]) or of the loss, and floor 0 but for [`Tolerance::f32`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    /// The absolute part, relative to the scale.
    pub atol: f64,
    /// The relative part.
    pub rtol: f64,
    /// Below this every difference passes: where the precision of their gradients underflows.
    pub floor: f64,
    /// The unit roundoff of the precision their gradients were computed in (2⁻⁵³ for `f64`, 2⁻²⁴
    /// for [`Tolerance::f32`]): how near a relu's kink their forward pass may have put a z on the
    /// other side of 0 ([`OtherBranchTaken`]).
    pub roundoff: f64,
}

/// `f64`'s unit roundoff, 2⁻⁵³.
pub const F64_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// `f32`'s unit roundoff, 2⁻²⁴.
pub const F32_ROUNDOFF: f64 = (f32::EPSILON / 2.0) as f64;

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { atol: DEFAULT_ATOL, rtol: DEFAULT_RTOL, floor: 0.0, roundoff: F64_ROUNDOFF }
    }
}

impl Tolerance {
    /// The preset for gradients computed in `f32` ([`F32_ATOL`], [`F32_RTOL`], [`F32_FLOOR`],
    /// [`F32_ROUNDOFF`]; `--dtype f32`).
    pub fn f32() -> Tolerance {
        Tolerance { atol: F32_ATOL, rtol: F32_RTOL, floor: F32_FLOOR, roundoff: F32_ROUNDOFF }
    }

    /// The same tolerance for another precision: `preset`'s floor and unit roundoff.
    pub fn in_precision_of(self, preset: Tolerance) -> Tolerance {
        Tolerance { floor: preset.floor, roundoff: preset.roundoff, ..self }
    }

    /// A tolerance for `f64` gradients; both parts must be finite and ≥ 0.
    pub fn new(atol: f64, rtol: f64) -> Result<Tolerance, Error> {
        for (name, v) in [("--atol", atol), ("--rtol", rtol)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::input(format!("{name} {v}: a tolerance must be a finite number ≥ 0")));
            }
        }
        Ok(Tolerance { atol, rtol, ..Tolerance::default() })
    }

    /// Whether `theirs` passes against `reference` at `scale`.
    pub fn accepts(self, theirs: f64, reference: f64, scale: f64) -> bool {
        (theirs - reference).abs() <= self.atol * scale + self.rtol * reference.abs() + self.floor
    }

    /// |theirs − ref| / (atol·scale + rtol·|ref|): ≤ 1 passes (0/0 is 0, x/0 is ∞, and a
    /// non-finite value of theirs is ∞).
    fn excess(self, theirs: f64, reference: f64, scale: f64) -> f64 {
        if !theirs.is_finite() {
            return f64::INFINITY;
        }
        let diff = (theirs - reference).abs();
        let allowed = self.atol * scale + self.rtol * reference.abs() + self.floor;
        if diff == 0.0 {
            0.0
        } else if allowed == 0.0 {
            f64::INFINITY
        } else {
            diff / allowed
        }
    }
}

/// The outcome of [`check_gradients`] (`report check --format json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// Whether every layer (and the loss, if they gave one) passes.
    pub pass: bool,
    /// The failing layer nearest the output, where backprop first went wrong (see the
    /// [`crate::reference`] docs); `None` when every layer passes.
    pub first_wrong_layer: Option<usize>,
    /// Every layer fails with the same [`Convention`] (one factor, transposed or not): their
    /// backward pass is likely right, in another convention (a loss reduction, a sign, a weight
    /// layout), which changes every layer alike.
    pub conventions_only: bool,
    /// The absolute tolerance used (relative to each layer's scale).
    pub atol: f64,
    /// The relative tolerance used.
    pub rtol: f64,
    /// The floor used (JSON: absent when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub floor: f64,
    /// Their loss against the reference, if they gave one.
    pub loss: Option<LossCheck>,
    /// Layer 1 first.
    pub layers: Vec<LayerCheck>,
    /// Where the reference took the other branch of a kink, as their code did, to pass
    /// ([`OtherBranchTaken`]; JSON: absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_branches: Vec<OtherBranchTaken>,
}

/// Their loss against the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossCheck {
    /// Their value (NaN or ±∞ if their file says so: JSON `null`, and the layer table names it).
    pub theirs: f64,
    /// The reference value.
    pub reference: f64,
    /// |theirs − reference|.
    pub abs_error: f64,
    /// The loss's scale: Σ_b |L_b|, every sample's loss in absolute value (over the reduction's
    /// denominator).
    pub scale: f64,
    /// Whether it passes the tolerance.
    pub pass: bool,
}

/// One layer of a [`CheckReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerCheck {
    /// l, from 1 at the input.
    pub layer: usize,
    /// How many entries were compared (weights, and biases and a normalisation's γ and β unless
    /// they left them out).
    pub entries: usize,
    /// s, the scale the absolute tolerance is relative to: the size of the rounding error a
    /// correct backward pass makes in the layer, in units of the unit roundoff. Per parameter, the
    /// larger of Σ_b |∂L_b/∂θ| (each sample's gradient in absolute value: the terms the batch's sum
    /// adds) and the estimate of [`scalar::dense::Dense::backprop_error_scales_over`] (what the backward
    /// pass's own sums add, which is far larger than the gradient where they cancel); s is the
    /// largest over the layer's weights, biases and a normalisation's γ and β, over the reduction's
    /// denominator (`docs/derivation.md` §10a). It shrinks with the gradients through a vanishing
    /// network, and stays the terms' size where the samples or the backward pass cancel.
    pub scale: f64,
    /// How many of them fail.
    pub failed: usize,
    /// How many of their entries are NaN or ±∞ (each fails).
    pub non_finite: usize,
    /// max |theirs − ref| (∞ — JSON `null` — when one of their entries is not finite).
    pub max_abs_error: f64,
    /// max |theirs − ref| / |ref| (∞ — JSON `null` — when one of their entries is not finite, or
    /// an entry whose reference is exactly 0 differs).
    pub max_rel_error: f64,
    /// The entry furthest outside (or least inside) its tolerance — their first non-finite entry,
    /// if any; the first one on ties.
    pub worst: WorstEntry,
    /// Their gradients are the reference times one factor, or its transpose: a convention (loss
    /// reduction, sign, weight layout), not a backward bug. `None` when the layer passes as it
    /// is, or no such factor explains it.
    pub convention: Option<Convention>,
    /// Their `weight_grad` has the transposed shape (not square): it was compared after transposing
    /// it back, and the layer fails for its layout whatever its values.
    pub transposed: bool,
    /// Whether every entry passes, in place.
    pub pass: bool,
}

/// Where a layer is furthest from the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstEntry {
    /// `weight_grad[j][i]`, `bias_grad[j]`, `norm_weight_grad[i]` or `norm_bias_grad[i]`
    /// (0-based, as in the JSON arrays, in the model's
    /// layout; for a layer whose `weight_grad` has the transposed shape, the place in theirs,
    /// `weight_grad[i][j]`).
    pub entry: String,
    /// Their value (NaN or ±∞ if their file says so: JSON `null`; see `non_finite`).
    pub theirs: f64,
    /// The reference value.
    pub reference: f64,
}

/// Compares gradients computed elsewhere with the reference gradients of `model`.
///
/// `bias_grad` may be left out of a layer only when the model's layer has no bias.
///
/// # Errors
/// When `theirs` does not have the model's shape (the message names the layer, row and column),
/// or the reference is not finite ([`model_gradients`]).
pub fn check_gradients(model: &Model, theirs: &ClaimedGradients, tolerance: Tolerance) -> Result<CheckReport, Error> {
    check_shape(model, theirs)?;
    let reference = model_gradients(model)?;
    check_gradients_against(model, &reference, theirs, tolerance)
}

/// [`check_gradients`] with the reference gradients of `model` already computed (by
/// [`model_gradients`]).
///
/// # Errors
/// When `theirs` does not have the model's shape (the message names the layer, row and column).
pub fn check_gradients_against(
    model: &Model,
    reference: &ModelGradients,
    theirs: &ClaimedGradients,
    tolerance: Tolerance,
) -> Result<CheckReport, Error> {
    let transposed = check_shape(model, theirs)?;
    let scales = Scales::of(model, &[])?;
    let report = compare(model, reference, theirs, &transposed, &scales, tolerance);
    // A failure where their code may have taken the other branch of a kink: the check again,
    // with the branches that explain theirs (`branches`), kept if everything then passes.
    let all_finite = report.layers.iter().all(|l| l.non_finite == 0);
    if report.pass || !all_finite || transposed.contains(&true) {
        return Ok(report);
    }
    if let Some(taken) = branches::resolve(model, reference, theirs, tolerance, &scales)? {
        // The reference and scales again, with those branches (the tape's bits, as the first).
        let branches: Vec<OtherBranch> = taken.iter().map(OtherBranchTaken::branch).collect();
        let net = model.net();
        let with =
            net.backprop_with_branches(model.input(), model.target(), model.loss(), model.denominator(), &branches)?;
        let adjusted = ModelGradients { loss: with.loss, layers: super::layers_of(model, with) };
        let scales = Scales::of(model, &branches)?;
        let again = compare(model, &adjusted, theirs, &transposed, &scales, tolerance);
        if again.pass {
            return Ok(CheckReport { other_branches: taken, ..again });
        }
    }
    Ok(report)
}

/// The check of `theirs` against `reference`, layer by layer and the loss.
fn compare(
    model: &Model,
    reference: &ModelGradients,
    theirs: &ClaimedGradients,
    transposed: &[bool],
    scales: &Scales,
    tolerance: Tolerance,
) -> CheckReport {
    let layers: Vec<LayerCheck> = reference
        .layers
        .iter()
        .zip(&theirs.layers)
        .zip(transposed)
        .zip(&scales.layers)
        .enumerate()
        .map(|(idx, (((r, t), &transposed), &scale))| {
            let mut check = check_layer(idx + 1, r, t, transposed, tolerance, scale);
            if let Some(c) = &mut check.convention {
                c.ratio = ratio(c.factor, model.batch(), model.net().output_width());
            }
            check
        })
        .collect();
    let loss = theirs.loss.map(|their_loss| LossCheck {
        theirs: their_loss,
        reference: reference.loss,
        abs_error: (their_loss - reference.loss).abs(),
        scale: scales.loss,
        pass: tolerance.accepts(their_loss, reference.loss, scales.loss),
    });
    let first_wrong_layer = layers.iter().rev().find(|l| !l.pass).map(|l| l.layer);
    let conventions_only = one_convention(&layers);
    CheckReport {
        pass: first_wrong_layer.is_none() && loss.as_ref().is_none_or(|l| l.pass),
        first_wrong_layer,
        conventions_only,
        atol: tolerance.atol,
        rtol: tolerance.rtol,
        floor: tolerance.floor,
        loss,
        layers,
        other_branches: Vec::new(),
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// Whether every layer fails with the same convention: one factor (to 1e−9 relative), transposed
/// or not. A reduction or a sign scales every layer's gradients alike, and a layout transposes
/// every weight matrix, so a factor in some layers only is a bug in the backward step where it
/// starts, not a convention.
fn one_convention(layers: &[LayerCheck]) -> bool {
    let Some(Some(first)) = layers.first().map(|l| l.convention.as_ref()) else { return false };
    layers.iter().all(|l| {
        l.convention.as_ref().is_some_and(|c| {
            c.transposed == first.transposed && (c.factor - first.factor).abs() <= 1e-9 * first.factor.abs()
        })
    })
}

/// Refuses gradients whose shape is not the model's; per layer, whether their `weight_grad` has
/// the transposed shape instead (rows × columns swapped, not square), which is a layout
/// convention reported by the check, not bad input.
fn check_shape(model: &Model, theirs: &ClaimedGradients) -> Result<Vec<bool>, Error> {
    let layers = model.net().layers();
    if theirs.layers.len() != layers.len() {
        return Err(Error::input(format!(
            "layers: expected {} (as in the model), got {}",
            count(layers.len(), "layer"),
            theirs.layers.len()
        )));
    }
    let widths = model.net().widths();
    let mut transposed = Vec::with_capacity(layers.len());
    for (idx, (layer, t)) in layers.iter().zip(&theirs.layers).enumerate() {
        let l = idx + 1;
        let (rows, cols) = match model.weight_layout() {
            crate::model::WeightLayout::OutIn => (widths[l], widths[l - 1]),
            crate::model::WeightLayout::InOut => (widths[l - 1], widths[l]),
        };
        let swapped = rows != cols
            && t.weight_grad.len() == cols
            && !t.weight_grad.is_empty()
            && t.weight_grad.iter().all(|row| row.len() == rows);
        transposed.push(swapped);
        if swapped {
            // The entries are checked for finiteness and compared after transposing.
        } else if t.weight_grad.len() != rows {
            return Err(Error::input(format!(
                "layer {l} weight_grad: expected {} (one per output unit), got {}",
                count(rows, "row"),
                t.weight_grad.len()
            )));
        }
        if !swapped {
            crate::model::check_shape_of(&format!("layer {l} weight_grad"), &t.weight_grad, cols)?;
        }
        match (&t.bias_grad, &layer.bias) {
            (Some(b), _) => {
                crate::model::check_len(&format!("layer {l} bias_grad"), b, widths[l])?;
            }
            (None, Some(_)) => {
                return Err(Error::input(format!(
                    "layer {l}: bias_grad is missing, and the model's layer {l} has a bias"
                )));
            }
            (None, None) => {}
        }
        let norm = model.net().norms()[idx].as_ref();
        for (what, param, given, has) in [
            ("norm_weight_grad", "weight", &t.norm_weight_grad, norm.is_some_and(|n| n.weight.is_some())),
            ("norm_bias_grad", "bias", &t.norm_bias_grad, norm.is_some_and(|n| n.bias.is_some())),
        ] {
            match (given, norm) {
                (Some(_), None) => {
                    return Err(Error::input(format!(
                        "layer {l} {what}: the model's layer {l} has no norm, so it has no such gradient"
                    )));
                }
                (Some(g), Some(n)) => {
                    crate::model::check_len(&format!("layer {l} {what}"), g, n.width(widths[l - 1], widths[l]))?;
                }
                (None, Some(_)) if has => {
                    return Err(Error::input(format!(
                        "layer {l}: {what} is missing, and the model's layer {l} norm has a {param}"
                    )));
                }
                (None, _) => {}
            }
        }
    }
    Ok(transposed)
}

/// One layer's comparison. `transposed`: their `weight_grad` has the transposed shape (not
/// square), so it is compared transposed and the layer fails with a layout convention.
fn check_layer(
    layer: usize,
    reference: &LayerGradients,
    theirs: &ClaimedLayer,
    transposed: bool,
    tolerance: Tolerance,
    scale: f64,
) -> LayerCheck {
    let swapped = crate::model::layout::transpose(&theirs.weight_grad);
    let their_weights = if transposed { &swapped } else { &theirs.weight_grad };
    let pairs = entries(reference, their_weights, theirs);
    let mut failed = 0;
    let mut non_finite = 0;
    let mut max_abs_error = 0.0f64;
    let mut max_rel_error = 0.0f64;
    let mut worst: Option<(f64, Entry, f64, f64)> = None;
    for &(entry, t, r) in &pairs {
        if !tolerance.accepts(t, r, scale) {
            failed += 1;
        }
        if t.is_finite() {
            let diff = (t - r).abs();
            max_abs_error = max_abs_error.max(diff);
            let rel = if diff == 0.0 {
                0.0
            } else {
                diff / r.abs() // ∞ when r = 0
            };
            max_rel_error = max_rel_error.max(rel);
        } else {
            non_finite += 1;
            (max_abs_error, max_rel_error) = (f64::INFINITY, f64::INFINITY);
        }
        let excess = tolerance.excess(t, r, scale);
        if worst.as_ref().is_none_or(|w| excess > w.0) {
            worst = Some((excess, entry, t, r));
        }
    }
    let (_, entry, t, r) = worst.expect("a validated layer has at least one weight");
    // Named where it is in their file.
    let entry = match entry {
        Entry::Weight(j, i) if transposed => Entry::Weight(i, j),
        entry => entry,
    };
    let convention = if non_finite > 0 || (failed == 0 && !transposed) {
        None
    } else {
        let values: Vec<(f64, f64)> = pairs.iter().map(|&(_, t, r)| (t, r)).collect();
        let square = !transposed && reference.weight_grad.len() == reference.weight_grad[0].len();
        match fitted_factor(&values, tolerance, scale) {
            Some(factor) => Some(Convention { factor, transposed, ratio: None }),
            // A square matrix may be transposed too: try theirs transposed.
            None if square => {
                let values: Vec<(f64, f64)> =
                    entries(reference, &swapped, theirs).iter().map(|&(_, t, r)| (t, r)).collect();
                fitted_factor(&values, tolerance, scale).map(|factor| Convention {
                    factor,
                    transposed: true,
                    ratio: None,
                })
            }
            None => None,
        }
    };
    LayerCheck {
        layer,
        entries: pairs.len(),
        scale,
        failed,
        non_finite,
        max_abs_error,
        max_rel_error,
        worst: WorstEntry { entry: entry.to_string(), theirs: t, reference: r },
        convention,
        transposed,
        pass: failed == 0 && !transposed,
    }
}

/// (place, theirs, reference) for every compared entry: `weights` (theirs, possibly transposed
/// back) row by row, then the biases and the normalisation's γ and β (those they gave).
fn entries(reference: &LayerGradients, weights: &[Vec<f64>], theirs: &ClaimedLayer) -> Vec<(Entry, f64, f64)> {
    let weights = (reference.weight_grad.iter().zip(weights)).enumerate().flat_map(|(j, (r_row, t_row))| {
        (r_row.iter().zip(t_row)).enumerate().map(move |(i, (&r, &t))| (Entry::Weight(j, i), t, r))
    });
    fn vector<'a>(
        entry: fn(usize) -> Entry,
        reference: Option<&'a Vec<f64>>,
        theirs: Option<&'a Vec<f64>>,
    ) -> impl Iterator<Item = (Entry, f64, f64)> + 'a {
        let pairs = reference.zip(theirs).into_iter().flat_map(|(r, t)| r.iter().zip(t));
        pairs.enumerate().map(move |(j, (&r, &t))| (entry(j), t, r))
    }
    weights
        .chain(vector(Entry::Bias, Some(&reference.bias_grad), theirs.bias_grad.as_ref()))
        .chain(vector(Entry::NormWeight, reference.norm_weight_grad.as_ref(), theirs.norm_weight_grad.as_ref()))
        .chain(vector(Entry::NormBias, reference.norm_bias_grad.as_ref(), theirs.norm_bias_grad.as_ref()))
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Weight(usize, usize),
    Bias(usize),
    NormWeight(usize),
    NormBias(usize),
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Weight(j, i) => write!(f, "weight_grad[{j}][{i}]"),
            Entry::Bias(j) => write!(f, "bias_grad[{j}]"),
            Entry::NormWeight(i) => write!(f, "norm_weight_grad[{i}]"),
            Entry::NormBias(i) => write!(f, "norm_bias_grad[{i}]"),
        }
    }
}

impl CheckReport {
    /// The JSON `report check --format json` prints (one layer per line, no trailing newline).
    pub fn to_json(&self) -> String {
        render::layer_per_line_json(self)
    }
}

impl fmt::Display for CheckReport {
    /// The table `report check` prints ([`crate::render::reference::check_markdown`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render::check_markdown(self))
    }
}
