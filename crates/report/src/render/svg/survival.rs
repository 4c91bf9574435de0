//! Section 2's survival figure: the share of width-1 ReLU chains whose gradient is non-zero at
//! every layer, against the depth D, beside 2^−D.

use super::super::figure::{Axis, Figure, Mark, Series};
use crate::sections::decay::survival::Survival;

/// The file name of the survival figure.
pub const SURVIVAL_PLOT: &str = "decay-relu-survival.svg";

/// The title of the survival figure (also the Markdown's alt text).
pub const SURVIVAL_TITLE: &str = "Width-1 ReLU chains alive at every layer, against the depth D";

/// The measured share of live chains per depth (dots) on 2^−D (dashed) with its band of ± 2
/// binomial standard errors, on a log axis (2^−D is a straight line). A band edge at or below 0
/// is not drawn.
pub fn survival_figure(s: &Survival) -> Figure {
    let depth = |d: usize| d as f64;
    let expected = s.rows.iter().map(|r| (depth(r.depth), r.expected_share)).collect();
    let band = s
        .rows
        .iter()
        .map(|r| (depth(r.depth), r.expected_share - 2.0 * r.standard_error, r.expected_share + 2.0 * r.standard_error))
        .collect();
    let measured = s.rows.iter().map(|r| (depth(r.depth), r.share)).collect();
    Figure {
        title: SURVIVAL_TITLE.to_string(),
        subtitle: format!(
            "{} chains per depth, N(0, 1) weights, no biases; live: ∂L/∂w_d ≠ 0 at every layer d",
            s.chains
        ),
        x: Axis::linear("depth D"),
        y: Axis::log10("share of chains alive"),
        series: vec![
            Series::new("2^−D, band ± 2 standard errors", Mark::Dashed, 0, expected).with_band(band),
            Series::new("measured share", Mark::Dots, 1, measured),
        ],
        rules: Vec::new(),
    }
}
