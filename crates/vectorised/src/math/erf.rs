//! erf, erfc and erfcx for [`Real`], for the GELU activation: the oracle's method (Sun's rational
//! approximations of fdlibm's `s_erf.c`, 1993, "Permission to use, copy, modify, and distribute
//! this software is freely granted, provided that this notice is preserved"), written again for
//! the engine with the same operations in the same order, so that `f64` results have the oracle's
//! bits (`scalar::erf`, whose documentation derives the intervals and the error of each fit).
//!
//! In `f32` the same rational functions run in `f32` arithmetic (their coefficients rounded), and
//! x is cut to 12 significant bits (not 21) so that its square stays exact in 24: the result is
//! within a few `f32` ulp (bound stated and tested in `crosscheck`'s `engine::gelu_silu`).
//! Branchy and scalar: GELU networks pay for it (see `benches/`); the other activations do not.

#![allow(
    clippy::excessive_precision,
    reason = "constants written to the digits their sources give, which round to the intended f64"
)]

use crate::real::Real;

const ERX: f64 = 8.45062911510467529297e-01;
const EFX: f64 = 1.28379167095512586316e-01;
const PP: [f64; 5] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
];
const QQ: [f64; 6] = [
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
];
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 7] = [
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 9] = [
    1.0,
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];
const RB: [f64; 7] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
];
const SB: [f64; 8] = [
    1.0,
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
];

fn horner<T: Real>(c: &[f64], t: T) -> T {
    c.iter().rev().fold(T::ZERO, |acc, &ck| acc * t + T::from_f64(ck))
}

fn small_ratio<T: Real>(x: T) -> T {
    let t = x * x;
    horner(&PP, t) / horner(&QQ, t)
}

fn middle_term<T: Real>(ax: T) -> T {
    let s = ax - T::ONE;
    horner(&PA, s) / horner(&QA, s)
}

/// ln(x·erfcx x) for x ≥ 1.25.
fn ln_x_erfcx<T: Real>(x: T) -> T {
    let t = T::ONE / (x * x);
    let g = if x < T::from_f64(1.0 / 0.35) { horner(&RA, t) / horner(&SA, t) } else { horner(&RB, t) / horner(&SB, t) };
    g - T::from_f64(0.5625)
}

/// (s, (s − x)(s + x)) with s = x cut so that s² is exact in `T`.
fn split_square<T: Real>(x: T) -> (T, T) {
    let cleared = if std::mem::size_of::<T>() == 4 { 41 } else { 32 };
    let s = T::from_f64(f64::from_bits(x.to_f64().to_bits() & !((1u64 << cleared) - 1)));
    (s, (s - x) * (s + x))
}

fn erfc_tail<T: Real>(x: T) -> T {
    let (s, e) = split_square(x);
    (-(s * s)).exp() * (e + ln_x_erfcx(x)).exp() / x
}

fn with_sign_of<T: Real>(v: T, x: T) -> T {
    if x < T::ZERO { -v } else { v }
}

/// erf x.
pub fn erf<T: Real>(x: T) -> T {
    let ax = x.abs();
    if x.is_nan() {
        x
    } else if ax < T::from_f64(0.84375) {
        if ax < T::from_f64(2f64.powi(-28)) {
            T::from_f64(0.125) * (T::from_f64(8.0) * x + T::from_f64(8.0 * EFX) * x)
        } else {
            x + x * small_ratio(x)
        }
    } else if ax < T::from_f64(1.25) {
        with_sign_of(T::from_f64(ERX) + middle_term(ax), x)
    } else if ax >= T::from_f64(6.0) {
        with_sign_of(T::ONE, x)
    } else {
        with_sign_of(T::ONE - erfc(ax), x)
    }
}

/// erfc x, with full relative accuracy where it is tiny.
pub fn erfc<T: Real>(x: T) -> T {
    let ax = x.abs();
    if x.is_nan() {
        x
    } else if ax < T::from_f64(0.84375) {
        if ax < T::from_f64(2f64.powi(-56)) {
            T::ONE - x
        } else if x < T::from_f64(0.25) {
            T::ONE - (x + x * small_ratio(x))
        } else {
            T::from_f64(0.5) - (x * small_ratio(x) + (x - T::from_f64(0.5)))
        }
    } else if ax < T::from_f64(1.25) {
        let p = middle_term(ax);
        if x > T::ZERO { T::from_f64(1.0 - ERX) - p } else { T::ONE + (T::from_f64(ERX) + p) }
    } else if x > T::ZERO {
        if x >= T::from_f64(28.0) { T::ZERO } else { erfc_tail(x) }
    } else if x > T::from_f64(-6.0) {
        T::from_f64(2.0) - erfc_tail(ax)
    } else {
        T::from_f64(2.0)
    }
}

/// erfcx x = e^{x²}·erfc x (overflowing for x below about −26.6 in `f64`, −9.3 in `f32`).
pub fn erfcx<T: Real>(x: T) -> T {
    if x.is_nan() {
        x
    } else if x < T::from_f64(1.25) {
        let hi = x * x;
        let lo = x.mul_add(x, -hi);
        hi.exp() * (T::ONE + lo) * erfc(x)
    } else {
        ln_x_erfcx(x).exp() / x
    }
}
