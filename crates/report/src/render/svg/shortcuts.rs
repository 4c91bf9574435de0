//! Section 5.1's figures: how much of the output's gradient reaches each layer of the deep ReLU
//! and sigmoid networks, with and without each shortcut form.

use super::super::figure::{Axis, Figure, Mark, Series};
use crate::numfmt::sig;
use crate::sections::shortcuts::{self, Form, GradientRow, Shortcuts};

/// The network kinds of section 5.1's gradient tables, one figure each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortcutNetwork {
    /// [`Shortcuts::relu`].
    Relu,
    /// [`Shortcuts::sigmoid`].
    Sigmoid,
}

impl ShortcutNetwork {
    /// Both, in the section's order.
    pub const ALL: [ShortcutNetwork; 2] = [ShortcutNetwork::Relu, ShortcutNetwork::Sigmoid];

    /// The figure's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            ShortcutNetwork::Relu => "shortcuts-relu.svg",
            ShortcutNetwork::Sigmoid => "shortcuts-sigmoid.svg",
        }
    }

    /// The figure's title (also the Markdown's alt text).
    pub fn title(self) -> String {
        match self {
            ShortcutNetwork::Relu => format!(
                "ReLU, {} layers of {}: the gradient reaching each layer, with and without the shortcut",
                shortcuts::RELU_DEPTH,
                shortcuts::RELU_WIDTH
            ),
            ShortcutNetwork::Sigmoid => format!(
                "Sigmoid, {} layers of {}: the gradient reaching each layer, by shortcut form",
                shortcuts::SIGMOID_DEPTH,
                shortcuts::SIGMOID_WIDTH
            ),
        }
    }

    fn rows(self, s: &Shortcuts) -> &[GradientRow] {
        match self {
            ShortcutNetwork::Relu => &s.relu,
            ShortcutNetwork::Sigmoid => &s.sigmoid,
        }
    }
}

/// A row's shortcut, short enough for a legend.
fn legend(row: &GradientRow) -> String {
    let form = match row.form {
        Form::None => "no shortcut",
        Form::PreActivation => "pre-activation shortcut, a_m = f(W·a_(m−1) + a_(m−2))",
        Form::Identity => "identity shortcut, a_m = a_(m−2) + f(W·a_(m−1))",
    };
    if row.alpha == 1.0 { form.to_string() } else { format!("{form}, joined layers' W × {}", sig(row.alpha, 3)) }
}

/// Section 5.1's figures that have something to draw.
pub fn shortcuts_plots(s: &Shortcuts) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = ShortcutNetwork::ALL
        .into_iter()
        .filter_map(|n| Some((n.file_name().to_string(), shortcuts_figure(s, n).svg()?)))
        .collect();
    all.extend(growth_figure(s).svg().map(|svg| (GROWTH_PLOT.to_string(), svg)));
    all
}

/// The file name of the residual blocks' growth figure.
pub const GROWTH_PLOT: &str = "shortcuts-growth.svg";

/// The title of the growth figure (also the Markdown's alt text).
pub const GROWTH_TITLE: &str = "Residual blocks: ‖a_m‖² ÷ ‖a_0‖² after each block, measured and predicted";

/// Per branch scaling, the mean over the networks of ‖a_m‖² ÷ ‖a_0‖² after block m against
/// (1 + g·α²)^m (dashed), on a log axis: a constant factor per block is a straight line.
pub fn growth_figure(s: &Shortcuts) -> Figure {
    let block = |m: usize| (m + 1) as f64;
    let series = s
        .growth
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            let branch = if g.alpha == 1.0 { "unscaled".to_string() } else { format!("α = {}", sig(g.alpha, 3)) };
            let name = format!("{branch}, linear layer N(0, {}/n)", sig(g.gain, 1));
            let measured = g.by_block.iter().enumerate().map(|(m, &v)| (block(m), v)).collect();
            let predicted = g.predicted_by_block.iter().enumerate().map(|(m, &v)| (block(m), v)).collect();
            [
                Series::new(format!("{name}: measured"), Mark::Line, i, measured),
                Series::new(format!("{name}: (1 + g·α²)^m"), Mark::Dashed, i, predicted),
            ]
        })
        .collect();
    Figure {
        title: GROWTH_TITLE.to_string(),
        subtitle: format!(
            "blocks a_m = a_(m−2) + α·W_m·relu(W_(m−1)·a_(m−2)) of width {}; mean over {} networks",
            shortcuts::GROWTH_WIDTH,
            shortcuts::GROWTH_NETWORKS
        ),
        x: Axis::linear("block m"),
        y: Axis::log10("‖a_m‖² ÷ ‖a_0‖²"),
        series,
        rules: Vec::new(),
    }
}

/// log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖ against the layer l for each row of `network`'s table: the median
/// over the networks, their range as a band, one colour per shortcut form.
pub fn shortcuts_figure(s: &Shortcuts, network: ShortcutNetwork) -> Figure {
    let series = network
        .rows(s)
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let median = row.by_layer.iter().map(|p| (p.layer as f64, p.median)).collect();
            let band = row.by_layer.iter().map(|p| (p.layer as f64, p.lowest, p.highest)).collect();
            Series::new(legend(row), Mark::Line, i, median).with_band(band)
        })
        .collect();
    Figure {
        title: network.title(),
        subtitle: format!(
            "log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖ under a probe loss; median over {} networks, band: their range; 0: all of it arrives",
            shortcuts::NETWORKS
        ),
        x: Axis::linear("layer l"),
        y: Axis::linear("log10 ‖∂L/∂a_l‖ ÷ ‖∂L/∂a_L‖"),
        series,
        rules: Vec::new(),
    }
}
