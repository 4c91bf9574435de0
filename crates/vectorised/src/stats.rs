//! Per-layer gradient statistics gathered during the backward pass of [`crate::dense`] (on by
//! default: [`crate::Workspace::set_stats`]) and of [`crate::chain`] (off by default:
//! [`crate::ChainWorkspace::set_stats`]; there layer l's units are the S chains' neurons at depth
//! l, each seen by one sample, and B = 1 below).
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
//! max(1, |α|) for leaky relu, ≈ 1.1289 for gelu and ≈ 1.0998 for silu, whose f′ also passes
//! through 0 at a finite z), so "saturated" means "passes back less than a thousandth of what
//! this activation can pass back at best". A relu unit with f′ = 0 counts as saturated too; a dead
//! unit is one that passes nothing back for the whole batch.
//!
//! Under binary cross-entropy the last layer's g is ∂L/∂z_L (the loss is defined on the logits).
//!
//! The norm neither underflows nor overflows where the values do not: the squares go into three
//! sums by magnitude, scaled by powers of two (Blue's method, as LAPACK's `dnrm2`), so the norm
//! of a layer of vanishing gradients of 10⁻²⁰⁰ is about 10⁻²⁰⁰·√n, not 0.
//!
//! Determinism: every sum runs in `f64` in an order fixed by the values' positions alone (lanes,
//! see [`Summary::of`]; a chain batch's blocks of chains are combined in block order), from the
//! engine's final gradients (so the statistics never change a gradient's bits), and the first
//! non-finite value is the first in a fixed scan order: forward values layer by layer upwards
//! (within a layer, z_l, then an identity shortcut's sum f(z_l) + a_{l−s}, which can overflow
//! where neither term does), then gradients in the order backward produces them (layer L down
//! to 1, g before G; within a layer, samples then units, or chains, in index order).

use crate::activation::Activation;
use crate::real::Real;
use crate::simd::{Simd, kernel};

mod summary;
#[cfg(test)]
mod tests;

use crate::math::norm::{Lanes, summarise_inline};
pub use summary::Summary;

/// One layer's statistics over a part of its units (one block of chains, in the chain engine),
/// to be combined with the other parts in a fixed order ([`PartialLayer::merge`] in block
/// order, then [`PartialLayer::finish`]). A part must start at a multiple of 8 units.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartialLayer {
    weight: Lanes,
    activation: Lanes,
    saturated: usize,
    zeros: usize,
}

impl PartialLayer {
    /// Counts this part's saturated derivatives f′(z) of activation `act` (threshold θ =
    /// `threshold`), and for relu its zeros.
    #[inline(always)]
    pub(crate) fn count<T: Real>(&mut self, act: Activation, derivative: &[T], threshold: f64) {
        self.saturated += saturated_inline(act, derivative, threshold);
        if act == Activation::Relu {
            self.zeros += derivative.iter().filter(|&&v| v == T::ZERO).count();
        }
    }

    /// Adds this part's ∂L/∂W and ∂L/∂a values to the summaries (inlined: see [`summarise_inline`]).
    #[inline(always)]
    pub(crate) fn summarise<T: Real>(&mut self, weight: &[T], activation: &[T]) {
        summarise_inline(&mut self.weight, weight);
        summarise_inline(&mut self.activation, activation);
    }

    /// Whether the ∂L/∂W and the ∂L/∂a values added so far may hold a NaN or ±∞: a non-finite
    /// value makes its lane's Σ|v| non-finite, so `false` means none (`true` may also be finite
    /// values near `f64::MAX` whose Σ|v| overflowed: search to know).
    pub(crate) fn may_be_non_finite(&self) -> (bool, bool) {
        (self.weight.may_be_non_finite(), self.activation.may_be_non_finite())
    }

    /// Layer `layer`'s parts (every `stride`-th of `parts`, from `layer`) merged in order
    /// ([`PartialLayer::merge`]; at the SIMD level `simd`: a batch has blocks × layers of
    /// them).
    pub(crate) fn merged(simd: Simd, parts: &[PartialLayer], layer: usize, stride: usize) -> PartialLayer {
        simd.run(Merged { parts, layer, stride })
    }

    /// Adds the next part (sums lane by lane, counts added).
    #[inline(always)]
    pub(crate) fn merge(&mut self, next: &PartialLayer) {
        self.weight.merge(&next.weight);
        self.activation.merge(&next.activation);
        self.saturated += next.saturated;
        self.zeros += next.zeros;
    }

    /// The layer's statistics, for `n` units each seen by one sample (so a dead relu unit is one
    /// with f′ = 0).
    pub(crate) fn finish(self, n: usize) -> LayerStats {
        let fraction = |count: usize| if n == 0 { 0.0 } else { count as f64 / n as f64 };
        LayerStats {
            weight: self.weight.finish(n),
            activation: self.activation.finish(n),
            saturated_fraction: fraction(self.saturated),
            dead_units: self.zeros,
            dead_fraction: fraction(self.zeros),
        }
    }
}

/// [`PartialLayer::merged`]'s arguments, for [`Simd::run`].
struct Merged<'a> {
    parts: &'a [PartialLayer],
    layer: usize,
    stride: usize,
}

impl pulp::NullaryFnOnce for Merged<'_> {
    type Output = PartialLayer;

    #[inline(always)]
    fn call(self) -> PartialLayer {
        let mut all = PartialLayer::default();
        for part in self.parts.iter().skip(self.layer).step_by(self.stride) {
            all.merge(part);
        }
        all
    }
}

/// Where a non-finite value first appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In a forward value z_l (dense networks) or a_l (chains).
    Forward,
    /// In an identity shortcut's sum a_l = f(z_l) + a_{l−s}, whose terms are finite (dense
    /// networks; scanned after z_l).
    ShortcutSum,
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
        // Where f″ vanishes (the oracle's `Activation::sup_derivative` derives both): GELU′(√2)
        // ≈ 1.1289, SiLU′(x₀) ≈ 1.0998. Both f′ change sign, so |f′| is also small near their
        // zero (z ≈ −0.75, −1.28), not only in the left tail.
        Activation::Gelu => act.derivative(std::f64::consts::SQRT_2),
        Activation::Silu => act.derivative(crate::activation::gelu_silu::SILU_ARGMAX),
    }
}

kernel! {
    /// How many of `d`'s derivatives have |f′| < θ·sup|f′| (any block of a layer's derivative
    /// matrix: counts add up, in any order).
    pub(crate) fn saturated<'a, T>(act: Activation, d: &'a [T], threshold: f64) -> usize {
        saturated_inline(act, d, threshold)
    }
}

/// [`saturated`] inlined into the caller (see [`summarise_inline`]).
#[inline(always)]
fn saturated_inline<T: Real>(act: Activation, d: &[T], threshold: f64) -> usize {
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

kernel! {
    /// The flat index of the first NaN or ±∞ in `values`, if any.
    pub(crate) fn first_non_finite<'a, T>(values: &'a [T]) -> Option<usize> {
        first_non_finite_inline(values)
    }
}

/// [`first_non_finite`] inlined into the caller.
#[inline(always)]
pub(crate) fn first_non_finite_inline<T: Real>(values: &[T]) -> Option<usize> {
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
