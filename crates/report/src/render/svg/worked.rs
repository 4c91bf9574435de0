//! Section 1's figure: the worked chain's |∂L/∂w_d| at every layer beside the article's bound, on
//! a log axis, where a constant factor per layer is a straight line.

use super::super::figure::{Axis, Figure, Mark, Series};
use crate::numfmt::sig;
use crate::sections::worked::WorkedChain;

/// The file name of the worked chain's figure.
pub const WORKED_PLOT: &str = "worked-chain.svg";

/// The title of the worked chain's figure (also the Markdown's alt text).
pub const WORKED_TITLE: &str = "The worked chain: |∂L/∂w_d| at each layer, beside the article's bound";

/// |∂L/∂w_d| (line) and the bound (dashed) against the layer d; values at or below 0 are not
/// drawn on the log axis.
pub fn worked_figure(w: &WorkedChain) -> Figure {
    let layer = |d: usize| d as f64;
    let gradient = w.layers.iter().map(|l| (layer(l.layer), l.grad.abs())).collect();
    let bound = w.layers.iter().map(|l| (layer(l.layer), l.bound)).collect();
    Figure {
        title: WORKED_TITLE.to_string(),
        subtitle: format!(
            "{} sigmoid neurons, every weight {}, input {}, target {}; layer 1 is the input's",
            w.depth,
            sig(w.weight, 3),
            sig(w.input, 3),
            sig(w.target, 3)
        ),
        x: Axis::linear("layer d"),
        y: Axis::log10("|∂L/∂w_d|"),
        series: vec![
            Series::new("|∂L/∂w_d|, exact", Mark::Line, 0, gradient),
            Series::new("the bound 2|y−ŷ|·|u_d|·∏ sup|σ′|·∏ |w_k|", Mark::Dashed, 1, bound),
        ],
        rules: Vec::new(),
    }
}
