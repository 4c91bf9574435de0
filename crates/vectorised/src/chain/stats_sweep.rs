//! The backward kernel with statistics: the plain sweeps' operations in the same order (so the
//! same bits), plus each layer's ∂L/∂a summarised and the block's first non-finite value found;
//! for both skip forms (the identity skip's g_l kept over a_l's row, as
//! [`backward_identity`] keeps it).

use super::*;

/// [`backward_with_stats`]'s arguments, for [`Simd::run`](crate::simd::Simd::run).
pub(super) struct BackwardWithStats<'a, 'j, 'o, T> {
    pub(super) job: &'a Block<'j, T>,
    pub(super) out: &'a mut BlockOut<'o, T>,
    pub(super) ld: usize,
    pub(super) act: &'a mut [T],
    pub(super) deriv: &'a mut [T],
    /// One row of ∂L/∂a (scratch).
    pub(super) grad_a: &'a mut [T],
}

impl<T: Real> pulp::NullaryFnOnce for BackwardWithStats<'_, '_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let BackwardWithStats { job, out, ld, act, deriv, grad_a } = self;
        backward_with_stats(job, out, ld, act, deriv, grad_a)
    }
}

/// [`backward`] with statistics (see [`ChainWorkspace::stats`]): the same operations in the
/// same order, so the same bits, plus ∂L/∂a_l in a row of its own (`grad_a`), each layer's
/// share summarised and counted, and the block's first non-finite value found in the scan
/// order of [`crate::stats`].
#[inline(always)]
fn backward_with_stats<T: Real>(
    job: &Block<'_, T>,
    out: &mut BlockOut<'_, T>,
    ld: usize,
    act: &mut [T],
    deriv: &mut [T],
    grad_a: &mut [T],
) {
    let batch = job.batch;
    let (n, d) = (job.lanes.len(), batch.n_layers);
    let lane0 = job.lanes.start;
    let weights = job.rows(&batch.weights);
    let two = T::from_f64(2.0);
    let Some(st) = &mut out.stats else { return };
    *st.first = (1..=d).find_map(|layer| {
        stats::first_non_finite(job.simd, &act[layer * ld..][..n]).map(|i| NonFinite {
            layer,
            unit: lane0 + i,
            sample: None,
            stage: Stage::Forward,
        })
    });
    for l in (0..d).rev() {
        let layer = l + 1;
        let (lower, upper) = deriv.split_at_mut(layer * ld);
        let delta = &mut lower[l * ld..][..n];
        let g = &mut *out.weight[l];
        // ∂L/∂a_l into its own row first, then the same operations as the loops below (so
        // the same bits), then the row and ∂L/∂w_l summarised and scanned.
        let ga = &mut grad_a[..n];
        if layer == d {
            for ((ga, &y), &t) in ga.iter_mut().zip(&act[d * ld..][..n]).zip(job.targets) {
                *ga = two * (y - t);
            }
        } else {
            for ((ga, &dn), &w) in ga.iter_mut().zip(&upper[..n]).zip(&weights[layer * n..][..n]) {
                *ga = dn * w;
            }
            if let Some(span) = batch.shortcut.filter(|&span| layer.is_multiple_of(span) && layer + span <= d) {
                // δ_{l+s} (pre-activation), or g_{l+s}, which this sweep left in a_{l+s}'s row.
                let skip = match batch.skip {
                    Skip::PreActivation => &upper[(span - 1) * ld..][..n],
                    Skip::Identity => &act[(layer + span) * ld..][..n],
                };
                for (ga, &ds) in ga.iter_mut().zip(skip) {
                    *ga += ds;
                }
            }
        }
        // The identity skip reads g_l back at layer l − s and in ∂L/∂x: keep it over a_l.
        if batch.identity_span().is_some_and(|span| layer.is_multiple_of(span)) {
            act[layer * ld..][..n].copy_from_slice(ga);
        }
        let mut part = PartialLayer::default();
        part.count(batch.activations[l], delta, st.threshold);
        for ((dl, g), &ga) in delta.iter_mut().zip(g.iter_mut()).zip(&*ga) {
            *dl *= ga;
            *g = *dl * *g;
        }
        part.summarise(g, ga);
        let (in_g, in_ga) = part.may_be_non_finite();
        st.layers[l] = part;
        if st.first.is_none() && (in_g || in_ga) {
            let at = |i: usize, stage: Stage| NonFinite { layer, unit: lane0 + i, sample: None, stage };
            *st.first = stats::first_non_finite(job.simd, ga)
                .map(|i| at(i, Stage::ActivationGradient))
                .or_else(|| stats::first_non_finite(job.simd, g).map(|i| at(i, Stage::WeightGradient)));
        }
        if let Some(bias) = &mut out.bias {
            bias[l].copy_from_slice(delta);
        }
    }
}
