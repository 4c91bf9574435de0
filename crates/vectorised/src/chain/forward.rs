//! The per-block forward kernel: a_l = f_l(w_l·a_{l−1} + b_l) (+ a_{l−s} through a shortcut,
//! inside f or after it: [`Skip`]) and f′_l for every chain of a block, layer by layer across
//! chains, then the loss (y − t)².

use super::*;

/// [`forward`]'s arguments, for [`Simd::run`](crate::simd::Simd::run): one block's forward sweep
/// at the workspace's SIMD level.
pub(super) struct Forward<'a, 'j, 'o, T> {
    pub(super) job: &'a Block<'j, T>,
    pub(super) out: &'a mut BlockOut<'o, T>,
    pub(super) ld: usize,
    pub(super) act: &'a mut [T],
    pub(super) deriv: &'a mut [T],
}

impl<T: Real> pulp::NullaryFnOnce for Forward<'_, '_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Forward { job, out, ld, act, deriv } = self;
        forward(job, out, ld, act, deriv)
    }
}

/// The per-block kernel's forward sweep, with the loss and the output.
#[inline(always)]
fn forward<T: Real>(job: &Block<'_, T>, out: &mut BlockOut<'_, T>, ld: usize, act: &mut [T], deriv: &mut [T]) {
    let batch = job.batch;
    let (n, d) = (job.lanes.len(), batch.n_layers);
    let lane0 = job.lanes.start;
    // This block's parameters: D contiguous rows of n lanes.
    let weights = &batch.weights[lane0 * d..][..d * n];
    let biases = batch.biases.as_ref().map(|b| &b[lane0 * d..][..d * n]);
    let act = &mut act[..(d + 1) * ld];
    let deriv = &mut deriv[..d * ld];

    // ---- forward: row l of `act` is a_l (a_0 = x), row l of `deriv` is f′_{l+1}(z_{l+1}).
    act[..n].copy_from_slice(job.inputs);
    for l in 0..d {
        let layer = l + 1;
        // a_l's row starts at an offset LLVM cannot follow from layer to layer: otherwise it
        // checks whether the rows a_{l−1} and a_l overlap once for all layers (hoisting the
        // vectoriser's run-time check out of this loop), finds that they do, and runs every
        // layer's loops scalar. Checked per layer, the rows never overlap.
        let row = std::hint::black_box(layer * ld);
        let (done, rest) = act.split_at_mut(row);
        let prev = &done[row - ld..][..n];
        // a_{l−1} goes into ∂L/∂w_l's row now, and backward multiplies it by δ_l in place: the
        // row's lines (from memory: the gradients of a large batch are not in any cache) are
        // then fetched for writing while this layer's sigmoid computes, not while backward
        // waits for them; and backward reads one row less. W1: 0.82–0.84 of the time on one
        // thread, 0.89 on two (docs/performance.md).
        out.weight[l].copy_from_slice(prev);
        let z = &mut rest[..n];
        let w = &weights[l * n..][..n];
        let f1 = &mut deriv[l * ld..][..n];
        let b = biases.map(|b| &b[l * n..][..n]);
        let skip = match batch.shortcut {
            Some(span) if layer.is_multiple_of(span) => Some(&done[(layer - span) * ld..][..n]),
            _ => None,
        };
        // a_{l−s} joins z (pre-activation) or the activation's value (identity).
        let (into_z, into_a) = match batch.skip {
            Skip::PreActivation => (skip, None),
            Skip::Identity => (None, skip),
        };
        match (batch.activations[l], b, into_z) {
            // W1's layer: z = w·a formed inside the sigmoid's first pass (one pass over the rows
            // fewer than `sigmoid_in_place` after a pass of its own, as the general arm does).
            (Activation::Sigmoid, None, None) => {
                if T::SIGMOID_IN_TWO_PASSES {
                    for (((z, f1), &w), &a) in z.iter_mut().zip(f1.iter_mut()).zip(w).zip(prev) {
                        *z = w * a;
                        *f1 = sigmoid_exp(*z);
                    }
                    for (z, f1) in z.iter_mut().zip(f1.iter_mut()) {
                        let (value, d1) = sigmoid_parts_from_exp(*z, *f1);
                        *z = value;
                        *f1 = d1;
                    }
                } else {
                    for (((z, f1), &w), &a) in z.iter_mut().zip(f1.iter_mut()).zip(w).zip(prev) {
                        let (value, d1) = sigmoid_parts(w * a);
                        *z = value;
                        *f1 = d1;
                    }
                }
            }
            (f, b, skip) => {
                match b {
                    Some(b) => {
                        for (((z, &w), &a), &b) in z.iter_mut().zip(w).zip(prev).zip(b) {
                            *z = w * a + b;
                        }
                    }
                    // + 0 as the oracle does (it adds b_d = 0): turns z = −0 into +0, which
                    // identity and leaky ReLU would pass on as the sign of a zero gradient.
                    None => {
                        for ((z, &w), &a) in z.iter_mut().zip(w).zip(prev) {
                            *z = w * a + T::ZERO;
                        }
                    }
                }
                if let Some(skip) = skip {
                    for (z, &a) in z.iter_mut().zip(skip) {
                        *z += a;
                    }
                }
                if f == Activation::Sigmoid {
                    sigmoid_in_place(z, f1);
                } else {
                    for (z, f1) in z.iter_mut().zip(f1.iter_mut()) {
                        *f1 = f.derivative(*z);
                        *z = f.value(*z);
                    }
                }
            }
        }
        // The row now holds f_l(z_l); the identity skip adds a_{l−s} to it, as the oracle does.
        if let Some(skip) = into_a {
            for (a, &from) in z.iter_mut().zip(skip) {
                *a += from;
            }
        }
    }
    let y = &act[d * ld..][..n];
    for (((loss, o), &y), &t) in out.loss.iter_mut().zip(out.output.iter_mut()).zip(y).zip(job.targets) {
        *o = y;
        *loss = (y - t) * (y - t);
    }
}
