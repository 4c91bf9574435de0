//! Section 3's sigmoid critical line: the per-layer gradient factor against σ_w², measured and
//! mean field's.

use super::super::figure::{Axis, Figure, Mark, Rule, Series};
use crate::sections::criticality::SigmoidCritical;

/// The file name of the sigmoid critical-line figure.
pub const SIGMOID_CRITICAL_PLOT: &str = "sigmoid-critical.svg";

/// Per σ_w²: mean field's χ₁ and per-layer factor at this depth, and the measured factor (± 2
/// standard errors), with the critical line.
pub fn sigmoid_critical_figure(s: &SigmoidCritical) -> Figure {
    let pick = |f: fn(&crate::sections::criticality::SigmoidRow) -> f64| -> Vec<(f64, f64)> {
        s.rows.iter().map(|r| (r.sigma_w2, f(r))).collect()
    };
    let band = s
        .rows
        .iter()
        .map(|r| {
            let l = r.log10_measured;
            (r.sigma_w2, 10f64.powf(l - 2.0 * r.se), 10f64.powf(l + 2.0 * r.se))
        })
        .collect();
    Figure {
        title: "sigmoid, σ_b = 0: the per-layer factor of ‖∂L/∂a‖² against σ_w²".to_string(),
        subtitle: format!(
            "probe seed, layers {} → 1; {} networks of width {} per point, band ± 2 standard errors",
            s.depth.saturating_sub(1),
            s.nets,
            s.width
        ),
        x: Axis::log10("σ_w² = width·Var(w)"),
        y: Axis::log10("per-layer factor of ‖∂L/∂a‖²"),
        series: vec![
            Series::new("χ₁ = χ(q*)", Mark::Line, 0, pick(|r| r.chi_1)),
            Series::new(format!("mean field at depth {}", s.depth), Mark::Dashed, 1, pick(|r| r.predicted)),
            Series::new("measured", Mark::Dots, 1, pick(|r| r.measured)).with_band(band),
        ],
        rules: vec![Rule { y: 1.0, label: "critical".to_string() }],
    }
}
