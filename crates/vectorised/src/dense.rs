//! Dense networks over a batch: forward, backward, every weight and bias gradient, in `f64` or
//! `f32`, deterministic on any number of threads.
//!
//! Layer l = 1…L maps a_{l−1} (B × n_{l−1}, one row per sample) to a_l (B × n_l), a_0 = the input:
//!
//! ```text
//! Z_l = A_{l−1}·W_l + 1·b_lᵀ  (+ A_{l−s}: Skip::PreActivation)
//! A_l = f_l(Z_l)               (+ A_{l−s}: Skip::Identity)
//! D_l = f′_l(Z_l)                                          (elementwise; A, D kept for backward)
//! ```
//!
//! A layer may also normalise its input or its Linear output, as the oracle's layer or RMS
//! normalisation ([`Dense::with_norms`], `dense/norm.rs`); γ's and β's gradients are then
//! returned beside the weights'.
//!
//! The shortcut is the oracle's: layer l receives A_{l−s} when s | l and n_{l−s} = n_l, or when
//! it is one of the layers named by [`Dense::with_shortcut_layers`]; where it joins is the
//! network's [`Skip`] ([`Dense::with_skip`]; pre-activation unless set).
//!
//! `W_l` is n_{l−1} × n_l, row-major (`weight[i·n_out + j]` joins input i to unit j): the peers'
//! layout, and the transpose of the oracle's `weight[j][i]` ([`DenseLayer::from_out_in`] converts).
//! The loss is a sum S over the batch and the outputs, divided once at the end by the
//! normalisation ν ([`Normalisation`]: B as in the oracle, or B·n_L for the peers' mean):
//!
//! ```text
//! SquaredError:        S = Σ_b Σ_j (y_bj − t_bj)²,                 G_L = ∂S/∂A_L = 2(Y − T)
//! BinaryCrossEntropy:  S = Σ_b Σ_j [softplus(z_bj) − t_bj·z_bj],  Δ_L = ∂S/∂Z_L = σ(Z_L) − T
//! Linear:              S = Σ_b Σ_j t_bj·y_bj,                      G_L = ∂S/∂A_L = T
//! BceWithLogits:       S = Σ_b Σ_j [softplus(y_bj) − t_bj·y_bj],  G_L = ∂S/∂A_L = σ(Y) − T
//! CrossEntropy:        S = Σ_b Σ_j t_bj·(lse(y_b) − y_bj),        G_L = ∂S/∂A_L = (Σ_j t_bj)·softmax(y_b) − t_b
//! ```
//!
//! (lse(y) = m + ln Σ_j e^{y_j − m}, m = max_j y_j: no e^y overflows; any output activation, the
//! outputs being the logits, as the oracle's losses of the same names.)
//!
//! `Linear` starts backward from a given seed: with T = P, its gradients are the vector–Jacobian
//! products Pᵀ·∂Y/∂θ / ν, whatever the network outputs (a probe independent of the weights).
//!
//! Backward, layer L down to 1, with G_l = ∂S/∂A_l and Δ_l = ∂S/∂Z_l:
//!
//! ```text
//! Δ_l = G_l ⊙ D_l          G_{l−s} += Δ_l (pre-activation shortcut), += G_l (identity: past f′)
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
//! call to call without allocating. **SIMD**: the products and the elementwise and statistics
//! kernels run at the workspace's level ([`Workspace::set_simd`]; [`crate::simd`]): AVX-512 or
//! AVX2 + FMA where the CPU has them and the portable one elsewhere, all with the same bits; the
//! [`SIMD_ENV`] environment variable (`GRADLAB_SIMD=avx2` or `portable`) caps it, to measure or
//! check a lower one.

mod backward;
mod diagnose;
mod forward;
mod norm;
mod workspace;

pub use crate::simd::SIMD_ENV;

use crate::activation::Activation;
use crate::error::Error;
use crate::gemm::{ALayout, BOp, Init, Product, Scratch, gemm_at, pack_b, panel_stride, should_pack, transpose};
use crate::parallel::PerThread;
use crate::real::Real;
use crate::simd::{Simd, kernel};
pub use crate::skip::Skip;
use crate::stats::{self, GradientStats, LayerStats, NonFinite, Stage, Summary};
use backward::{column_sums, hadamard, packed_or_rows, scale, transpose_weights};
pub use diagnose::{Diagnosis, LayerDiagnosis, SeedAt};
pub use norm::{LayerNorm, NormAt, NormKind};
use rayon::prelude::*;
pub use workspace::Workspace;

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
        let mut layer = DenseLayer { n_in, n_out, weight, bias, activation: Activation::Identity };
        layer.set_activation(activation)?;
        Ok(layer)
    }

    /// A layer from the oracle's layout: `rows[j][i]` joins input i to unit j.
    ///
    /// Refused as in [`DenseLayer::new`], and ragged or empty rows.
    pub fn from_out_in(rows: &[Vec<T>], bias: Option<Vec<T>>, activation: Activation) -> Result<Self, Error> {
        let n_out = rows.len();
        let n_in = rows.first().map_or(0, Vec::len);
        for row in rows {
            Error::check_len("layer weight row", n_in, row.len())?;
        }
        // The transpose in bands of TRANSPOSE_BAND rows: each column i of a band is written as
        // one contiguous run, and the band's rows are read in step, so neither side strides
        // through memory a row at a time (as a plain row-by-row transpose of a wide matrix does).
        const TRANSPOSE_BAND: usize = 16;
        let mut weight = vec![T::ZERO; n_in * n_out];
        for (b, band) in rows.chunks(TRANSPOSE_BAND).enumerate() {
            let j0 = b * TRANSPOSE_BAND;
            for i in 0..n_in {
                let out = &mut weight[i * n_out + j0..i * n_out + j0 + band.len()];
                for (w, row) in out.iter_mut().zip(band) {
                    *w = row[i];
                }
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
    /// Replaces f, keeping the weights (the same network under another activation, without
    /// building its layers again). Refused as in [`DenseLayer::new`]: a non-finite leaky-relu slope.
    pub fn set_activation(&mut self, activation: Activation) -> Result<(), Error> {
        if let Activation::LeakyRelu { slope } = activation {
            if !slope.is_finite() {
                return Err(Error::invalid("leaky_relu slope", "not finite"));
            }
        }
        self.activation = activation;
        Ok(())
    }
}

/// A validated network (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense<T> {
    layers: Vec<DenseLayer<T>>,
    shortcut: Option<usize>,
    skip: Skip,
    /// Per layer (0-based), the activation index (0 = input) its shortcut comes from.
    shortcut_from: Vec<Option<usize>>,
    /// Per layer (0-based), its normalisation ([`Dense::with_norms`]); empty when no layer has
    /// one (a network without costs nothing per layer).
    norms: Vec<Option<LayerNorm<T>>>,
}

/// The loss (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Σ (y − t)², divided by ν.
    SquaredError,
    /// Σ [softplus(z) − t·z] on a sigmoid output layer's logits z, divided by ν.
    BinaryCrossEntropy,
    /// Σ t·y, divided by ν: linear in the output, so backward starts from the seed G_L = T
    /// whatever the network outputs (the target batch is the seed: a vector–Jacobian product).
    Linear,
    /// Σ [softplus(y) − t·y] on the outputs y taken as logits (any output activation), divided
    /// by ν: PyTorch's `BCEWithLogitsLoss`.
    BceWithLogits,
    /// Σ_b Σ_j t_bj·(lse(y_b) − y_bj), softmax cross-entropy on the outputs taken as logits,
    /// divided by ν (for one-hot t, −ln softmax(y_b)_class).
    CrossEntropy,
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
    /// ∂L/∂γ of layer l's normalisation at index l − 1 (computed whether or not it has γ; empty
    /// for a layer without one, and no entries at all for a network without normalisations).
    pub norm_weight: Vec<Vec<T>>,
    /// ∂L/∂β, likewise.
    pub norm_bias: Vec<Vec<T>>,
}

impl<T: Real> Dense<T> {
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
        Ok(Dense { layers, shortcut, skip: Skip::default(), shortcut_from, norms: Vec::new() })
    }

    /// The same network with its shortcut joining as `skip` says ([`Skip::PreActivation`] unless
    /// set). Without a shortcut it changes nothing.
    pub fn with_skip(self, skip: Skip) -> Self {
        Dense { skip, ..self }
    }

    /// The same network with its shortcut received by `layers` (1-based, increasing) alone, each
    /// from A_{l−s}, instead of by every s-th layer: the oracle's `with_shortcut_layers`, with
    /// its refusals (no span, a layer below s or beyond the depth, out of order or repeated, of
    /// another width than A_{l−s}).
    pub fn with_shortcut_layers(self, layers: &[usize]) -> Result<Self, Error> {
        let Some(s) = self.shortcut else {
            return Err(Error::invalid("shortcut layers", "they need a shortcut span"));
        };
        let depth = self.layers.len();
        let width = |idx: usize| if idx == 0 { self.layers[0].n_in } else { self.layers[idx - 1].n_out };
        let mut shortcut_from = vec![None; depth];
        for (k, &l) in layers.iter().enumerate() {
            let reason = if l < s || l > depth {
                format!("layer {l} is not between the span {s} and the depth {depth}")
            } else if k > 0 && layers[k - 1] >= l {
                format!("layer {l} follows layer {}: they must increase", layers[k - 1])
            } else if width(l - s) != width(l) {
                format!("layer {l} has width {} but A_{} has width {}", width(l), l - s, width(l - s))
            } else {
                shortcut_from[l - 1] = Some(l - s);
                continue;
            };
            return Err(Error::invalid("shortcut layers", reason));
        }
        Ok(Dense { shortcut_from, ..self })
    }

    /// Where the shortcut joins.
    pub fn skip(&self) -> Skip {
        self.skip
    }

    /// The activation index (0 = input) layer `idx` + 1 adds to its A past f: an identity
    /// shortcut's source.
    fn identity_from(&self, idx: usize) -> Option<usize> {
        self.shortcut_from[idx].filter(|_| self.skip == Skip::Identity)
    }

    /// The activation index layer `idx` + 1 adds to its Z: a pre-activation shortcut's source.
    fn pre_activation_from(&self, idx: usize) -> Option<usize> {
        self.shortcut_from[idx].filter(|_| self.skip == Skip::PreActivation)
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
    /// rows, non-finite inputs or targets, binary cross-entropy without a sigmoid output layer or
    /// with an identity shortcut into it (its output is then no probability).
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
        if loss == Loss::BinaryCrossEntropy && self.identity_from(self.layers.len() - 1).is_some() {
            return Err(Error::invalid(
                "loss",
                "binary cross-entropy needs the sigmoid's output, and an identity shortcut adds to the last layer's",
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
                scale(ws.simd, gb, inv);
            }
        } else {
            for (gw, gb) in ws.grads.weight.iter_mut().zip(&mut ws.grads.bias) {
                gw.iter_mut().for_each(|v| *v = *v / nu_t);
                gb.iter_mut().for_each(|v| *v = *v / nu_t);
            }
        }
        for g in ws.grads.norm_weight.iter_mut().chain(&mut ws.grads.norm_bias) {
            g.iter_mut().for_each(|v| *v = *v / nu_t);
        }
        if ws.stats_threshold.is_some() {
            self.finish_stats(ws, nu);
        }
        Ok(&ws.grads)
    }
}

/// The peers' `mlp` network (see [`crate::workload::mlp_network`]).
#[cfg(feature = "workload")]
pub use crate::workload::mlp_network;

#[cfg(test)]
mod tests;
