//! The extended pass: a block's chains forward and backward in [`Scaled`], layer by layer across
//! the block's lanes ([`Lanes`]: mantissa and exponent rows, holding values in the working form
//! of [`super::scaled::lazy`], renormalised only when they must be), in the oracle's order, for
//! log-domain magnitudes beyond `f64`'s range.

use super::scaled::lazy::{Lazy, activate, lift, mul, neg, normalise, sum};
use super::*;

/// The extended pass over one block, with the oracle's `forward_ext` / `gradients_ext`
/// operations in the oracle's order for each chain (the lanes are independent: each lane's
/// values are those of its chain alone), so a chain whose values all stay in `f64`'s normal range
/// gets the plain gradients' bits, and one whose activations or gradients leave it (a_d ≈ 10⁻⁴⁰⁰
/// after a few tiny weights) keeps exact magnitudes instead of false zeros. Independent of the
/// plain sweep: `f32` parameters are lifted to `f64` exactly, so for `f32` this is the exact
/// magnitude of the `f32` chain's gradient rather than a re-rounding of the `f32` one.
///
/// The block's chains go through in groups of [`LANE_GROUP`]. `rows` holds, over a group's
/// lanes: rows 0 … D, a_0 … a_D (a_d overwritten by ∂L/∂a_d as backward passes it, for the
/// identity skip); rows D + 1 … 2D, f′_1 … f′_D (overwritten by
/// δ_1 … δ_D); row 2D + 1, the running ∂L/∂a.
pub(super) fn extended_pass<T: Real>(job: &Block<'_, T>, out: &mut BlockOut<'_, T>, rows: &mut Lanes) {
    let n = job.lanes.len();
    for start in (0..n).step_by(LANE_GROUP) {
        group_pass(job, out, rows, start, LANE_GROUP.min(n - start));
    }
}

/// Chains per group of the extended pass: a group's 2D + 2 rows of [`Scaled`] (16 bytes each)
/// take 32·LANE_GROUP·D bytes, 512 KB at D = 1000, so they stay in L2 where a whole block's
/// (4 MB) would not.
const LANE_GROUP: usize = 16;

/// The pass over the `g` chains from `start` of the block (lane i of the rows is chain
/// `start + i` of the block). The rows hold values in the working form of [`super::scaled::lazy`]
/// (renormalised only when they must be, with the normal form's bits); what the pass delivers is
/// normalised.
fn group_pass<T: Real>(job: &Block<'_, T>, out: &mut BlockOut<'_, T>, rows: &mut Lanes, start: usize, g: usize) {
    let batch = job.batch;
    let (n, d) = (job.lanes.len(), batch.n_layers);
    let weights = job.rows(&batch.weights);
    let biases = batch.biases.as_deref().map(|b| job.rows(b));
    let w = |l: usize, i: usize| lift(weights[l * n + start + i].to_f64());
    let shortcut_into = |layer: usize| batch.shortcut.filter(|&span| layer.is_multiple_of(span));
    let weight_scaled = out.weight_scaled.as_mut().expect("extended mode has scaled weight outputs");
    rows.reshape(2 * d + 2, g);
    let delta = |l: usize| d + 1 + l;
    let dl_da = 2 * d + 1;
    let normal = |x: Lazy| Scaled::from_parts(normalise(x));

    for i in 0..g {
        rows.set(0, i, lift(job.inputs[start + i].to_f64()));
    }
    for l in 0..d {
        let layer = l + 1;
        let from = shortcut_into(layer).map(|span| layer - span);
        let f = batch.activations[l];
        for i in 0..g {
            // z = w·a_{l} + b (+ a_{layer−s}); b = 0 without biases, added as the oracle adds it
            // (it turns a −0 into +0).
            let b = biases.map_or((0.0, 0), |b| lift(b[l * n + start + i].to_f64()));
            let mut z = sum(mul(w(l, i), rows.get(l, i)), b);
            if let (Some(from), Skip::PreActivation) = (from, batch.skip) {
                z = sum(z, rows.get(from, i));
            }
            let (mut a, da) = activate(f, z);
            if let (Some(from), Skip::Identity) = (from, batch.skip) {
                a = sum(a, rows.get(from, i));
            }
            rows.set(delta(l), i, da);
            rows.set(layer, i, a);
        }
    }
    if let Some(signals) = &mut out.signals {
        for i in 0..g {
            signals.output[start + i] = normal(rows.get(d, i));
        }
    }
    // ∂L/∂a_D = 2(y − t), then down: δ_d = f′_d·∂L/∂a_d, ∂L/∂a_{d−1} = δ_d·w_d (+ δ_{d−1+s}, or
    // ∂L/∂a_{d−1+s} for the identity skip, kept over a_{d−1+s} once that is no longer read).
    for i in 0..g {
        let diff = sum(rows.get(d, i), neg(lift(job.targets[start + i].to_f64())));
        rows.set(dl_da, i, mul((0.5, 2), diff));
    }
    for l in (0..d).rev() {
        let joined =
            batch.shortcut.filter(|&span| l.is_multiple_of(span) && l + span <= d).map(|span| match batch.skip {
                Skip::PreActivation => delta(l + span - 1),
                Skip::Identity => l + span,
            });
        for i in 0..g {
            let g_a = rows.get(dl_da, i);
            let a_l = rows.get(l, i);
            if let Some(signals) = &mut out.signals {
                signals.layer_input[l][start + i] = normal(a_l);
                signals.layer_output[l][start + i] = normal(g_a);
            }
            if batch.skip == Skip::Identity {
                rows.set(l + 1, i, g_a);
            }
            let dz = mul(rows.get(delta(l), i), g_a);
            rows.set(delta(l), i, dz);
            weight_scaled[l][start + i] = normal(mul(dz, a_l));
            if let Some(bias_scaled) = &mut out.bias_scaled {
                bias_scaled[l][start + i] = normal(dz);
            }
            let mut next = mul(dz, w(l, i));
            if let Some(joined) = joined {
                next = sum(next, rows.get(joined, i));
            }
            rows.set(dl_da, i, next);
        }
    }
}
