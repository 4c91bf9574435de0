//! The extended pass: each chain forward and backward in [`Scaled`], in the oracle's order, for
//! log-domain magnitudes beyond `f64`'s range.

use super::*;

/// The extended pass: each chain of the block, forward and backward, in [`Scaled`] (`f64`
/// mantissa, 62-bit exponent), with the oracle's `forward_ext` / `gradients_ext` operations
/// in the oracle's order, so a chain whose values all stay in `f64`'s normal range gets the plain
/// gradients' bits, and one whose activations or gradients leave it (a_d ≈ 10⁻⁴⁰⁰ after a few
/// tiny weights) keeps exact magnitudes instead of false zeros. Independent of the plain sweep:
/// `f32` parameters are lifted to `f64` exactly, so for `f32` this is the exact magnitude of the
/// `f32` chain's gradient rather than a re-rounding of the `f32` one. `buf` holds one chain:
/// a_0 … a_D (a_d overwritten by ∂L/∂a_d as backward passes it, for the identity skip), then
/// f′_1 … f′_D (overwritten by δ_1 … δ_D).
pub(super) fn extended_pass<T: Real>(job: &Block<'_, T>, out: &mut BlockOut<'_, T>, buf: &mut Vec<Scaled>) {
    let batch = job.batch;
    let (n, d) = (job.lanes.len(), batch.n_layers);
    let weights = job.rows(&batch.weights);
    let biases = batch.biases.as_deref().map(|b| job.rows(b));
    let lift = |x: T| Scaled::from_f64(x.to_f64());
    let shortcut_into = |layer: usize| batch.shortcut.filter(|&span| layer.is_multiple_of(span));
    let weight_scaled = out.weight_scaled.as_mut().expect("extended mode has scaled weight outputs");
    if buf.len() < 2 * d + 1 {
        buf.resize(2 * d + 1, Scaled::ZERO);
    }
    let (a, delta) = buf[..2 * d + 1].split_at_mut(d + 1);
    for i in 0..n {
        let w = |l: usize| lift(weights[l * n + i]);
        a[0] = lift(job.inputs[i]);
        for l in 0..d {
            let layer = l + 1;
            let b = biases.map_or(Scaled::ZERO, |b| lift(b[l * n + i]));
            let mut z = w(l) * a[l] + b;
            let from = shortcut_into(layer).map(|span| layer - span);
            if let (Some(from), Skip::PreActivation) = (from, batch.skip) {
                z = z + a[from];
            }
            let f = batch.activations[l];
            delta[l] = derivative_scaled(f, z);
            a[layer] = value_scaled(f, z);
            if let (Some(from), Skip::Identity) = (from, batch.skip) {
                a[layer] = a[layer] + a[from];
            }
        }
        // ∂L/∂a_D, then down: δ_d = f′_d·∂L/∂a_d, ∂L/∂a_{d−1} = δ_d·w_d (+ δ_{d−1+s}, or
        // ∂L/∂a_{d−1+s} for the identity skip, kept over a_{d−1+s} once that is no longer read).
        let mut dl_da = Scaled::from_f64(2.0) * (a[d] - lift(job.targets[i]));
        for l in (0..d).rev() {
            if batch.skip == Skip::Identity {
                a[l + 1] = dl_da;
            }
            let dz = delta[l] * dl_da;
            delta[l] = dz;
            weight_scaled[l][i] = dz * a[l];
            if let Some(bias_scaled) = &mut out.bias_scaled {
                bias_scaled[l][i] = dz;
            }
            dl_da = dz * w(l);
            if let Some(span) = batch.shortcut
                && l.is_multiple_of(span)
                && l + span <= d
            {
                let joined = match batch.skip {
                    Skip::PreActivation => delta[l + span - 1],
                    Skip::Identity => a[l + span],
                };
                dl_da = dl_da + joined;
            }
        }
    }
}
