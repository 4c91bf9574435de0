//! [`Scaled`]: an `f64` mantissa with an `i64` binary exponent, for gradients beyond `f64`'s range.
//!
//! value = m · 2ᵉ with 0.5 ≤ |m| < 1 (or m = 0, or m non-finite with e = 0) — the same
//! representation and the same one-rounding-per-operation arithmetic as the oracle's `Ext`
//! (written once, for arrays of lanes, in `lanes`; the operators here call it), so a
//! product of factors that stays in `f64`'s normal range has the same bits as in `f64`, and a
//! product of 100,000 sigmoid derivatives (≈ 10^−60,000) is still exact to rounding.
//!
//! The fast engine computes these only when asked ([`crate::chain::Magnitudes::Extended`]); the
//! plain `T` gradients are always computed as well.

use crate::activation::{Activation, gelu_silu};
use std::fmt;

pub(crate) mod lanes;
pub(crate) mod lazy;

/// A real number with an `f64` mantissa and an `i64` binary exponent (saturating beyond ±2⁶²:
/// [`MAX_EXPONENT`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Scaled {
    m: f64,
    e: i64,
}

/// The largest binary exponent kept; beyond ±2⁶² (values beyond 10^(±1.3·10¹⁸), e.g. e^{−10³⁰⁰}
/// from a sigmoid at z = 10³⁰⁰) values saturate to 0 or ±∞, as in the oracle's `Ext`.
pub const MAX_EXPONENT: i64 = 1 << 62;

/// log10(2) with its low 24 mantissa bits cleared: `e·HI` is exact for |e| < 2²⁴.
const LOG10_2_HI: f64 = 0.301_029_995_083_808_9;
/// log10(2) − LOG10_2_HI.
const LOG10_2_LO: f64 = 5.801_722_962_879_576e-10;
/// ln 2 with its low 24 mantissa bits cleared (a Cody–Waite split).
const LN_2_HI: f64 = 0.693_147_178_739_309_3;
/// ln 2 − LN_2_HI.
const LN_2_LO: f64 = 1.820_635_998_504_146_2e-9;

impl Scaled {
    /// Zero.
    pub const ZERO: Scaled = Scaled { m: 0.0, e: 0 };
    /// One.
    pub const ONE: Scaled = Scaled { m: 0.5, e: 1 };

    /// The exact value of `x`.
    pub fn from_f64(x: f64) -> Scaled {
        Scaled::from_parts(lanes::renormalise(x, 0))
    }

    /// e^l for any `l` (−∞ gives 0); relative error about |l|·2⁻⁵³ beyond rounding.
    pub fn from_ln(l: f64) -> Scaled {
        if l == f64::NEG_INFINITY {
            return Scaled::ZERO;
        }
        if !l.is_finite() {
            return Scaled { m: l.exp(), e: 0 };
        }
        let k = (l / std::f64::consts::LN_2).round();
        if k.abs() > MAX_EXPONENT as f64 {
            return if k > 0.0 { Scaled { m: f64::INFINITY, e: 0 } } else { Scaled::ZERO };
        }
        let r = (l - k * LN_2_HI) - k * LN_2_LO;
        Scaled::from_parts(lanes::renormalise(r.exp(), k as i64))
    }

    /// The mantissa m, 0.5 ≤ |m| < 1 (or 0, or non-finite).
    pub fn mantissa(self) -> f64 {
        self.m
    }

    /// The binary exponent e (value = m·2ᵉ).
    pub fn exponent(self) -> i64 {
        self.e
    }

    /// −1, 0 or 1 (NaN for NaN).
    pub fn signum(self) -> f64 {
        if self.m == 0.0 { 0.0 } else { self.m.signum() }
    }

    /// Whether the value is exactly 0.
    pub fn is_zero(self) -> bool {
        self.m == 0.0
    }

    /// Whether the value is NaN.
    pub fn is_nan(self) -> bool {
        self.m.is_nan()
    }

    /// log10 |x| (−∞ for 0), accurate to about 1e−16 relative for any exponent.
    pub fn log10_abs(self) -> f64 {
        if self.m == 0.0 {
            return f64::NEG_INFINITY;
        }
        let e = self.e as f64;
        self.m.abs().log10() + e * LOG10_2_LO + e * LOG10_2_HI
    }

    /// The nearest `f64` (0 or ±∞ outside `f64`'s range), rounded once.
    pub fn to_f64(self) -> f64 {
        if self.m == 0.0 || !self.m.is_finite() {
            return self.m;
        }
        if self.e > 1024 {
            return self.m.signum() * f64::INFINITY;
        }
        if self.e < -1080 {
            return self.m.signum() * 0.0;
        }
        let first = self.e.clamp(-1000, 1000);
        self.m * pow2(first) * pow2(self.e - first)
    }
}

impl std::ops::Mul for Scaled {
    type Output = Scaled;
    /// x·y with one rounding.
    #[inline]
    fn mul(self, rhs: Scaled) -> Scaled {
        Scaled::from_parts(lanes::mul(self.parts(), rhs.parts()))
    }
}

impl std::ops::Add for Scaled {
    type Output = Scaled;
    /// x + y with one rounding (the smaller operand is aligned to the larger's exponent).
    #[inline]
    fn add(self, rhs: Scaled) -> Scaled {
        Scaled::from_parts(lanes::add(self.parts(), rhs.parts()))
    }
}

impl std::ops::Neg for Scaled {
    type Output = Scaled;
    /// −x (exact).
    #[inline]
    fn neg(self) -> Scaled {
        Scaled::from_parts(lanes::neg(self.parts()))
    }
}

impl std::ops::Sub for Scaled {
    type Output = Scaled;
    /// x − y with one rounding.
    #[inline]
    fn sub(self, rhs: Scaled) -> Scaled {
        self + (-rhs)
    }
}

impl fmt::Display for Scaled {
    /// Scientific notation with an exponent of any size, e.g. `-3.141592654e-60000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.m == 0.0 || !self.m.is_finite() {
            return write!(f, "{}", self.m);
        }
        let l = self.log10_abs();
        let mut exp10 = l.floor();
        let mut digits = 10f64.powf(l - exp10);
        if digits >= 9.999_999_999_5 {
            digits /= 10.0;
            exp10 += 1.0;
        }
        let sign = if self.m < 0.0 { "-" } else { "" };
        write!(f, "{sign}{digits:.9}e{exp10}")
    }
}

/// ln |f′(z)|, finite wherever f′(z) ≠ 0 even when f′(z) underflows `f64`.
pub fn ln_abs_derivative(act: Activation, z: f64) -> f64 {
    match act {
        // ln σ′(z) = −|z| − 2·ln(1 + e^{−|z|})
        Activation::Sigmoid => -z.abs() - 2.0 * (-z.abs()).exp().ln_1p(),
        // ln sech²(z) = ln 4 − 2|z| − 2·ln(1 + e^{−2|z|})
        Activation::Tanh => std::f64::consts::LN_2 * 2.0 - 2.0 * z.abs() - 2.0 * (-2.0 * z.abs()).exp().ln_1p(),
        // ln σ(z) = −softplus(−z)
        Activation::Softplus => -Activation::Softplus.value(-z),
        Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => act.derivative(z).abs().ln(),
        Activation::Gelu | Activation::Silu => gelu_silu::ln_abs_derivative(act, z),
    }
}

/// f(z) for a [`Scaled`] argument: the `f64` value wherever z and f(z) are normal `f64`s, and
/// beyond `f64` what the oracle's `Activation::value_ext` gives (σ and softplus below z ≈ −708
/// from their logarithm, e^z; limits for |z| beyond `f64`; the linear pieces in `Scaled`).
pub(crate) fn value_scaled(act: Activation, z: Scaled) -> Scaled {
    let step = |pos: Scaled, nonpos: Scaled| {
        if z.signum() > 0.0 {
            pos
        } else if z.is_nan() {
            z
        } else {
            nonpos
        }
    };
    match act {
        Activation::Relu => step(z, Scaled::ZERO),
        Activation::LeakyRelu { slope } => step(z, z * Scaled::from_f64(slope)),
        Activation::Identity => z,
        Activation::Gelu | Activation::Silu => {
            let zf = z.to_f64();
            if zf.is_infinite() {
                // z·Φ(z) and z·σ(z): z for z → +∞, beyond even `Scaled` for z → −∞.
                return if z.signum() > 0.0 { z } else { Scaled::ZERO };
            }
            if !zf.is_normal() && !z.is_zero() && !z.is_nan() {
                // 0 < |z| < 2⁻¹⁰²²: f(z) = z·f′(0) = z/2.
                return z * Scaled::from_f64(0.5);
            }
            let v = act.value(zf);
            let g = gelu_silu::factor(act, zf);
            if v.is_normal() || v == 0.0 && zf == 0.0 || zf.is_nan() {
                Scaled::from_f64(v)
            } else if g.is_normal() {
                Scaled::from_f64(zf) * Scaled::from_f64(g)
            } else {
                // g underflows (z ≪ 0): from |f|'s logarithm, negative.
                -Scaled::from_ln(gelu_silu::ln_abs_value(act, zf))
            }
        }
        Activation::Sigmoid | Activation::Tanh | Activation::Softplus => {
            let zf = z.to_f64();
            if zf.is_normal() || zf == 0.0 && z.is_zero() || z.is_nan() {
                let v = act.value(zf);
                // σ(z) and softplus(z) are e^z to a relative e^z where they leave f64's normal
                // range (z < −708): take them from their logarithm, which `Scaled` keeps.
                let tiny = matches!(act, Activation::Sigmoid | Activation::Softplus) && zf < 0.0;
                if tiny && !v.is_normal() { Scaled::from_ln(zf) } else { Scaled::from_f64(v) }
            } else if zf.is_infinite() {
                match (act, z.signum() > 0.0) {
                    (Activation::Sigmoid, true) => Scaled::ONE,
                    (Activation::Tanh, _) => Scaled::from_f64(z.signum()),
                    (Activation::Softplus, true) => z,
                    // σ(z) and softplus(z) are e^z, below even `Scaled`'s range.
                    _ => Scaled::ZERO,
                }
            } else {
                // 0 < |z| < 2⁻¹⁰²²: the first-order term is far below half an ulp of f(0).
                match act {
                    Activation::Sigmoid => Scaled::from_f64(0.5),
                    Activation::Tanh => z,
                    _ => Scaled::from_f64(std::f64::consts::LN_2),
                }
            }
        }
    }
}

/// f′(z) for a [`Scaled`] argument: the `f64` derivative wherever that is normal (or exactly 0),
/// e^{ln |f′(z)|} where it underflows, and the limits for |z| beyond `f64` (the oracle's
/// `Activation::derivative_ext`).
pub(crate) fn derivative_scaled(act: Activation, z: Scaled) -> Scaled {
    match act {
        // Piecewise constant: only the sign of z matters.
        Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => {
            Scaled::from_f64(act.derivative(z.signum()))
        }
        Activation::Gelu | Activation::Silu => {
            let zf = z.to_f64();
            if zf.is_infinite() {
                return if z.signum() > 0.0 { Scaled::ONE } else { Scaled::ZERO };
            }
            let d = act.derivative(zf);
            if d.is_normal() || d == 0.0 && ln_abs_derivative(act, zf) == f64::NEG_INFINITY || zf.is_nan() {
                Scaled::from_f64(d)
            } else {
                // f′ underflows only far left of its zero, where it is negative.
                -Scaled::from_ln(ln_abs_derivative(act, zf))
            }
        }
        Activation::Sigmoid | Activation::Tanh | Activation::Softplus => {
            let zf = z.to_f64();
            if zf.is_infinite() {
                // e^{−|z|} for |z| beyond f64 is beyond even `Scaled`'s range.
                let one = act == Activation::Softplus && z.signum() > 0.0;
                return if one { Scaled::ONE } else { Scaled::ZERO };
            }
            let d = act.derivative(zf);
            if d.is_normal() || d == 0.0 && ln_abs_derivative(act, zf) == f64::NEG_INFINITY || zf.is_nan() {
                Scaled::from_f64(d)
            } else {
                // These derivatives are positive.
                Scaled::from_ln(ln_abs_derivative(act, zf))
            }
        }
    }
}

/// 2ᵏ for −1074 ≤ k ≤ 1023 (exact).
fn pow2(k: i64) -> f64 {
    debug_assert!((-1074..=1023).contains(&k), "pow2({k}) out of range");
    if k >= -1022 { f64::from_bits(((k + 1023) as u64) << 52) } else { f64::from_bits(1u64 << (k + 1074)) }
}
