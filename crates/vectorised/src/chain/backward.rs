//! The per-block backward kernels: δ_D = 2(y − t)·f′_D, δ_l = δ_{l+1}·w_{l+1}·f′_l (+ δ_{l+s}),
//! ∂L/∂w_l = δ_l·a_{l−1}, ∂L/∂b_l = δ_l, and ∂L/∂x = δ₁·w₁ (+ δ_s).

use super::*;

/// [`backward`]'s arguments, for [`Simd::run`](crate::simd::Simd::run).
pub(super) struct Backward<'a, 'j, 'o, T> {
    pub(super) job: &'a Block<'j, T>,
    pub(super) out: &'a mut BlockOut<'o, T>,
    pub(super) ld: usize,
    pub(super) act: &'a [T],
    pub(super) deriv: &'a mut [T],
}

impl<T: Real> pulp::NullaryFnOnce for Backward<'_, '_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let Backward { job, out, ld, act, deriv } = self;
        backward(job, out, ld, act, deriv)
    }
}

/// The per-block kernel's backward sweep, after the forward one (the plain sweep: see
/// [`backward_with_stats`] for the one with statistics).
#[inline(always)]
fn backward<T: Real>(job: &Block<'_, T>, out: &mut BlockOut<'_, T>, ld: usize, act: &[T], deriv: &mut [T]) {
    let batch = job.batch;
    let (n, d) = (job.lanes.len(), batch.n_layers);
    let weights = job.rows(&batch.weights);
    let y = &act[d * ld..][..n];
    // ---- backward: δ_d overwrites f′_d in `deriv`; one pass per layer also turns the a_{d−1}
    // that forward left in ∂L/∂w_d's row into ∂L/∂w_d = δ_d·a_{d−1}.
    let two = T::from_f64(2.0);
    for l in (0..d).rev() {
        let layer = l + 1;
        let (lower, upper) = deriv.split_at_mut(layer * ld);
        let delta = &mut lower[l * ld..][..n];
        let g = &mut *out.weight[l];
        if layer == d {
            for (((dl, g), &y), &t) in delta.iter_mut().zip(g).zip(y).zip(job.targets) {
                *dl *= two * (y - t);
                *g = *dl * *g;
            }
        } else {
            let next = &upper[..n];
            let w_next = &weights[layer * n..][..n];
            match batch.shortcut {
                Some(span) if layer.is_multiple_of(span) && layer + span <= d => {
                    let skip = &upper[(span - 1) * ld..][..n];
                    for ((((dl, g), &dn), &w), &ds) in delta.iter_mut().zip(g).zip(next).zip(w_next).zip(skip) {
                        *dl *= dn * w + ds;
                        *g = *dl * *g;
                    }
                }
                _ => {
                    for (((dl, g), &dn), &w) in delta.iter_mut().zip(g).zip(next).zip(w_next) {
                        *dl *= dn * w;
                        *g = *dl * *g;
                    }
                }
            }
        }
        if let Some(bias) = &mut out.bias {
            bias[l].copy_from_slice(delta);
        }
    }
}

/// ∂L/∂x = δ₁·w₁ + [s ≤ D]·δ_s, after either backward sweep.
pub(super) fn input_gradient<T: Real>(job: &Block<'_, T>, out: &mut BlockOut<'_, T>, ld: usize, deriv: &[T]) {
    let batch = job.batch;
    let n = job.lanes.len();
    let w1 = &job.rows(&batch.weights)[..n];
    let d = batch.n_layers;
    match batch.shortcut {
        Some(span) if span <= d => {
            let skip = &deriv[(span - 1) * ld..][..n];
            for (((g, &dl), &w), &ds) in out.input.iter_mut().zip(&deriv[..n]).zip(w1).zip(skip) {
                *g = dl * w + ds;
            }
        }
        _ => {
            for ((g, &dl), &w) in out.input.iter_mut().zip(&deriv[..n]).zip(w1) {
                *g = dl * w;
            }
        }
    }
}
