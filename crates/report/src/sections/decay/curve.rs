//! A configuration's per-layer curve: the statistics of the reported depths (1, 2, 4, … D), taken
//! at every layer where the data exist, for the figure and the JSON. The tables and the fitted
//! slopes keep the reported depths; the curve shows that a constant decay per layer is a straight
//! line, not eleven dots.
//!
//! ```text
//! step   = ⌈D / CURVE_POINTS⌉                    (1 up to D = CURVE_POINTS: every layer)
//! depths = { 1, 1 + step, 1 + 2·step, … } ∪ { D } ∪ the reported depths
//! ```
//!
//! With the identity skip, only the layers the skip joins are comparable (the reported depths are
//! moved there too, [`identity_depths`]), so the curve keeps those.

use super::super::stats::percentiles;
use super::identity_depths;
use serde::Serialize;

/// The most layers a curve keeps besides the reported depths: every layer up to this depth.
pub const CURVE_POINTS: usize = 1000;

/// Per-layer statistics over the chains, column by column (one entry per depth).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DecayCurve {
    /// k, layers below the output, ascending.
    pub depth: Vec<usize>,
    /// 10th percentile of log10 |∂L/∂w| (−∞ for an exact zero).
    pub p10: Vec<f64>,
    /// Median of log10 |∂L/∂w|.
    pub median: Vec<f64>,
    /// 90th percentile of log10 |∂L/∂w|.
    pub p90: Vec<f64>,
    /// Median log10 |∂L/∂a_d|, the backward factor.
    pub backward_median: Vec<f64>,
}

/// The depths a configuration measures: `reported` (ascending) and the curve's layers of a chain
/// of depth `chain_depth`, moved to the joined layers for an identity skip of span `identity_span`.
pub fn measured_depths(reported: &[usize], chain_depth: usize, identity_span: Option<usize>) -> Vec<usize> {
    let step = chain_depth.div_ceil(CURVE_POINTS).max(1);
    let mut layers: Vec<usize> = (1..=chain_depth).step_by(step).chain([chain_depth]).collect();
    if let Some(span) = identity_span {
        layers = identity_depths(&layers, chain_depth, span);
    }
    layers.extend_from_slice(reported);
    layers.sort_unstable();
    layers.dedup();
    layers
}

impl DecayCurve {
    /// The curve over `depths` of the depth-major values (`weight[j][chain]`, `backward[j][chain]`
    /// at `depths[j]`); empty without chains.
    pub fn of(depths: &[usize], weight: &[Vec<f64>], backward: &[Vec<f64>]) -> DecayCurve {
        let mut curve = DecayCurve::default();
        for ((&depth, w), b) in depths.iter().zip(weight).zip(backward) {
            if w.is_empty() {
                continue;
            }
            let mut values = w.clone();
            let weight = percentiles(&mut values, &[10.0, 50.0, 90.0]);
            let mut back = b.clone();
            curve.depth.push(depth);
            curve.p10.push(weight[0]);
            curve.median.push(weight[1]);
            curve.p90.push(weight[2]);
            curve.backward_median.push(percentiles(&mut back, &[50.0])[0]);
        }
        curve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_up_to_the_cap_and_a_stride_beyond_it() {
        let reported = [1, 2, 4, 8, 10];
        assert_eq!(measured_depths(&reported, 10, None), (1..=10).collect::<Vec<_>>());
        let deep = measured_depths(&[1, 2, 4, 2048, 2500], 2500, None);
        // ⌈2500 / 1000⌉ = 3: 1, 4, 7, …, 2500, and the reported depths.
        assert!(deep.starts_with(&[1, 2, 4, 7, 10]), "{:?}", &deep[..6]);
        assert!(deep.contains(&2048) && deep.ends_with(&[2497, 2500]));
        assert!(deep.len() <= CURVE_POINTS + 5 + 1);
    }

    #[test]
    fn identity_skips_keep_the_layers_the_skip_joins() {
        // D = 12, span 3: the skip joins layers 3, 6, 9, 12, at depths 10, 7, 4, 1.
        assert_eq!(measured_depths(&[1, 4], 12, Some(3)), vec![1, 4, 7, 10]);
    }
}
