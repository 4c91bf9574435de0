//! One block's job: its read-only side, its output slices, and the run of its passes.

use super::*;

/// The read-only side of one block's job.
pub(super) struct Block<'a, T> {
    pub(super) batch: &'a ChainBatch<T>,
    pub(super) lanes: Range<usize>,
    pub(super) inputs: &'a [T],
    pub(super) targets: &'a [T],
    pub(super) extended: bool,
    pub(super) simd: Simd,
}

impl<'a, T> Block<'a, T> {
    /// This block's rows of a block-major D × S array (its weights or biases): D contiguous
    /// rows of n lanes.
    pub(super) fn rows(&self, values: &'a [T]) -> &'a [T] {
        let (n, d) = (self.lanes.len(), self.batch.n_layers);
        &values[self.lanes.start * d..][..d * n]
    }
}

/// One block's output slices (each of its `lanes.len()` chains, per layer where per layer).
pub(super) struct BlockOut<'a, T> {
    pub(super) loss: &'a mut [T],
    pub(super) output: &'a mut [T],
    pub(super) input: &'a mut [T],
    pub(super) weight: Vec<&'a mut [T]>,
    pub(super) bias: Option<Vec<&'a mut [T]>>,
    pub(super) weight_scaled: Option<Vec<&'a mut [Scaled]>>,
    pub(super) bias_scaled: Option<Vec<&'a mut [Scaled]>>,
    pub(super) signals: Option<Signals<'a>>,
    pub(super) stats: Option<BlockStats<'a>>,
}

/// One block's forward signals, backward factors and outputs in [`Scaled`]
/// ([`Magnitudes::ExtendedSignals`]).
pub(super) struct Signals<'a> {
    pub(super) output: &'a mut [Scaled],
    pub(super) layer_input: Vec<&'a mut [Scaled]>,
    pub(super) layer_output: Vec<&'a mut [Scaled]>,
}

/// One block's share of the statistics: its part of every layer, and its first non-finite value.
pub(super) struct BlockStats<'a> {
    pub(super) threshold: f64,
    pub(super) layers: &'a mut [PartialLayer],
    pub(super) first: &'a mut Option<NonFinite>,
}

pub(super) fn run_block<T: Real>(job: &Block<'_, T>, mut out: BlockOut<'_, T>, scratch: &mut Scratch<T>) {
    let rows = RowLayout::new::<T>(job.lanes.len(), job.batch.n_layers);
    if scratch.rows.len() < rows.len() {
        scratch.rows.resize(rows.len(), T::ZERO);
    }
    let (act, deriv) = scratch.rows[..rows.len()].split_at_mut(rows.deriv_start);
    let (simd, ld) = (job.simd, rows.ld);
    simd.run(Forward { job, out: &mut out, ld, act, deriv });
    if out.stats.is_some() {
        if scratch.grad_a.len() < job.lanes.len() {
            scratch.grad_a.resize(job.lanes.len(), T::ZERO);
        }
        simd.run(BackwardWithStats { job, out: &mut out, ld, act, deriv, grad_a: &mut scratch.grad_a });
    } else if let Some(span) = job.batch.identity_span() {
        simd.run(BackwardIdentity { job, out: &mut out, ld, span, act, deriv });
    } else {
        simd.run(Backward { job, out: &mut out, ld, act, deriv });
    }
    input_gradient(job, &mut out, rows.ld, act, deriv);
    if job.extended {
        extended_pass(job, &mut out, &mut scratch.lanes);
    }
}
