//! The per-block backward kernels: δ_D = 2(y − t)·f′_D, δ_l = f′_l·(δ_{l+1}·w_{l+1} (+ δ_{l+s}, or
//! g_{l+s} = ∂L/∂a_{l+s} for the identity skip)), ∂L/∂w_l = δ_l·a_{l−1}, ∂L/∂b_l = δ_l, and
//! ∂L/∂x = δ₁·w₁ (+ δ_s or g_s).

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

/// [`backward_identity`]'s arguments, for [`Simd::run`](crate::simd::Simd::run).
pub(super) struct BackwardIdentity<'a, 'j, 'o, T> {
    pub(super) job: &'a Block<'j, T>,
    pub(super) out: &'a mut BlockOut<'o, T>,
    pub(super) ld: usize,
    pub(super) span: usize,
    pub(super) act: &'a mut [T],
    pub(super) deriv: &'a mut [T],
}

impl<T: Real> pulp::NullaryFnOnce for BackwardIdentity<'_, '_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let BackwardIdentity { job, out, ld, span, act, deriv } = self;
        backward_identity(job, out, ld, span, act, deriv)
    }
}

/// [`backward`] for the identity skip (the shortcut of span `span` joins after f):
/// g_l = δ_{l+1}·w_{l+1} (+ g_{l+s} where the skip leaves a_l), δ_l = f′_l·g_l, with g_l written
/// over a_l's row where s | l (the rows a later layer, or ∂L/∂x, reads back). Each value is the
/// oracle's: the same two roundings in its order. A kernel of its own rather than a branch in
/// [`backward`], so that the pre-activation sweep stays as it was.
#[inline(always)]
fn backward_identity<T: Real>(
    job: &Block<'_, T>,
    out: &mut BlockOut<'_, T>,
    ld: usize,
    span: usize,
    act: &mut [T],
    deriv: &mut [T],
) {
    let batch = job.batch;
    let (n, d) = (job.lanes.len(), batch.n_layers);
    let weights = job.rows(&batch.weights);
    let two = T::from_f64(2.0);
    for l in (0..d).rev() {
        let layer = l + 1;
        let (lower, upper) = deriv.split_at_mut(layer * ld);
        let delta = &mut lower[l * ld..][..n];
        let g = &mut *out.weight[l];
        let (below, above) = act.split_at_mut((layer + 1) * ld);
        let row = &mut below[layer * ld..][..n]; // a_l, and g_l where the skip leaves it
        let keep = layer.is_multiple_of(span);
        if layer == d {
            for (((dl, g), ga), &t) in delta.iter_mut().zip(g).zip(row.iter_mut()).zip(job.targets) {
                let grad_a = two * (*ga - t);
                *dl *= grad_a;
                *g = *dl * *g;
                if keep {
                    *ga = grad_a;
                }
            }
        } else {
            let next = &upper[..n];
            let w_next = &weights[layer * n..][..n];
            if keep && layer + span <= d {
                let skip = &above[(span - 1) * ld..][..n]; // g_{l+s}
                for (((((dl, g), ga), &dn), &w), &gs) in
                    delta.iter_mut().zip(g).zip(row.iter_mut()).zip(next).zip(w_next).zip(skip)
                {
                    let grad_a = dn * w + gs;
                    *dl *= grad_a;
                    *g = *dl * *g;
                    *ga = grad_a;
                }
            } else {
                for ((((dl, g), ga), &dn), &w) in delta.iter_mut().zip(g).zip(row.iter_mut()).zip(next).zip(w_next) {
                    let grad_a = dn * w;
                    *dl *= grad_a;
                    *g = *dl * *g;
                    if keep {
                        *ga = grad_a;
                    }
                }
            }
        }
        if let Some(bias) = &mut out.bias {
            bias[l].copy_from_slice(delta);
        }
    }
}

/// ∂L/∂x = δ₁·w₁ + [s ≤ D]·δ_s (or g_s, left in a_s's row by the identity skip's sweep), after
/// either backward sweep.
pub(super) fn input_gradient<T: Real>(
    job: &Block<'_, T>,
    out: &mut BlockOut<'_, T>,
    ld: usize,
    act: &[T],
    deriv: &[T],
) {
    let batch = job.batch;
    let n = job.lanes.len();
    let w1 = &job.rows(&batch.weights)[..n];
    let d = batch.n_layers;
    match batch.shortcut {
        Some(span) if span <= d => {
            let skip = match batch.skip {
                Skip::PreActivation => &deriv[(span - 1) * ld..][..n],
                Skip::Identity => &act[span * ld..][..n],
            };
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
