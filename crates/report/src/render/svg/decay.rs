//! Section 2's figures: decay per depth, one per activation, drawn from each configuration's
//! per-layer curve.

use super::super::figure::{Axis, Figure, Mark, Series};
use crate::sections::decay::{ChainSet, Decay, DecayConfig, SkipForm};

/// The file name of the plot for `activation`.
pub fn decay_plot_name(activation: &str) -> String {
    format!("decay-{activation}.svg")
}

/// The activations of `decay`, in order.
fn activations(decay: &Decay) -> Vec<&str> {
    let mut names: Vec<&str> = decay.configs.iter().map(|c| c.activation.as_str()).collect();
    names.dedup();
    names
}

/// One SVG per activation of `decay` that has something to draw, as (file name, contents).
pub fn decay_plots(decay: &Decay) -> Vec<(String, String)> {
    activations(decay)
        .into_iter()
        .filter_map(|name| Some((decay_plot_name(name), decay_figure(decay, name).svg()?)))
        .collect()
}

/// The decay figure of `activation` (without data when every gradient is exactly 0).
pub fn decay_figure(decay: &Decay, activation: &str) -> Figure {
    let configs: Vec<&DecayConfig> = decay.configs.iter().filter(|c| c.activation == activation).collect();
    let series = configs
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            let mut label = match (c.shortcut, c.skip) {
                (None, _) => "no shortcut".to_string(),
                (Some(s), Some(SkipForm::Identity)) => format!("identity skip span {s}"),
                (Some(s), _) => format!("pre-activation shortcut span {s}"),
            };
            if c.chains == ChainSet::Live {
                label.push_str(", live chains");
            }
            let k = &c.curve.depth;
            let at = |j: usize| k[j] as f64;
            let median = (0..k.len()).map(|j| (at(j), c.curve.median[j])).collect();
            let band = (0..k.len()).map(|j| (at(j), c.curve.p10[j], c.curve.p90[j])).collect();
            let backward = (0..k.len()).map(|j| (at(j), c.curve.backward_median[j])).collect();
            [
                Series::new(format!("{label}: ∂L/∂w"), Mark::Line, i, median).with_band(band),
                Series::new(format!("{label}: ∂L/∂a (backward factor)"), Mark::Dashed, i, backward),
            ]
        })
        .collect();
    Figure {
        title: format!("{activation}: log10 |∂L/∂w| by depth below the output"),
        subtitle: format!(
            "{} chains of depth {}, N(0, 1) weights; median, 10th–90th percentile band; dashed: median log10 |∂L/∂a|",
            decay.samples, decay.max_depth
        ),
        x: Axis::linear("depth k (layers below the output)"),
        y: Axis::linear("log10 |∂L/∂w|, log10 |∂L/∂a|"),
        series,
        rules: Vec::new(),
    }
}
