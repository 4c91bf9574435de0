//! A failing layer whose gradients are the reference times one number, or its transpose: the
//! signature of a convention (a loss reduction, a sign, a weight layout), not of a backward bug.
//!
//! With g their entries and r the reference's (weights then biases, in one order), the factor
//! that fits best in least squares is
//!
//! ```text
//! c = ⟨g, r⟩ / ⟨r, r⟩        (minimises ‖g − c·r‖²)
//! ```
//!
//! and the layer "is the reference times c" when c ≠ 0 and every entry passes the check's own
//! tolerance against c·r: |g − c·r| ≤ atol·s + rtol·|c·r| (s the layer's scale). A real backward
//! bug (a missing σ′, a wrong δ in one unit) changes entries by different ratios, leaves a
//! residual, and gets no hint; a layer of zeros (c = 0) is no convention either. Whether the
//! factor is a convention of the whole backward pass is the check's verdict: only if every layer
//! has the same one.

use super::Tolerance;
use serde::Serialize;

/// What a failing layer looks like (`check --format json`: `"convention": {"factor", "transposed"}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Convention {
    /// c: their gradients are c × the reference (after transposing, if `transposed`).
    pub factor: f64,
    /// Their `weight_grad` is the transpose of the reference's (a layout convention: `in_out`
    /// against `out_in`).
    pub transposed: bool,
    /// The factor as a ratio of the numbers a reduction divides by, when it is one (to within
    /// 1e−9 relative): `"1/n_out"`, `"B"`, `"-1"`, `"1/(B·n_out)"`, `"2"`, … (B the batch, n_out the
    /// last layer's width). `None` for any other factor.
    pub ratio: Option<String>,
}

/// The ratio ±a/b, with a and b among 1, 2, B, n_out and B·n_out, that `factor` is (to within
/// 1e−9 relative), simplest first; `None` if none is.
pub(super) fn ratio(factor: f64, batch: usize, n_out: usize) -> Option<String> {
    // The reductions' own numbers before 2 (a doubled or halved square): 1/2 with n_out = 2 reads
    // 1/n_out.
    let terms =
        [("1", 1.0), ("B", batch as f64), ("n_out", n_out as f64), ("B·n_out", (batch * n_out) as f64), ("2", 2.0)];
    let magnitude = factor.abs();
    let sign = if factor < 0.0 { "-" } else { "" };
    // Fewest numbers first: 2 with B = 4 is a doubled square ("2"), not "B/2".
    let pairs = terms.iter().flat_map(|&a| terms.iter().map(move |&b| (a, b)));
    let numbers = |((a, _), (b, _)): ((&str, f64), (&str, f64))| usize::from(a != "1") + usize::from(b != "1");
    for count in 0..=2 {
        for ((a_name, a), (b_name, b)) in pairs.clone().filter(|&p| numbers(p) == count) {
            if (a_name == b_name && a_name != "1") || (magnitude - a / b).abs() > 1e-9 * magnitude {
                continue;
            }
            let text = match (a_name, b_name) {
                (a, "1") => a.to_string(),
                ("1", b) if b.contains('·') => format!("1/({b})"),
                ("1", b) => format!("1/{b}"),
                (a, b) if b.contains('·') => format!("{a}/({b})"),
                (a, b) => format!("{a}/{b}"),
            };
            return Some(format!("{sign}{text}"));
        }
    }
    None
}

/// The least-squares factor c = ⟨g, r⟩/⟨r, r⟩ of `pairs` (theirs, reference), if it is not 0 and
/// explains every entry within `tolerance` at `scale`; `None` when the reference is all 0, c = 0,
/// or the residual is too large.
pub(super) fn fitted_factor(pairs: &[(f64, f64)], tolerance: Tolerance, scale: f64) -> Option<f64> {
    let (gr, rr) = pairs.iter().fold((0.0, 0.0), |(gr, rr), &(g, r)| (gr + g * r, rr + r * r));
    if !(rr > 0.0 && rr.is_finite() && gr.is_finite()) {
        return None;
    }
    let c = gr / rr;
    // The scale of c·r is |c|·s.
    (c != 0.0 && pairs.iter().all(|&(g, r)| tolerance.accepts(g, c * r, c.abs() * scale))).then_some(c)
}
