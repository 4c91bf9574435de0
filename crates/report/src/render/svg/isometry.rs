//! Section 3's dynamical isometry: Var λ of the input–output Jacobian against depth, measured
//! beside Pennington et al.'s wide-network prediction.

use super::super::figure::{Axis, Figure, Mark, Rule, Series};
use crate::sections::isometry::Isometry;

/// The file name of the isometry figure.
pub const ISOMETRY_PLOT: &str = "isometry.svg";

/// Per setting whose prediction is not 0: the measured Var λ by depth (dots) and
/// L·(μ₂/μ₁² − 1 − s₁) (dashed, the same colour). The band is ± 2 standard errors of ln Var λ,
/// whose standard error is se/Var λ to first order (the delta method): on a log axis a band
/// Var λ ± 2·se loses its lower edge wherever se > Var λ/2, as the deep rows' do, while
/// Var λ·e^(±2·se/Var λ) stays positive and symmetric about the dot. Linear orthogonal networks
/// (Var λ = 0 exactly; measured, rounding) have no place on a log axis: the table has them.
pub fn isometry_figure(iso: &Isometry) -> Figure {
    let mut series = Vec::new();
    for (colour, s) in iso.settings.iter().enumerate().filter(|(_, s)| s.rows.iter().any(|r| r.predicted_var > 0.0)) {
        let name = if s.sigma_b2 > 0.0 {
            format!("{}, q* = {}, {}", s.activation, crate::numfmt::sig(s.q_star, 3), s.weights)
        } else {
            format!("{}, {}", s.activation, s.weights)
        };
        let rows = s.rows.iter().filter(|r| r.networks > 0);
        let measured = rows.clone().map(|r| (r.depth as f64, r.var_lambda)).collect();
        let band = rows
            .clone()
            .filter(|r| r.var_lambda > 0.0)
            .filter_map(|r| {
                let spread = (2.0 * r.var_se? / r.var_lambda).exp();
                Some((r.depth as f64, r.var_lambda / spread, r.var_lambda * spread))
            })
            .collect();
        let predicted = s.rows.iter().map(|r| (r.depth as f64, r.predicted_var)).collect();
        series.push(Series::new(format!("{name}: measured"), Mark::Dots, colour, measured).with_band(band));
        series.push(Series::new(format!("{name}: wide-network theory"), Mark::Dashed, colour, predicted));
    }
    Figure {
        title: "the spread of the Jacobian's squared singular values, Var λ, against depth".to_string(),
        subtitle: format!(
            "{} networks of width {} per point, band ± 2 standard errors of ln Var λ; dashed: L·(μ₂/μ₁² − 1 − s₁)",
            iso.nets, iso.width
        ),
        x: Axis::log10("depth L"),
        y: Axis::log10("Var λ, λ = s² (0: isometry)"),
        series,
        rules: vec![Rule { y: 1.0, label: "Var λ = 1 = (mean λ)²".to_string() }],
    }
}
