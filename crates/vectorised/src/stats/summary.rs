//! [`Summary`]: norm, mean |v| and max |v| of a set of values, in eight lanes and a fixed order,
//! the norm by Blue's scaled sums so that it neither underflows nor overflows.

use super::first_non_finite_inline;
use crate::math::norm::{LANES, Lanes, summarise, summarise_inline};
use crate::real::Real;
use crate::simd::{Simd, kernel};

/// Norm, mean |v| and max |v| of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// √(Σ v²).
    pub norm: f64,
    /// (1/n)·Σ |v| (0 for an empty set).
    pub mean_abs: f64,
    /// max |v| (0 for an empty set).
    pub max_abs: f64,
}

impl Summary {
    /// The summary of `values`, in `f64`.
    ///
    /// The sums run in a fixed order that does not depend on threads: element i goes to lane
    /// i mod 8 (each lane adding its values four at a time, pairwise: see `summarise`), and the
    /// eight lane sums are added 0…7 at the end (eight independent chains, so the loop
    /// vectorises). Runs at [`Simd::detect`]'s level (every level gives the same bits).
    pub fn of<T: Real>(values: &[T]) -> Summary {
        Summary::of_at(Simd::detect(), values)
    }

    /// [`Summary::of`] at the SIMD level `simd`.
    pub fn of_at<T: Real>(simd: Simd, values: &[T]) -> Summary {
        let mut acc = Lanes::default();
        summarise(simd, &mut acc, values);
        acc.finish(values.len())
    }

    kernel! {
        /// [`Summary::of`] `g` (the same bits) and the index of its first NaN or ±∞, then
        /// g ← g ⊙ d, in one pass (the backward pass's Δ = G ⊙ f′(Z), whose G the statistics
        /// describe). Blocks of 64 values are summarised, checked, then multiplied: a NaN or ±∞ makes
        /// Σ|v| non-finite, so only the block where that first happens is searched (and, if finite
        /// values near `f64::MAX` overflowed Σ|v| instead, every block after it).
        pub(crate) fn of_then_multiply<'a, T>(g: &'a mut [T], d: &'a [T]) -> (Summary, Option<usize>) {
            const BLOCK: usize = 8 * LANES;
            debug_assert_eq!(g.len(), d.len());
            let mut acc = Lanes::default();
            let (mut first, mut alarm) = (None, false);
            for (b, (gb, db)) in g.chunks_mut(BLOCK).zip(d.chunks(BLOCK)).enumerate() {
                summarise_inline(&mut acc, gb);
                if first.is_none() && (alarm || acc.may_be_non_finite()) {
                    alarm = true;
                    first = first_non_finite_inline(gb).map(|i| b * BLOCK + i);
                }
                for (v, &dv) in gb.iter_mut().zip(db) {
                    *v *= dv;
                }
            }
            (acc.finish(g.len()), first)
        }
    }

    /// This summary with every value divided by `nu` (a positive normalisation).
    pub fn divided_by(self, nu: f64) -> Summary {
        Summary { norm: self.norm / nu, mean_abs: self.mean_abs / nu, max_abs: self.max_abs / nu }
    }
}
