//! Section 4's figure: where values first overflow, against the gain.

use super::super::figure::{Axis, Figure, Mark, Series};
use crate::sections::exploding::spread::{OverNetworks, Overflow, Spread, SpreadRow};

/// A spread row's overflow statistics in the format `name` ("f32" or "f64").
fn format_of<'a>(r: &'a SpreadRow, name: &str) -> &'a Overflow {
    if name == "f32" { &r.f32 } else { &r.f64 }
}

/// The file name of section 4's overflow-depth figure.
pub const OVERFLOW_PLOT: &str = "exploding-overflow.svg";

/// The depth at which each format's forward values and weight gradients first overflow, against
/// the gain: the networks' median with its 10th–90th percentile band, and the predictions dashed
/// (the forward pass's corrected expectation, the gradient's prediction).
pub fn overflow_figure(s: &Spread) -> Figure {
    let mut series = Vec::new();
    for (i, name) in ["f32", "f64"].into_iter().enumerate() {
        // The networks' median with its p10–p90 band, drawn as a line.
        let measured = |label: String, colour: usize, get: fn(&Overflow) -> Option<OverNetworks>| {
            let stats: Vec<(f64, OverNetworks)> =
                s.rows.iter().filter_map(|r| Some((r.gain, get(format_of(r, name))?))).collect();
            Series::new(label, Mark::Line, colour, stats.iter().map(|&(g, o)| (g, o.median)).collect())
                .with_band(stats.iter().map(|&(g, o)| (g, o.p10, o.p90)).collect())
        };
        let predicted = |label: String, colour: usize, get: fn(&Overflow) -> Option<f64>| {
            Series::new(
                label,
                Mark::Dashed,
                colour,
                s.rows.iter().filter_map(|r| Some((r.gain, get(format_of(r, name))?))).collect(),
            )
        };
        series.extend([
            measured(format!("{name}: forward value, measured"), 2 * i, |o| o.forward),
            predicted(format!("{name}: forward, corrected expectation"), 2 * i, |o| o.forward_corrected),
            measured(format!("{name}: weight gradient, measured"), 2 * i + 1, |o| o.gradient),
            predicted(format!("{name}: weight gradient, predicted"), 2 * i + 1, |o| o.gradient_predicted),
        ]);
    }
    Figure {
        title: "Where values first overflow: depth against the gain".to_string(),
        subtitle: format!(
            "ReLU, He × g; median over {} networks per gain, band p10–p90; dashed: the predictions",
            s.networks
        ),
        x: Axis::log10("gain g"),
        y: Axis::log10("first layer with a non-finite value"),
        series,
        rules: Vec::new(),
    }
}
