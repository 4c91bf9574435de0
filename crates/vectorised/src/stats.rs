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
//! max(1, |α|) for leaky relu), so "saturated" means "passes back less than a thousandth of what
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
//! non-finite value is the first in a fixed scan order: forward values layer by layer upwards,
//! then gradients in the order backward produces them (layer L down to 1, g before G; within a
//! layer, samples then units, or chains, in index order).

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
    /// i mod 8 (each lane adding its values four at a time, pairwise: see `summarise`), and the
    /// eight lane sums are added 0…7 at the end (eight independent chains, so the loop
    /// vectorises).
    pub fn of<T: Real>(values: &[T]) -> Summary {
        let mut acc = Lanes::default();
        summarise(&mut acc, values);
        acc.finish(values.len())
    }

    /// [`Summary::of`] `g` (the same bits) and the index of its first NaN or ±∞, then
    /// g ← g ⊙ d, in one pass (the backward pass's Δ = G ⊙ f′(Z), whose G the statistics
    /// describe). Blocks of 64 values are summarised, checked, then multiplied: a NaN or ±∞ makes
    /// Σ|v| non-finite, so only the block where that first happens is searched (and, if finite
    /// values near `f64::MAX` overflowed Σ|v| instead, every block after it).
    pub(crate) fn of_then_multiply<T: Real>(g: &mut [T], d: &[T]) -> (Summary, Option<usize>) {
        const BLOCK: usize = 8 * LANES;
        debug_assert_eq!(g.len(), d.len());
        let mut acc = Lanes::default();
        let (mut first, mut alarm) = (None, false);
        for (b, (gb, db)) in g.chunks_mut(BLOCK).zip(d.chunks(BLOCK)).enumerate() {
            summarise(&mut acc, gb);
            if first.is_none() && (alarm || acc.may_be_non_finite()) {
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

/// Blue's thresholds and scales for `f64` (LAPACK's `la_constants`, as its `dnrm2` uses them):
/// |v| < 2⁻⁵¹¹ is squared as (|v|·2⁵³⁷)², |v| > 2⁴⁸⁶ as (|v|·2⁻⁵³⁸)², anything between as it is,
/// into three sums. No square then underflows (unless v is itself subnormal) or overflows, so
/// the norm of a layer's vanishing gradients (10⁻²⁰⁰, say) is its norm, not 0, and that of
/// exploding ones (10²⁰⁰) is finite; and the sums stay off the slow path that subnormal results
/// take on x86.
const T_SML: f64 = pow2(-511);
const S_SML: f64 = pow2(537);
const T_BIG: f64 = pow2(486);
const S_BIG: f64 = pow2(-538);

/// 2ᵉ for a normal exponent e.
const fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// Per lane: the three scaled sums of squares, Σ |v| and max |v|. The squares and the maxima
/// ignore NaN (no test per value): a NaN makes its lane's Σ|v| NaN (no sum of |v| is NaN
/// otherwise), so [`Lanes::finish`] reports norm and max |v| NaN then.
#[derive(Debug, Clone, Default)]
struct Lanes {
    sml: [f64; LANES],
    med: [f64; LANES],
    big: [f64; LANES],
    abs: [f64; LANES],
    max: [f64; LANES],
}

/// |v|'s share of the three sums of squares (two of them 0). Each sum squares |v| clamped to its
/// own range and keeps the square only if |v| is in that range, so no multiplication makes a
/// subnormal from a normal |v| (x86 makes subnormals in microcode, twenty times slower). The
/// clamps of the middle and upper ranges are `max`/`min` (IEEE maxNum/minNum), which LLVM does
/// not see through: with compares and selects it squared |v| itself for the middle sum (|v|
/// is what is kept there), and (|v| > t ? |v| : t)·s became (|v| > t ? |v|·s : t·s), both
/// subnormal for some |v| in another range. (A subnormal |v| itself still takes the slow path.)
/// NaN gives no square here; the sum Σ|v| carries it.
#[inline(always)]
#[allow(clippy::manual_clamp, reason = "`clamp` compares and selects, which is what must be avoided here")]
fn squares(a: f64) -> [f64; 3] {
    let (small, big) = (a < T_SML, a > T_BIG);
    let s = if small { a } else { T_SML } * S_SML;
    let m = a.max(T_SML).min(T_BIG);
    let b = a.max(T_BIG) * S_BIG;
    let keep = |take: bool, x: f64| if take { x * x } else { 0.0 };
    [keep(small, s), keep(!small && !big, m), keep(big, b)]
}

impl Lanes {
    /// Adds |v| (`a`) to lane `l`.
    #[inline(always)]
    fn add(&mut self, l: usize, a: f64) {
        let [sml, med, big] = squares(a);
        self.sml[l] += sml;
        self.med[l] += med;
        self.big[l] += big;
        self.abs[l] += a;
        self.max[l] = if a > self.max[l] { a } else { self.max[l] };
    }

    /// [`Lanes::add_four`] for values that are all 0 or in the middle range (or NaN), with the
    /// same bits: the other sums would only add 0.
    #[inline(always)]
    fn add_four_middle(&mut self, l: usize, a: [f64; 4]) {
        self.med[l] += (a[0] * a[0] + a[1] * a[1]) + (a[2] * a[2] + a[3] * a[3]);
        self.abs[l] += (a[0] + a[1]) + (a[2] + a[3]);
        let max = |x: f64, y: f64| if x > y { x } else { y };
        self.max[l] = max(self.max[l], max(max(a[0], a[1]), max(a[2], a[3])));
    }

    /// Adds four values |v| to lane `l`, pairwise: lane += ((v₀ + v₁) + (v₂ + v₃)) per sum.
    #[inline(always)]
    fn add_four(&mut self, l: usize, a: [f64; 4]) {
        let q = a.map(squares);
        let pairwise = |k: usize| (q[0][k] + q[1][k]) + (q[2][k] + q[3][k]);
        self.sml[l] += pairwise(0);
        self.med[l] += pairwise(1);
        self.big[l] += pairwise(2);
        self.abs[l] += (a[0] + a[1]) + (a[2] + a[3]);
        let max = |x: f64, y: f64| if x > y { x } else { y };
        self.max[l] = max(self.max[l], max(max(a[0], a[1]), max(a[2], a[3])));
    }

    /// Whether a NaN or ±∞ may have been added: one makes its lane's Σ|v| non-finite (and so may
    /// finite values near `f64::MAX`: then search to know).
    fn may_be_non_finite(&self) -> bool {
        self.abs.iter().any(|s| !s.is_finite())
    }

    /// Adds `other`'s lanes to these, lane by lane.
    #[inline(always)]
    fn merge(&mut self, other: &Lanes) {
        for l in 0..LANES {
            self.sml[l] += other.sml[l];
            self.med[l] += other.med[l];
            self.big[l] += other.big[l];
            self.abs[l] += other.abs[l];
            self.max[l] = if other.max[l] > self.max[l] { other.max[l] } else { self.max[l] };
        }
    }

    /// The lanes added 0…7, then the three sums combined as LAPACK's `dnrm2` does; max |v| is
    /// NaN if any v was. For n values.
    fn finish(self, n: usize) -> Summary {
        let sum = |x: [f64; LANES]| x.iter().fold(0.0, |s, &v| s + v);
        let (sml, med, big) = (sum(self.sml), sum(self.med), sum(self.big));
        let norm = if big > 0.0 {
            // The small values cannot matter beside one above 2⁴⁸⁶.
            let big = if med > 0.0 { big + (med * S_BIG) * S_BIG } else { big };
            big.sqrt() / S_BIG
        } else if sml > 0.0 {
            if med > 0.0 {
                let (med, sml) = (med.sqrt(), sml.sqrt() / S_SML);
                let (lo, hi) = if sml > med { (med, sml) } else { (sml, med) };
                hi * (1.0 + (lo / hi) * (lo / hi)).sqrt()
            } else {
                sml.sqrt() / S_SML
            }
        } else {
            med.sqrt()
        };
        let abs = sum(self.abs);
        let max = self.max.iter().fold(0.0f64, |m, &v| if v > m { v } else { m });
        let nan = abs.is_nan();
        Summary {
            norm: if nan { f64::NAN } else { norm },
            mean_abs: if n == 0 { 0.0 } else { abs / n as f64 },
            max_abs: if nan { f64::NAN } else { max },
        }
    }
}

/// Adds `values` to the lanes, element i to lane i mod `LANES` (`values` starts at a multiple of
/// `4·LANES` of the whole set). The order: in each whole group of `4·LANES` values, each lane's
/// four values are added pairwise ([`Lanes::add_four`]; a sum then waits for one addition per
/// 32 values, not per 8; a group with nothing outside the middle range takes
/// [`Lanes::add_four_middle`], the same bits at half the work); then the rest one by one.
/// Cutting a set at multiples of `4·LANES` does not change the bits. Compiled for AVX-512 and
/// AVX2 too (`multiversion`): eight independent chains per sum, so the loop runs on vectors.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn summarise<T: Real>(acc: &mut Lanes, values: &[T]) {
    summarise_inline(acc, values);
}

/// [`summarise`] inlined into the caller, for callers compiled for AVX-512 / AVX2 already (the
/// chain engine's backward sweep), which then pay no dispatch per row.
#[inline(always)]
fn summarise_inline<T: Real>(acc: &mut Lanes, values: &[T]) {
    let mut groups = values.chunks_exact(4 * LANES);
    for group in &mut groups {
        let v: [f64; 4 * LANES] = std::array::from_fn(|i| group[i].to_f64().abs());
        // Most groups hold nothing outside the middle range (0 squares to 0 in any sum).
        let outside = v.iter().fold(false, |any, &a| any | ((a > 0.0) & (a < T_SML)) | (a > T_BIG));
        for l in 0..LANES {
            let four = [v[l], v[l + LANES], v[l + 2 * LANES], v[l + 3 * LANES]];
            if outside { acc.add_four(l, four) } else { acc.add_four_middle(l, four) }
        }
    }
    for (i, &v) in groups.remainder().iter().enumerate() {
        acc.add(i % LANES, v.to_f64().abs());
    }
}

/// g ← g ⊙ d.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
fn multiply<T: Real>(g: &mut [T], d: &[T]) {
    for (v, &dv) in g.iter_mut().zip(d) {
        *v *= dv;
    }
}

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
    /// ([`PartialLayer::merge`]; compiled for AVX-512 / AVX2 too: a batch has blocks × layers
    /// of them).
    #[multiversion(targets("x86_64+avx512f+avx512vl+avx512dq+avx2+fma", "x86_64+avx2+fma"))]
    pub(crate) fn merged(parts: &[PartialLayer], layer: usize, stride: usize) -> PartialLayer {
        let mut all = PartialLayer::default();
        for part in parts.iter().skip(layer).step_by(stride) {
            all.merge(part);
        }
        all
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
    saturated_inline(act, d, threshold)
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

    /// The norm of values far below or above f64's square-root range is their norm (a naive
    /// Σv² gives 0 or ∞), also mixed with ordinary values, to within a few ulps of the naive sum
    /// of the values scaled by an exact power of two.
    #[test]
    fn norms_neither_underflow_nor_overflow() {
        let naive = |v: &[f64], scale: f64| v.iter().map(|x| (x * scale) * (x * scale)).sum::<f64>().sqrt() / scale;
        let ramp = |n: usize, size: f64| {
            (0..n).map(|i| size * (1.0 + i as f64 / 7.0) * if i % 3 == 0 { -1.0 } else { 1.0 }).collect::<Vec<f64>>()
        };
        for n in [1usize, 5, 32, 77] {
            for (size, scale) in [(1e-200, pow2(600)), (1e-310, pow2(1000)), (1e200, pow2(-600)), (1.0, 1.0)] {
                let v = ramp(n, size);
                let (got, want) = (Summary::of(&v).norm, naive(&v, scale));
                assert!((got - want).abs() <= 4.0 * f64::EPSILON * want, "n {n}, size {size:e}: {got:e} vs {want:e}");
            }
            // Mixed: the tiny ones next to ordinary ones, and ordinary ones next to huge ones.
            let mut v = ramp(n, 1e-200);
            v.extend(ramp(n, 1e-3));
            let want = naive(&ramp(n, 1e-3), 1.0);
            assert!((Summary::of(&v).norm - want).abs() <= 4.0 * f64::EPSILON * want, "n {n}");
            let mut v = ramp(n, 1e200);
            v.extend(ramp(n, 1e195));
            let want = naive(&v, pow2(-600));
            assert!((Summary::of(&v).norm - want).abs() <= 4.0 * f64::EPSILON * want, "n {n}");
        }
        assert_eq!(Summary::of(&[f64::INFINITY, 1.0]).norm, f64::INFINITY);
        assert!(Summary::of(&[1e-200, f64::NAN]).norm.is_nan());
        assert!(Summary::of(&[1e200, f64::NAN]).norm.is_nan());
    }

    /// A measuring instrument, run by hand (`docs/performance.md`): the time per value of
    /// [`Summary::of`] over 2,048 values (in L1) by magnitude, best of 50 runs of 200 calls.
    /// Checks each norm against √n times the values' root mean square, computed on the values
    /// scaled by an exact power of two.
    ///
    /// `cargo test -p vectorised --release --lib summary_time_by_magnitude -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn summary_time_by_magnitude() {
        let cases = [(1.0, 0), (1e-150, 500), (1e-158, 520), (1e-200, 660), (1e200, -660), (1e-310, 1000), (0.0, 0)];
        for (size, e) in cases {
            let v: Vec<f64> = (0..2048).map(|i| size * (1.0 + (i % 13) as f64 / 7.0)).collect();
            let scaled = v.iter().map(|x| (x * pow2(e)) * (x * pow2(e))).sum::<f64>().sqrt() / pow2(e);
            let norm = Summary::of(&v).norm;
            assert!((norm - scaled).abs() <= 1e-14 * scaled, "{size:e}: {norm:e} vs {scaled:e}");
            let mut best = f64::MAX;
            for _ in 0..50 {
                let start = std::time::Instant::now();
                for _ in 0..200 {
                    std::hint::black_box(Summary::of(std::hint::black_box(&v)));
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            println!("values of {size:e}: {:.3} ns per value", best * 1e9 / (200.0 * v.len() as f64));
        }
    }

    /// The shortcut for groups in the middle range adds what the three-sum path adds, to the bit
    /// (zeros included); with a NaN the sums differ (the shortcut squares it), the summary not.
    #[test]
    fn the_middle_range_shortcut_has_the_three_sum_paths_bits() {
        let fours =
            [[0.5, 3.25, 1e-100, 7e120], [0.0, 1.0, 0.0, 2.5e-3], [f64::NAN, 1.0, 2.0, 0.0], [1e-150, 1e145, 3.0, 0.1]];
        for four in fours {
            let (mut three, mut middle) = (Lanes::default(), Lanes::default());
            for l in 0..LANES {
                three.add_four(l, four.map(|a| a * (l + 1) as f64));
                middle.add_four_middle(l, four.map(|a| a * (l + 1) as f64));
            }
            let bits = |x: &Lanes| [x.sml, x.med, x.big, x.abs, x.max].map(|v| v.map(f64::to_bits));
            if !four[0].is_nan() {
                assert_eq!(bits(&three), bits(&middle), "{four:?}");
            }
            let summary = |x: Lanes| {
                let s = x.finish(32);
                [s.norm, s.mean_abs, s.max_abs].map(f64::to_bits)
            };
            assert_eq!(summary(three), summary(middle), "{four:?}");
        }
    }

    /// A NaN anywhere makes max |v| NaN (the maxima compare without testing for NaN: the lane's
    /// Σ|v| carries it), in any lane, in the tail, and across merged parts; ±∞ is the max.
    #[test]
    fn a_nan_is_the_maximum_and_an_infinity_is_too() {
        for n in [1usize, 8, 9, 20] {
            for at in 0..n {
                let mut v: Vec<f64> = (0..n).map(|i| i as f64 - 3.5).collect();
                v[at] = f64::NAN;
                assert!(Summary::of(&v).max_abs.is_nan(), "n {n}, NaN at {at}");
                v[at] = f64::NEG_INFINITY;
                assert_eq!(Summary::of(&v).max_abs, f64::INFINITY, "n {n}, -inf at {at}");
            }
        }
        let mut part = PartialLayer::default();
        part.summarise(&[1.0f64; 8], &[2.0f64; 8]);
        let mut next = PartialLayer::default();
        next.summarise(&[f64::NAN, 0.5], &[0.5f64, 0.25]);
        part.merge(&next);
        let layer = part.finish(10);
        assert!(layer.weight.max_abs.is_nan());
        assert_eq!(layer.activation.max_abs, 2.0);
    }

    /// The fused pass gives [`Summary::of`]'s bits, Δ = G ⊙ D, and G's first NaN or ±∞ exactly —
    /// also when finite values overflow Σ|v| in an earlier block (a false alarm) and when the
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
                    // Σ|v| of lane 0 overflows at index 8 (a false alarm); a NaN after it is
                    // still found.
                    let mut g = g.clone();
                    g[0] = f64::MAX;
                    if n > 8 {
                        g[8] = f64::MAX;
                    }
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
