//! Seeded randomness without dependencies: SplitMix64 for seeding, xoshiro256** for drawing.
//!
//! **SplitMix64** (Steele, Lea & Flood 2014; the version Vigna publishes as `splitmix64.c`) turns
//! one `u64` seed into a stream: with γ = `0x9E3779B97F4A7C15` (2⁶⁴/φ, odd),
//!
//! ```text
//! s ← s + γ                                   (mod 2⁶⁴)
//! z ← (s ⊕ (s ≫ 30)) · 0xBF58476D1CE4E5B9      (mod 2⁶⁴)
//! z ← (z ⊕ (z ≫ 27)) · 0x94D049BB133111EB      (mod 2⁶⁴)
//! output z ⊕ (z ≫ 31)
//! ```
//!
//! **xoshiro256\*\*** (Blackman & Vigna 2018, `xoshiro256starstar.c`) has a 256-bit state
//! s₀, s₁, s₂, s₃ (never all zero; period 2²⁵⁶ − 1) and one step
//!
//! ```text
//! output rotl(s₁ · 5, 7) · 9                  (mod 2⁶⁴)
//! t ← s₁ ≪ 17
//! s₂ ← s₂ ⊕ s₀;  s₃ ← s₃ ⊕ s₁;  s₁ ← s₁ ⊕ s₂;  s₀ ← s₀ ⊕ s₃
//! s₂ ← s₂ ⊕ t;   s₃ ← rotl(s₃, 45)
//! ```
//!
//! [`Rng::new`] fills the state with four consecutive SplitMix64 outputs of the seed, as the
//! authors recommend. SplitMix64's output function is a bijection and its four counter values are
//! distinct, so at most one of the four words is zero: the forbidden all-zero state cannot arise.
//!
//! Derived samples:
//! - [`Rng::next_f64`]: U[0, 1) as `(next_u64() ≫ 11) · 2⁻⁵³` — the top 53 bits, so every value is
//!   a multiple of 2⁻⁵³ and each of the 2⁵³ values is equally likely.
//! - [`Rng::uniform`]: U[lo, hi) as lo + (hi − lo)·u, redrawn in the rare case rounding reaches hi.
//! - [`Rng::normal`]: N(0, 1) by the **Box–Muller transform**
//!   z = √(−2 ln u₁) · cos(2π u₂) with u₁ = 1 − `next_f64()` ∈ (0, 1] (so ln u₁ is finite) and
//!   u₂ = `next_f64()`. The sine partner is discarded, so every normal draw consumes exactly two
//!   `next_u64` and the stream position never depends on a cached value.
//!
//! Same seed → same bits. `next_u64`, `next_f64` and `uniform` use only wrapping integer arithmetic
//! and correctly rounded `+ − ×`, so they agree on every platform. `normal` also calls `ln` and
//! `cos`, which come from the platform's maths library and are not guaranteed to round the same
//! way everywhere: its bits are reproducible on one platform, and within an ulp or two across them.

use crate::error::Error;

/// The SplitMix64 generator: a 64-bit counter stepped by γ and passed through a mixing function.
///
/// Used to expand one seed into the state of [`Rng`]; fast and statistically decent on its own,
/// but with a period of only 2⁶⁴.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The counter increment γ = ⌊2⁶⁴/φ⌋ rounded to odd, `0x9E3779B97F4A7C15`.
    pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// A generator whose counter starts at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next output (see the module docs for the exact steps).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The gradlab generator: xoshiro256** seeded through SplitMix64.
///
/// ```
/// use scalar::rng::Rng;
/// let mut a = Rng::new(42);
/// let mut b = Rng::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let u = a.next_f64();
/// assert!((0.0..1.0).contains(&u));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: [u64; 4],
}

/// 2⁻⁵³, the spacing of the values [`Rng::next_f64`] returns.
const TWO_POW_MINUS_53: f64 = 1.0 / (1u64 << 53) as f64;

impl Rng {
    /// A generator seeded from `seed`: its state is the first four SplitMix64 outputs of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut seeder = SplitMix64::new(seed);
        let state = [seeder.next_u64(), seeder.next_u64(), seeder.next_u64(), seeder.next_u64()];
        Self::from_state(state).expect(
            "four consecutive SplitMix64 outputs are never all zero: its output function is a \
             bijection of distinct counter values",
        )
    }

    /// A generator with the given raw xoshiro256** state, which must not be all zero (the one
    /// state that xoshiro maps to itself).
    ///
    /// ```
    /// use scalar::rng::Rng;
    /// assert!(Rng::from_state([0; 4]).is_err());
    /// assert!(Rng::from_state([1, 2, 3, 4]).is_ok());
    /// ```
    pub fn from_state(state: [u64; 4]) -> Result<Self, Error> {
        if state == [0; 4] {
            return Err(Error::invalid(
                "xoshiro256** state",
                "the all-zero state is a fixed point and may not be used",
            ));
        }
        Ok(Rng { state })
    }

    /// The current raw xoshiro256** state (to checkpoint a stream and resume it with
    /// [`Rng::from_state`]).
    pub fn state(&self) -> [u64; 4] {
        self.state
    }

    /// The next 64 random bits (one xoshiro256** step, see the module docs).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform sample from [0, 1): the top 53 bits of [`Rng::next_u64`] times 2⁻⁵³ (exact).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * TWO_POW_MINUS_53
    }

    /// A uniform sample from [lo, hi): lo + (hi − lo)·u with u from [`Rng::next_f64`], drawn again
    /// in the rare case that rounding lands on hi.
    ///
    /// # Panics
    /// If `lo` or `hi` is not finite, if `lo >= hi`, or if `hi − lo` overflows `f64`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let width = hi - lo;
        assert!(
            lo.is_finite() && hi.is_finite() && lo < hi && width.is_finite(),
            "uniform: need finite lo < hi with finite hi − lo, got [{lo}, {hi})"
        );
        loop {
            let x = lo + width * self.next_f64();
            if x < hi {
                return x;
            }
        }
    }

    /// A standard normal sample N(0, 1) by Box–Muller: √(−2 ln u₁)·cos(2π u₂), u₁ ∈ (0, 1],
    /// u₂ ∈ [0, 1). Consumes exactly two [`Rng::next_u64`]. Always finite (|z| ≤ √(2·53·ln 2) ≈ 8.6).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
