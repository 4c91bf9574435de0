//! Dense networks over a batch: forward, backward, every weight and bias gradient, in `f64` or
//! `f32`, deterministic on any number of threads.
//!
//! Layer l = 1…L maps a_{l−1} (B × n_{l−1}, one row per sample) to a_l (B × n_l), a_0 = the input:
//!
//! ```text
//! Z_l = A_{l−1}·W_l + 1·b_lᵀ  (+ A_{l−s} when s | l and n_{l−s} = n_l: the oracle's shortcut)
//! A_l = f_l(Z_l),  D_l = f′_l(Z_l)                         (elementwise; both kept for backward)
//! ```
//!
//! `W_l` is n_{l−1} × n_l, row-major (`weight[i·n_out + j]` joins input i to unit j): the peers'
//! layout, and the transpose of the oracle's `weight[j][i]` ([`DenseLayer::from_out_in`] converts).
//! The loss is a sum S over the batch and the outputs, divided once at the end by the
//! normalisation ν ([`Normalisation`]: B as in the oracle, or B·n_L for the peers' mean):
//!
//! ```text
//! SquaredError:        S = Σ_b Σ_j (y_bj − t_bj)²,                 G_L = ∂S/∂A_L = 2(Y − T)
//! BinaryCrossEntropy:  S = Σ_b Σ_j [softplus(z_bj) − t_bj·z_bj],  Δ_L = ∂S/∂Z_L = σ(Z_L) − T
//! ```
//!
//! Backward, layer L down to 1, with G_l = ∂S/∂A_l and Δ_l = ∂S/∂Z_l:
//!
//! ```text
//! Δ_l = G_l ⊙ D_l                    G_{l−s} += Δ_l     (where layer l has a shortcut)
//! ∂S/∂W_l = A_{l−1}ᵀ·Δ_l             ∂S/∂b_l = Σ_b Δ_l[b]     G_{l−1} (+)= Δ_l·W_lᵀ
//! ∂L/∂W_l = (∂S/∂W_l)/ν              ∂L/∂b_l = (∂S/∂b_l)/ν    L = S/ν
//! ```
//!
//! Dividing once at the end is what the oracle does, so where every operation of S is exact
//! (dyadic inputs, + and × only) both engines return the same correctly rounded bits.
//!
//! **Products** are `gemm` (private): every element is one FMA chain over its k terms in index
//! order, so results do not depend on how a product is cut into blocks. Two elementwise steps
//! ride on the products' stores, with the same operations as a separate pass: ∂S/∂W·(1/ν) when
//! 1/ν is exact (ν = 2ᵏ), and, without statistics, Δ_{l−1} = G_{l−1} ⊙ D_{l−1} as G_{l−1} is
//! stored. **Parallelism**: each product is cut into blocks of rows (of the batch for Z and
//! ∂S/∂A, of W's input units for ∂S/∂W, whose reduction over the batch stays whole inside one
//! block): [`PARALLEL_ROW_CHUNK`] rows when rayon runs the blocks, [`ROW_CHUNK`] when the calling
//! thread runs them in order (on a one-thread pool, or for small layers). No floating-point sum
//! crosses blocks and each element of a product is one FMA chain however the product is cut,
//! so gradients have the same bits on 1, 2 or 7 threads. Bias gradients and the loss are summed
//! over samples in index order on one thread. **Memory**: the
//! [`Workspace`] keeps A_l and D_l for every layer (what backward needs) and s + 1 buffers for
//! G (s the shortcut span, 1 without shortcuts), which backward passes down, and is reused from
//! call to call without allocating. **SIMD**: the products run AVX-512 or AVX2 + FMA kernels
//! where the CPU has them and a portable one elsewhere, all with the same bits; the
//! [`SIMD_ENV`] environment variable (`GRADLAB_SIMD=avx2` or `portable`) caps the level, to
//! measure or check a lower one.

mod tanh;

pub use crate::gemm::SIMD_ENV;

use crate::activation::Activation;
use crate::error::Error;
use crate::gemm::{ALayout, BOp, GemmReal, Init, Scratch, gemm, pack_b, panel_stride, should_pack, transpose};
use crate::parallel::PerThread;
use crate::real::Real;
use crate::stats::{self, GradientStats, LayerStats, NonFinite, Stage, Summary};
use multiversion::multiversion;
use rayon::prelude::*;
use tanh::FastTanh;

/// Rows per block of a product run on one thread (samples for forward and ∂S/∂A, input units
/// for ∂S/∂W).
pub const ROW_CHUNK: usize = 64;

/// Rows per block of a product whose blocks go to the thread pool: half of [`ROW_CHUNK`], so
/// that two threads of unequal speed (this host's vCPUs often are) still share a product
/// evenly — eight blocks of W2's 256 rows instead of four. (How a product is cut never changes
/// its bits: every element is one FMA chain.)
pub const PARALLEL_ROW_CHUNK: usize = 32;

/// A layer runs its blocks on the calling thread below this many multiply-adds (B·n_in·n_out):
/// waking the pool costs more than it saves. Results are the same either way.
const PARALLEL_MIN_FMAS: usize = 1 << 18;

/// Whether a layer's blocks go to the thread pool: only when it has at least two threads and
/// the layer at least [`PARALLEL_MIN_FMAS`] multiply-adds. On a one-thread pool the blocks run
/// on the calling thread instead of being handed to the pool's one worker and back (a wake-up
/// per product, slow when the host is busy). Results are the same either way.
fn run_in_parallel(fmas: usize) -> bool {
    fmas >= PARALLEL_MIN_FMAS && rayon::current_num_threads() > 1
}

/// The element types the dense engine runs in: `f64` and `f32`.
///
/// Sealed: implemented for exactly those two, which have register-blocked product kernels.
#[allow(private_bounds)]
pub trait DenseReal: Real + GemmReal + FastTanh {}
impl DenseReal for f64 {}
impl DenseReal for f32 {}

/// One dense layer: `weight` is n_in × n_out, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseLayer<T> {
    n_in: usize,
    n_out: usize,
    weight: Vec<T>,
    bias: Option<Vec<T>>,
    activation: Activation,
}

impl<T: Real> DenseLayer<T> {
    /// A layer from W (n_in × n_out, row-major: `weight[i·n_out + j]` joins input i to unit j).
    ///
    /// Refused: a width of 0, a weight or bias of the wrong length, non-finite weights, biases
    /// or leaky-relu slope.
    pub fn new(
        n_in: usize,
        n_out: usize,
        weight: Vec<T>,
        bias: Option<Vec<T>>,
        activation: Activation,
    ) -> Result<Self, Error> {
        if n_in == 0 || n_out == 0 {
            return Err(Error::invalid("layer widths", "a layer needs ≥ 1 input and ≥ 1 unit"));
        }
        Error::check_len("layer weight", n_in * n_out, weight.len())?;
        Error::check_finite("layer weight", &weight)?;
        if let Some(b) = &bias {
            Error::check_len("layer bias", n_out, b.len())?;
            Error::check_finite("layer bias", b)?;
        }
        if let Activation::LeakyRelu { slope } = activation {
            if !slope.is_finite() {
                return Err(Error::invalid("leaky_relu slope", "not finite"));
            }
        }
        Ok(DenseLayer { n_in, n_out, weight, bias, activation })
    }

    /// A layer from the oracle's layout: `rows[j][i]` joins input i to unit j.
    ///
    /// Refused as in [`DenseLayer::new`], and ragged or empty rows.
    pub fn from_out_in(rows: &[Vec<T>], bias: Option<Vec<T>>, activation: Activation) -> Result<Self, Error> {
        let n_out = rows.len();
        let n_in = rows.first().map_or(0, Vec::len);
        let mut weight = vec![T::ZERO; n_in * n_out];
        for (j, row) in rows.iter().enumerate() {
            Error::check_len("layer weight row", n_in, row.len())?;
            for (i, &w) in row.iter().enumerate() {
                weight[i * n_out + j] = w;
            }
        }
        Self::new(n_in, n_out, weight, bias, activation)
    }

    /// n_in.
    pub fn n_in(&self) -> usize {
        self.n_in
    }
    /// n_out.
    pub fn n_out(&self) -> usize {
        self.n_out
    }
    /// W, n_in × n_out row-major.
    pub fn weight(&self) -> &[T] {
        &self.weight
    }
    /// W, mutably (a trainer's update; the shape cannot change).
    pub fn weight_mut(&mut self) -> &mut [T] {
        &mut self.weight
    }
    /// b, if the layer has biases.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_deref()
    }
    /// b, mutably, if the layer has biases.
    pub fn bias_mut(&mut self) -> Option<&mut [T]> {
        self.bias.as_deref_mut()
    }
    /// f.
    pub fn activation(&self) -> Activation {
        self.activation
    }
}

/// A validated network (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense<T> {
    layers: Vec<DenseLayer<T>>,
    shortcut: Option<usize>,
    /// Per layer (0-based), the activation index (0 = input) its shortcut comes from.
    shortcut_from: Vec<Option<usize>>,
}

/// The loss (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Σ (y − t)², divided by ν.
    SquaredError,
    /// Σ [softplus(z) − t·z] on a sigmoid output layer's logits z, divided by ν.
    BinaryCrossEntropy,
}

/// ν, what the summed loss is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalisation {
    /// ν = B, the batch size (the oracle's (1/B)·Σ_b Σ_j).
    #[default]
    PerSample,
    /// ν = B·n_L, the mean over every output of every sample (the peers' `mean`).
    PerElement,
}

/// A batch: `rows` samples of `cols` values, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

impl<'a, T: Real> Batch<'a, T> {
    /// Checks that `data` holds `rows × cols` values.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Self, Error> {
        Error::check_len("batch data", rows * cols, data.len())?;
        Ok(Batch { data, rows, cols })
    }
    /// The number of samples.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// The values per sample.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// The values, row-major.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
}

/// Flattens rows of equal length `width` into one row-major vector (ragged rows → `Err`).
pub fn flatten_rows<T: Copy>(what: &'static str, rows: &[Vec<T>], width: usize) -> Result<Vec<T>, Error> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for row in rows {
        Error::check_len(what, width, row.len())?;
        out.extend_from_slice(row);
    }
    Ok(out)
}

/// The loss and every gradient, each laid out like its parameter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gradients<T> {
    /// L.
    pub loss: T,
    /// ∂L/∂W_l (n_in × n_out row-major), index l − 1.
    pub weight: Vec<Vec<T>>,
    /// ∂L/∂b_l, index l − 1 (computed whether or not the layer has biases: Σ_b Δ_l(b) / ν).
    pub bias: Vec<Vec<T>>,
}

/// Buffers for [`Dense::gradients`], reused from call to call: once warm (sized by a first
/// call, and every thread of the pool has worked on one, since scratch is per thread), a call
/// allocates nothing (`tests/memory.rs`).
#[derive(Debug)]
pub struct Workspace<T> {
    /// A_l (B × n_l) for l = 1…L; index l − 1.
    a: Vec<Vec<T>>,
    /// D_l = f′(Z_l).
    d: Vec<Vec<T>>,
    /// G_l, then Δ_l in place. Backward needs s + 1 at a time (s the shortcut span, 1 without
    /// shortcuts): Δ_l, G_{l−1} being written, and G_{l−s} … G_{l−2}, which shortcuts from
    /// layers above may have started. Only s + 1 exist: a call starts with them at the top
    /// s + 1 layers, and backward passes each down when its layer is done (see `Dense::backward`).
    g: Vec<Vec<T>>,
    /// Whether G_l already holds a shortcut's contribution.
    pending: Vec<bool>,
    /// Whether G_l already holds Δ_l (multiplied by D_l as the product above stored it).
    delta_ready: Vec<bool>,
    /// Z_L, for binary cross-entropy.
    z_last: Vec<T>,
    /// W_lᵀ (n_out × n_in) of the layer being back-propagated, row-major or packed in panels.
    wt: Vec<T>,
    /// W_l packed in panels, one layer at a time (so it stays in L2), for large layers.
    wp: Vec<T>,
    /// W_{l+1} packed while layer l's products run on the other threads.
    wp_next: Vec<T>,
    /// Δ_l packed in panels, for large layers.
    delta_pack: Vec<T>,
    scratch: PerThread<Scratch<T>>,
    grads: Gradients<T>,
    /// `Some(θ)` when statistics are gathered.
    stats_threshold: Option<f64>,
    stats: GradientStats,
    dead: Vec<bool>,
}

impl<T: DenseReal> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DenseReal> Workspace<T> {
    /// An empty workspace that gathers statistics with θ = [`stats::DEFAULT_SATURATION_THRESHOLD`].
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
            grads: Gradients::default(),
            stats_threshold: Some(stats::DEFAULT_SATURATION_THRESHOLD),
            stats: GradientStats::default(),
            dead: Vec::new(),
        }
    }

    /// G's buffers for a call (see the field `g`).
    fn fit_g(&mut self, net: &Dense<T>, batch: usize) {
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

    fn fit(&mut self, net: &Dense<T>, batch: usize) {
        let n_layers = net.layers.len();
        let fit = |v: &mut Vec<Vec<T>>, lens: &mut dyn Iterator<Item = usize>| {
            v.resize_with(n_layers, Vec::new);
            for (buf, len) in v.iter_mut().zip(lens) {
                buf.resize(len, T::ZERO);
            }
        };
        fit(&mut self.a, &mut net.layers.iter().map(|l| batch * l.n_out));
        fit(&mut self.d, &mut net.layers.iter().map(|l| batch * l.n_out));
        self.fit_g(net, batch);
        fit(&mut self.grads.weight, &mut net.layers.iter().map(|l| l.n_in * l.n_out));
        fit(&mut self.grads.bias, &mut net.layers.iter().map(|l| l.n_out));
        self.pending.clear();
        self.pending.resize(n_layers, false);
        self.delta_ready.clear();
        self.delta_ready.resize(n_layers, false);
        self.scratch.ensure_slots();
        self.stats.layers.resize_with(n_layers, LayerStats::default);
        self.stats.first_non_finite = None;
    }
}

impl<T: DenseReal> Dense<T> {
    /// Validates and builds a network.
    ///
    /// Refused: no layers, a layer whose n_in is not the previous layer's n_out, a shortcut span
    /// of 0 or beyond the depth (the oracle's rules).
    pub fn new(layers: Vec<DenseLayer<T>>, shortcut: Option<usize>) -> Result<Self, Error> {
        if layers.is_empty() {
            return Err(Error::invalid("network", "it has no layers"));
        }
        for (idx, pair) in layers.windows(2).enumerate() {
            Error::check_len("layer input width", pair[0].n_out, pair[1].n_in)
                .map_err(|e| Error::InLayer { layer: idx + 2, error: Box::new(e) })?;
        }
        if let Some(s) = shortcut {
            if s == 0 || s > layers.len() {
                return Err(Error::invalid(
                    "shortcut",
                    format!("span {s} must be between 1 and the depth {}", layers.len()),
                ));
            }
        }
        let width = |idx: usize| {
            if idx == 0 { layers[0].n_in } else { layers[idx - 1].n_out }
        };
        let shortcut_from = (1..=layers.len())
            .map(|l| shortcut.filter(|&s| l.is_multiple_of(s) && width(l - s) == width(l)).map(|s| l - s))
            .collect();
        Ok(Dense { layers, shortcut, shortcut_from })
    }

    /// The layers.
    pub fn layers(&self) -> &[DenseLayer<T>] {
        &self.layers
    }
    /// The layers, mutably (values only: shapes are fixed).
    pub fn layers_mut(&mut self) -> &mut [DenseLayer<T>] {
        &mut self.layers
    }
    /// The shortcut span.
    pub fn shortcut(&self) -> Option<usize> {
        self.shortcut
    }
    /// How many layers below the one being back-propagated G may be written in: the shortcut
    /// span, or 1 (G_{l−1}, the product) without shortcuts.
    fn g_window(&self) -> usize {
        self.shortcut.unwrap_or(1)
    }

    /// The layers l (1-based) that receive a shortcut.
    pub fn shortcut_layers(&self) -> Vec<usize> {
        (1..=self.layers.len()).filter(|&l| self.shortcut_from[l - 1].is_some()).collect()
    }
    /// n_0.
    pub fn input_width(&self) -> usize {
        self.layers[0].n_in
    }
    /// n_L.
    pub fn output_width(&self) -> usize {
        self.layers[self.layers.len() - 1].n_out
    }

    /// The loss and every gradient for a batch; statistics in [`Workspace::stats`].
    ///
    /// Refused: an empty batch, a batch or target of the wrong width or a different number of
    /// rows, non-finite inputs or targets, binary cross-entropy without a sigmoid output layer.
    /// Overflow inside the network is not an error: the gradients then hold ±∞ or NaN and the
    /// statistics say where the first one arose.
    pub fn gradients<'w>(
        &self,
        input: Batch<'_, T>,
        target: Batch<'_, T>,
        loss: Loss,
        normalisation: Normalisation,
        ws: &'w mut Workspace<T>,
    ) -> Result<&'w Gradients<T>, Error> {
        let batch = input.rows;
        if batch == 0 {
            return Err(Error::invalid("input", "the batch is empty"));
        }
        Error::check_len("input width", self.input_width(), input.cols)?;
        Error::check_len("target width", self.output_width(), target.cols)?;
        Error::check_len("target rows", batch, target.rows)?;
        Error::check_finite("input", input.data)?;
        Error::check_finite("target", target.data)?;
        let last = self.layers[self.layers.len() - 1].activation;
        if loss == Loss::BinaryCrossEntropy && last != Activation::Sigmoid {
            return Err(Error::invalid(
                "loss",
                format!("binary cross-entropy needs a sigmoid output layer, not {}", last.name()),
            ));
        }
        ws.fit(self, batch);
        let nu = match normalisation {
            Normalisation::PerSample => batch,
            Normalisation::PerElement => batch * self.output_width(),
        } as f64;
        let nu_t = T::from_f64(nu);
        // x/ν and x·(1/ν) are the same correctly rounded number when 1/ν is exact (ν = 2ᵏ, as in
        // W2 and W3): then a multiplication, several times cheaper than a division, and done on
        // ∂S/∂W as the product stores it.
        let inv = T::ONE / nu_t;
        let exact_inverse = ((nu as u64).is_power_of_two() && inv * nu_t == T::ONE).then_some(inv);
        let passes = |ws: &mut Workspace<T>| {
            self.forward(input.data, batch, loss, ws);
            let sum = self.seed(target.data, batch, loss, ws);
            self.backward(input.data, batch, exact_inverse, ws);
            sum
        };
        // Called from outside the pool (a program's main thread) with layers big enough to
        // share: run both passes on a pool worker. Each layer's products then fork from a worker
        // (the other worker may still be awake, and the forking one works too) instead of being
        // injected from outside, which wakes the pool and puts the caller to sleep on a lock
        // twice per layer and pass. Results are the same either way.
        let share = self.layers.iter().any(|l| run_in_parallel(batch * l.n_in * l.n_out));
        let sum = if share && rayon::current_thread_index().is_none() {
            rayon::join(|| passes(ws), || ()).0
        } else {
            passes(ws)
        };
        ws.grads.loss = sum / nu_t;
        if exact_inverse.is_some() {
            for gb in &mut ws.grads.bias {
                scale(gb, inv);
            }
        } else {
            for (gw, gb) in ws.grads.weight.iter_mut().zip(&mut ws.grads.bias) {
                gw.iter_mut().for_each(|v| *v = *v / nu_t);
                gb.iter_mut().for_each(|v| *v = *v / nu_t);
            }
        }
        if ws.stats_threshold.is_some() {
            self.finish_stats(ws, nu);
        }
        Ok(&ws.grads)
    }

    fn forward(&self, x: &[T], batch: usize, loss: Loss, ws: &mut Workspace<T>) {
        let n_layers = self.layers.len();
        let threshold = ws.stats_threshold;
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
            let shortcut: Option<&[T]> =
                self.shortcut_from[idx].map(|from| if from == 0 { x } else { &done[from - 1][..] });
            let d_out = &mut ws.d[idx];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            let init = match &layer.bias {
                Some(b) => Init::Bias(&b[..]),
                None => Init::Zero,
            };
            let keep_z = idx + 1 == n_layers && loss == Loss::BinaryCrossEntropy;
            let w_op = packed_or_rows(should_pack::<T>(n_in, n_out), &ws.wp, &layer.weight, n_out);
            let scratch = &ws.scratch;
            // Each block: its product, its first non-finite z (flat index) and its saturated count
            // when statistics are on. Both combine in any order (the smallest index; a sum).
            let job = |r0: usize, a_c: &mut [T], d_c: &mut [T]| -> (Option<usize>, usize) {
                let rows = a_c.len() / n_out;
                scratch.with(|s| {
                    gemm(rows, n_out, n_in, &a_in[r0 * n_in..], ALayout::RowMajor(n_in), w_op, a_c, n_out, init, s)
                });
                if let Some(src) = shortcut {
                    for (zv, &sv) in a_c.iter_mut().zip(&src[r0 * n_out..]) {
                        *zv += sv;
                    }
                }
                let bad = threshold.and_then(|_| stats::first_non_finite(a_c));
                activate(layer.activation, a_c, d_c);
                let saturated = threshold.map_or(0, |theta| stats::saturated(layer.activation, d_c, theta));
                (bad.map(|i| r0 * n_out + i), saturated)
            };
            let combine = |a: (Option<usize>, usize), b: (Option<usize>, usize)| {
                let first = match (a.0, b.0) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                };
                (first, a.1 + b.1)
            };
            let mut packed_next = false;
            let (bad, saturated): (Option<usize>, usize) = if keep_z {
                // Z_L is copied before the activation overwrites it (one layer, one thread).
                let mut first = None;
                for (c, a_c) in a_out.chunks_mut(ROW_CHUNK * n_out).enumerate() {
                    let r0 = c * ROW_CHUNK;
                    let rows = a_c.len() / n_out;
                    scratch.with(|s| {
                        gemm(rows, n_out, n_in, &a_in[r0 * n_in..], ALayout::RowMajor(n_in), w_op, a_c, n_out, init, s)
                    });
                    if let Some(src) = shortcut {
                        for (zv, &sv) in a_c.iter_mut().zip(&src[r0 * n_out..]) {
                            *zv += sv;
                        }
                    }
                    if first.is_none() && threshold.is_some() {
                        first = stats::first_non_finite(a_c).map(|i| r0 * n_out + i);
                    }
                }
                ws.z_last.clear();
                ws.z_last.extend_from_slice(a_out);
                activate(layer.activation, a_out, d_out);
                (first, threshold.map_or(0, |theta| stats::saturated(layer.activation, d_out, theta)))
            } else if run_in_parallel(batch * n_in * n_out) {
                let wp_next = &mut ws.wp_next;
                let (found, ()) = rayon::join(
                    || {
                        let chunk_len = PARALLEL_ROW_CHUNK * n_out;
                        a_out
                            .par_chunks_mut(chunk_len)
                            .zip(d_out.par_chunks_mut(chunk_len))
                            .enumerate()
                            .map(|(c, (a_c, d_c))| job(c * PARALLEL_ROW_CHUNK, a_c, d_c))
                            .reduce(|| (None, 0), combine)
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
                let mut found = (None, 0);
                let chunk_len = ROW_CHUNK * n_out;
                for (c, (a_c, d_c)) in a_out.chunks_mut(chunk_len).zip(d_out.chunks_mut(chunk_len)).enumerate() {
                    found = combine(found, job(c * ROW_CHUNK, a_c, d_c));
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
                    ws.stats.first_non_finite = bad.map(|i| NonFinite {
                        layer: idx + 1,
                        unit: i % n_out,
                        sample: Some(i / n_out),
                        stage: Stage::Forward,
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
    fn seed(&self, t: &[T], batch: usize, loss: Loss, ws: &mut Workspace<T>) -> T {
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
        }
        debug_assert_eq!(g.len(), batch * n_out);
        sum.expect("a validated batch has at least one sample and one output")
    }

    /// Δ_l, ∂S/∂W_l (times `weight_scale` if given), ∂S/∂b_l and G_{l−1}, layer L down to 1.
    fn backward(&self, x: &[T], batch: usize, weight_scale: Option<T>, ws: &mut Workspace<T>) {
        let n_layers = self.layers.len();
        let gather = ws.stats_threshold.is_some();
        for idx in (0..n_layers).rev() {
            let layer = &self.layers[idx];
            let (n_in, n_out) = (layer.n_in, layer.n_out);
            let is_bce_top = idx + 1 == n_layers && ws.z_last.len() == ws.g[idx].len();
            // Δ_l = G_l ⊙ D_l (already Δ for cross-entropy's top layer, or written by the
            // product that made G_l); with statistics, G_l is summarised in the same pass.
            let multiply = !is_bce_top && !ws.delta_ready[idx];
            if gather {
                let (summary, bad) = if multiply {
                    Summary::of_then_multiply(&mut ws.g[idx], &ws.d[idx])
                } else {
                    // A NaN or ±∞ makes the norm non-finite, and finite values do not (its sums
                    // are scaled), so a finite norm means there is none to look for.
                    let summary = Summary::of(&ws.g[idx]);
                    (summary, if summary.norm.is_finite() { None } else { stats::first_non_finite(&ws.g[idx]) })
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
                hadamard(&mut ws.g[idx], &ws.d[idx]);
            }
            // G_{l−s} (s = the span, 1 without shortcuts), which this layer's shortcut or product
            // is the first to write, gets the buffer of Δ_{l+1}, used up in the previous step
            // (see `Workspace::g`): without shortcuts G_{l−1}, whose product then overwrites it
            // whole, in cache. Its capacity fits any layer: no allocation.
            let window = self.g_window();
            if idx >= window && idx + 1 < n_layers {
                ws.g.swap(idx - window, idx + 1);
                ws.g[idx - window].resize(batch * self.layers[idx - window].n_out, T::ZERO);
            }
            let (lower, upper) = ws.g.split_at_mut(idx);
            let delta: &[T] = &upper[0];
            if let Some(from) = self.shortcut_from[idx] {
                if from > 0 {
                    let target = &mut lower[from - 1];
                    if ws.pending[from - 1] {
                        target.iter_mut().zip(delta).for_each(|(t, &v)| *t += v);
                    } else {
                        target.copy_from_slice(delta);
                        ws.pending[from - 1] = true;
                    }
                }
            }
            let a_in: &[T] = if idx == 0 { x } else { &ws.a[idx - 1] };
            let gw = &mut ws.grads.weight[idx];
            let gb = &mut ws.grads.bias[idx];
            // W_lᵀ, just before its one use, into one buffer for all layers (so it stays in
            // cache; layer 1's is never needed: there is no ∂S/∂A_0).
            let prepare_wt = |wt: &mut Vec<T>| {
                if idx > 0 {
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
                    gemm(
                        gw_c.len() / n_out,
                        n_out,
                        batch,
                        &a_in[i0..],
                        ALayout::ColMajor(n_in),
                        delta_op,
                        gw_c,
                        n_out,
                        weight_scale.map_or(Init::Zero, Init::Scale),
                        s,
                    )
                })
            };
            let below: Option<(&mut [T], bool)> = if idx > 0 {
                let accumulate = ws.pending[idx - 1];
                Some((&mut lower[idx - 1][..], accumulate))
            } else {
                None
            };
            // G_{l−1} is complete once this product is stored (shortcuts only reach down), so
            // unless it also holds a shortcut's part or statistics need G itself, the store
            // writes Δ_{l−1} = G_{l−1} ⊙ D_{l−1} at once.
            let d_below: Option<&[T]> = (idx > 0 && !ws.pending[idx - 1] && !gather).then(|| &ws.d[idx - 1][..]);
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
                    gemm(
                        g_c.len() / n_in,
                        n_in,
                        n_out,
                        &delta[r0 * n_out..],
                        ALayout::RowMajor(n_out),
                        wt_op,
                        g_c,
                        n_in,
                        init,
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
                        column_sums(delta, gb); // ∂S/∂b_l = Σ_b Δ_l[b], samples in index order
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
                column_sums(delta, gb);
                if let Some((g_below, acc)) = below {
                    prepare_wt(wt);
                    let op = packed_or_rows(pack_wt, wt, wt, n_in);
                    for (c, g_c) in g_below.chunks_mut(ROW_CHUNK * n_in).enumerate() {
                        input_job(c * ROW_CHUNK, g_c, acc, op);
                    }
                }
            }
        }
    }

    fn finish_stats(&self, ws: &mut Workspace<T>, nu: f64) {
        for (idx, st) in ws.stats.layers.iter_mut().enumerate().rev() {
            st.activation = st.activation.divided_by(nu);
            st.weight = Summary::of(&ws.grads.weight[idx]);
        }
        if ws.stats.first_non_finite.is_none() {
            // Gradients in backward order: layer L down to 1, ∂L/∂a before ∂L/∂W. The ∂L/∂a of
            // each layer was scanned during backward, so only weights remain to be scanned here,
            // and a weight gradient can only be non-finite if some Δ or A was.
            for idx in (0..self.layers.len()).rev() {
                if ws.stats.layers[idx].weight.norm.is_finite() {
                    continue; // no NaN or ±∞ (see `backward`)
                }
                if let Some(i) = stats::first_non_finite(&ws.grads.weight[idx]) {
                    ws.stats.first_non_finite =
                        Some(NonFinite { layer: idx + 1, unit: i, sample: None, stage: Stage::WeightGradient });
                    break;
                }
            }
        }
    }
}

/// A product's B: the panels in `packed` when it was packed, else `rows` with row stride `ld`.
fn packed_or_rows<'a, T>(is_packed: bool, packed: &'a [T], rows: &'a [T], ld: usize) -> BOp<'a, T> {
    if is_packed { BOp::Packed(packed) } else { BOp::Rows(rows, ld) }
}

/// W_lᵀ (n_out × n_in), for G_{l−1} = Δ_l·W_lᵀ: row-major, or straight into panels of NR
/// columns for large layers (panel q's row p, column jj is W[q·NR + jj][p]; panels
/// `panel_stride` apart).
fn transpose_weights<T: DenseReal>(layer: &DenseLayer<T>, wt: &mut Vec<T>) {
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

/// g ← g ⊙ d (Δ = G ⊙ f′(Z)), vectorised for the CPU at hand.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn hadamard<T: DenseReal>(g: &mut [T], d: &[T]) {
    for (gv, &dv) in g.iter_mut().zip(d) {
        *gv *= dv;
    }
}

/// v ← v·s.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn scale<T: DenseReal>(v: &mut [T], s: T) {
    v.iter_mut().for_each(|x| *x *= s);
}

/// sums[j] = Σ_b rows[b][j] in sample order from +0 (as the oracle's tape accumulates, so an
/// all-−0 column gives +0 there too); `rows` is a whole number of rows of `sums.len()` values.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn column_sums<T: DenseReal>(rows: &[T], sums: &mut [T]) {
    sums.iter_mut().for_each(|v| *v = T::ZERO);
    for row in rows.chunks_exact(sums.len()) {
        sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
}

/// z ← f(z) in place, d ← f′(z). Compiled for AVX-512, AVX2+FMA and the baseline (the same
/// IEEE operations in each: FMA is explicit), chosen at run time.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn activate<T: DenseReal>(act: Activation, za: &mut [T], d: &mut [T]) {
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

/// The peers' `mlp` network for a seeded [`crate::workload::MlpWorkload`]: D layers of width N,
/// tanh everywhere but the last (linear) layer, biases, no shortcut. Values are rounded to `T`.
pub fn mlp_network<T: DenseReal>(w: &crate::workload::MlpWorkload) -> Result<Dense<T>, Error> {
    let (n, d) = (w.width, w.n_layers);
    let layers = (0..d)
        .map(|l| {
            let act = if l + 1 == d { Activation::Identity } else { Activation::Tanh };
            DenseLayer::new(
                n,
                n,
                w.weights[l * n * n..(l + 1) * n * n].iter().map(|&v| T::from_f64(v)).collect(),
                Some(w.biases[l * n..(l + 1) * n].iter().map(|&v| T::from_f64(v)).collect()),
                act,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Dense::new(layers, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wᵀ in both layouts (row-major, and packed panels with a partial last panel) against the
    /// definition, in both element types.
    fn check_transpose<T: DenseReal>(n_in: usize, n_out: usize) {
        let weight: Vec<T> = (0..n_in * n_out).map(|v| T::from_f64(v as f64)).collect();
        let layer = DenseLayer::new(n_in, n_out, weight.clone(), None, Activation::Identity).unwrap();
        let mut wt = vec![T::from_f64(f64::NAN); 3];
        transpose_weights(&layer, &mut wt);
        let at = |i: usize, p: usize| weight[i * n_out + p].to_f64();
        if should_pack::<T>(n_out, n_in) {
            let (nr, stride) = (T::NR, panel_stride::<T>(n_out));
            for i in 0..n_in.div_ceil(nr) * nr {
                for p in 0..n_out {
                    let got = wt[(i / nr) * stride + p * nr + i % nr].to_f64();
                    assert_eq!(got, if i < n_in { at(i, p) } else { 0.0 }, "{n_in}x{n_out} packed ({i}, {p})");
                }
            }
        } else {
            for i in 0..n_in {
                for p in 0..n_out {
                    assert_eq!(wt[p * n_in + i].to_f64(), at(i, p), "{n_in}x{n_out} ({i}, {p})");
                }
            }
        }
    }

    /// Every gradient's bits, with statistics gathered or not: without them the backward pass
    /// writes Δ = G ⊙ D as the product stores G (the fused path), with them G is kept and
    /// multiplied afterwards; the two must agree bit for bit (the integration tests, which
    /// check the engine against the oracle, run with statistics on).
    fn bits_with_and_without_stats<T: DenseReal>(
        net: &Dense<T>,
        x: &[T],
        t: &[T],
        batch: usize,
        normalisation: Normalisation,
    ) -> (Vec<u64>, Vec<u64>) {
        let run = |stats: Option<f64>| {
            let mut ws = Workspace::new();
            ws.set_stats(stats).unwrap();
            let g = net
                .gradients(
                    Batch::new(x, batch, net.input_width()).unwrap(),
                    Batch::new(t, batch, net.output_width()).unwrap(),
                    Loss::SquaredError,
                    normalisation,
                    &mut ws,
                )
                .unwrap()
                .clone();
            std::iter::once(g.loss)
                .chain(g.weight.into_iter().flatten())
                .chain(g.bias.into_iter().flatten())
                .map(|v| v.to_f64().to_bits())
                .collect::<Vec<u64>>()
        };
        (run(Some(0.9)), run(None))
    }

    fn check_fused_delta<T: DenseReal>(batch: usize, width: usize, depth: usize, shortcut: Option<usize>) {
        let w = crate::workload::mlp_workload(batch, width, depth);
        let mut net = mlp_network::<T>(&w).unwrap();
        if shortcut.is_some() {
            net = Dense::new(net.layers.clone(), shortcut).unwrap();
        }
        let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        let (x, t) = (cast(&w.inputs), cast(&w.targets));
        for normalisation in [Normalisation::PerSample, Normalisation::PerElement] {
            let (with, without) = bits_with_and_without_stats(&net, &x, &t, batch, normalisation);
            assert_eq!(with, without, "B={batch} N={width} D={depth} shortcut {shortcut:?} {normalisation:?}");
        }
    }

    #[test]
    fn gradients_have_the_same_bits_with_and_without_statistics() {
        for (batch, width, depth, shortcut) in
            [(1, 3, 2, None), (9, 17, 4, Some(2)), (64, 32, 5, None), (65, 96, 3, Some(1)), (3, 70, 4, Some(3))]
        {
            check_fused_delta::<f64>(batch, width, depth, shortcut);
            check_fused_delta::<f32>(batch, width, depth, shortcut);
        }
    }

    #[test]
    fn transposed_weights_match_the_definition_in_every_layout() {
        for (n_in, n_out) in [(1, 1), (7, 9), (8, 8), (17, 33), (96, 96), (70, 100), (100, 70), (256, 256)] {
            check_transpose::<f64>(n_in, n_out);
            check_transpose::<f32>(n_in, n_out);
        }
    }
}
