//! Robust Euclidean norms in `f64`, in a fixed order (element i to lane i mod 8, lanes added
//! 0…7), that neither underflow nor overflow.
//!
//! Two exist, and both must: [`Lanes`] (Blue's three scaled sums, as LAPACK's `dnrm2`) gives the
//! per-layer statistics, while [`norm_of_groups`] (every value scaled by one power of two) is
//! the older norm behind clipping and the trainer's reports. They round differently, and
//! clipping multiplies every gradient by c/‖g‖₂, so making the trainer use Blue's norm would
//! change the bits of every clipped training run and of the report; and the statistics' norms,
//! which the report prints too, would change the other way.

use crate::real::Real;
use crate::simd::Simd;
use crate::simd::kernel;
use crate::stats::Summary;
use std::sync::{Mutex, PoisonError};

/// Lanes of [`Summary::of`]: element i goes to lane i mod `LANES`.
pub(crate) const LANES: usize = 8;

/// Blue's thresholds and scales for `f64` (LAPACK's `la_constants`, as its `dnrm2` uses them):
/// |v| < 2⁻⁵¹¹ is squared as (|v|·2⁵³⁷)², |v| > 2⁴⁸⁶ as (|v|·2⁻⁵³⁸)², anything between as it is,
/// into three sums. No square then underflows (unless v is itself subnormal) or overflows, so
/// the norm of a layer's vanishing gradients (10⁻²⁰⁰, say) is its norm, not 0, and that of
/// exploding ones (10²⁰⁰) is finite; and the sums stay off the slow path that subnormal results
/// take on x86.
pub(crate) const T_SML: f64 = pow2(-511);
pub(crate) const S_SML: f64 = pow2(537);
pub(crate) const T_BIG: f64 = pow2(486);
pub(crate) const S_BIG: f64 = pow2(-538);

/// 2ᵉ for a normal exponent e.
pub(crate) const fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// Per lane: the three scaled sums of squares, Σ |v| and max |v|. The squares and the maxima
/// ignore NaN (no test per value): a NaN makes its lane's Σ|v| NaN (no sum of |v| is NaN
/// otherwise), so [`Lanes::finish`] reports norm and max |v| NaN then.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lanes {
    pub(crate) sml: [f64; LANES],
    pub(crate) med: [f64; LANES],
    pub(crate) big: [f64; LANES],
    pub(crate) abs: [f64; LANES],
    pub(crate) max: [f64; LANES],
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
pub(crate) fn squares(a: f64) -> [f64; 3] {
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
    pub(crate) fn add(&mut self, l: usize, a: f64) {
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
    pub(crate) fn add_four_middle(&mut self, l: usize, a: [f64; 4]) {
        self.med[l] += (a[0] * a[0] + a[1] * a[1]) + (a[2] * a[2] + a[3] * a[3]);
        self.abs[l] += (a[0] + a[1]) + (a[2] + a[3]);
        let max = |x: f64, y: f64| if x > y { x } else { y };
        self.max[l] = max(self.max[l], max(max(a[0], a[1]), max(a[2], a[3])));
    }

    /// Adds four values |v| to lane `l`, pairwise: lane += ((v₀ + v₁) + (v₂ + v₃)) per sum.
    #[inline(always)]
    pub(crate) fn add_four(&mut self, l: usize, a: [f64; 4]) {
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
    pub(crate) fn may_be_non_finite(&self) -> bool {
        self.abs.iter().any(|s| !s.is_finite())
    }

    /// Adds `other`'s lanes to these, lane by lane.
    #[inline(always)]
    pub(crate) fn merge(&mut self, other: &Lanes) {
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
    pub(crate) fn finish(self, n: usize) -> Summary {
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

kernel! {
    /// Adds `values` to the lanes, element i to lane i mod `LANES` (`values` starts at a multiple of
    /// `4·LANES` of the whole set). The order: in each whole group of `4·LANES` values, each lane's
    /// four values are added pairwise ([`Lanes::add_four`]; a sum then waits for one addition per
    /// 32 values, not per 8; a group with nothing outside the middle range takes
    /// [`Lanes::add_four_middle`], the same bits at half the work); then the rest one by one.
    /// Cutting a set at multiples of `4·LANES` does not change the bits. At the SIMD level `simd`:
    /// eight independent chains per sum, so the loop runs on vectors.
    pub(crate) fn summarise<'a, T>(acc: &'a mut Lanes, values: &'a [T]) {
        summarise_inline(acc, values);
    }
}

/// [`summarise`] inlined into the caller, for kernels running at a SIMD level already (the chain
/// engine's backward sweep), which then pay no dispatch per row.
#[inline(always)]
pub(crate) fn summarise_inline<T: Real>(acc: &mut Lanes, values: &[T]) {
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

/// [`Summary::of`] a buffer that several threads write in blocks, each block summarised as soon
/// as it and every block before it are written, by whichever thread finds it ready: the blocks
/// reach one [`Lanes`] in index order, so the result has the bits of [`Summary::of`] of the whole
/// buffer when every block but the last holds a multiple of `4·LANES` values (`summarise` may cut
/// there). Summarising while the other blocks are still being computed puts the pass beside the
/// products instead of after them, and reads each block while it is still in cache.
pub(crate) struct InOrder<'a> {
    state: Mutex<InOrderState<'a>>,
    simd: Simd,
}

struct InOrderState<'a> {
    /// Block c, once written and until summarised.
    ready: Vec<Option<&'a [f64]>>,
    /// The next block to summarise.
    next: usize,
    /// Whether a thread is summarising (outside the lock); others leave their block to it.
    busy: bool,
    lanes: Lanes,
    values: usize,
}

impl<'a> InOrder<'a> {
    pub(crate) fn new(simd: Simd) -> Self {
        let state = InOrderState { ready: Vec::new(), next: 0, busy: false, lanes: Lanes::default(), values: 0 };
        InOrder { state: Mutex::new(state), simd }
    }

    /// Block `index` is written: summarises it and every ready block after it, unless another
    /// thread is summarising (it will find them).
    pub(crate) fn offer(&self, index: usize, block: &'a [f64]) {
        let lock = || self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = lock();
        if state.ready.len() <= index {
            state.ready.resize(index + 1, None);
        }
        state.ready[index] = Some(block);
        if state.busy {
            return;
        }
        state.busy = true;
        let mut lanes = std::mem::take(&mut state.lanes);
        while let Some(&Some(next)) = state.ready.get(state.next) {
            let at = state.next;
            state.ready[at] = None;
            state.next += 1;
            state.values += next.len();
            drop(state);
            summarise(self.simd, &mut lanes, next);
            state = lock();
        }
        state.lanes = lanes;
        state.busy = false;
    }

    /// The summary of every block offered, which must have been blocks 0, 1, … with none missing.
    pub(crate) fn finish(self) -> Summary {
        let state = self.state.into_inner().unwrap_or_else(PoisonError::into_inner);
        debug_assert!(state.ready.iter().all(Option::is_none), "a block was offered after a gap");
        state.lanes.finish(state.values)
    }
}

/// √(Σ v²) over several slices in order: scaled by a power of two, eight lanes, lanes added 0…7.
pub(crate) fn norm_of_groups<'a, T: Real>(groups: impl Iterator<Item = &'a [T]> + Clone) -> f64 {
    const LANES: usize = 8;
    let mut max = 0.0f64;
    for g in groups.clone() {
        for v in g {
            let a = v.to_f64().abs();
            if a > max || a.is_nan() {
                max = a;
            }
            if a.is_nan() {
                return f64::NAN;
            }
        }
    }
    if max == 0.0 || !max.is_finite() {
        return max;
    }
    // 2ᵉ ≤ max < 2ᵉ⁺¹ (e clamped so that both 2ᵉ and 2⁻ᵉ are normal).
    let e = ((((max.to_bits() >> 52) & 0x7ff) as i64) - 1023).clamp(-1022, 1022);
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    let (scale, unscale) = (pow2(-e), pow2(e));
    let mut lanes = [0.0f64; LANES];
    for g in groups {
        let mut chunks = g.chunks_exact(LANES);
        for chunk in &mut chunks {
            for l in 0..LANES {
                let s = chunk[l].to_f64() * scale;
                lanes[l] += s * s;
            }
        }
        for (l, v) in chunks.remainder().iter().enumerate() {
            let s = v.to_f64() * scale;
            lanes[l] += s * s;
        }
    }
    lanes.iter().fold(0.0, |s, &v| s + v).sqrt() * unscale
}
