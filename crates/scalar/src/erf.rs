//! The error function and its complements, for the GELU activation (x·Φ(x), Φ(x) = ½·erfc(−x/√2)).
//!
//! The method is Sun's (fdlibm's `s_erf.c`, 1993, "Permission to use, copy, modify, and distribute
//! this software is freely granted, provided that this notice is preserved"): its rational
//! approximations and their coefficients, on four intervals of |x|:
//!
//! | \|x\| | form | the fit's error |
//! |---|---|---|
//! | [0, 0.84375) | erf x = x + x·P(x²)/Q(x²) (erf x/x − 1 is even, and 2/√π is close to 1) | 2^−57.90 |
//! | [0.84375, 1.25) | erf x = c + P₁(s)/Q₁(s), s = \|x\| − 1, c = erf(1) rounded to 24 bits | 2^−59.06 |
//! | [1.25, 1/0.35) | erfc x = e^{−x² − 0.5625 + R₁(1/x²)/S₁(1/x²)}/x | 2^−62.57 |
//! | [1/0.35, ∞) | erfc x = e^{−x² − 0.5625 + R₂(1/x²)/S₂(1/x²)}/x | 2^−61.52 |
//!
//! The last two fit g(1/x²) = ln(x·erfc x) + x² + 0.5625, which tends to ln(1/√π) + 0.5625 as
//! x → ∞ (erfc x ~ e^{−x²}/(x√π)): the fit holds at 1/x² → 0, so [`erfcx`] (e^{x²}·erfc x) and
//! [`ln_erfc`] use it for any x, where erfc itself underflows (x > 26.55). e^{−x²} is taken as
//! e^{−s²}·e^{(s−x)(s+x)} with s = x cut to 21 significant bits, so that s² is exact and x²'s
//! rounding (an error of x²·2^−53 in the exponent, 700 ulp at x = 26) never enters.
//!
//! Each function is within about 1 ulp of the exact value on the whole line (tested against
//! 40-digit values in `tests/it/erf.rs`); erfc keeps that relative accuracy where it is tiny.

#![allow(
    clippy::excessive_precision,
    reason = "constants written to the digits their sources give, which round to the intended f64"
)]

/// erf(1) rounded to 24 bits, the constant term on [0.84375, 1.25).
const ERX: f64 = 8.45062911510467529297e-01;
/// 2/√π − 1: erf x ≈ x + EFX·x for |x| < 2^−28.
const EFX: f64 = 1.28379167095512586316e-01;

// erf on [0, 0.84375): P and Q in x².
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
// erf on [0.84375, 1.25): P₁ and Q₁ in s = |x| − 1.
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
// erfc on [1.25, 1/0.35): R₁ and S₁ in 1/x².
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
// erfc on [1/0.35, ∞): R₂ and S₂ in 1/x².
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

/// The boundaries of the four intervals.
const SMALL: f64 = 0.84375;
const MIDDLE: f64 = 1.25;
const TAIL: f64 = 1.0 / 0.35;

/// Σ c_k·t^k by Horner's rule, highest power first.
fn poly(c: &[f64], t: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ck| acc * t + ck)
}

/// erf x − x over x for |x| < 0.84375: P(x²)/Q(x²).
fn small_ratio(x: f64) -> f64 {
    let t = x * x;
    poly(&PP, t) / poly(&QQ, t)
}

/// erf(1 + s) − ERX for |x| in [0.84375, 1.25), s = |x| − 1.
fn middle_term(ax: f64) -> f64 {
    let s = ax - 1.0;
    poly(&PA, s) / poly(&QA, s)
}

/// For x ≥ 1.25: ln(x·erfcx x) = g(1/x²) − 0.5625, the fit of the last two intervals.
fn ln_x_erfcx(x: f64) -> f64 {
    let t = 1.0 / (x * x);
    let g = if x < TAIL { poly(&RA, t) / poly(&SA, t) } else { poly(&RB, t) / poly(&SB, t) };
    g - 0.5625
}

/// For x ≥ 1.25: (s, e) with −x² = −s² + e exactly enough, s = x cut to 21 significant bits so
/// that s² is exact, and e = (s − x)(s + x) (s − x is exact: s is x with its low bits cleared).
fn split_square(x: f64) -> (f64, f64) {
    let s = f64::from_bits(x.to_bits() & !0xffff_ffff);
    (s, (s - x) * (s + x))
}

/// erfc x for x ≥ 1.25: e^{−s²}·e^{e + ln(x·erfcx x)}/x.
fn erfc_tail(x: f64) -> f64 {
    let (s, e) = split_square(x);
    (-s * s).exp() * (e + ln_x_erfcx(x)).exp() / x
}

/// The error function, erf x = (2/√π)∫₀ˣ e^{−t²} dt, within about 1 ulp.
///
/// ```
/// assert_eq!(scalar::erf::erf(0.0), 0.0);
/// assert_eq!(scalar::erf::erf(-30.0), -1.0);
/// assert!((scalar::erf::erf(1.0) - 0.842_700_792_949_714_9).abs() < 2e-16);
/// ```
pub fn erf(x: f64) -> f64 {
    let ax = x.abs();
    if x.is_nan() {
        x
    } else if ax < SMALL {
        if ax < 2f64.powi(-28) {
            // The cubic term is below half an ulp; 8x then /8 keeps subnormal x exact.
            0.125 * (8.0 * x + (8.0 * EFX) * x)
        } else {
            x + x * small_ratio(x)
        }
    } else if ax < MIDDLE {
        (ERX + middle_term(ax)).copysign(x)
    } else if ax >= 6.0 {
        // erfc(6) < 2.2e−17 is below half an ulp of 1.
        1f64.copysign(x)
    } else {
        (1.0 - erfc(ax)).copysign(x)
    }
}

/// The complementary error function erfc x = 1 − erf x, with full relative accuracy where it is
/// tiny (down to its underflow past x = 26.55).
///
/// ```
/// assert_eq!(scalar::erf::erfc(0.0), 1.0);
/// assert_eq!(scalar::erf::erfc(-30.0), 2.0);
/// assert!(scalar::erf::erfc(26.0) > 0.0);
/// ```
pub fn erfc(x: f64) -> f64 {
    let ax = x.abs();
    if x.is_nan() {
        x
    } else if ax < SMALL {
        if ax < 2f64.powi(-56) {
            1.0 - x
        } else if x < 0.25 {
            1.0 - (x + x * small_ratio(x))
        } else {
            // 1 − erf x = ½ + (½ − x − x·r), summed so that ½ − x is exact.
            0.5 - (x * small_ratio(x) + (x - 0.5))
        }
    } else if ax < MIDDLE {
        let p = middle_term(ax);
        if x > 0.0 { (1.0 - ERX) - p } else { 1.0 + (ERX + p) }
    } else if x > 0.0 {
        if x >= 28.0 {
            // erfc(28) ≈ 6.6e−343: below the smallest subnormal.
            return 0.0;
        }
        erfc_tail(x)
    } else if x > -6.0 {
        2.0 - erfc_tail(ax)
    } else {
        // erfc(−6) = 2 − erfc(6): within a quarter of an ulp of 2.
        2.0
    }
}

/// The scaled complementary error function erfcx x = e^{x²}·erfc x, finite and accurate for every
/// x ≥ −26 (it overflows below): the factor that keeps erfc in log space, erfc x = e^{−x²}·erfcx x.
///
/// ```
/// // erfcx x → 1/(x√π) as x → ∞.
/// let x = 1e10;
/// assert!((scalar::erf::erfcx(x) * x * std::f64::consts::PI.sqrt() - 1.0).abs() < 1e-15);
/// ```
pub fn erfcx(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x < MIDDLE {
        // x² < 1.5625 here (or erfcx is 2e^{x²} − erfcx(−x), overflowing for x < −26.6).
        exp_square(x) * erfc(x)
    } else {
        ln_x_erfcx(x).exp() / x
    }
}

/// ln erfc x for every x, finite far beyond erfc's underflow (ln erfc x ≈ −x² as x → ∞; −∞ only
/// once x² overflows, x > 1.3e154).
pub fn ln_erfc(x: f64) -> f64 {
    if x < MIDDLE || x.is_nan() {
        erfc(x).ln()
    } else {
        let (s, e) = split_square(x);
        -s * s + e + ln_x_erfcx(x) - x.ln()
    }
}

/// e^{x²} with x² split exactly into hi + lo (an FMA), so that x²'s rounding does not enter.
fn exp_square(x: f64) -> f64 {
    let hi = x * x;
    let lo = x.mul_add(x, -hi);
    hi.exp() * (1.0 + lo)
}
