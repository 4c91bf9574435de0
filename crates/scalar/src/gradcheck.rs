//! Finite-difference gradient checking and the Taylor-remainder test, for any `Fn(&[f64]) -> f64`.
//!
//! **Central differences.** For coordinate i, with step h = hᵢ and eᵢ the i-th unit vector,
//!
//! ```text
//! D(h) = (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h = ∂ᵢf + ∂ᵢ³f·h²/6 + ∂ᵢ⁵f·h⁴/120 + …
//! ```
//!
//! Evaluating f rounds each value by about ε|f| (ε = `f64::EPSILON` ≈ 2.2e−16), which the quotient
//! turns into an error of up to ε|f|/h. The total |∂ᵢ³f|·h²/6 + ε|f|/h is smallest for h ∝ ∛ε, so
//! the step is **hᵢ = ∛ε · max(1, |xᵢ|)** (∛ε ≈ 6.06e−6), and the error is then about
//! ε^{2/3}·(|∂ᵢ³f|·s²/6 + |f|/s) ≈ 3.7e−11·M with s = max(1, |xᵢ|) and M the size of f and its
//! third derivative. The steps actually taken are measured as (xᵢ + h) − xᵢ and xᵢ − (xᵢ − h), so
//! the rounding of xᵢ ± h does not enter the quotient.
//!
//! **Richardson extrapolation** ([`Options::richardson`]) cancels the h² term:
//! R = (4·D(h/2) − D(h))/3 = ∂ᵢf − ∂ᵢ⁵f·h⁴/480 + …, with round-off up to (4·2 + 1)/3 · ε|f|/h
//! = 3ε|f|/h. Balancing h⁴ against ε/h gives h ∝ ε^{1/5}, so Richardson uses
//! **hᵢ = ε^{1/5} · max(1, |xᵢ|)** (≈ 7.4e−4) and its error is about ε^{4/5}·M ≈ 1e−12·M (with
//! the central step ∛ε it would gain nothing: its round-off 3ε|f|/h would dominate).
//!
//! **Verdict.** The claimed aᵢ passes against the numeric nᵢ when |aᵢ − nᵢ| ≤ atol + rtol·|nᵢ|.
//! The defaults leave a margin of about 10³ over the error predicted above:
//! - central: [`DEFAULT_ATOL`] = 1e−7, [`DEFAULT_RTOL`] = 1e−5. An error of 3.7e−11·M stays under
//!   1e−7 for M up to ≈ 2700; rtol covers gradients whose f and ∂³f are large in proportion to them
//!   (f = e^{kx} has error ≈ 6e−12·k³·e^{kx} against rtol·|f′| = 1e−5·k·e^{kx}: safe up to k ≈ 1000).
//!   A real bug (a missing factor, a wrong index, a sign) is an O(1) relative error and fails by
//!   orders of magnitude.
//! - Richardson: [`RICHARDSON_ATOL`] = 1e−9, [`RICHARDSON_RTOL`] = 1e−7, for the same reasons with
//!   an error of ≈ 1e−12·M.
//!
//! For |f| ≫ 10³ near a stationary point, raise `atol` in proportion to |f|: the round-off ε|f|/h
//! is absolute.
//!
//! **Kinks.** Every coordinate also gets the one-sided, second-order differences (step
//! hᵢ = ∛ε · max(1, |xᵢ|), accurate to O(h²) like D(h) wherever f is smooth on their side)
//!
//! ```text
//! forward  F = (−3f(x) + 4f(x + h·eᵢ) − f(x + 2h·eᵢ)) / 2h
//! backward B = ( 3f(x) − 4f(x − h·eᵢ) + f(x − 2h·eᵢ)) / 2h
//! ```
//!
//! At a smooth point F ≈ B to the central-difference accuracy; at a kink (|x| at 0, ReLU at 0, or
//! a kink within 2h of xᵢ) they are the two one-sided slopes. When |F − B| exceeds the kink
//! tolerance τ = max(atol, 1e−7) + max(rtol, 1e−5)·max(|F|, |B|) (never tighter than the
//! central defaults, because F and B are only that accurate), the point is a kink, and the claimed
//! value passes as a **subgradient** ([`Verdict::Subgradient`]) when it lies in
//! [min(F, B) − τ, max(F, B) + τ]; otherwise it fails.
//!
//! **Taylor-remainder test** ([`taylor_test`]). Along a seeded random unit direction v,
//!
//! ```text
//! r(h) = |f(x + h·v) − f(x) − h·⟨g, v⟩| = O(h²) if g = ∇f(x),  ≈ h·|⟨g − ∇f(x), v⟩| otherwise
//! ```
//!
//! so over h = h₀, h₀/2, h₀/4, … the observed order log₂(r(h)/r(h/2)) tends to 2 for the right
//! gradient and to 1 for a wrong one. Residuals below [`TAYLOR_ROUNDOFF_FACTOR`]·ε·(|f(x + h·v)| +
//! |f(x)| + |h·⟨g, v⟩|) are round-off and excluded; when none remain (f linear along v and g right
//! along v) the report says so instead of inventing an order.
//!
//! ```
//! use scalar::gradcheck::{check_gradient, Options, Verdict};
//! // f(x, y) = x²·y + sin y, ∇f = (2xy, x² + cos y)
//! let f = |p: &[f64]| p[0] * p[0] * p[1] + p[1].sin();
//! let x = [1.5f64, -0.5];
//! let right = [2.0 * x[0] * x[1], x[0] * x[0] + x[1].cos()];
//! let report = check_gradient(f, &x, &right, &Options::default())?;
//! assert!(report.passed());
//!
//! let wrong = [right[0], right[1] + 1e-3];
//! let report = check_gradient(f, &x, &wrong, &Options::default())?;
//! assert!(!report.passed());
//! let worst = report.worst().unwrap();
//! assert_eq!((worst.index, worst.verdict), (1, Verdict::Fail));
//! println!("{report}"); // a table: claimed, numeric, errors, step, verdict per coordinate
//! # Ok::<(), scalar::Error>(())
//! ```

use crate::error::Error;
use crate::rng::Rng;
use std::fmt;

/// Default absolute tolerance for central differences (see the module docs for the derivation).
pub const DEFAULT_ATOL: f64 = 1e-7;
/// Default relative tolerance for central differences.
pub const DEFAULT_RTOL: f64 = 1e-5;
/// Default absolute tolerance with Richardson extrapolation.
pub const RICHARDSON_ATOL: f64 = 1e-9;
/// Default relative tolerance with Richardson extrapolation.
pub const RICHARDSON_RTOL: f64 = 1e-7;
/// A Taylor residual counts only when it exceeds this many ε times the size of the terms it is
/// computed from. Evaluating f usually costs a few ε of relative error, so at 1024·ε the noise in a
/// counted residual is about 1 %, and an order estimated from it is off by ≲ 0.03.
pub const TAYLOR_ROUNDOFF_FACTOR: f64 = 1024.0;

/// How [`check_gradient`] differentiates and when it passes a coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Absolute tolerance (≥ 0).
    pub atol: f64,
    /// Relative tolerance (≥ 0), applied to |numeric|.
    pub rtol: f64,
    /// The step for coordinate i is `rel_step · max(1, |xᵢ|)` (> 0).
    pub rel_step: f64,
    /// Whether to combine steps h and h/2 as (4·D(h/2) − D(h))/3.
    pub richardson: bool,
}

impl Options {
    /// Central differences, h = ∛ε·max(1, |xᵢ|), atol = [`DEFAULT_ATOL`], rtol = [`DEFAULT_RTOL`].
    pub fn central() -> Self {
        Options { atol: DEFAULT_ATOL, rtol: DEFAULT_RTOL, rel_step: f64::EPSILON.cbrt(), richardson: false }
    }

    /// Richardson extrapolation, h = ε^{1/5}·max(1, |xᵢ|), atol = [`RICHARDSON_ATOL`],
    /// rtol = [`RICHARDSON_RTOL`].
    pub fn richardson() -> Self {
        Options { atol: RICHARDSON_ATOL, rtol: RICHARDSON_RTOL, rel_step: f64::EPSILON.powf(0.2), richardson: true }
    }

    fn validate(&self) -> Result<(), Error> {
        for (what, value) in [("atol", self.atol), ("rtol", self.rtol)] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(Error::invalid(format!("gradcheck {what}"), format!("{value} is not a finite number ≥ 0")));
            }
        }
        if !(self.rel_step > 0.0 && self.rel_step.is_finite()) {
            return Err(Error::invalid("gradcheck rel_step", format!("{} is not a finite number > 0", self.rel_step)));
        }
        Ok(())
    }
}

impl Default for Options {
    /// [`Options::central`].
    fn default() -> Self {
        Options::central()
    }
}

/// The outcome for one coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// f is smooth here and the claimed value is within tolerance of the numeric one.
    Pass,
    /// f has a kink here and the claimed value lies between the one-sided slopes (within
    /// tolerance): a valid subgradient.
    Subgradient,
    /// Neither.
    Fail,
}

impl Verdict {
    /// Whether this verdict accepts the claimed value.
    pub fn is_ok(self) -> bool {
        match self {
            Verdict::Pass | Verdict::Subgradient => true,
            Verdict::Fail => false,
        }
    }
}

/// What [`check_gradient`] found for one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoordinateCheck {
    /// The coordinate i.
    pub index: usize,
    /// The claimed ∂ᵢf.
    pub claimed: f64,
    /// The finite-difference estimate (central, or Richardson-extrapolated).
    pub numeric: f64,
    /// |claimed − numeric|.
    pub abs_err: f64,
    /// |claimed − numeric| / |numeric| (0 when both are 0, ∞ when only numeric is 0).
    pub rel_err: f64,
    /// The step h used for `numeric` (Richardson also uses h/2).
    pub step: f64,
    /// The one-sided forward difference F (second order, step ∛ε·max(1, |xᵢ|)).
    pub forward: f64,
    /// The one-sided backward difference B.
    pub backward: f64,
    /// Whether F and B disagree by more than the kink tolerance.
    pub kink: bool,
    /// The tolerance that applied: atol + rtol·|numeric|, or the kink tolerance τ at a kink.
    pub tolerance: f64,
    /// The error measured against `tolerance`: abs_err / tolerance, or at a kink the distance of
    /// the claimed value outside [min(F, B), max(F, B)] over τ. At most 1 exactly when accepted;
    /// NaN when the differences are not finite.
    pub excess: f64,
    /// The outcome.
    pub verdict: Verdict,
}

/// The per-coordinate results of one [`check_gradient`]; its `Display` is a readable table.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The options the check ran with.
    pub options: Options,
    /// One entry per coordinate, in order.
    pub coordinates: Vec<CoordinateCheck>,
}

impl Report {
    /// Whether every coordinate passed (as a gradient or a subgradient). True for no coordinates.
    pub fn passed(&self) -> bool {
        self.coordinates.iter().all(|c| c.verdict.is_ok())
    }

    /// The coordinate with the largest [`CoordinateCheck::excess`] (NaN counts as the largest; the
    /// first one on ties), or `None` when there are no coordinates.
    pub fn worst(&self) -> Option<&CoordinateCheck> {
        let key = |c: &CoordinateCheck| {
            if c.excess.is_nan() { f64::INFINITY } else { c.excess }
        };
        self.coordinates.iter().fold(None, |best: Option<&CoordinateCheck>, c| match best {
            Some(b) if key(b) >= key(c) => Some(b),
            _ => Some(c),
        })
    }
}

/// Checks `claimed` against finite differences of `f` at `x`, coordinate by coordinate.
///
/// Costs 6 evaluations of f per coordinate (8 with Richardson), plus one at x.
///
/// # Errors
/// - [`Error::Shape`] when `claimed.len() != x.len()`;
/// - [`Error::NonFinite`] when an entry of `x` or `claimed`, or f(x), is NaN or infinite;
/// - [`Error::Invalid`] when an option is negative, zero (`rel_step`) or not finite.
///
/// A finite-difference value that comes out non-finite (f overflows near x) is not an error: that
/// coordinate fails, with `excess` NaN.
pub fn check_gradient<F: Fn(&[f64]) -> f64>(
    f: F,
    x: &[f64],
    claimed: &[f64],
    options: &Options,
) -> Result<Report, Error> {
    options.validate()?;
    Error::check_len(|| "gradcheck claimed gradient".into(), x.len(), claimed.len())?;
    for (i, (&xi, &ai)) in x.iter().zip(claimed).enumerate() {
        Error::check_finite(|| format!("gradcheck x[{i}]"), xi)?;
        Error::check_finite(|| format!("gradcheck claimed[{i}]"), ai)?;
    }
    let f0 = Error::check_finite(|| "gradcheck f(x)".into(), f(x))?;
    let one_sided_rel_step = f64::EPSILON.cbrt();
    let kink_atol = options.atol.max(DEFAULT_ATOL);
    let kink_rtol = options.rtol.max(DEFAULT_RTOL);

    let mut xs = x.to_vec();
    let mut coordinates = Vec::with_capacity(x.len());
    for (index, &claimed) in claimed.iter().enumerate() {
        let scale = x[index].abs().max(1.0);
        let step = options.rel_step * scale;
        let numeric = if options.richardson {
            let coarse = central_difference(&f, &mut xs, index, step);
            let fine = central_difference(&f, &mut xs, index, step / 2.0);
            (4.0 * fine - coarse) / 3.0
        } else {
            central_difference(&f, &mut xs, index, step)
        };
        let h = one_sided_rel_step * scale;
        let forward = one_sided_difference(&f, &mut xs, index, h, f0);
        let backward = one_sided_difference(&f, &mut xs, index, -h, f0);

        let abs_err = (claimed - numeric).abs();
        let rel_err = if abs_err == 0.0 { 0.0 } else { abs_err / numeric.abs() };
        let kink_tol = kink_atol + kink_rtol * forward.abs().max(backward.abs());
        let kink = (forward - backward).abs() > kink_tol;
        let (tolerance, excess) = if kink {
            let outside = (forward.min(backward) - claimed).max(claimed - forward.max(backward)).max(0.0);
            (kink_tol, ratio(outside, kink_tol))
        } else {
            let tol = options.atol + options.rtol * numeric.abs();
            (tol, ratio(abs_err, tol))
        };
        let verdict = match (excess <= 1.0, kink) {
            (true, false) => Verdict::Pass,
            (true, true) => Verdict::Subgradient,
            (false, _) => Verdict::Fail,
        };
        coordinates.push(CoordinateCheck {
            index,
            claimed,
            numeric,
            abs_err,
            rel_err,
            step,
            forward,
            backward,
            kink,
            tolerance,
            excess,
            verdict,
        });
    }
    Ok(Report { options: *options, coordinates })
}

/// err / tol, with 0/0 = 0 (a zero tolerance accepts only a zero error).
fn ratio(err: f64, tol: f64) -> f64 {
    if err == 0.0 { 0.0 } else { err / tol }
}

/// f evaluated at `xs` with coordinate `index` replaced by `value`; `xs` is restored.
fn eval_at<F: Fn(&[f64]) -> f64>(f: &F, xs: &mut [f64], index: usize, value: f64) -> f64 {
    let saved = xs[index];
    xs[index] = value;
    let y = f(xs);
    xs[index] = saved;
    y
}

/// (f(x + h·eᵢ) − f(x − h·eᵢ)) / (h₊ + h₋) with the measured steps h₊ = (xᵢ + h) − xᵢ and
/// h₋ = xᵢ − (xᵢ − h).
fn central_difference<F: Fn(&[f64]) -> f64>(f: &F, xs: &mut [f64], index: usize, h: f64) -> f64 {
    let xi = xs[index];
    let (up, down) = (xi + h, xi - h);
    let f_up = eval_at(f, xs, index, up);
    let f_down = eval_at(f, xs, index, down);
    (f_up - f_down) / ((up - xi) + (xi - down))
}

/// (−3f(x) + 4f(x + h·eᵢ) − f(x + 2h·eᵢ)) / 2h with the measured step h = (xᵢ + h) − xᵢ; a
/// negative `h` gives the backward difference.
fn one_sided_difference<F: Fn(&[f64]) -> f64>(f: &F, xs: &mut [f64], index: usize, h: f64, f0: f64) -> f64 {
    let xi = xs[index];
    let h = (xi + h) - xi;
    let f1 = eval_at(f, xs, index, xi + h);
    let f2 = eval_at(f, xs, index, xi + 2.0 * h);
    (-3.0 * f0 + 4.0 * f1 - f2) / (2.0 * h)
}

impl fmt::Display for Report {
    /// A header with the method, tolerances and overall outcome, then one row per coordinate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        let method = if o.richardson { "Richardson (h, h/2)" } else { "central differences" };
        write!(
            f,
            "gradient check, {method}, h = {:.2e}·max(1, |x|), atol {:.0e}, rtol {:.0e}: ",
            o.rel_step, o.atol, o.rtol
        )?;
        let n_failed = self.coordinates.iter().filter(|c| !c.verdict.is_ok()).count();
        match self.worst() {
            None => writeln!(f, "no coordinates")?,
            Some(w) if n_failed == 0 => writeln!(
                f,
                "PASS ({} coordinates; worst {} at {:.2e} of its tolerance)",
                self.coordinates.len(),
                w.index,
                w.excess
            )?,
            Some(w) => writeln!(
                f,
                "FAIL ({n_failed} of {} coordinates; worst {} at {:.2e} × its tolerance)",
                self.coordinates.len(),
                w.index,
                w.excess
            )?,
        }
        writeln!(
            f,
            "{:>5}  {:>13}  {:>13}  {:>9}  {:>9}  {:>9}  verdict",
            "i", "claimed", "numeric", "abs err", "rel err", "step"
        )?;
        for c in &self.coordinates {
            write!(
                f,
                "{:>5}  {:>13.6e}  {:>13.6e}  {:>9.2e}  {:>9.2e}  {:>9.2e}  ",
                c.index, c.claimed, c.numeric, c.abs_err, c.rel_err, c.step
            )?;
            let verdict = match c.verdict {
                Verdict::Pass => "pass",
                Verdict::Subgradient => "subgradient",
                Verdict::Fail => "FAIL",
            };
            if c.kink {
                writeln!(f, "{verdict} (kink: one-sided slopes {:.6e}, {:.6e})", c.backward, c.forward)?;
            } else {
                writeln!(f, "{verdict}")?;
            }
        }
        Ok(())
    }
}

/// The geometric sequence and direction of a [`taylor_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaylorOptions {
    /// The first (largest) step h₀ > 0, in the units of x.
    pub h0: f64,
    /// How many times h is halved after h₀ (≥ 1): the steps are h₀·2⁻ᵏ, k = 0..=halvings.
    pub halvings: usize,
    /// The seed of the [`Rng`] that draws the direction v (a normalised vector of N(0, 1)).
    pub seed: u64,
}

impl Default for TaylorOptions {
    /// h₀ = 2⁻⁴, 20 halvings (down to h ≈ 6e−8, below which a right gradient's h² residual is
    /// round-off at |f| ~ 1), seed 0.
    fn default() -> Self {
        TaylorOptions { h0: 0.0625, halvings: 20, seed: 0 }
    }
}

/// One step of a [`taylor_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaylorStep {
    /// The step h.
    pub h: f64,
    /// r(h) = |f(x + h·v) − f(x) − h·⟨g, v⟩| (NaN when f(x + h·v) is not finite).
    pub residual: f64,
    /// The round-off level [`TAYLOR_ROUNDOFF_FACTOR`]·ε·(|f(x + h·v)| + |f(x)| + |h·⟨g, v⟩|).
    pub round_off: f64,
    /// Whether the residual is finite and above `round_off`, so it counts.
    pub usable: bool,
}

/// What a [`taylor_test`] concluded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TaylorOutcome {
    /// The observed order log₂(r(h)/r(h/2)) of the smallest consecutive pair of usable steps:
    /// ≈ 2 for a right gradient, ≈ 1 for a wrong one.
    Order(f64),
    /// Every residual was at round-off level: along v, f agrees with its linearisation as far as
    /// `f64` can tell (f is linear along v and the claimed gradient is right along v), so the test
    /// can say nothing about the order.
    RoundOffOnly,
    /// Some residuals counted, but no two consecutive ones: no order can be measured. Try more
    /// halvings or a larger h₀.
    TooFewUsable,
}

/// The result of a [`taylor_test`]; its `Display` is a table of h, r(h) and the pairwise orders.
#[derive(Debug, Clone, PartialEq)]
pub struct TaylorReport {
    /// The unit direction v.
    pub direction: Vec<f64>,
    /// ⟨g, v⟩ for the claimed gradient g.
    pub slope: f64,
    /// One entry per step, largest h first.
    pub steps: Vec<TaylorStep>,
    /// `orders[k]` = log₂(r(h_k)/r(h_{k+1})) when both steps are usable.
    pub orders: Vec<Option<f64>>,
}

impl TaylorReport {
    /// The conclusion: the order at the smallest usable pair of steps, or why there is none.
    pub fn outcome(&self) -> TaylorOutcome {
        if let Some(order) = self.orders.iter().rev().find_map(|o| *o) {
            TaylorOutcome::Order(order)
        } else if self.steps.iter().any(|s| s.usable) {
            TaylorOutcome::TooFewUsable
        } else {
            TaylorOutcome::RoundOffOnly
        }
    }

    /// The observed order, when one could be measured.
    pub fn order(&self) -> Option<f64> {
        match self.outcome() {
            TaylorOutcome::Order(order) => Some(order),
            TaylorOutcome::RoundOffOnly | TaylorOutcome::TooFewUsable => None,
        }
    }
}

/// The Taylor-remainder test of `claimed` as the gradient of `f` at `x` (see the module docs).
///
/// ```
/// use scalar::gradcheck::{taylor_test, TaylorOptions};
/// let f = |p: &[f64]| p[0].exp() * p[1].cos();
/// let x = [0.3f64, 0.7];
/// let right = [x[0].exp() * x[1].cos(), -x[0].exp() * x[1].sin()];
/// let order = taylor_test(f, &x, &right, &TaylorOptions::default())?.order().unwrap();
/// assert!((order - 2.0).abs() < 0.1);
/// let wrong = [right[0] + 0.01, right[1]];
/// let order = taylor_test(f, &x, &wrong, &TaylorOptions::default())?.order().unwrap();
/// assert!((order - 1.0).abs() < 0.1);
/// # Ok::<(), scalar::Error>(())
/// ```
///
/// # Errors
/// - [`Error::Shape`] when `claimed.len() != x.len()`;
/// - [`Error::Invalid`] when `x` is empty (there is no direction), `h0` is not a finite number
///   > 0 or `halvings` is 0;
/// - [`Error::NonFinite`] when an entry of `x` or `claimed`, or f(x), is NaN or infinite.
pub fn taylor_test<F: Fn(&[f64]) -> f64>(
    f: F,
    x: &[f64],
    claimed: &[f64],
    options: &TaylorOptions,
) -> Result<TaylorReport, Error> {
    Error::check_len(|| "taylor_test claimed gradient".into(), x.len(), claimed.len())?;
    if x.is_empty() {
        return Err(Error::invalid("taylor_test x", "is empty: no direction"));
    }
    if !(options.h0 > 0.0 && options.h0.is_finite()) {
        return Err(Error::invalid("taylor_test h0", format!("{} is not a finite number > 0", options.h0)));
    }
    if options.halvings == 0 {
        return Err(Error::invalid("taylor_test halvings", "must be ≥ 1 to compare two steps"));
    }
    for (i, (&xi, &gi)) in x.iter().zip(claimed).enumerate() {
        Error::check_finite(|| format!("taylor_test x[{i}]"), xi)?;
        Error::check_finite(|| format!("taylor_test claimed[{i}]"), gi)?;
    }
    let f0 = Error::check_finite(|| "taylor_test f(x)".into(), f(x))?;

    let direction = random_unit_vector(x.len(), &mut Rng::new(options.seed));
    let slope: f64 = claimed.iter().zip(&direction).map(|(g, v)| g * v).sum();
    let mut moved = vec![0.0; x.len()];
    let steps: Vec<TaylorStep> = (0..=options.halvings)
        .map(|k| {
            let h = options.h0 / 2f64.powi(k as i32);
            for ((m, xi), vi) in moved.iter_mut().zip(x).zip(&direction) {
                *m = xi + h * vi;
            }
            let f_moved = f(&moved);
            let residual = if f_moved.is_finite() { (f_moved - f0 - h * slope).abs() } else { f64::NAN };
            let round_off = TAYLOR_ROUNDOFF_FACTOR * f64::EPSILON * (f_moved.abs() + f0.abs() + (h * slope).abs());
            TaylorStep { h, residual, round_off, usable: residual > round_off }
        })
        .collect();
    let orders = steps
        .windows(2)
        .map(|pair| (pair[0].usable && pair[1].usable).then(|| (pair[0].residual / pair[1].residual).log2()))
        .collect();
    Ok(TaylorReport { direction, slope, steps, orders })
}

/// A vector of `n ≥ 1` N(0, 1) draws scaled to unit length (redrawn in the never-seen case that
/// all are 0), so its direction is uniform on the sphere.
fn random_unit_vector(n: usize, rng: &mut Rng) -> Vec<f64> {
    loop {
        let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let norm = v.iter().map(|vi| vi * vi).sum::<f64>().sqrt();
        if norm > 0.0 {
            return v.into_iter().map(|vi| vi / norm).collect();
        }
    }
}

impl fmt::Display for TaylorReport {
    /// The direction's slope, one row per step (h, r(h), round-off level, order to the next step),
    /// then the conclusion.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Taylor remainder test along a random unit direction v, ⟨g, v⟩ = {:.6e}", self.slope)?;
        writeln!(f, "{:>10}  {:>10}  {:>10}  {:>6}  order (h → h/2)", "h", "r(h)", "round-off", "counts")?;
        for (k, step) in self.steps.iter().enumerate() {
            write!(
                f,
                "{:>10.3e}  {:>10.3e}  {:>10.3e}  {:>6}  ",
                step.h,
                step.residual,
                step.round_off,
                if step.usable { "yes" } else { "no" }
            )?;
            match self.orders.get(k).copied().flatten() {
                Some(order) => writeln!(f, "{order:.3}")?,
                None => writeln!(f, "-")?,
            }
        }
        match self.outcome() {
            TaylorOutcome::Order(order) => {
                writeln!(f, "observed order {order:.3} (≈ 2: the gradient is right; ≈ 1: it is wrong along v)")
            }
            TaylorOutcome::RoundOffOnly => writeln!(
                f,
                "every residual is at round-off level: f is linear along v and the gradient agrees \
                 there; no order can be measured"
            ),
            TaylorOutcome::TooFewUsable => {
                writeln!(f, "no two consecutive residuals above round-off level: no order can be measured")
            }
        }
    }
}
