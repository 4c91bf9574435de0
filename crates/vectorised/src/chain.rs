//! Batched single-neuron chains: S independent chains of depth D in one call, every per-layer
//! gradient, in `f64` or `f32`, parallel and deterministic.
//!
//! One chain (layer d = 1..D, a₀ = x, shortcut span s optional), with the shortcut in the
//! pre-activation form ([`Skip::PreActivation`], the default):
//!
//! ```text
//! forward   z_d = w_d·a_{d−1} + b_d + [s | d]·a_{d−s}        a_d = f_d(z_d)     y = a_D
//! loss      L = (y − t)²
//! backward  δ_D = 2(y − t)·f′_D(z_D)
//!           δ_d = f′_d(z_d)·(δ_{d+1}·w_{d+1} + [s | d ∧ d+s ≤ D]·δ_{d+s})
//!           ∂L/∂w_d = δ_d·a_{d−1}      ∂L/∂b_d = δ_d      ∂L/∂x = δ₁·w₁ + [s ≤ D]·δ_s
//! ```
//!
//! or in the identity form ([`Skip::Identity`], [`ChainBatch::with_skip`]), whose skipped path
//! bypasses f′ and so carries g_d = ∂L/∂a_d where the other carries δ:
//!
//! ```text
//! forward   z_d = w_d·a_{d−1} + b_d        a_d = f_d(z_d) + [s | d]·a_{d−s}
//! backward  g_D = 2(y − t),   g_d = δ_{d+1}·w_{d+1} + [s | d ∧ d+s ≤ D]·g_{d+s},   δ_d = f′_d(z_d)·g_d
//!           ∂L/∂x = δ₁·w₁ + [s ≤ D]·g_s
//! ```
//!
//! (the same equations, in the same order of operations, as the oracle's `scalar::chain`). The
//! kernels keep no row of g; in the identity form backward writes g_d over the activation row
//! a_d, which forward has already copied where it is needed, at the layers the skip leaves.
//!
//! **Layout.** Struct of arrays, layer-major: weights, biases and (by default) gradients are
//! `D × S` matrices with `[layer][chain]` indexing, so for a fixed layer the S chains are one
//! contiguous slice and every inner loop runs across chains (independent lanes, hence SIMD).
//! Internally a batch keeps its parameters block-major (each block's D rows of [`chain_chunk`]
//! lanes contiguous), so a block's weights stream from memory instead of being gathered from D
//! rows S apart. The gradients can be delivered block-major too ([`GradientLayout::Blocks`]), so
//! that each block's are written as one contiguous run instead of D pieces S apart: for batches
//! much larger than the caches the cheaper layout to write (see [`GradientLayout`]).
//!
//! **Blocking.** The S chains are cut into blocks of [`chain_chunk`] chains. One task runs a
//! block through all D layers forward and backward, keeping its activations a_d and derivatives
//! f′_d (2·D·chain_chunk values) in a per-thread scratch that stays in the core's L2 cache, so
//! the only traffic to memory is reading w and writing ∂L/∂w (whose rows forward already fills
//! with a_{d−1}, so that their lines arrive while the sigmoid computes; backward multiplies
//! them by δ_d in place). The block size is a constant, so the cut never depends on the number
//! of threads; chains are independent, so each chain's numbers are the same whichever thread
//! computes it and however its block is vectorised.
//!
//! **Magnitudes beyond `f64`.** With [`Magnitudes::Extended`], each chain also runs forward and
//! backward in [`Scaled`] (mantissa, 62-bit binary exponent) with the oracle's `Ext` operations in
//! the oracle's order, so sign and log10 |∂L/∂w_d| are exact to rounding (the oracle's bits) even
//! at depth 100,000, or where activations leave `f64` after a few tiny weights, where the plain
//! values have long underflowed to 0. This pass runs layer by layer across the block's chains,
//! their [`Scaled`] values kept as rows of mantissas and rows of exponents (`scaled::lanes`) in
//! a working form that is renormalised only when a mantissa leaves 2^±400 (`scaled::lazy`, same
//! bits as renormalising every result); the activations' f and f′ are evaluated one lane at a
//! time (libm), in `f64` directly wherever z is an ordinary `f64`.
//! [`Magnitudes::ExtendedSignals`] also delivers the forward signal u_d, the backward factor
//! ∂L/∂a_d and the output y in [`Scaled`].
//!
//! **Statistics.** Asked for with [`ChainWorkspace::set_stats`], each layer's statistics over
//! the S chains (∂L/∂w_l, ∂L/∂a_l, saturated and dead units, the first non-finite value; see
//! [`crate::stats`]) are gathered in a backward sweep of their own that does the same operations
//! in the same order (so the same bits), each block summarising its share, combined in block
//! order. Off by default: a chain's layer is a few operations per chain, and the statistics
//! add about half as much again (W1: `examples/stats_cost.rs`, `docs/performance.md`).
//!
//! **Sigmoid fast path.** Sigmoid layers use the branch-free exp and the division-free
//! reciprocal of [`crate::math::exp`]. The per-block kernels run at the workspace's SIMD level
//! ([`ChainWorkspace::set_simd`]; [`crate::simd`]); every level does the same IEEE operations
//! (FMA is used explicitly, never contracted by the compiler), so the bits do not depend on the
//! CPU's vector width either. (The portable level, on CPUs without FMA, calls a software `fma`
//! and is slow, but gives the same bits.)
//! Other activations use [`Activation::value`] / [`Activation::derivative`] (the oracle's
//! formulas with libm).

use crate::activation::Activation;
use crate::error::Error;
use crate::math::exp::{sigmoid_exp, sigmoid_in_place, sigmoid_parts, sigmoid_parts_from_exp};
use crate::parallel::{PerThread, column_blocks_mut, map_chunks, n_chunks, sum_in_order};
use crate::real::Real;
use crate::simd::Simd;
use crate::skip::Skip;
use crate::stats::{self, GradientStats, LayerStats, NonFinite, PartialLayer, Stage};
use std::ops::Range;

mod backward;
mod block;
mod extended;
mod forward;
mod layout;
pub mod scaled;
mod stats_sweep;

use backward::{Backward, BackwardIdentity, input_gradient};
use block::{Block, BlockOut, BlockStats, Signals, run_block};
use extended::extended_pass;
use forward::Forward;
use layout::{RowLayout, from_block_major, layer_blocks_mut, resize, to_block_major, transpose};
use scaled::Scaled;
use scaled::lanes::Lanes;
use stats_sweep::BackwardWithStats;

/// Bytes of one layer's row of a block: a block holds `CHAIN_CHUNK_BYTES / size_of::<T>()` chains
/// (128 in `f64`, 256 in `f32`), so 256 layers of activations and derivatives (2 × 263 KB) stay
/// in L2 and one layer offers 16 independent vectors of work to hide the sigmoid's latency.
pub const CHAIN_CHUNK_BYTES: usize = 1024;

/// Chains per task for element type `T`: fixed (independent of the thread count) for
/// determinism.
pub const fn chain_chunk<T>() -> usize {
    CHAIN_CHUNK_BYTES / std::mem::size_of::<T>()
}

/// Which gradient representations to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magnitudes {
    /// Plain `T` values only (0 or ±∞ where they leave `T`'s range). The fast path.
    Plain,
    /// Plain values and, per layer and chain, a [`Scaled`] value exact beyond `f64`'s range
    /// (forward and backward in [`Scaled`]; much slower than [`Magnitudes::Plain`]).
    /// Like the oracle's `Ext`, values beyond 2^±2⁶² (e.g. e^{−10³⁰⁰}, a sigmoid's slope at
    /// z = 10³⁰⁰) saturate to 0 or ±∞; `report::reference` refuses such chains.
    Extended,
    /// [`Magnitudes::Extended`], and in [`Scaled`] as well each layer's forward signal
    /// u_d = a_{d−1} ([`ChainGradients::layer_input_scaled`]), its backward factor ∂L/∂a_d
    /// ([`ChainGradients::layer_output_scaled`]) and each chain's output y
    /// ([`ChainGradients::output_scaled`]): the oracle's `ExtTrace::input`,
    /// `ExtGradients::layer_output` and `ExtTrace::output`, with its bits.
    ExtendedSignals,
}

/// S single-neuron chains of depth D with their parameters, validated.
#[derive(Debug, Clone)]
pub struct ChainBatch<T> {
    n_chains: usize,
    n_layers: usize,
    /// Block-major: the chains of block b (`[b·C, b·C + n_b)`, C = [`chain_chunk`]) hold
    /// `weights[b·C·D + l·n_b + i]` = w_{b·C+i, l+1}, so one block's D rows are contiguous and
    /// stream from memory (see [`to_block_major`]).
    weights: Vec<T>,
    /// Block-major like the weights.
    biases: Option<Vec<T>>,
    activations: Vec<Activation>,
    shortcut: Option<usize>,
    skip: Skip,
}

/// How [`ChainGradients`] stores its per-layer values (`weight`, `bias`, `weight_scaled`,
/// `bias_scaled`); [`ChainGradients::index`] finds a value in either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GradientLayout {
    /// `[layer][chain]` (D × S): the value of layer l and chain s at `l·S + s`, the layout of
    /// [`ChainBatch::new`]'s weights. The default.
    #[default]
    LayerMajor,
    /// Block-major, as the engine computes them and as a batch stores its weights: the chains
    /// are cut into blocks of [`chain_chunk`] (C) chains, and block b (chains `[b·C, b·C + n_b)`)
    /// holds its D rows of n_b values one after the other, so layer l of chain b·C + i is at
    /// `b·C·D + l·n_b + i`. Each block's gradients are then one contiguous run of memory
    /// instead of D pieces S values apart; for a batch much larger than the caches (W1: 8 MiB of
    /// gradients), writing them costs less (measured in `docs/performance.md`).
    Blocks,
}

/// Every gradient of a batch of chains (see the module docs for the equations).
///
/// The per-layer values are stored in `layout` ([`GradientLayout::LayerMajor`] unless the
/// buffer was made with [`ChainGradients::with_layout`]); [`ChainGradients::weight_at`] and
/// [`ChainGradients::index`] read either.
#[derive(Debug, Clone, Default)]
pub struct ChainGradients<T> {
    /// How `weight`, `bias`, `weight_scaled` and `bias_scaled` are laid out. Kept by
    /// [`ChainBatch::gradients_into`], which fills the buffer in this layout.
    pub layout: GradientLayout,
    /// S, the number of chains.
    pub n_chains: usize,
    /// D, the depth.
    pub n_layers: usize,
    /// L_s = (y_s − t_s)² per chain.
    pub loss: Vec<T>,
    /// y_s = a_D per chain.
    pub output: Vec<T>,
    /// ∂L_s/∂x_s per chain.
    pub input: Vec<T>,
    /// ∂L_s/∂w_{s,d}, D × S values in `layout`.
    pub weight: Vec<T>,
    /// ∂L_s/∂b_{s,d} in `layout`; empty when the batch has no biases.
    pub bias: Vec<T>,
    /// ∂L_s/∂w_{s,d} as [`Scaled`] in `layout`; empty unless [`Magnitudes::Extended`].
    pub weight_scaled: Vec<Scaled>,
    /// ∂L_s/∂b_{s,d} as [`Scaled`] in `layout`; empty unless extended and biased.
    pub bias_scaled: Vec<Scaled>,
    /// y_s as [`Scaled`] per chain; empty unless [`Magnitudes::ExtendedSignals`].
    pub output_scaled: Vec<Scaled>,
    /// u_{s,d} = a_{s,d−1}, the input of layer d, as [`Scaled`] in `layout`; empty unless
    /// [`Magnitudes::ExtendedSignals`].
    pub layer_input_scaled: Vec<Scaled>,
    /// ∂L_s/∂a_{s,d}, the gradient at layer d's output, as [`Scaled`] in `layout`; empty unless
    /// [`Magnitudes::ExtendedSignals`].
    pub layer_output_scaled: Vec<Scaled>,
}

impl<T: Real> ChainGradients<T> {
    /// An empty buffer for [`ChainBatch::gradients_into`] that will hold the per-layer values in
    /// `layout`.
    pub fn with_layout(layout: GradientLayout) -> Self {
        ChainGradients { layout, ..Self::default() }
    }

    /// Where the value of `layer` (0-based: layer d = `layer` + 1) and `chain` sits in `weight`,
    /// `bias`, `weight_scaled` and `bias_scaled`, for this buffer's `layout`.
    ///
    /// # Panics
    /// If `layer` ≥ D or `chain` ≥ S (in either layout, rather than naming another value).
    pub fn index(&self, layer: usize, chain: usize) -> usize {
        assert!(
            layer < self.n_layers && chain < self.n_chains,
            "layer {layer}, chain {chain} is outside D = {}, S = {}",
            self.n_layers,
            self.n_chains
        );
        match self.layout {
            GradientLayout::LayerMajor => layer * self.n_chains + chain,
            GradientLayout::Blocks => {
                let start = chain / chain_chunk::<T>() * chain_chunk::<T>();
                let n_b = chain_chunk::<T>().min(self.n_chains - start);
                start * self.n_layers + layer * n_b + (chain - start)
            }
        }
    }

    /// ∂L/∂w at `layer` (0-based: layer d = `layer` + 1) of `chain`.
    pub fn weight_at(&self, layer: usize, chain: usize) -> T {
        self.weight[self.index(layer, chain)]
    }

    /// The D weight gradients of one chain, input side first.
    pub fn chain_weight(&self, chain: usize) -> Vec<T> {
        (0..self.n_layers).map(|l| self.weight_at(l, chain)).collect()
    }

    /// Σ_s L_s, summed in chain order (so the same bits on any number of threads).
    pub fn total_loss(&self) -> T {
        sum_in_order(&self.loss)
    }
}

/// Scratch memory reused across calls: per worker thread, the activations and derivatives of
/// one block of chains; and, when asked for, the per-layer statistics of the last call. Keep one
/// per caller so that repeated calls do not allocate it again.
#[derive(Debug, Default)]
pub struct ChainWorkspace<T> {
    slots: PerThread<Scratch<T>>,
    /// The SIMD level of the kernels.
    simd: Simd,
    /// `Some(θ)` when statistics are gathered.
    stats_threshold: Option<f64>,
    /// Block b's share of layer l's statistics at `b·D + l`.
    partial: Vec<PartialLayer>,
    /// Block b's first non-finite value, in the scan order of [`crate::stats`].
    first: Vec<Option<NonFinite>>,
    stats: GradientStats,
}

impl<T: Real> ChainWorkspace<T> {
    /// An empty workspace that gathers no statistics and runs at [`Simd::detect`]'s level; it
    /// grows on first use.
    pub fn new() -> Self {
        ChainWorkspace {
            slots: PerThread::new(),
            simd: Simd::detect(),
            stats_threshold: None,
            partial: Vec::new(),
            first: Vec::new(),
            stats: GradientStats::default(),
        }
    }

    /// Runs the kernels at `simd` (every level gives the same bits: for tests and measurements
    /// of a level below the best).
    pub fn set_simd(&mut self, simd: Simd) {
        self.simd = simd;
    }

    /// The SIMD level the kernels run at.
    pub fn simd(&self) -> Simd {
        self.simd
    }

    /// Gathers per-layer statistics during backward with saturation threshold θ (`Some`; see
    /// [`crate::stats`]), or not at all (`None`, the default: the sweeps that call chains by
    /// the thousand do not pay for them). The gradients have the same bits either way.
    ///
    /// Refused: θ not finite or negative.
    pub fn set_stats(&mut self, threshold: Option<f64>) -> Result<(), Error> {
        if let Some(t) = threshold
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(Error::invalid("saturation threshold", "must be finite and ≥ 0"));
        }
        self.stats_threshold = threshold;
        Ok(())
    }

    /// The statistics of the last successful [`ChainBatch::gradients_into`] call with this
    /// workspace, if gathered. For chains, layer l's units are the S chains' neurons at depth l,
    /// each seen by one sample: the summaries run over the S values of ∂L/∂w_l and of ∂L/∂a_l,
    /// a dead relu unit is one with f′ = 0, and a non-finite value's `unit` is its chain
    /// (`sample` is `None`). The summaries describe the plain `T` values, also under
    /// [`Magnitudes::Extended`] (where those underflow, the log-domain values do not).
    pub fn stats(&self) -> Option<&GradientStats> {
        self.stats_threshold.map(|_| &self.stats)
    }
}

#[derive(Debug, Default)]
struct Scratch<T> {
    /// a_0 … a_D, then (after a gap) f′_1 … f′_D, which the backward sweep overwrites with
    /// δ_1 … δ_D; rows of `ld` values of which the block's lanes use the first n
    /// (see [`RowLayout`]).
    rows: Vec<T>,
    /// The block's a_0 … a_D, f′_1 … f′_D / δ_1 … δ_D and ∂L/∂a as [`Scaled`] rows across its
    /// chains (extended modes only).
    lanes: Lanes,
    /// One layer's ∂L/∂a over the block (statistics only).
    grad_a: Vec<T>,
}

impl<T: Real> ChainBatch<T> {
    /// A batch of `n_chains` chains with depth D = `activations.len()`, whose weights are given
    /// layer-major: `weights[l·S + s]` is w_{s, l+1}.
    pub fn new(n_chains: usize, weights: Vec<T>, activations: Vec<Activation>) -> Result<Self, Error> {
        let n_layers = activations.len();
        if n_layers == 0 {
            return Err(Error::invalid("chain depth", "a chain needs at least one layer"));
        }
        let size =
            n_chains.checked_mul(n_layers).ok_or_else(|| Error::invalid("chain batch", "S × D overflows usize"))?;
        Error::check_len("chain weights", size, weights.len())?;
        Error::check_finite("chain weights", &weights)?;
        for (layer, act) in activations.iter().enumerate() {
            if let Activation::LeakyRelu { slope } = act
                && !slope.is_finite()
            {
                return Err(Error::NonFinite { what: "leaky_relu slope (index = layer)", index: layer });
            }
        }
        let weights = to_block_major(&weights, n_chains, n_layers);
        Ok(ChainBatch { n_chains, n_layers, weights, biases: None, activations, shortcut: None, skip: Skip::default() })
    }

    /// Like [`ChainBatch::new`] with chain-major weights: `weights[s·D + l]` is w_{s, l+1}.
    pub fn from_chain_major(n_chains: usize, weights: &[T], activations: Vec<Activation>) -> Result<Self, Error> {
        let n_layers = activations.len();
        let size = n_chains.saturating_mul(n_layers);
        Error::check_len("chain weights", size, weights.len())?;
        let layer_major = transpose(weights, n_chains, n_layers);
        Self::new(n_chains, layer_major, activations)
    }

    /// Adds biases, layer-major like the weights (`biases[l·S + s]` is b_{s, l+1}).
    pub fn with_biases(mut self, biases: Vec<T>) -> Result<Self, Error> {
        Error::check_len("chain biases", self.weights.len(), biases.len())?;
        Error::check_finite("chain biases", &biases)?;
        self.biases = Some(to_block_major(&biases, self.n_chains, self.n_layers));
        Ok(self)
    }

    /// Adds a shortcut of span 1 ≤ `span` ≤ D: layer d with `span | d` adds a_{d−span}.
    pub fn with_shortcut(mut self, span: usize) -> Result<Self, Error> {
        if span == 0 || span > self.n_layers {
            return Err(Error::invalid(
                "shortcut span",
                format!("must be in 1..={} (the depth), got {span}", self.n_layers),
            ));
        }
        self.shortcut = Some(span);
        Ok(self)
    }

    /// Where the shortcut joins: before the activation ([`Skip::PreActivation`], the default) or
    /// after it ([`Skip::Identity`]). Without a shortcut the form changes nothing.
    pub fn with_skip(mut self, skip: Skip) -> Self {
        self.skip = skip;
        self
    }

    /// S.
    pub fn n_chains(&self) -> usize {
        self.n_chains
    }

    /// D.
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }

    /// The weights, layer-major `[layer][chain]` (a copy; the batch stores them block-major).
    pub fn weights(&self) -> Vec<T> {
        from_block_major(&self.weights, self.n_chains, self.n_layers)
    }

    /// The biases, layer-major `[layer][chain]`, if any (a copy).
    pub fn biases(&self) -> Option<Vec<T>> {
        self.biases.as_ref().map(|b| from_block_major(b, self.n_chains, self.n_layers))
    }

    /// The activation of each layer.
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// The shortcut span, if any.
    pub fn shortcut(&self) -> Option<usize> {
        self.shortcut
    }

    /// Where the shortcut joins.
    pub fn skip(&self) -> Skip {
        self.skip
    }

    /// The span s when the shortcut joins in the identity form, whose backward pass carries
    /// g_d = ∂L/∂a_d along the skipped path.
    fn identity_span(&self) -> Option<usize> {
        self.shortcut.filter(|_| self.skip == Skip::Identity)
    }

    /// Gradients for inputs x_s and targets t_s (one per chain), in fresh buffers.
    pub fn gradients(&self, inputs: &[T], targets: &[T], magnitudes: Magnitudes) -> Result<ChainGradients<T>, Error> {
        let mut out = ChainGradients::default();
        let mut ws = ChainWorkspace::new();
        self.gradients_into(inputs, targets, magnitudes, &mut ws, &mut out)?;
        Ok(out)
    }

    /// Gradients into `out`, reusing `workspace` and `out`'s buffers. Once their sizes fit (and
    /// every thread of the pool has worked on a call: scratch is per thread), a call allocates
    /// only the handles that give each block of chains its rows — a few vectors, as many at any
    /// depth (`tests/memory.rs`). Every element of `out` is overwritten.
    pub fn gradients_into(
        &self,
        inputs: &[T],
        targets: &[T],
        magnitudes: Magnitudes,
        workspace: &mut ChainWorkspace<T>,
        out: &mut ChainGradients<T>,
    ) -> Result<(), Error> {
        let (s, d) = (self.n_chains, self.n_layers);
        Error::check_len("chain inputs", s, inputs.len())?;
        Error::check_len("chain targets", s, targets.len())?;
        Error::check_finite("chain inputs", inputs)?;
        Error::check_finite("chain targets", targets)?;

        let extended = magnitudes != Magnitudes::Plain;
        let signals = magnitudes == Magnitudes::ExtendedSignals;
        let biased = self.biases.is_some();
        out.n_chains = s;
        out.n_layers = d;
        resize(&mut out.loss, s, T::ZERO);
        resize(&mut out.output, s, T::ZERO);
        resize(&mut out.input, s, T::ZERO);
        resize(&mut out.weight, s * d, T::ZERO);
        resize(&mut out.bias, if biased { s * d } else { 0 }, T::ZERO);
        resize(&mut out.weight_scaled, if extended { s * d } else { 0 }, Scaled::ZERO);
        resize(&mut out.bias_scaled, if extended && biased { s * d } else { 0 }, Scaled::ZERO);
        resize(&mut out.output_scaled, if signals { s } else { 0 }, Scaled::ZERO);
        resize(&mut out.layer_input_scaled, if signals { s * d } else { 0 }, Scaled::ZERO);
        resize(&mut out.layer_output_scaled, if signals { s * d } else { 0 }, Scaled::ZERO);
        let threshold = workspace.stats_threshold;
        if threshold.is_some() {
            workspace.stats.layers.clear();
            workspace.stats.layers.resize_with(d, LayerStats::default);
            workspace.stats.first_non_finite = None;
        }
        if s == 0 {
            return Ok(());
        }

        workspace.slots.ensure_slots();
        let chunk = chain_chunk::<T>();
        let n_blocks = n_chunks(s, chunk);
        let n_stats_blocks = if threshold.is_some() { n_blocks } else { 0 };
        workspace.partial.resize_with(n_stats_blocks * d, PartialLayer::default);
        workspace.first.resize(n_stats_blocks, None);
        let mut partial = workspace.partial.chunks_mut(d);
        let mut first = workspace.first.iter_mut();
        let layout = out.layout;
        let mut weight = layer_blocks_mut(layout, &mut out.weight, s, d, chunk).into_iter();
        let mut bias = layer_blocks_mut(layout, &mut out.bias, s, d, chunk).into_iter();
        let mut weight_scaled = layer_blocks_mut(layout, &mut out.weight_scaled, s, d, chunk).into_iter();
        let mut bias_scaled = layer_blocks_mut(layout, &mut out.bias_scaled, s, d, chunk).into_iter();
        let mut layer_input_scaled = layer_blocks_mut(layout, &mut out.layer_input_scaled, s, d, chunk).into_iter();
        let mut layer_output_scaled = layer_blocks_mut(layout, &mut out.layer_output_scaled, s, d, chunk).into_iter();
        let mut output_scaled = out.output_scaled.chunks_mut(chunk);
        let mut loss = out.loss.chunks_mut(chunk);
        let mut output = out.output.chunks_mut(chunk);
        let mut input = out.input.chunks_mut(chunk);
        let parts: Vec<BlockOut<'_, T>> = (0..n_blocks)
            .map(|_| BlockOut {
                loss: loss.next().expect("one loss block per chain block"),
                output: output.next().expect("one output block per chain block"),
                input: input.next().expect("one input block per chain block"),
                weight: weight.next().expect("one weight block per chain block"),
                bias: bias.next().filter(|_| biased),
                weight_scaled: weight_scaled.next().filter(|_| extended),
                bias_scaled: bias_scaled.next().filter(|_| extended && biased),
                signals: signals.then(|| Signals {
                    output: output_scaled.next().expect("one output block per chain block"),
                    layer_input: layer_input_scaled.next().expect("one signal block per chain block"),
                    layer_output: layer_output_scaled.next().expect("one signal block per chain block"),
                }),
                stats: threshold.map(|threshold| BlockStats {
                    threshold,
                    layers: partial.next().expect("one statistics block per chain block"),
                    first: first.next().expect("one statistics block per chain block"),
                }),
            })
            .collect();

        let (slots, simd) = (&workspace.slots, workspace.simd);
        map_chunks(s, chunk, parts, |_, lanes, part| {
            slots.with(|scratch| {
                run_block(
                    &Block {
                        batch: self,
                        inputs: &inputs[lanes.clone()],
                        targets: &targets[lanes.clone()],
                        lanes,
                        extended,
                        simd,
                    },
                    part,
                    scratch,
                )
            })
        });
        if threshold.is_some() {
            workspace.finish_stats(d, s);
        }
        Ok(())
    }
}

impl<T: Real> ChainWorkspace<T> {
    /// Combines the blocks' statistics in block order (the same bits on any number of threads).
    fn finish_stats(&mut self, d: usize, n_chains: usize) {
        for (l, st) in self.stats.layers.iter_mut().enumerate() {
            *st = PartialLayer::merged(self.simd, &self.partial, l, d).finish(n_chains);
        }
        // Each block's first is the first in its own scan; the batch's is the earliest of those
        // in the scan order (forward layer by layer up, then backward layer D down to 1, ∂L/∂a
        // before ∂L/∂w; within a layer, chains in index order).
        let rank = |nf: &NonFinite| match nf.stage {
            Stage::Forward => (0, nf.layer, 0, nf.unit),
            Stage::ShortcutSum => (0, nf.layer, 1, nf.unit),
            Stage::ActivationGradient => (1, d - nf.layer, 0, nf.unit),
            Stage::WeightGradient => (1, d - nf.layer, 1, nf.unit),
        };
        self.stats.first_non_finite = self.first.iter().flatten().copied().min_by_key(rank);
    }
}
