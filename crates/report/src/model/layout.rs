//! The model file's `"weight_layout"`: `"out_in"` (gradlab's and PyTorch's `Linear.weight`, one
//! row per output unit) or `"in_out"` (numpy's `X @ W`, one row per input). The network is kept
//! out_in inside; an in_out file's weights are transposed when read, and its gradients are
//! written and read back in its own layout, so `weight_grad` always has the shape of `weight`.

use crate::error::Error;

/// The names of `"weight_layout"`, in [`WeightLayout`]'s order.
pub const WEIGHT_LAYOUTS: [&str; 2] = ["out_in", "in_out"];

/// How `weight[·][·]` is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightLayout {
    /// `weight[j][i]`: output unit j, input i (the default).
    #[default]
    OutIn,
    /// `weight[i][j]`: input i, output unit j.
    InOut,
}

impl WeightLayout {
    /// Parses a `"weight_layout"` name (`None`: the default).
    pub(super) fn parse(name: Option<&str>) -> Result<WeightLayout, Error> {
        match name {
            None | Some("out_in") => Ok(WeightLayout::OutIn),
            Some("in_out") => Ok(WeightLayout::InOut),
            Some(other) => Err(Error::input(format!(
                "weight_layout: unknown name {other:?} (expected {})",
                WEIGHT_LAYOUTS.join(" or ")
            ))),
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            WeightLayout::OutIn => WEIGHT_LAYOUTS[0],
            WeightLayout::InOut => WEIGHT_LAYOUTS[1],
        }
    }

    /// A matrix in this layout as out_in (or back: the transpose is its own inverse).
    pub fn to_out_in(self, m: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        match self {
            WeightLayout::OutIn => m,
            WeightLayout::InOut => transpose(&m),
        }
    }
}

/// The transpose of a rectangular matrix (rows of equal length; an empty matrix stays empty).
pub fn transpose(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let cols = m.first().map_or(0, Vec::len);
    (0..cols).map(|i| m.iter().map(|row| row[i]).collect()).collect()
}

/// An in_out layer's weight, checked in the file's own terms (one row per input, all as long as
/// the first, every entry finite), before it is transposed: `width_in` inputs, if known (layers
/// after the first).
pub(super) fn check_in_out(l: usize, weight: &[Vec<f64>], width_in: Option<usize>) -> Result<(), Error> {
    if let Some(n) = width_in {
        if weight.len() != n {
            return Err(Error::input(format!(
                "layer {l} weight: expected {} (one per input, weight_layout in_out), got {}",
                super::count(n, "row"),
                weight.len()
            )));
        }
    }
    let n_out = weight.first().map_or(0, Vec::len);
    if n_out == 0 {
        return Err(Error::input(format!(
            "layer {l} weight row 0: it has no columns (weight_layout in_out: a layer needs at least one output unit)"
        )));
    }
    if let Some((i, row)) = weight.iter().enumerate().find(|(_, row)| row.len() != n_out) {
        return Err(Error::input(format!(
            "layer {l} weight row {i}: expected {} (one per output unit, weight_layout in_out), got {}",
            super::count(n_out, "column"),
            row.len()
        )));
    }
    // A NaN or ∞ is named where it is in the file (row = input), not in the transpose.
    super::check_matrix(&format!("layer {l} weight"), weight, n_out)
}
