//! Per-layer gradient statistics gathered during the backward pass of [`crate::dense`].
//!
//! For layer l (1-based) of a batch of B samples, with G = ∂L/∂W_l and g = ∂L/∂a_l (the
//! back-propagated gradient at the layer's output, one value per sample and unit):
//!
//! ```text
//! norm = √(Σ v²),   mean_abs = (1/n)·Σ |v|,   max_abs = max |v|          (v over G, or over g)
//! saturated = #{(b, j) : |f′(z_bj)| < θ·sup|f′|} / (B·n_l)              (θ = 1e−3 by default)
//! dead      = #{j : f′(z_bj) = 0 for every sample b} / n_l               (relu layers; else 0)
//! ```
//!
//! θ is relative to sup|f′| (1/4 for sigmoid, 1 for tanh, relu, softplus and identity,
//! max(1, |α|) for leaky relu), so "saturated" means "passes back less than a thousandth of what
//! this activation can pass back at best". A relu unit with f′ = 0 counts as saturated too; a dead
//! unit is one that passes nothing back for the whole batch.
//!
//! Under binary cross-entropy the last layer's g is ∂L/∂z_L (the loss is defined on the logits).
//!
//! Determinism: every sum runs over samples in index order and units in index order, in `f64`,
//! after the engine's gradients are final (so the statistics never change a gradient's bits), and
//! the first non-finite value is the first in a fixed scan order: forward values layer by layer
//! upwards, then gradients in the order backward produces them (layer L down to 1, g before G).

use crate::activation::Activation;
use crate::real::Real;
use multiversion::multiversion;

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
    /// i mod 8, and the eight lane sums are added 0…7 at the end (eight independent chains,
    /// so the loop vectorises).
    pub fn of<T: Real>(values: &[T]) -> Summary {
        let mut acc = Lanes::default();
        summarise(&mut acc, values);
        acc.finish(values.len())
    }

    /// [`Summary::of`] `g` (the same bits) and the index of its first NaN or ±∞, then
    /// g ← g ⊙ d, in one pass (the backward pass's Δ = G ⊙ f′(Z), whose G the statistics
    /// describe). Blocks of 64 values are summarised, checked, then multiplied: a NaN or ±∞ makes
    /// Σv² non-finite, so only the block where that first happens is searched (and, if finite
    /// values overflowed Σv² instead, every block after it).
    pub(crate) fn of_then_multiply<T: Real>(g: &mut [T], d: &[T]) -> (Summary, Option<usize>) {
        const BLOCK: usize = 8 * LANES;
        debug_assert_eq!(g.len(), d.len());
        let mut acc = Lanes::default();
        let (mut first, mut alarm) = (None, false);
        for (b, (gb, db)) in g.chunks_mut(BLOCK).zip(d.chunks(BLOCK)).enumerate() {
            summarise(&mut acc, gb);
            if first.is_none() && (alarm || acc.sq.iter().any(|s| !s.is_finite())) {
                alarm = true;
                first = first_non_finite(gb).map(|i| b * BLOCK + i);
            }
            multiply(gb, db);
        }
        (acc.finish(g.len()), first)
    }

    /// This summary with every value divided by `nu` (a positive normalisation).
    pub fn divided_by(self, nu: f64) -> Summary {
        Summary { norm: self.norm / nu, mean_abs: self.mean_abs / nu, max_abs: self.max_abs / nu }
    }
}

/// Lanes of [`Summary::of`]: element i goes to lane i mod `LANES`.
const LANES: usize = 8;

/// Σ v², Σ |v| and max |v| per lane.
#[derive(Default)]
struct Lanes {
    sq: [f64; LANES],
    abs: [f64; LANES],
    max: [f64; LANES],
}

impl Lanes {
    /// Adds `LANES` values, value l to lane l.
    #[inline(always)]
    fn add(&mut self, values: [f64; LANES]) {
        for (l, v) in values.into_iter().enumerate() {
            let a = v.abs();
            self.sq[l] += a * a;
            self.abs[l] += a;
            self.max[l] = if a > self.max[l] || a.is_nan() { a } else { self.max[l] };
        }
    }

    /// The lanes added 0…7 (max with NaN winning), for n values.
    fn finish(self, n: usize) -> Summary {
        let sum = |x: [f64; LANES]| x.iter().fold(0.0, |s, &v| s + v);
        let max = self.max.iter().fold(0.0f64, |m, &v| if v > m || v.is_nan() { v } else { m });
        Summary {
            norm: sum(self.sq).sqrt(),
            mean_abs: if n == 0 { 0.0 } else { sum(self.abs) / n as f64 },
            max_abs: max,
        }
    }
}

/// Adds `values` to the lanes, element i to lane i mod `LANES` (`values` starts at a multiple of
/// `LANES` of the whole set). Compiled for AVX-512 and AVX2 too (`multiversion`): eight
/// independent chains per sum, so the loop runs on vectors.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn summarise<T: Real>(acc: &mut Lanes, values: &[T]) {
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        acc.add(std::array::from_fn(|l| chunk[l].to_f64()));
    }
    let rest = chunks.remainder();
    for (l, &v) in rest.iter().enumerate() {
        let a = v.to_f64().abs();
        acc.sq[l] += a * a;
        acc.abs[l] += a;
        acc.max[l] = if a > acc.max[l] || a.is_nan() { a } else { acc.max[l] };
    }
}

/// g ← g ⊙ d.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn multiply<T: Real>(g: &mut [T], d: &[T]) {
    for (v, &dv) in g.iter_mut().zip(d) {
        *v *= dv;
    }
}

/// Where a non-finite value first appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In a forward value a_l (or z_l).
    Forward,
    /// In a back-propagated gradient ∂L/∂a_l.
    ActivationGradient,
    /// In a weight gradient ∂L/∂W_l.
    WeightGradient,
}

/// The first non-finite value (see the module docs for the scan order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFinite {
    /// The layer, 1-based.
    pub layer: usize,
    /// The unit: the output unit j for forward values and ∂L/∂a, the flat index i·n_out + j for
    /// ∂L/∂W.
    pub unit: usize,
    /// The sample, for forward values and ∂L/∂a.
    pub sample: Option<usize>,
    /// Forward or backward.
    pub stage: Stage,
}

/// One layer's statistics (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerStats {
    /// Of ∂L/∂W_l.
    pub weight: Summary,
    /// Of ∂L/∂a_l over the batch.
    pub activation: Summary,
    /// The fraction of (sample, unit) pairs with |f′(z)| < θ·sup|f′|.
    pub saturated_fraction: f64,
    /// The number of relu units with f′ = 0 for every sample.
    pub dead_units: usize,
    /// `dead_units / n_l`.
    pub dead_fraction: f64,
}

/// Every layer's statistics and the first non-finite value, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GradientStats {
    /// Index l − 1 holds layer l.
    pub layers: Vec<LayerStats>,
    /// The first NaN or ±∞ met (forward values first).
    pub first_non_finite: Option<NonFinite>,
}

/// θ, the default saturation threshold relative to sup|f′|.
pub const DEFAULT_SATURATION_THRESHOLD: f64 = 1e-3;

/// sup over z of |f′(z)|.
pub fn sup_derivative(act: Activation) -> f64 {
    match act {
        Activation::Sigmoid => 0.25,
        Activation::Tanh | Activation::Relu | Activation::Softplus | Activation::Identity => 1.0,
        Activation::LeakyRelu { slope } => slope.abs().max(1.0),
    }
}

/// How many of `d`'s derivatives have |f′| < θ·sup|f′| (any block of a layer's derivative
/// matrix: counts add up, in any order).
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
pub(crate) fn saturated<T: Real>(act: Activation, d: &[T], threshold: f64) -> usize {
    let limit = T::from_f64(threshold * sup_derivative(act));
    // Eight counters, so the loop vectorises.
    let mut counts = [0u32; 8];
    let mut chunks = d.chunks_exact(8);
    for chunk in &mut chunks {
        for (c, &v) in counts.iter_mut().zip(chunk) {
            *c += u32::from(v.abs() < limit);
        }
    }
    let rest = chunks.remainder().iter().filter(|v| v.abs() < limit).count();
    counts.iter().map(|&c| c as usize).sum::<usize>() + rest
}

/// The number of units (columns of the B × n derivative matrix `d`) with f′ = 0 for every
/// sample: dead relu units. `dead` must hold n flags; it is overwritten.
pub(crate) fn dead_units<T: Real>(d: &[T], n: usize, dead: &mut Vec<bool>) -> usize {
    dead.clear();
    dead.resize(n, true);
    for row in d.chunks_exact(n) {
        for (flag, &v) in dead.iter_mut().zip(row) {
            *flag &= v == T::ZERO;
        }
    }
    if d.is_empty() { 0 } else { dead.iter().filter(|&&f| f).count() }
}

/// The flat index of the first NaN or ±∞ in `values`, if any.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
pub(crate) fn first_non_finite<T: Real>(values: &[T]) -> Option<usize> {
    // v·0 is 0 exactly when v is finite: a vectorisable pass (eight chains) in the common case.
    let mut probe = [T::ZERO; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for l in 0..8 {
            probe[l] += chunk[l] * T::ZERO;
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        probe[l] += v * T::ZERO;
    }
    if probe.iter().all(|&p| p == T::ZERO) { None } else { values.iter().position(|v| !v.is_finite()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(s: Summary) -> [u64; 3] {
        [s.norm.to_bits(), s.mean_abs.to_bits(), s.max_abs.to_bits()]
    }

    /// The fused pass gives [`Summary::of`]'s bits, Δ = G ⊙ D, and G's first NaN or ±∞ exactly —
    /// also when finite values overflow Σv² in an earlier block (a false alarm) and when the
    /// product of a finite g and d overflows (Δ non-finite, G finite: not reported).
    #[test]
    fn the_fused_summary_and_product_match_the_separate_ones() {
        for n in [0usize, 1, 7, 63, 64, 65, 200, 1000] {
            let g: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64 - 50.0) / 8.0).collect();
            let d: Vec<f64> = (0..n).map(|i| ((i * 13 % 7) as f64) / 4.0).collect();
            let cases: Vec<(Vec<f64>, Option<usize>)> = {
                let mut cases = vec![(g.clone(), None)];
                for bad in [0, n / 2, n.saturating_sub(1)].into_iter().filter(|&i| i < n) {
                    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                        let mut g = g.clone();
                        g[bad] = v;
                        cases.push((g, Some(bad)));
                    }
                    // Σv² overflows at index 0 (a false alarm); a NaN after it is still found.
                    let mut g = g.clone();
                    g[0] = 1e200;
                    if bad > 0 {
                        g[bad] = f64::NAN;
                        cases.push((g, Some(bad)));
                    } else {
                        cases.push((g, None));
                    }
                }
                cases
            };
            for (g, want) in cases {
                let mut fused = g.clone();
                let mut d = d.clone();
                if n > 1 {
                    d[1] = 1e300; // g[1]·d[1] may overflow: Δ non-finite, G finite
                }
                let (summary, first) = Summary::of_then_multiply(&mut fused, &d);
                assert_eq!(bits(summary), bits(Summary::of(&g)), "n {n}");
                assert_eq!(first, want, "n {n}: {g:?}");
                let product: Vec<u64> = g.iter().zip(&d).map(|(a, b)| (a * b).to_bits()).collect();
                assert_eq!(fused.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), product, "n {n}");
            }
        }
    }
}
