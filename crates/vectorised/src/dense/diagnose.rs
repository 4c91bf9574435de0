//! A network's diagnosis: per layer, log10 of ‖∂L/∂W_l‖, ‖∂L/∂b_l‖ and ‖∂L/∂Z_l‖ exact for the
//! `f64` forward pass even where those gradients leave `f64`'s range, beside the forward
//! activations' RMS, E[f′(z_l)²], the saturated and dead fractions, and the first non-finite
//! value, located.
//!
//! Backward is linear in the seed: Δ_l = G_l ⊙ D_l and G_{l−1} = Δ_l·W_lᵀ act on each sample's row
//! alone. So each sample's row may be multiplied by any power of two, the exponent carried beside
//! it, and nothing is lost (a multiplication by 2ᵏ is exact):
//!
//! ```text
//! Δ_l[b] = 2^{e_l[b]} · Δ̂_l[b],   with max_j |Δ̂_l[b][j]| in [½, 1)     (rescaled once per layer)
//! Ĝ_{l−1}[b] = Δ̂_l[b]·W_lᵀ,        e_{l−1}[b] = e_l[b]
//! ```
//!
//! The sums over the batch (∂S/∂W_l = A_{l−1}ᵀ·Δ_l, ∂S/∂b_l = Σ_b Δ_l[b], ‖Δ_l‖) need one exponent:
//! each row is aligned to the largest, e* = max_b e_l[b], as Δ̂_l[b]·2^{e_l[b] − e*} (rows more
//! than 2¹⁰⁷⁴ below the largest become 0: their share of a sum is below its rounding), and
//! log10 ‖∂L/∂W_l‖ = log10 ‖A_{l−1}ᵀ·Δ̃_l‖ + e*·log10 2 − log10 ν. A shortcut's contribution
//! joins G_{from}'s row at the larger of the two exponents.
//!
//! The forward pass is the engine's own (`forward`, with statistics): a non-finite forward value
//! is located there and the backward pass is then not run. The seed is the caller's (∂S/∂A_L or
//! ∂S/∂Z_L, [`SeedAt`]), computed from the outputs: any loss whose gradient at the output is known
//! slots in.

use super::*;
use crate::math::norm::InOrder;

/// Where a diagnosis's seed enters the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedAt {
    /// The seed is ∂S/∂A_L: it passes through the last layer's f′ (squared error).
    Output,
    /// The seed is ∂S/∂Z_L (cross-entropy on the logits: σ(z) − t).
    Logit,
}

/// One layer's diagnosis (see [`Dense::diagnose`]). A log10 value is `Some(−∞)` when the
/// gradient is exactly 0 and `None` when it was not computed (a non-finite value came first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerDiagnosis {
    /// log10 ‖∂L/∂W_l‖.
    pub log10_weight_grad_norm: Option<f64>,
    /// log10 ‖∂L/∂b_l‖ (whether or not the layer has biases).
    pub log10_bias_grad_norm: Option<f64>,
    /// log10 ‖∂L/∂Z_l‖ over the batch.
    pub log10_delta_norm: Option<f64>,
    /// √(mean of a_l²) over the batch and units (non-finite if the forward pass overflowed).
    pub activation_rms: f64,
    /// E[f′_l(z)²] over the batch and units.
    pub mean_square_derivative: f64,
    /// The fraction of (sample, unit) pairs with |f′(z)| < θ·sup|f′| ([`crate::stats`]).
    pub saturated_fraction: f64,
    /// The fraction of relu units with f′ = 0 for the whole batch.
    pub dead_fraction: f64,
    /// log10 ‖∂L/∂γ‖ of the layer's normalisation (`None` without one).
    pub log10_norm_weight_grad_norm: Option<f64>,
    /// log10 ‖∂L/∂β‖ of the layer's normalisation (whether or not it has β; `None` without one).
    pub log10_norm_bias_grad_norm: Option<f64>,
}

/// A network's diagnosis for a batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagnosis {
    /// √(mean of x²) of the input batch.
    pub input_rms: f64,
    /// Index l − 1 holds layer l.
    pub layers: Vec<LayerDiagnosis>,
    /// The first NaN or ±∞: forward values layer by layer upwards, then the back-propagated
    /// Δ_l (stage [`Stage::ActivationGradient`]) layer L down to 1, samples then units in order.
    pub first_non_finite: Option<NonFinite>,
}

/// The exponent carried by a row that is exactly 0: it loses every alignment.
pub(super) const ZERO_ROW: i64 = i64::MIN / 4;

impl Dense<f64> {
    /// The diagnosis of the network for `input` (per-layer log10 gradient norms exact beyond
    /// `f64`'s range, by a backward pass rescaled by powers of two per sample and layer, with the
    /// exponents carried; forward statistics; the first non-finite value), with backward started from the seed that
    /// `seed` writes (B × n_L, row-major) from the outputs A_L (B × n_L) — ∂S/∂A_L or ∂S/∂Z_L as
    /// `at` says — and every gradient divided by ν = `nu` (L = S/ν). Statistics (the saturation
    /// threshold) are the workspace's; they are gathered even if the workspace has them off.
    ///
    /// Refused: an empty batch, an input of the wrong width, non-finite inputs, ν not positive
    /// and finite. A non-finite seed is not an error: it is located.
    pub fn diagnose<'w>(
        &self,
        input: Batch<'_, f64>,
        seed: impl FnOnce(&[f64], &mut [f64]) + Send,
        at: SeedAt,
        nu: f64,
        ws: &'w mut Workspace<f64>,
    ) -> Result<&'w Diagnosis, Error> {
        let batch = input.rows;
        if batch == 0 {
            return Err(Error::invalid("input", "the batch is empty"));
        }
        Error::check_len("input width", self.input_width(), input.cols)?;
        Error::check_finite("input", input.data)?;
        if !(nu.is_finite() && nu > 0.0) {
            return Err(Error::invalid("normalisation", "ν must be positive and finite"));
        }
        let restore = ws.stats_threshold;
        if ws.stats_threshold.is_none() {
            ws.stats_threshold = Some(stats::DEFAULT_SATURATION_THRESHOLD);
        }
        ws.fit_forward(self, batch);
        ws.fit_diagnosis(self, batch);
        let passes = |ws: &mut Workspace<f64>| {
            self.forward(input.data, batch, Loss::SquaredError, ws);
            self.forward_summaries(input.data, batch, ws);
            if ws.diagnosis.first_non_finite.is_none() {
                let last = self.layers.len() - 1;
                let top = net_slot(self, last);
                seed(&ws.a[last], &mut ws.diag_g[top]);
                ws.diag_exp[top].iter_mut().for_each(|e| *e = 0);
                self.backward_scaled(input.data, batch, at, nu, ws);
            }
        };
        let share = self.layers.iter().any(|l| run_in_parallel(batch * l.n_in * l.n_out));
        if share && rayon::current_thread_index().is_none() {
            rayon::join(|| passes(ws), || ());
        } else {
            passes(ws);
        }
        ws.stats_threshold = restore;
        Ok(&ws.diagnosis)
    }

    /// The forward statistics into `ws.diagnosis`: RMS of the input and of every A_l, E[f′²],
    /// the saturated and dead fractions, and the first non-finite forward value.
    fn forward_summaries(&self, x: &[f64], batch: usize, ws: &mut Workspace<f64>) {
        let rms = |simd: Simd, v: &[f64]| Summary::of_at(simd, v).norm / (v.len() as f64).sqrt();
        let simd = ws.simd;
        ws.diagnosis.input_rms = rms(simd, x);
        ws.diagnosis.first_non_finite = ws.stats.first_non_finite;
        for (idx, layer) in self.layers.iter().enumerate() {
            let d = &ws.d[idx];
            let mean_square = Summary::of_at(simd, d).norm.powi(2) / (batch * layer.n_out) as f64;
            let st = &ws.stats.layers[idx];
            ws.diagnosis.layers[idx] = LayerDiagnosis {
                log10_weight_grad_norm: None,
                log10_bias_grad_norm: None,
                log10_delta_norm: None,
                activation_rms: rms(simd, &ws.a[idx]),
                mean_square_derivative: mean_square,
                saturated_fraction: st.saturated_fraction,
                dead_fraction: st.dead_fraction,
                log10_norm_weight_grad_norm: None,
                log10_norm_bias_grad_norm: None,
            };
        }
    }

    /// Backward with per-sample, per-layer powers of two (module docs), layer L down to 1.
    fn backward_scaled(&self, x: &[f64], batch: usize, at: SeedAt, nu: f64, ws: &mut Workspace<f64>) {
        let simd = ws.simd;
        let log10_nu = nu.log10();
        let n_layers = self.layers.len();
        for idx in (0..n_layers).rev() {
            let layer = &self.layers[idx];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            let slot = net_slot(self, idx);
            if let Some(from) = self.identity_from(idx) {
                ws.add_shortcut_scaled(self, idx, from, n_out);
            }
            let is_logit_top = idx + 1 == n_layers && at == SeedAt::Logit;
            if !is_logit_top {
                hadamard(simd, &mut ws.diag_g[slot], &ws.d[idx]);
            }
            if let Some((sample, unit)) = normalise_rows(&mut ws.diag_g[slot], n_out, &mut ws.diag_exp[slot]) {
                ws.diagnosis.first_non_finite = Some(backward_non_finite(idx, sample, unit));
                return;
            }
            if let Some(from) = self.pre_activation_from(idx) {
                ws.add_shortcut_scaled(self, idx, from, n_out);
            }
            // A normalised Linear output: ‖Δ_l‖ and γ's and β's gradients are Δ_l's, at Z; the
            // weights and the product below read the Linear output's adjoint, LN's backward of Δ_l.
            let mut z_delta = None;
            if let Some(ln) = self.norm_at(idx, NormAt::PreActivation) {
                let rows = (
                    &mut ws.diag_g[slot][..],
                    &mut ws.diag_exp[slot][..],
                    &ws.norm_x_hat[idx][..],
                    &ws.norm_r[idx][..],
                );
                let passed = ln.diagnose_rows(simd, rows, n_out, (&mut ws.diag_aligned, &mut ws.diag_gb));
                let Some(delta) = record_norm(&mut ws.diagnosis, idx, passed, log10_nu) else { return };
                z_delta = Some(delta);
            }
            let input_norm = self.norm_at(idx, NormAt::Input);
            // The batch sums need every row aligned to the largest exponent (into a copy: G_{l−1}
            // is made from Δ̂_l at its rows' own exponents). The two halves run side by side, as
            // in `backward`: Δ̃_l aligned and packed, ∂S/∂W_l (summarised block by block as it is
            // stored: only its norm is kept), ∂S/∂b_l and the norms; W_lᵀ and G_{l−1} = Δ̂_l·W_lᵀ.
            let top = ws.diag_exp[slot].iter().copied().max().unwrap_or(ZERO_ROW);
            let below = idx.checked_sub(1).map(|i| net_slot(self, i));
            let fresh = idx > 0 && !ws.pending[idx - 1];
            let (g_slot, g_below) = match below {
                Some(b) => {
                    let (here, there) = pair(&mut ws.diag_g, slot, b);
                    (&*here, Some(if fresh { there } else { &mut ws.diag_tmp }))
                }
                // The first layer's normalised input still needs its adjoint, for γ and β.
                None if input_norm.is_some() => (&ws.diag_g[slot], Some(&mut ws.diag_tmp)),
                None => (&ws.diag_g[slot], None),
            };
            let exps = &ws.diag_exp[slot];
            let a_in: &[f64] = match (input_norm, idx) {
                (Some(_), _) => &ws.norm_y[idx],
                (None, 0) => x,
                (None, _) => &ws.a[idx - 1],
            };
            let (aligned, delta_pack, gw, gb, wt) =
                (&mut ws.diag_aligned, &mut ws.delta_pack, &mut ws.diag_gw, &mut ws.diag_gb, &mut ws.wt);
            let scratch = &ws.scratch;
            let parallel = run_in_parallel(batch * n_in * n_out);
            let mut weight_half = move || -> Option<[f64; 3]> {
                if top == ZERO_ROW {
                    return None;
                }
                align_rows(g_slot, exps, n_out, top, aligned);
                let delta: &[f64] = aligned;
                let pack_delta = should_pack::<f64>(batch, n_out);
                if pack_delta {
                    pack_b(batch, n_out, delta, n_out, delta_pack);
                }
                let op = packed_or_rows(pack_delta, delta_pack, delta, n_out);
                gw.resize(n_in * n_out, 0.0);
                let summary = InOrder::new(simd);
                let weight_job = |i0: usize, gw_c: &mut [f64]| {
                    scratch.with(|s| {
                        gemm_at(
                            simd,
                            Product {
                                m: gw_c.len() / n_out,
                                n: n_out,
                                k: batch,
                                a: &a_in[i0..],
                                a_layout: ALayout::ColMajor(n_in),
                                b: op,
                                c: gw_c,
                                ldc: n_out,
                                init: Init::Zero,
                            },
                            s,
                        )
                    })
                };
                if parallel {
                    gw.par_chunks_mut(PARALLEL_ROW_CHUNK * n_out).enumerate().for_each(|(c, gw_c)| {
                        weight_job(c * PARALLEL_ROW_CHUNK, gw_c);
                        summary.offer(c, gw_c);
                    });
                } else {
                    for (c, gw_c) in gw.chunks_mut(ROW_CHUNK * n_out).enumerate() {
                        weight_job(c * ROW_CHUNK, gw_c);
                        summary.offer(c, gw_c);
                    }
                }
                gb.resize(n_out, 0.0);
                column_sums(simd, delta, gb);
                let norm = |v: &[f64]| Summary::of_at(simd, v).norm;
                Some([norm(delta), summary.finish().norm, norm(gb)])
            };
            let input_half = move || {
                let Some(out) = g_below else { return };
                transpose_weights(layer, wt);
                let op = packed_or_rows(should_pack::<f64>(n_out, n_in), wt, wt, n_in);
                out.resize(batch * n_in, 0.0);
                let input_job = |r0: usize, g_c: &mut [f64]| {
                    scratch.with(|s| {
                        gemm_at(
                            simd,
                            Product {
                                m: g_c.len() / n_in,
                                n: n_in,
                                k: n_out,
                                a: &g_slot[r0 * n_out..],
                                a_layout: ALayout::RowMajor(n_out),
                                b: op,
                                c: g_c,
                                ldc: n_in,
                                init: Init::Zero,
                            },
                            s,
                        )
                    })
                };
                if parallel {
                    out.par_chunks_mut(PARALLEL_ROW_CHUNK * n_in)
                        .enumerate()
                        .for_each(|(c, g_c)| input_job(c * PARALLEL_ROW_CHUNK, g_c));
                } else {
                    for (c, g_c) in out.chunks_mut(ROW_CHUNK * n_in).enumerate() {
                        input_job(c * ROW_CHUNK, g_c);
                    }
                }
            };
            let norms = if parallel {
                rayon::join(weight_half, input_half).0
            } else {
                let norms = weight_half();
                input_half();
                norms
            };
            // A normalised input: the product's rows are Y's adjoint, at Δ̂_l's exponents: γ's and
            // β's gradients, then LN's backward, renormalised (their exponents in `diag_tmp_exp`).
            if let Some(ln) = input_norm {
                let out = match below {
                    Some(b) if fresh => &mut ws.diag_g[b],
                    _ => &mut ws.diag_tmp,
                };
                ws.diag_tmp_exp.clear();
                ws.diag_tmp_exp.extend_from_slice(&ws.diag_exp[slot]);
                let rows = (&mut out[..], &mut ws.diag_tmp_exp[..], &ws.norm_x_hat[idx][..], &ws.norm_r[idx][..]);
                let passed = ln.diagnose_rows(simd, rows, n_in, (&mut ws.diag_aligned, &mut ws.diag_gb));
                if record_norm(&mut ws.diagnosis, idx, passed, log10_nu).is_none() {
                    return;
                }
            }
            // G_{l−1}'s exponents are Δ̂_l's, or the normalisation's (joined to a shortcut's part
            // row by row).
            if let Some(below) = below {
                let (exp_here, exp_below) = pair(&mut ws.diag_exp, slot, below);
                let exp_rows: &[i64] = if input_norm.is_some() { &ws.diag_tmp_exp } else { exp_here };
                if fresh {
                    exp_below.copy_from_slice(exp_rows);
                } else {
                    add_rows(&mut ws.diag_g[below], exp_below, &ws.diag_tmp, exp_rows, n_in);
                }
                ws.pending[idx - 1] = false;
            }
            let Some([delta_norm, weight_norm, bias_norm]) = norms else {
                let zero = Some(f64::NEG_INFINITY);
                ws.diagnosis.layers[idx].log10_weight_grad_norm = zero;
                ws.diagnosis.layers[idx].log10_bias_grad_norm = zero;
                ws.diagnosis.layers[idx].log10_delta_norm = z_delta.or(zero);
                continue;
            };
            let log10 = |norm: f64| norm.log10() + top as f64 * std::f64::consts::LOG10_2 - log10_nu;
            let st = &mut ws.diagnosis.layers[idx];
            st.log10_delta_norm = Some(z_delta.unwrap_or_else(|| log10(delta_norm)));
            st.log10_weight_grad_norm = Some(log10(weight_norm));
            st.log10_bias_grad_norm = Some(log10(bias_norm));
        }
    }
}

impl Workspace<f64> {
    /// The diagnosis of the last successful [`Dense::diagnose`] call.
    pub fn diagnosis(&self) -> &Diagnosis {
        &self.diagnosis
    }

    /// Sizes the diagnosis's buffers (allocating only when they grow).
    pub(super) fn fit_diagnosis(&mut self, net: &Dense<f64>, batch: usize) {
        let n_layers = net.layers.len();
        let slots = if net.shortcut.is_some() { n_layers } else { 2.min(n_layers) };
        let widest = net.layers.iter().map(|l| l.n_out).max().unwrap_or(0);
        self.diag_g.resize_with(slots, Vec::new);
        self.diag_exp.resize_with(slots, Vec::new);
        for (idx, (g, e)) in self.diag_g.iter_mut().zip(&mut self.diag_exp).enumerate() {
            if net.shortcut.is_some() {
                g.resize(batch * net.layers[idx].n_out, 0.0);
            } else {
                // A slot serves every other layer: room for the widest, its length set per layer.
                g.reserve_exact((batch * widest).saturating_sub(g.len()));
            }
            e.resize(batch, ZERO_ROW);
        }
        let top = n_layers - 1;
        self.diag_g[net_slot(net, top)].resize(batch * net.layers[top].n_out, 0.0);
        self.diagnosis.layers.resize_with(n_layers, LayerDiagnosis::default);
        self.diagnosis.first_non_finite = None;
    }

    /// G_{from} (+)= layer `idx` + 1's G or Δ̂ (whatever its slot holds now), row by row at the
    /// larger exponent; the first part to reach G_{from} writes it.
    fn add_shortcut_scaled(&mut self, net: &Dense<f64>, idx: usize, from: usize, width: usize) {
        if from == 0 {
            return;
        }
        let (src, dst) = (net_slot(net, idx), net_slot(net, from - 1));
        let (source, target) = pair(&mut self.diag_g, src, dst);
        let (source_exp, target_exp) = pair(&mut self.diag_exp, src, dst);
        if self.pending[from - 1] {
            add_rows(target, target_exp, source, source_exp, width);
        } else {
            target.copy_from_slice(source);
            target_exp.copy_from_slice(source_exp);
            self.pending[from - 1] = true;
        }
    }
}

/// The buffer of layer `idx`'s G in a diagnosis: its own with shortcuts (a shortcut's part
/// waits there), else two that alternate.
fn net_slot(net: &Dense<f64>, idx: usize) -> usize {
    if net.shortcut.is_some() { idx } else { idx % 2 }
}

/// Layer `idx` + 1's normalisation's γ and β norms from [`LayerNorm::diagnose_rows`]' log10 norms
/// (before ν), returning its adjoint's; or, where it met a NaN or ±∞, that value, located, and
/// `None` (backward stops).
fn record_norm(d: &mut Diagnosis, idx: usize, passed: Result<[f64; 3], (usize, usize)>, log10_nu: f64) -> Option<f64> {
    match passed {
        Ok([delta, gamma, beta]) => {
            d.layers[idx].log10_norm_weight_grad_norm = Some(gamma - log10_nu);
            d.layers[idx].log10_norm_bias_grad_norm = Some(beta - log10_nu);
            Some(delta - log10_nu)
        }
        Err((sample, unit)) => {
            d.first_non_finite = Some(backward_non_finite(idx, sample, unit));
            None
        }
    }
}

/// A NaN or ±∞ met in backward at layer `idx` + 1's (sample, unit).
fn backward_non_finite(idx: usize, sample: usize, unit: usize) -> NonFinite {
    NonFinite { layer: idx + 1, unit, sample: Some(sample), stage: Stage::ActivationGradient }
}

/// Two distinct elements of `v`, mutably.
fn pair<T>(v: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    debug_assert_ne!(a, b);
    if a < b {
        let (lo, hi) = v.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = v.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

/// Rescales each row of `rows` (width `n`) by a power of two so that its largest |value| is in
/// [½, 1), adding the power to its exponent (rows of zeros get [`ZERO_ROW`]). Returns the first
/// NaN or ±∞ (sample, unit), if any, leaving the rows as they are from there.
pub(super) fn normalise_rows(rows: &mut [f64], n: usize, exps: &mut [i64]) -> Option<(usize, usize)> {
    for (b, (row, e)) in rows.chunks_exact_mut(n).zip(exps).enumerate() {
        let (mut max, mut probe) = (0.0f64, 0.0f64);
        for &v in row.iter() {
            max = max.max(v.abs());
            probe += v * 0.0;
        }
        if probe != 0.0 {
            let unit = row.iter().position(|v| !v.is_finite()).expect("a NaN or ±∞ made the probe non-zero");
            return Some((b, unit));
        }
        if max == 0.0 {
            *e = ZERO_ROW;
            continue;
        }
        let k = binary_exponent(max);
        scale_pow2(row, -k);
        *e = e.saturating_add(k);
    }
    None
}

/// k with x = m·2ᵏ, ½ ≤ m < 1, for a finite x > 0 (subnormals included).
fn binary_exponent(x: f64) -> i64 {
    debug_assert!(x.is_finite() && x > 0.0);
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i64;
    if biased == 0 { binary_exponent(x * 2f64.powi(64)) - 64 } else { biased - 1022 }
}

/// `rows` (width `n`, row b at 2^{exps[b]}) copied into `aligned`, every row scaled to the common
/// exponent `top` (rows far below it become 0: their share of a sum is below its rounding).
pub(super) fn align_rows(rows: &[f64], exps: &[i64], n: usize, top: i64, aligned: &mut Vec<f64>) {
    aligned.clear();
    aligned.extend_from_slice(rows);
    for (row, &e) in aligned.chunks_exact_mut(n).zip(exps) {
        scale_pow2(row, e.saturating_sub(top));
    }
}

/// v ← v·2^shift for every v, exactly unless the result leaves `f64`'s normal range; shifts
/// below −2200 give 0 (they only meet rows far below the one they align to, or rows of 0).
fn scale_pow2(row: &mut [f64], shift: i64) {
    let mut rest = shift.clamp(-2200, 2200);
    while rest != 0 {
        let step = rest.clamp(-1000, 1000);
        let factor = f64::from_bits(((step + 1023) as u64) << 52);
        row.iter_mut().for_each(|v| *v *= factor);
        rest -= step;
    }
}

/// v·2^shift ([`scale_pow2`] of one value).
fn times_pow2(v: f64, shift: i64) -> f64 {
    let mut one = [v];
    scale_pow2(&mut one, shift);
    one[0]
}

/// target[b] ← target[b] + source[b], each row at the larger of its two exponents.
fn add_rows(target: &mut [f64], target_exp: &mut [i64], source: &[f64], source_exp: &[i64], n: usize) {
    let rows = target.chunks_exact_mut(n).zip(target_exp.iter_mut()).zip(source.chunks_exact(n).zip(source_exp));
    for ((t, te), (s, &se)) in rows {
        if se == ZERO_ROW {
            continue;
        }
        if *te == ZERO_ROW || se > *te {
            scale_pow2(t, te.saturating_sub(se).max(-3000));
            *te = se;
        }
        let shift = se - *te;
        for (tv, &sv) in t.iter_mut().zip(s) {
            *tv += times_pow2(sv, shift);
        }
    }
}
