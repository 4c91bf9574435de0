//! Every number the report shows becomes text here, and only here.
//!
//! Rules: finite numbers in fixed or scientific notation with a stated number of significant
//! digits; magnitudes beyond `f64` (from [`scalar::Ext`]) as `1.23e-60206`; never a bare `inf`
//! or `NaN` — a non-finite value must have been located and explained by the section that
//! produced it, and is shown as the explanation it carries.

use scalar::Ext;

/// `x` with `sig` significant digits: fixed notation for 1e−3 ≤ |x| < 1e6, scientific otherwise.
pub fn sig(x: f64, sig: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return non_finite(x);
    }
    let a = x.abs();
    if (1e-3..1e6).contains(&a) {
        let int_digits = a.log10().floor() as i64 + 1;
        let decimals = (sig as i64 - int_digits).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        sci(x, sig)
    }
}

/// Scientific notation with `sig` significant digits, e.g. `-1.25e-7`.
pub fn sci(x: f64, sig: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return non_finite(x);
    }
    format!("{:.*e}", sig.saturating_sub(1), x)
}

/// An [`Ext`] in scientific notation with `sig` significant digits, any exponent.
pub fn ext(x: Ext, sig: usize) -> String {
    if x.is_zero() {
        return "0".into();
    }
    if !x.is_finite() {
        return non_finite(x.to_f64());
    }
    format!("{:.*}", sig.saturating_sub(1), x)
}

/// A log10 value with `decimals` decimals; −∞ (an exact zero) is shown as `−∞ (exact 0)`.
pub fn log10(l: f64, decimals: usize) -> String {
    if l == f64::NEG_INFINITY {
        return "−∞ (exact 0)".into();
    }
    if !l.is_finite() {
        return non_finite(l);
    }
    format!("{l:.decimals$}")
}

/// A share in [0, 1] as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// Shown only if a section failed to locate a non-finite value: loud, never a bare `NaN`.
fn non_finite(x: f64) -> String {
    format!("non-finite ({x})")
}
