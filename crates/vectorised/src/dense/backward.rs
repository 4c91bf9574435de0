//! Backward, layer L down to 1: Δ_l = G_l ⊙ D_l, ∂S/∂W_l = A_{l−1}ᵀ·Δ_l, ∂S/∂b_l = Σ_b Δ_l[b],
//! G_{l−1} (+)= Δ_l·W_lᵀ (and through a shortcut G_{l−s} += Δ_l, pre-activation, or += G_l,
//! identity); then the statistics finished. A normalisation (`dense/norm.rs`) sits between: of
//! the Linear output, Δ_l's rows pass through its backward row after the shortcut has taken
//! them (γ's and β's gradients summed from them first), and the weights, the bias and the
//! product read the result; of the input, the weights read Y = LN(A_{l−1}), and the product's
//! rows, Y's adjoint, are summed into γ's and β's gradients and passed back before they join
//! G_{l−1}.

use super::*;

impl<T: Real> Dense<T> {
    /// Δ_l, ∂S/∂W_l (times `weight_scale` if given), ∂S/∂b_l and G_{l−1}, layer L down to 1.
    pub(super) fn backward(&self, x: &[T], batch: usize, weight_scale: Option<T>, ws: &mut Workspace<T>) {
        let n_layers = self.layers.len();
        let (gather, simd) = (ws.stats_threshold.is_some(), ws.simd);
        for idx in (0..n_layers).rev() {
            let layer = &self.layers[idx];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            let is_bce_top = idx + 1 == n_layers && ws.z_last.len() == ws.g[idx].len();
            // G_{l−s} (s = the span, 1 without shortcuts), which this layer's shortcut or product
            // is the first to write, gets the buffer of Δ_{l+1}, used up in the previous step
            // (see `Workspace::g`): without shortcuts G_{l−1}, whose product then overwrites it
            // whole, in cache. Its capacity fits any layer: no allocation.
            let window = self.g_window();
            if idx >= window && idx + 1 < n_layers {
                ws.g.swap(idx - window, idx + 1);
                ws.g[idx - window].resize(batch * self.layers[idx - window].n_out, T::ZERO);
            }
            // An identity shortcut passes G_l itself down, before it becomes Δ_l.
            if let Some(from) = self.identity_from(idx) {
                add_shortcut(ws, idx, from);
            }
            // Δ_l = G_l ⊙ D_l (already Δ for cross-entropy's top layer, or written by the
            // product that made G_l); with statistics, G_l is summarised in the same pass.
            let multiply = !is_bce_top && !ws.delta_ready[idx];
            if gather {
                let (summary, bad) = if multiply {
                    Summary::of_then_multiply(simd, &mut ws.g[idx], &ws.d[idx])
                } else {
                    // A NaN or ±∞ makes the norm non-finite, and finite values do not (its sums
                    // are scaled), so a finite norm means there is none to look for.
                    let summary = Summary::of_at(simd, &ws.g[idx]);
                    (summary, if summary.norm.is_finite() { None } else { stats::first_non_finite(simd, &ws.g[idx]) })
                };
                ws.stats.layers[idx].activation = summary;
                if ws.stats.first_non_finite.is_none() {
                    if let Some(i) = bad {
                        ws.stats.first_non_finite = Some(NonFinite {
                            layer: idx + 1,
                            unit: i % n_out,
                            sample: Some(i / n_out),
                            stage: Stage::ActivationGradient,
                        });
                    }
                }
            }
            if multiply && !gather {
                hadamard(simd, &mut ws.g[idx], &ws.d[idx]);
            }
            // A pre-activation shortcut passes Δ_l down.
            if let Some(from) = self.pre_activation_from(idx) {
                add_shortcut(ws, idx, from);
            }
            if let Some(ln) = self.norm_at(idx, NormAt::PreActivation) {
                let rows = (&mut ws.g[idx][..], &ws.norm_x_hat[idx][..], &ws.norm_r[idx][..]);
                let (gamma, beta) = (&mut ws.grads.norm_weight[idx], &mut ws.grads.norm_bias[idx]);
                ln.backward_batch(simd, rows, gamma, beta, &mut ws.norm_tmp);
            }
            let input_norm = self.norm_at(idx, NormAt::Input);
            let (lower, upper) = ws.g.split_at_mut(idx);
            let delta: &[T] = &upper[0];
            let a_in: &[T] = match (input_norm, idx) {
                (Some(_), _) => &ws.norm_y[idx],
                (None, 0) => x,
                (None, _) => &ws.a[idx - 1],
            };
            let gw = &mut ws.grads.weight[idx];
            let gb = &mut ws.grads.bias[idx];
            // W_lᵀ, just before its one use, into one buffer for all layers (so it stays in
            // cache; layer 1's only for a normalised input, whose γ and β need Y's adjoint: there
            // is no ∂S/∂A_0).
            let prepare_wt = |wt: &mut Vec<T>| {
                if idx > 0 || input_norm.is_some() {
                    transpose_weights(layer, wt);
                }
            };
            let pack_wt = should_pack::<T>(n_out, n_in);
            let pack_delta = should_pack::<T>(batch, n_out);
            let prepare_delta = |out: &mut Vec<T>| {
                if pack_delta {
                    pack_b(batch, n_out, delta, n_out, out);
                }
            };
            let scratch = &ws.scratch;
            let weight_job = |i0: usize, gw_c: &mut [T], delta_op: BOp<'_, T>| {
                scratch.with(|s| {
                    gemm_at(
                        simd,
                        Product {
                            m: gw_c.len() / n_out,
                            n: n_out,
                            k: batch,
                            a: &a_in[i0..],
                            a_layout: ALayout::ColMajor(n_in),
                            b: delta_op,
                            c: gw_c,
                            ldc: n_out,
                            init: weight_scale.map_or(Init::Zero, Init::Scale),
                        },
                        s,
                    )
                })
            };
            // A normalised input's product, Y's adjoint, goes to a buffer of its own first (also
            // for layer 1: γ and β need it).
            let below: Option<(&mut [T], bool)> = match (input_norm, idx) {
                (Some(_), _) => {
                    ws.norm_g.resize(batch * n_in, T::ZERO);
                    Some((&mut ws.norm_g[..], false))
                }
                (None, 0) => None,
                (None, _) => Some((&mut lower[idx - 1][..], ws.pending[idx - 1])),
            };
            // G_{l−1} is complete once this product is stored (shortcuts only reach down), so
            // unless it also holds a shortcut's part, statistics need G itself, or layer l − 1's
            // identity shortcut must pass G_{l−1} down, the store writes Δ_{l−1} = G_{l−1} ⊙ D_{l−1}
            // at once.
            let d_below: Option<&[T]> = (idx > 0
                && input_norm.is_none()
                && !ws.pending[idx - 1]
                && !gather
                && self.identity_from(idx - 1).is_none())
            .then(|| &ws.d[idx - 1][..]);
            if let Some(ready) = ws.delta_ready.get_mut(idx.wrapping_sub(1)) {
                *ready = d_below.is_some();
            }
            let input_job = |r0: usize, g_c: &mut [T], accumulate: bool, wt_op: BOp<'_, T>| {
                let init = match (accumulate, d_below) {
                    (true, _) => Init::Accumulate,
                    (false, Some(d)) => Init::Hadamard(&d[r0 * n_in..], n_in),
                    (false, None) => Init::Zero,
                };
                scratch.with(|s| {
                    gemm_at(
                        simd,
                        Product {
                            m: g_c.len() / n_in,
                            n: n_in,
                            k: n_out,
                            a: &delta[r0 * n_out..],
                            a_layout: ALayout::RowMajor(n_out),
                            b: wt_op,
                            c: g_c,
                            ldc: n_in,
                            init,
                        },
                        s,
                    )
                })
            };
            let (delta_pack, wt) = (&mut ws.delta_pack, &mut ws.wt);
            if run_in_parallel(batch * n_in * n_out) {
                // Two independent halves, each with its own preparation: Δ_l packed, ∂S/∂W_l and
                // ∂S/∂b_l; W_lᵀ and G_{l−1}. Either thread may take either.
                rayon::join(
                    || {
                        prepare_delta(delta_pack);
                        let op = packed_or_rows(pack_delta, delta_pack, delta, n_out);
                        gw.par_chunks_mut(PARALLEL_ROW_CHUNK * n_out)
                            .enumerate()
                            .for_each(|(c, gw_c)| weight_job(c * PARALLEL_ROW_CHUNK, gw_c, op));
                        column_sums(simd, delta, gb); // ∂S/∂b_l = Σ_b Δ_l[b], samples in index order
                    },
                    || {
                        if let Some((g_below, acc)) = below {
                            prepare_wt(wt);
                            let op = packed_or_rows(pack_wt, wt, wt, n_in);
                            g_below
                                .par_chunks_mut(PARALLEL_ROW_CHUNK * n_in)
                                .enumerate()
                                .for_each(|(c, g_c)| input_job(c * PARALLEL_ROW_CHUNK, g_c, acc, op))
                        }
                    },
                );
            } else {
                prepare_delta(delta_pack);
                let op = packed_or_rows(pack_delta, delta_pack, delta, n_out);
                for (c, gw_c) in gw.chunks_mut(ROW_CHUNK * n_out).enumerate() {
                    weight_job(c * ROW_CHUNK, gw_c, op);
                }
                column_sums(simd, delta, gb);
                if let Some((g_below, acc)) = below {
                    prepare_wt(wt);
                    let op = packed_or_rows(pack_wt, wt, wt, n_in);
                    for (c, g_c) in g_below.chunks_mut(ROW_CHUNK * n_in).enumerate() {
                        input_job(c * ROW_CHUNK, g_c, acc, op);
                    }
                }
            }
            if let Some(ln) = input_norm {
                let rows = (&mut ws.norm_g[..], &ws.norm_x_hat[idx][..], &ws.norm_r[idx][..]);
                let (gamma, beta) = (&mut ws.grads.norm_weight[idx], &mut ws.grads.norm_bias[idx]);
                ln.backward_batch(simd, rows, gamma, beta, &mut ws.norm_tmp);
                if idx > 0 {
                    let target = &mut ws.g[idx - 1];
                    if ws.pending[idx - 1] {
                        target.iter_mut().zip(&ws.norm_g).for_each(|(t, &v)| *t += v);
                    } else {
                        target.copy_from_slice(&ws.norm_g);
                    }
                }
            }
        }
    }

    pub(super) fn finish_stats(&self, ws: &mut Workspace<T>, nu: f64) {
        for (idx, st) in ws.stats.layers.iter_mut().enumerate().rev() {
            st.activation = st.activation.divided_by(nu);
            st.weight = Summary::of_at(ws.simd, &ws.grads.weight[idx]);
        }
        if ws.stats.first_non_finite.is_none() {
            // Gradients in backward order: layer L down to 1, ∂L/∂a before ∂L/∂W. The ∂L/∂a of
            // each layer was scanned during backward, so only weights remain to be scanned here,
            // and a weight gradient can only be non-finite if some Δ or A was.
            for idx in (0..self.layers.len()).rev() {
                if ws.stats.layers[idx].weight.norm.is_finite() {
                    continue; // no NaN or ±∞ (see `backward`)
                }
                if let Some(i) = stats::first_non_finite(ws.simd, &ws.grads.weight[idx]) {
                    ws.stats.first_non_finite =
                        Some(NonFinite { layer: idx + 1, unit: i, sample: None, stage: Stage::WeightGradient });
                    break;
                }
            }
        }
    }
}

/// G_{from} += G_l (or Δ_l: whatever `ws.g[idx]` holds now) for layer `idx` + 1's shortcut from
/// activation `from`; the first part to reach G_{from} writes it, later ones (the product's
/// included, see `pending`) add. The input (`from` = 0) needs no gradient.
fn add_shortcut<T: Real>(ws: &mut Workspace<T>, idx: usize, from: usize) {
    if from == 0 {
        return;
    }
    let (lower, upper) = ws.g.split_at_mut(idx);
    let (source, target) = (&upper[0], &mut lower[from - 1]);
    if ws.pending[from - 1] {
        target.iter_mut().zip(source).for_each(|(t, &v)| *t += v);
    } else {
        target.copy_from_slice(source);
        ws.pending[from - 1] = true;
    }
}

/// A product's B: the panels in `packed` when it was packed, else `rows` with row stride `ld`.
pub(super) fn packed_or_rows<'a, T>(is_packed: bool, packed: &'a [T], rows: &'a [T], ld: usize) -> BOp<'a, T> {
    if is_packed { BOp::Packed(packed) } else { BOp::Rows(rows, ld) }
}

/// W_lᵀ (n_out × n_in), for G_{l−1} = Δ_l·W_lᵀ: row-major, or straight into panels of NR
/// columns for large layers (panel q's row p, column jj is W[q·NR + jj][p]; panels
/// `panel_stride` apart).
pub(super) fn transpose_weights<T: Real>(layer: &DenseLayer<T>, wt: &mut Vec<T>) {
    let (n_in, n_out) = (layer.n_in, layer.n_out);
    if should_pack::<T>(n_out, n_in) {
        let nr = T::NR;
        let stride = panel_stride::<T>(n_out);
        wt.resize(n_in.div_ceil(nr) * stride, T::ZERO);
        for (q, panel) in wt.chunks_exact_mut(stride).enumerate() {
            let rows = nr.min(n_in - q * nr);
            let block = &layer.weight[q * nr * n_out..(q * nr + rows) * n_out];
            if rows == nr {
                // A full panel is the transpose of NR rows of W.
                transpose(nr, n_out, block, &mut panel[..n_out * nr]);
            } else {
                for (p, row) in panel[..n_out * nr].chunks_exact_mut(nr).enumerate() {
                    for (jj, v) in row.iter_mut().enumerate() {
                        *v = if jj < rows { block[jj * n_out + p] } else { T::ZERO };
                    }
                }
            }
        }
    } else {
        wt.resize(n_in * n_out, T::ZERO);
        transpose(n_in, n_out, &layer.weight, wt);
    }
}

kernel! {
    /// g ← g ⊙ d (Δ = G ⊙ f′(Z)).
    pub(super) fn hadamard<'a, T>(g: &'a mut [T], d: &'a [T]) {
        for (gv, &dv) in g.iter_mut().zip(d) {
            *gv *= dv;
        }
    }
}

kernel! {
    /// v ← v·s.
    pub(super) fn scale<'a, T>(v: &'a mut [T], s: T) {
        v.iter_mut().for_each(|x| *x *= s);
    }
}

kernel! {
    /// sums[j] = Σ_b rows[b][j] in sample order from +0 (as the oracle's tape accumulates, so an
    /// all-−0 column gives +0 there too); `rows` is a whole number of rows of `sums.len()` values.
    pub(super) fn column_sums<'a, T>(rows: &'a [T], sums: &'a mut [T]) {
        sums.iter_mut().for_each(|v| *v = T::ZERO);
        for row in rows.chunks_exact(sums.len()) {
            sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
    }
}
