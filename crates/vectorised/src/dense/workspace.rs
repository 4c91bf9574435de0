//! The dense engine's [`Workspace`]: every buffer a call needs (A_l, D_l, the G window, packed
//! operands, per-thread scratch, statistics), sized once and reused without allocating.

use super::*;

/// Buffers for [`Dense::gradients`], reused from call to call: once warm (sized by a first
/// call, and every thread of the pool has worked on one, since scratch is per thread), a call
/// allocates nothing (`tests/memory.rs`).
#[derive(Debug)]
pub struct Workspace<T> {
    /// A_l (B × n_l) for l = 1…L; index l − 1.
    pub(super) a: Vec<Vec<T>>,
    /// D_l = f′(Z_l).
    pub(super) d: Vec<Vec<T>>,
    /// G_l, then Δ_l in place. Backward needs s + 1 at a time (s the shortcut span, 1 without
    /// shortcuts): Δ_l, G_{l−1} being written, and G_{l−s} … G_{l−2}, which shortcuts from
    /// layers above may have started. Only s + 1 exist: a call starts with them at the top
    /// s + 1 layers, and backward passes each down when its layer is done (see `Dense::backward`).
    pub(super) g: Vec<Vec<T>>,
    /// Whether G_l already holds a shortcut's contribution.
    pub(super) pending: Vec<bool>,
    /// Whether G_l already holds Δ_l (multiplied by D_l as the product above stored it).
    pub(super) delta_ready: Vec<bool>,
    /// Z_L, for binary cross-entropy.
    pub(super) z_last: Vec<T>,
    /// W_lᵀ (n_out × n_in) of the layer being back-propagated, row-major or packed in panels.
    pub(super) wt: Vec<T>,
    /// W_l packed in panels, one layer at a time (so it stays in L2), for large layers.
    pub(super) wp: Vec<T>,
    /// W_{l+1} packed while layer l's products run on the other threads.
    pub(super) wp_next: Vec<T>,
    /// Δ_l packed in panels, for large layers.
    pub(super) delta_pack: Vec<T>,
    pub(super) scratch: PerThread<Scratch<T>>,
    /// The SIMD level of every kernel.
    pub(super) simd: Simd,
    pub(super) grads: Gradients<T>,
    /// `Some(θ)` when statistics are gathered.
    pub(super) stats_threshold: Option<f64>,
    pub(super) stats: GradientStats,
    pub(super) dead: Vec<bool>,
    /// A diagnosis's rescaled G rows (`dense/diagnose.rs`): one per layer with shortcuts, else
    /// two that alternate.
    pub(super) diag_g: Vec<Vec<T>>,
    /// Their rows' binary exponents.
    pub(super) diag_exp: Vec<Vec<i64>>,
    /// A product's G_{l−1} before it joins a shortcut's part.
    pub(super) diag_tmp: Vec<T>,
    /// Δ̃_l: Δ̂_l's rows aligned to the largest exponent, for the batch sums.
    pub(super) diag_aligned: Vec<T>,
    /// ∂S/∂W_l (aligned) of the layer being diagnosed, one layer at a time: only its norm is kept.
    pub(super) diag_gw: Vec<T>,
    /// ∂S/∂b_l (aligned).
    pub(super) diag_gb: Vec<T>,
    /// The exponents of a product's rows in `diag_tmp` after a normalisation of the layer's
    /// input has passed them back.
    pub(super) diag_tmp_exp: Vec<i64>,
    pub(super) diagnosis: Diagnosis,
    /// Per layer with a normalisation (`dense/norm.rs`; empty for the others): x̂ (B × its
    /// width), r (B), and for a normalised input the product's operand Y.
    pub(super) norm_x_hat: Vec<Vec<T>>,
    pub(super) norm_r: Vec<Vec<T>>,
    pub(super) norm_y: Vec<Vec<T>>,
    /// `gradients`' product of a layer whose input is normalised (Y's adjoint), before it joins
    /// G_{l−1}; and g ⊙ x̂ for γ's sum.
    pub(super) norm_g: Vec<T>,
    pub(super) norm_tmp: Vec<T>,
}

impl<T: Real> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Workspace<T> {
    /// An empty workspace that gathers statistics with θ = [`stats::DEFAULT_SATURATION_THRESHOLD`]
    /// and runs at [`Simd::detect`]'s level.
    pub fn new() -> Self {
        Workspace {
            a: Vec::new(),
            d: Vec::new(),
            g: Vec::new(),
            pending: Vec::new(),
            delta_ready: Vec::new(),
            z_last: Vec::new(),
            wt: Vec::new(),
            wp: Vec::new(),
            wp_next: Vec::new(),
            delta_pack: Vec::new(),
            scratch: PerThread::new(),
            simd: Simd::detect(),
            grads: Gradients::default(),
            stats_threshold: Some(stats::DEFAULT_SATURATION_THRESHOLD),
            stats: GradientStats::default(),
            dead: Vec::new(),
            diag_g: Vec::new(),
            diag_exp: Vec::new(),
            diag_tmp: Vec::new(),
            diag_aligned: Vec::new(),
            diag_gw: Vec::new(),
            diag_gb: Vec::new(),
            diag_tmp_exp: Vec::new(),
            diagnosis: Diagnosis::default(),
            norm_x_hat: Vec::new(),
            norm_r: Vec::new(),
            norm_y: Vec::new(),
            norm_g: Vec::new(),
            norm_tmp: Vec::new(),
        }
    }

    /// G's buffers for a call (see the field `g`).
    pub(super) fn fit_g(&mut self, net: &Dense<T>, batch: usize) {
        let n_layers = net.layers.len();
        let len = |idx: usize| batch * net.layers[idx].n_out;
        self.g.resize_with(n_layers, Vec::new);
        // The s + 1 buffers (wherever the last call left them) to the top s + 1 layers, each
        // large enough for any layer, so that passing them down never allocates; any other
        // buffer (from a network with a longer span) is freed.
        let top = n_layers.saturating_sub(net.g_window() + 1);
        for idx in 0..top {
            if self.g[idx].capacity() > 0 {
                match (top..n_layers).find(|&j| self.g[j].capacity() == 0) {
                    Some(j) => self.g.swap(idx, j),
                    None => self.g[idx] = Vec::new(),
                }
            }
        }
        let widest = (0..n_layers).map(len).max().unwrap_or(0);
        for idx in top..n_layers {
            let buf = &mut self.g[idx];
            buf.reserve_exact(widest.saturating_sub(buf.len()));
            buf.resize(len(idx), T::ZERO); // writes nothing when the length is already right
        }
    }

    /// Runs every kernel at `simd` (every level gives the same bits: for tests and measurements
    /// of a level below the best).
    pub fn set_simd(&mut self, simd: Simd) {
        self.simd = simd;
    }

    /// The SIMD level the kernels run at.
    pub fn simd(&self) -> Simd {
        self.simd
    }

    /// Gathers statistics with saturation threshold θ (`Some`), or not at all (`None`).
    ///
    /// Refused: θ not finite or negative.
    pub fn set_stats(&mut self, threshold: Option<f64>) -> Result<(), Error> {
        if let Some(t) = threshold {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::invalid("saturation threshold", "must be finite and ≥ 0"));
            }
        }
        self.stats_threshold = threshold;
        Ok(())
    }

    /// The statistics of the last successful [`Dense::gradients`] call, if gathered.
    pub fn stats(&self) -> Option<&GradientStats> {
        self.stats_threshold.map(|_| &self.stats)
    }

    /// The gradients of the last successful [`Dense::gradients`] call.
    pub fn gradients(&self) -> &Gradients<T> {
        &self.grads
    }

    /// A_l of the last call (B × n_l, row-major), l = 1…L.
    pub fn activations(&self, layer: usize) -> Option<&[T]> {
        layer.checked_sub(1).and_then(|i| self.a.get(i)).map(Vec::as_slice)
    }

    /// Sizes every buffer of a [`Dense::gradients`] call.
    pub(super) fn fit(&mut self, net: &Dense<T>, batch: usize) {
        self.fit_forward(net, batch);
        self.fit_g(net, batch);
        fit_layers(&mut self.grads.weight, net.layers.iter().map(|l| l.n_in * l.n_out));
        fit_layers(&mut self.grads.bias, net.layers.iter().map(|l| l.n_out));
        let layers = if net.normalises() { net.layers.len() } else { 0 };
        fit_layers(&mut self.grads.norm_weight, (0..layers).map(|idx| net.norm_width(idx)));
        fit_layers(&mut self.grads.norm_bias, (0..layers).map(|idx| net.norm_width(idx)));
    }

    /// Sizes what forward and its statistics need (A_l, D_l, scratch), and the shortcut flags:
    /// all a diagnosis needs besides its own buffers (it keeps no ∂S/∂W_l and no G window).
    pub(super) fn fit_forward(&mut self, net: &Dense<T>, batch: usize) {
        let n_layers = net.layers.len();
        fit_layers(&mut self.a, net.layers.iter().map(|l| batch * l.n_out));
        fit_layers(&mut self.d, net.layers.iter().map(|l| batch * l.n_out));
        self.pending.clear();
        self.pending.resize(n_layers, false);
        self.delta_ready.clear();
        self.delta_ready.resize(n_layers, false);
        self.scratch.ensure_slots();
        self.stats.layers.resize_with(n_layers, LayerStats::default);
        self.stats.first_non_finite = None;
        // The normalisations' rows: none for a network without (forward then reads empty ones).
        let layers = if net.normalises() { n_layers } else { 0 };
        let norm_width = |idx: usize| net.norm_width(idx);
        let input_norm = |idx: usize| net.norm_at(idx, NormAt::Input).is_some();
        fit_layers(&mut self.norm_x_hat, (0..layers).map(|idx| batch * norm_width(idx)));
        fit_layers(&mut self.norm_r, (0..layers).map(|idx| if norm_width(idx) > 0 { batch } else { 0 }));
        fit_layers(&mut self.norm_y, (0..layers).map(|idx| if input_norm(idx) { batch * norm_width(idx) } else { 0 }));
    }
}

/// One buffer per layer, of the lengths `lens` (allocating only when one grows).
fn fit_layers<T: Real>(v: &mut Vec<Vec<T>>, lens: impl ExactSizeIterator<Item = usize>) {
    v.resize_with(lens.len(), Vec::new);
    for (buf, len) in v.iter_mut().zip(lens) {
        buf.resize(len, T::ZERO);
    }
}
