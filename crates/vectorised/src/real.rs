//! [`Real`]: the floating-point types the engine runs in (`f64` by default, and `f32`), with
//! everything a kernel asks of them: arithmetic, libm's functions for the portable formulas, and
//! the vectorisable `exp`, reciprocal and tanh of [`crate::math`].
//!
//! One trait, sealed: the register-blocked product's plumbing (`GemmReal`, crate-private since
//! it names the SIMD level) is its supertrait, so `f64` and `f32` are the only implementations.

use crate::gemm::GemmReal;
use crate::math::{exp, tanh};
use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point element type: `f64` or `f32`.
#[allow(private_bounds)]
pub trait Real:
    GemmReal
    + Copy
    + Send
    + Sync
    + Debug
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The type's name as the peers' protocol spells it (`"f64"`, `"f32"`).
    const NAME: &'static str;
    /// Rounds an `f64` to this type.
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64` (exact).
    fn to_f64(self) -> f64;
    /// eˣ.
    fn exp(self) -> Self;
    /// ln(1 + x), accurate near 0.
    fn ln_1p(self) -> Self;
    /// tanh x.
    fn tanh(self) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// √x.
    fn sqrt(self) -> Self;
    /// Whether x is neither NaN nor ±∞.
    fn is_finite(self) -> bool;
    /// Whether x is NaN.
    fn is_nan(self) -> bool;
    /// The larger of x and y (the other one if one is NaN).
    fn max(self, y: Self) -> Self;
    /// `self * a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// eˣ as branch-free arithmetic (within a few ulps of libm; see [`crate::math::exp`]).
    fn exp_vectorisable(x: Self) -> Self;
    /// eˣ for x ≤ 0 (or NaN), cheaper than [`Real::exp_vectorisable`]: see
    /// [`exp::exp_nonpositive_f64`].
    fn exp_nonpositive(x: Self) -> Self;
    /// 1/d for d ∈ [1, 2] without a division (see [`exp::recip_1_to_2_f64`]).
    fn recip_1_to_2(d: Self) -> Self;
    /// Whether slice kernels run the sigmoid in two passes (see `math::exp`'s `sigmoid_in_place`).
    const SIGMOID_IN_TWO_PASSES: bool;
    /// z ← tanh z (in place) and d ← tanh′ z over a slice (vectorised; see `math::tanh`).
    #[doc(hidden)]
    fn tanh_in_place(za: &mut [Self], d: &mut [Self]);
}

macro_rules! impl_real {
    ($t:ty, $exp:path, $exp_nonpositive:path, $recip:path, $two_passes:expr, $tanh:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = stringify!($t);
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn max(self, y: Self) -> Self {
                <$t>::max(self, y)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn exp_vectorisable(x: Self) -> Self {
                $exp(x)
            }
            #[inline(always)]
            fn exp_nonpositive(x: Self) -> Self {
                $exp_nonpositive(x)
            }
            #[inline(always)]
            fn recip_1_to_2(d: Self) -> Self {
                $recip(d)
            }
            const SIGMOID_IN_TWO_PASSES: bool = $two_passes;
            #[inline(always)]
            fn tanh_in_place(za: &mut [Self], d: &mut [Self]) {
                $tanh(za, d)
            }
        }
    };
}
impl_real!(f64, exp::exp_f64, exp::exp_nonpositive_f64, exp::recip_1_to_2_f64, true, tanh::tanh_in_place_f64);
impl_real!(f32, exp::exp_f32, exp::exp_nonpositive_f32, exp::recip_1_to_2_f32, false, tanh::tanh_in_place_f32);
