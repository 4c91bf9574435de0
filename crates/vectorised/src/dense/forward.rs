//! Forward: Z_l = A_{l−1}·W_l + b_l (+ a pre-activation shortcut's A_{l−s}), A_l = f_l(Z_l)
//! (+ an identity shortcut's A_{l−s}) and D_l = f′_l(Z_l) kept for backward, per-layer statistics;
//! then the loss's seed G_L (or Δ_L) and the sum S.

use super::*;
use rayon::iter::Either;

impl<T: Real> Dense<T> {
    pub(super) fn forward(&self, x: &[T], batch: usize, loss: Loss, ws: &mut Workspace<T>) {
        let n_layers = self.layers.len();
        let (threshold, simd) = (ws.stats_threshold, ws.simd);
        // Large layers' weights are packed into panels; layer l + 1's while layer l's products
        // run (it needs nothing from them), so with two threads no pack waits alone.
        let pack_weights = |layer: &DenseLayer<T>, out: &mut Vec<T>| {
            if should_pack::<T>(layer.n_in, layer.n_out) {
                pack_b(layer.n_in, layer.n_out, &layer.weight, layer.n_out, out);
            }
        };
        pack_weights(&self.layers[0], &mut ws.wp);
        for (idx, layer) in self.layers.iter().enumerate() {
            let (done, rest) = ws.a.split_at_mut(idx);
            let a_out = &mut rest[0];
            let a_in: &[T] = if idx == 0 { x } else { &done[idx - 1] };
            // A normalised input: the product reads Y = LN(A_{l−1}).
            let (norm_y, x_hat, norm_r) =
                (rows_of(&mut ws.norm_y, idx), rows_of(&mut ws.norm_x_hat, idx), rows_of(&mut ws.norm_r, idx));
            self.normalise_input(idx, a_in, norm_y, x_hat, norm_r);
            let a_in: &[T] = if self.norm_at(idx, NormAt::Input).is_some() { norm_y } else { a_in };
            let pre_norm = self.norm_at(idx, NormAt::PreActivation);
            let source = |from: usize| -> &[T] { if from == 0 { x } else { &done[from - 1][..] } };
            let shortcut: Option<&[T]> = self.pre_activation_from(idx).map(source);
            let identity: Option<&[T]> = self.identity_from(idx).map(source);
            let d_out = &mut ws.d[idx];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            let init = match &layer.bias {
                Some(b) => Init::Bias(&b[..]),
                None => Init::Zero,
            };
            let keep_z = idx + 1 == n_layers && loss == Loss::BinaryCrossEntropy;
            let w_op = packed_or_rows(should_pack::<T>(n_in, n_out), &ws.wp, &layer.weight, n_out);
            let scratch = &ws.scratch;
            // Z for the rows from r0: the product, normalised (x̂ and r into `norm`'s rows), then
            // the shortcut's A_{l−s} added.
            let z_rows = |r0: usize, a_c: &mut [T], norm: NormRows<'_, T>| {
                let rows = a_c.len() / n_out;
                scratch.with(|s| {
                    gemm_at(
                        simd,
                        Product {
                            m: rows,
                            n: n_out,
                            k: n_in,
                            a: &a_in[r0 * n_in..],
                            a_layout: ALayout::RowMajor(n_in),
                            b: w_op,
                            c: a_c,
                            ldc: n_out,
                            init,
                        },
                        s,
                    )
                });
                if let (Some(ln), Some((x_hat, r))) = (pre_norm, norm) {
                    for ((z, x_hat), r) in a_c.chunks_exact_mut(n_out).zip(x_hat.chunks_exact_mut(n_out)).zip(r) {
                        *r = ln.forward_row(None, x_hat, z);
                    }
                }
                if let Some(src) = shortcut {
                    for (zv, &sv) in a_c.iter_mut().zip(&src[r0 * n_out..]) {
                        *zv += sv;
                    }
                }
            };
            // An identity shortcut's A_{l−s} added to f(Z) for the rows from r0.
            let add_identity = |r0: usize, a_c: &mut [T]| {
                if let Some(src) = identity {
                    for (av, &sv) in a_c.iter_mut().zip(&src[r0 * n_out..]) {
                        *av += sv;
                    }
                }
            };
            // The first non-finite value of an identity shortcut's sum f(Z) + A_{l−s} (f of a
            // finite z is finite, but the sum can overflow), scanned only where the sum is made.
            let identity_bad = |a_c: &[T]| identity.and(threshold).and_then(|_| stats::first_non_finite(simd, a_c));
            // Each block: its product, the first non-finite z and the first non-finite identity sum
            // (flat indices), and its saturated count, when statistics are on. Each combines in
            // any order (the smallest index; a sum); the layer's is z's, else the sum's.
            let job = |r0: usize, a_c: &mut [T], d_c: &mut [T], norm: NormRows<'_, T>| -> Found {
                z_rows(r0, a_c, norm);
                let bad = threshold.and_then(|_| stats::first_non_finite(simd, a_c));
                activate(simd, layer.activation, a_c, d_c);
                add_identity(r0, a_c);
                let sum_bad = identity_bad(a_c);
                let saturated = threshold.map_or(0, |theta| stats::saturated(simd, layer.activation, d_c, theta));
                (bad.map(|i| r0 * n_out + i), sum_bad.map(|i| r0 * n_out + i), saturated)
            };
            let combine = |a: Found, b: Found| (first_of(a.0, b.0), first_of(a.1, b.1), a.2 + b.2);
            let mut packed_next = false;
            let normed = pre_norm.is_some();
            let (bad, sum_bad, saturated): Found = if keep_z {
                // Z_L is copied before the activation overwrites it (one layer, one thread).
                let mut first = None;
                for (c, a_c) in a_out.chunks_mut(ROW_CHUNK * n_out).enumerate() {
                    let r0 = c * ROW_CHUNK;
                    z_rows(r0, a_c, norm_rows(normed, x_hat, norm_r, n_out, r0, a_c.len() / n_out));
                    if first.is_none() && threshold.is_some() {
                        first = stats::first_non_finite(simd, a_c).map(|i| r0 * n_out + i);
                    }
                }
                ws.z_last.clear();
                ws.z_last.extend_from_slice(a_out);
                activate(simd, layer.activation, a_out, d_out);
                add_identity(0, a_out);
                let saturated = threshold.map_or(0, |theta| stats::saturated(simd, layer.activation, d_out, theta));
                (first, identity_bad(a_out), saturated)
            } else if run_in_parallel(batch * n_in * n_out) {
                let wp_next = &mut ws.wp_next;
                let (found, ()) = rayon::join(
                    || {
                        let chunk_len = PARALLEL_ROW_CHUNK * n_out;
                        // Each block's rows of x̂ and r, or nothing (no normalised Linear output).
                        let norms = match pre_norm {
                            Some(_) => Either::Left(
                                x_hat
                                    .par_chunks_mut(chunk_len)
                                    .zip(norm_r.par_chunks_mut(PARALLEL_ROW_CHUNK))
                                    .map(Some),
                            ),
                            None => {
                                Either::Right((0..batch.div_ceil(PARALLEL_ROW_CHUNK)).into_par_iter().map(|_| None))
                            }
                        };
                        a_out
                            .par_chunks_mut(chunk_len)
                            .zip(d_out.par_chunks_mut(chunk_len))
                            .zip(norms)
                            .enumerate()
                            .map(|(c, ((a_c, d_c), norm))| job(c * PARALLEL_ROW_CHUNK, a_c, d_c, norm))
                            .reduce(|| (None, None, 0), combine)
                    },
                    || {
                        if let Some(next) = self.layers.get(idx + 1) {
                            pack_weights(next, wp_next);
                        }
                    },
                );
                packed_next = true;
                found
            } else {
                let mut found = (None, None, 0);
                let chunk_len = ROW_CHUNK * n_out;
                for (c, (a_c, d_c)) in a_out.chunks_mut(chunk_len).zip(d_out.chunks_mut(chunk_len)).enumerate() {
                    let r0 = c * ROW_CHUNK;
                    let norm = norm_rows(normed, x_hat, norm_r, n_out, r0, a_c.len() / n_out);
                    found = combine(found, job(r0, a_c, d_c, norm));
                }
                found
            };
            if let Some(next) = self.layers.get(idx + 1) {
                if !packed_next {
                    pack_weights(next, &mut ws.wp_next);
                }
                std::mem::swap(&mut ws.wp, &mut ws.wp_next);
            }
            if threshold.is_some() {
                if ws.stats.first_non_finite.is_none() {
                    let found = bad.map(|i| (i, Stage::Forward)).or(sum_bad.map(|i| (i, Stage::ShortcutSum)));
                    ws.stats.first_non_finite = found.map(|(i, stage)| NonFinite {
                        layer: idx + 1,
                        unit: i % n_out,
                        sample: Some(i / n_out),
                        stage,
                    });
                }
                let dead = match layer.activation {
                    Activation::Relu => stats::dead_units(&ws.d[idx], n_out, &mut ws.dead),
                    _ => 0,
                };
                let st = &mut ws.stats.layers[idx];
                st.saturated_fraction = saturated as f64 / (batch * n_out) as f64;
                st.dead_units = dead;
                st.dead_fraction = dead as f64 / n_out as f64;
            }
        }
    }

    /// G_L (or Δ_L for cross-entropy) into `ws.g[L−1]`; returns S, summed sample by sample.
    pub(super) fn seed(&self, t: &[T], batch: usize, loss: Loss, ws: &mut Workspace<T>) -> T {
        let last = self.layers.len() - 1;
        let n_out = self.layers[last].n_out;
        let y = &ws.a[last];
        let g = &mut ws.g[last];
        let mut sum: Option<T> = None;
        match loss {
            Loss::SquaredError => {
                for ((gv, &yv), &tv) in g.iter_mut().zip(y).zip(t) {
                    let diff = yv - tv;
                    let term = diff * diff;
                    sum = Some(sum.map_or(term, |s| s + term));
                    *gv = T::from_f64(2.0) * diff;
                }
            }
            Loss::BinaryCrossEntropy => {
                for (((gv, &yv), &tv), &zv) in g.iter_mut().zip(y).zip(t).zip(&ws.z_last) {
                    let term = Activation::Softplus.value(zv) - tv * zv;
                    sum = Some(sum.map_or(term, |s| s + term));
                    *gv = yv - tv;
                }
            }
            Loss::BceWithLogits => {
                for ((gv, &yv), &tv) in g.iter_mut().zip(y).zip(t) {
                    let term = Activation::Softplus.value(yv) - tv * yv;
                    sum = Some(sum.map_or(term, |s| s + term));
                    *gv = Activation::Sigmoid.value(yv) - tv;
                }
            }
            Loss::CrossEntropy => {
                for ((gb, yb), tb) in g.chunks_exact_mut(n_out).zip(y.chunks_exact(n_out)).zip(t.chunks_exact(n_out)) {
                    // lse = m + ln Σ e^{y−m}; Σ ≥ 1 (the max's own term), so ln = ln_1p(Σ − 1).
                    let m = yb.iter().fold(yb[0], |m, &v| if v > m { v } else { m });
                    let total = yb.iter().skip(1).fold((yb[0] - m).exp(), |s, &v| s + (v - m).exp());
                    let lse = (total - T::ONE).ln_1p() + m;
                    let t_sum = tb.iter().skip(1).fold(tb[0], |s, &v| s + v);
                    for ((gv, &yv), &tv) in gb.iter_mut().zip(yb).zip(tb) {
                        let term = lse * tv - tv * yv;
                        sum = Some(sum.map_or(term, |s| s + term));
                        *gv = t_sum * ((yv - m).exp() / total) - tv;
                    }
                }
            }
            Loss::Linear => {
                for ((gv, &yv), &tv) in g.iter_mut().zip(y).zip(t) {
                    let term = tv * yv;
                    sum = Some(sum.map_or(term, |s| s + term));
                    *gv = tv;
                }
            }
        }
        debug_assert_eq!(g.len(), batch * n_out);
        sum.expect("a validated batch has at least one sample and one output")
    }
}

kernel! {
    /// z ← f(z) in place, d ← f′(z), at the SIMD level `simd` (the same IEEE operations at every
    /// level: FMA is explicit).
    pub(super) fn activate<'a, T>(act: Activation, za: &'a mut [T], d: &'a mut [T]) {
        match act {
            Activation::Tanh => T::tanh_in_place(za, d),
            Activation::Identity => d.iter_mut().for_each(|v| *v = T::ONE),
            _ => {
                for (zv, dv) in za.iter_mut().zip(d.iter_mut()) {
                    *dv = act.derivative(*zv);
                    *zv = act.value(*zv);
                }
            }
        }
    }
}

/// A block's rows of x̂ and r, where the layer normalises its Linear output.
type NormRows<'a, T> = Option<(&'a mut [T], &'a mut [T])>;

/// Layer `idx`'s buffer of `buffers`, or none (a network without normalisations has none).
fn rows_of<T>(buffers: &mut [Vec<T>], idx: usize) -> &mut [T] {
    buffers.get_mut(idx).map_or(&mut [], |b| &mut b[..])
}

/// The rows of x̂ and r of a block of `rows` rows from r0 (width n), where the layer normalises its
/// Linear output (`on`).
fn norm_rows<'a, T>(on: bool, x_hat: &'a mut [T], r: &'a mut [T], n: usize, r0: usize, rows: usize) -> NormRows<'a, T> {
    on.then(|| (&mut x_hat[r0 * n..(r0 + rows) * n], &mut r[r0..r0 + rows]))
}

/// What a block of a layer's forward rows found: the first non-finite z, the first non-finite
/// identity sum (flat indices), and the saturated units.
type Found = (Option<usize>, Option<usize>, usize);

/// The smaller of two first indices, or whichever exists.
fn first_of(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}
