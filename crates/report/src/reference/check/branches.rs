//! The branch their code took at a kink: where a relu's (or leaky relu's) z is within the
//! rounding of 0, either derivative is right.
//!
//! f′ jumps at z = 0, so a correct backward pass whose forward pass rounded z to the other sign
//! of 0 takes the other one-sided derivative there, and its gradients differ from the reference by
//! that unit's whole contribution, far beyond rounding; so does code whose f′(0) is the other
//! side's (`z >= 0`) at an exact 0. When a check fails, the units of kinked layers whose
//! |z| ≤ [`KINK_BAND`]·u·E(z) (E: [`scalar::dense::Dense::forward_error_scales`], u: the
//! tolerance's roundoff) are candidates. From the output down, layer by layer, the branches taken
//! are the candidates whose changes to their layer's entries, each in units of what the check
//! allows it, together bring the reference nearest theirs (`nearest_subset`): nothing else moves
//! those entries, as the branches above are taken and those below do not reach them; the branches
//! taken change the layers below before their candidates are weighed. Then each candidate is
//! weighed once more on every layer, taken or left where that brings the whole reference nearer
//! theirs: a change within its own layer's tolerance can decide a layer below.
//! The caller checks again against the reference with those branches, and keeps that check only
//! if everything then passes.

use super::scales::Scales;
use super::{Tolerance, entries};
use crate::error::Error;
use crate::model::{ClaimedGradients, Model};
use crate::reference::{LayerGradients, ModelGradients, layers_of};
use scalar::dense::NormAt;
use scalar::dense::OtherBranch;
use serde::Serialize;

/// How many u·E(z) from 0 a kinked unit's z may be for its branch to be open to doubt: E is an
/// estimate of the forward pass's rounding error, not a bound, so the band leaves a margin.
pub const KINK_BAND: f64 = 8.0;

/// At most this many candidates are weighed; with more, the check reports as it stands (each
/// costs two backward passes of one sample).
pub const MAX_KINK_CANDIDATES: usize = 256;

/// A unit where the check took the other branch of the activation's kink, as their code did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OtherBranchTaken {
    /// The sample, 0-based.
    pub sample: usize,
    /// The layer, 1-based.
    pub layer: usize,
    /// The unit, 0-based.
    pub unit: usize,
    /// Its pre-activation z, in the reference's `f64` forward pass.
    pub z: f64,
    /// [`KINK_BAND`]·u·E(z): how near 0 z had to be.
    pub band: f64,
}

impl OtherBranchTaken {
    /// The place, as the oracle's [`OtherBranch`].
    pub(super) fn branch(&self) -> OtherBranch {
        OtherBranch { sample: self.sample, layer: self.layer, unit: self.unit }
    }
}

/// The places where the other branch explains theirs; `None` when no candidate's does (or there
/// are more than [`MAX_KINK_CANDIDATES`]). The caller recomputes the reference with them.
/// Changes are weighed in units of what the check allows each entry (`tolerance`, with the scales
/// `scales`).
pub(super) fn resolve(
    model: &Model,
    reference: &ModelGradients,
    theirs: &ClaimedGradients,
    tolerance: Tolerance,
    scales: &Scales,
) -> Result<Option<Vec<OtherBranchTaken>>, Error> {
    let Some(candidates) = candidates(model, tolerance.roundoff)? else { return Ok(None) };
    let net = model.net();
    // One sample's gradients with the branches of `taken` that are its own, and `more`.
    let one_sample = |b: usize, taken: &[OtherBranchTaken], more: &[OtherBranchTaken]| {
        let branches: Vec<OtherBranch> = (taken.iter().chain(more))
            .filter(|o| o.sample == b)
            .map(|o| OtherBranch { sample: 0, ..o.branch() })
            .collect();
        let (x, t) = (&model.input()[b..=b], &model.target()[b..=b]);
        let g = net.backprop_with_branches(x, t, model.loss(), model.denominator(), &branches)?;
        Ok::<_, Error>(layers_of(model, g))
    };
    // Each entry of layers 1…l in units of what the check allows it (from the reference as it
    // was): a change that is below the noise of its own layer can still decide a layer below,
    // whose gradients (and tolerance) may be far smaller.
    let weights_of = |reference: &ModelGradients, scales: &Scales| -> Vec<Vec<f64>> {
        (reference.layers.iter().zip(&theirs.layers).zip(&scales.layers))
            .map(|((r, their), &s)| {
                let all = entries(r, &their.weight_grad, their);
                let allowed = |r: f64| tolerance.atol * s + tolerance.rtol * r.abs() + tolerance.floor;
                all.iter().map(|&(_, _, r)| 1.0 / allowed(r).max(f64::MIN_POSITIVE)).collect()
            })
            .collect()
    };
    let weights = weights_of(reference, scales);
    // Layers `layers` (0-based range) of `g`, each entry f(theirs, g's) times its weight.
    let weighed = |weights: &[Vec<f64>],
                   layers: std::ops::Range<usize>,
                   g: &[LayerGradients],
                   f: &dyn Fn(f64, f64) -> f64|
     -> Vec<f64> {
        (layers.clone().map(|idx| (&g[idx], &theirs.layers[idx], &weights[idx])))
            .flat_map(|(g, their, w)| {
                let all = entries(g, &their.weight_grad, their);
                all.into_iter().zip(w).map(|((_, t, r), w)| f(t, r) * w).collect::<Vec<f64>>()
            })
            .collect()
    };
    let mut adjusted = reference.clone();
    let mut taken: Vec<OtherBranchTaken> = Vec::new();
    for l in (1..=net.layers().len()).rev() {
        let in_layer: Vec<OtherBranchTaken> = candidates.iter().filter(|c| c.layer == l).copied().collect();
        if in_layer.is_empty() {
            continue;
        }
        // Each candidate's change alone (the changes of one layer's branches add: each moves
        // that layer's δ alone), on the layers `on`.
        let change = |c: &OtherBranchTaken, on: std::ops::Range<usize>| -> Result<Vec<f64>, Error> {
            let (before, after) = (one_sample(c.sample, &taken, &[])?, one_sample(c.sample, &taken, &[*c])?);
            let (before, after) =
                (weighed(&weights, on.clone(), &before, &|_, r| r), weighed(&weights, on, &after, &|_, r| r));
            Ok(after.iter().zip(&before).map(|(a, b)| a - b).collect())
        };
        // First on the layer's own entries, where nothing but its own branches moves theirs from
        // the reference (those above are taken already, those below do not reach it).
        // A branch at unit j changes δ_l[j] alone, so row j of W_l and b_l[j]: units do not share
        // entries, and are weighed one by one, unless a normalisation of the Linear output mixes
        // their δ into every row.
        let own = l - 1..l;
        let residual = weighed(&weights, own.clone(), &adjusted.layers, &|t, r| t - r);
        let mixes = net.norms()[l - 1].as_ref().is_some_and(|n| n.at == NormAt::PreActivation);
        let mut chosen = Vec::new();
        let mut units: Vec<usize> = in_layer.iter().map(|c| if mixes { 0 } else { c.unit }).collect();
        units.sort_unstable();
        units.dedup();
        for unit in units {
            let block: Vec<OtherBranchTaken> = in_layer.iter().filter(|c| mixes || c.unit == unit).copied().collect();
            chosen.extend(weigh(&block, &residual, &|c| change(c, own.clone()))?);
        }
        // The layers' changes, sample by sample, with every branch of the sample at once.
        let mut samples: Vec<usize> = chosen.iter().map(|c| c.sample).collect();
        samples.sort_unstable();
        samples.dedup();
        for b in samples {
            let (before, after) = (one_sample(b, &taken, &[])?, one_sample(b, &taken, &chosen)?);
            for ((layer, a), b) in adjusted.layers.iter_mut().zip(&after).zip(&before) {
                add_difference(layer, a, b);
            }
        }
        taken.extend(chosen);
    }
    // Then every candidate once more, from the output down, on every layer: its branch is taken
    // or left where that brings the whole reference nearer theirs. A change within its own
    // layer's tolerance can decide a layer below, whose gradients (and tolerance) may be far
    // smaller; the first pass could not weigh it there while that layer's own branches were open.
    // Weighed with the tolerances of the reference with the branches taken so far: a branch can
    // wake the gradients below it (and their tolerance) from nothing.
    let branches: Vec<OtherBranch> = taken.iter().map(OtherBranchTaken::branch).collect();
    let weights = weights_of(&adjusted, &Scales::of(model, &branches)?);
    let all = 0..net.layers().len();
    let mut r = weighed(&weights, all.clone(), &adjusted.layers, &|t, r| t - r);
    let mut top_down = candidates.clone();
    top_down.sort_by_key(|c| (std::cmp::Reverse(c.layer), c.sample, c.unit));
    for _ in 0..PASSES {
        let mut moved = false;
        for c in &top_down {
            let mut toggled: Vec<OtherBranchTaken> = taken.iter().filter(|o| *o != c).copied().collect();
            if toggled.len() == taken.len() {
                toggled.push(*c);
            }
            let (before, after) = (one_sample(c.sample, &taken, &[])?, one_sample(c.sample, &toggled, &[])?);
            let (before, after) =
                (weighed(&weights, all.clone(), &before, &|_, r| r), weighed(&weights, all.clone(), &after, &|_, r| r));
            let d: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            let (rd, dd) = (dot(&r, &d), dot(&d, &d));
            if dd > 0.0 && 2.0 * rd > dd {
                r.iter_mut().zip(&d).for_each(|(r, d)| *r -= d);
                (taken, moved) = (toggled, true);
            }
        }
        if !moved {
            break;
        }
    }
    taken.sort_by_key(|o| (o.sample, o.layer, o.unit));
    Ok((!taken.is_empty()).then_some(taken))
}

/// The candidates whose changes (`change`) together bring `residual` nearest 0: every subset of up
/// to [`EXHAUSTIVE`] of them (`nearest_subset`), or with more, one by one, each kept where it
/// brings r nearer (2⟨r, d⟩ > ‖d‖²), in passes until none is: a change that overshoots while
/// others are still in r can fit once they are out.
fn weigh(
    candidates: &[OtherBranchTaken],
    residual: &[f64],
    change: &dyn Fn(&OtherBranchTaken) -> Result<Vec<f64>, Error>,
) -> Result<Vec<OtherBranchTaken>, Error> {
    if candidates.len() <= EXHAUSTIVE {
        let changes = candidates.iter().map(change).collect::<Result<Vec<_>, Error>>()?;
        return Ok(nearest_subset(residual, &changes).into_iter().map(|k| candidates[k]).collect());
    }
    let mut r = residual.to_vec();
    let mut picked = vec![false; candidates.len()];
    for _ in 0..PASSES {
        let mut moved = false;
        for (k, c) in candidates.iter().enumerate() {
            if picked[k] {
                continue;
            }
            let d = change(c)?;
            let (rd, dd) = (dot(&r, &d), dot(&d, &d));
            if dd > 0.0 && 2.0 * rd > dd {
                r.iter_mut().zip(&d).for_each(|(r, d)| *r -= d);
                (picked[k], moved) = (true, true);
            }
        }
        if !moved {
            break;
        }
    }
    Ok(candidates.iter().zip(&picked).filter(|(_, p)| **p).map(|(c, _)| *c).collect())
}

/// At most this many candidates of one layer are weighed in every combination, their changes to
/// the layers held at once ([`crate::model::KINK_BYTES_PER_PARAMETER`]); more, one by one.
pub(crate) const EXHAUSTIVE: usize = 12;

/// At most this many passes over more candidates than that.
const PASSES: usize = 4;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The candidates (indices into `changes`) whose changes together bring `residual` nearest 0:
/// min ‖r − Σ_{k∈S} d_k‖² = ‖r‖² − 2·Σ_S ⟨r, d_k⟩ + Σ_{j,k∈S} ⟨d_j, d_k⟩ over every subset S (the
/// changes of one layer's branches add: each moves that layer's δ alone). Empty where none brings
/// it nearer.
fn nearest_subset(residual: &[f64], changes: &[Vec<f64>]) -> Vec<usize> {
    let toward: Vec<f64> = changes.iter().map(|d| dot(residual, d)).collect();
    let gram: Vec<Vec<f64>> = changes.iter().map(|a| changes.iter().map(|b| dot(a, b)).collect()).collect();
    let members = |set: usize| (0..changes.len()).filter(move |k| set >> k & 1 == 1);
    let gain = |set: usize| {
        let quadratic: f64 = members(set).map(|j| members(set).map(|k| gram[j][k]).sum::<f64>()).sum();
        2.0 * members(set).map(|k| toward[k]).sum::<f64>() - quadratic
    };
    let best =
        (1..1usize << changes.len()).map(|set| (gain(set), set)).fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
    members(best.1).collect()
}

/// The units of kinked layers whose |z| ≤ [`KINK_BAND`]·u·E(z), sample by sample; `None` when
/// there are none or more than [`MAX_KINK_CANDIDATES`].
fn candidates(model: &Model, roundoff: f64) -> Result<Option<Vec<OtherBranchTaken>>, Error> {
    let net = model.net();
    let kinked: Vec<bool> = net.layers().iter().map(|l| l.activation.other_side_derivative(0.0).is_some()).collect();
    if !kinked.contains(&true) {
        return Ok(None);
    }
    let mut found = Vec::new();
    for (sample, x) in model.input().iter().enumerate() {
        let (trace, errors) = (net.forward_trace(x)?, net.forward_error_scales(x)?);
        for (idx, (z, e)) in trace.z.iter().zip(&errors).enumerate() {
            if !kinked[idx] {
                continue;
            }
            for (unit, (&z, &e)) in z.iter().zip(e).enumerate() {
                let band = KINK_BAND * roundoff * e;
                if z.abs() <= band {
                    found.push(OtherBranchTaken { sample, layer: idx + 1, unit, z, band });
                    if found.len() > MAX_KINK_CANDIDATES {
                        return Ok(None);
                    }
                }
            }
        }
    }
    Ok((!found.is_empty()).then_some(found))
}

/// `layer` += `after` − `before`, entry by entry.
fn add_difference(layer: &mut LayerGradients, after: &LayerGradients, before: &LayerGradients) {
    let add = |into: &mut [f64], a: &[f64], b: &[f64]| {
        into.iter_mut().zip(a).zip(b).for_each(|((v, a), b)| *v += a - b);
    };
    for ((row, a), b) in layer.weight_grad.iter_mut().zip(&after.weight_grad).zip(&before.weight_grad) {
        add(row, a, b);
    }
    add(&mut layer.bias_grad, &after.bias_grad, &before.bias_grad);
    for (into, a, b) in [
        (&mut layer.norm_weight_grad, &after.norm_weight_grad, &before.norm_weight_grad),
        (&mut layer.norm_bias_grad, &after.norm_bias_grad, &before.norm_bias_grad),
    ] {
        if let (Some(into), Some(a), Some(b)) = (into, a, b) {
            add(into, a, b);
        }
    }
}
