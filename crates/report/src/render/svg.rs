//! The report's figures, as (file name, SVG) pairs, each drawn by [`super::figure`]:
//! - section 2: one per activation, the median log10 |∂L/∂w| against depth (a linear axis: a
//!   constant rate per layer is a straight line) for each shortcut setting, with the 10th–90th
//!   percentile band and the backward factor dashed;
//! - section 3: χ₁ against σ_w² with the measured networks on mean field's curve, and per
//!   activation the per-layer ‖∂L/∂a_l‖² against its prediction;
//! - section 4: per format, the depth at which the forward pass and the weight gradients first
//!   leave the format's range, against the gain, measured (median, p10–p90 band) beside the
//!   predictions;
//! - section 6: per task, the median training loss of every network against the epoch, with the
//!   constant predictor's plateau and the success threshold drawn.

use super::figure::{Axis, Figure, Mark, Rule, Series};
use crate::sections::Report;
use crate::sections::classic::{self, Classic};
use crate::sections::decay::{ChainSet, Decay, DecayConfig, SkipForm};
use crate::sections::dense_init::{DenseInit, measured_hidden_factor};
use crate::sections::exploding::spread::{OverNetworks, Overflow, Spread, SpreadRow};

/// Every figure of the report that has something to draw, as (file name, contents).
pub fn figures(report: &Report) -> Vec<(String, String)> {
    let mut all = decay_plots(&report.decay);
    all.extend(dense_init_plots(&report.dense_init));
    all.extend(overflow_figure(&report.exploding.spread).svg().map(|svg| (OVERFLOW_PLOT.to_string(), svg)));
    all.extend(classic_plots(&report.classic));
    all
}

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
            let median = c.rows.iter().map(|r| (r.depth as f64, r.median)).collect();
            let band = c.rows.iter().map(|r| (r.depth as f64, r.p10, r.p90)).collect();
            let backward = c.rows.iter().map(|r| (r.depth as f64, r.backward_median)).collect();
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

/// The file name of section 3's χ₁ figure.
pub const CHI_PLOT: &str = "dense-chi.svg";

/// The file name of section 3's per-layer figure for `activation`.
pub fn dense_layers_plot_name(activation: &str) -> String {
    format!("dense-layers-{activation}.svg")
}

/// The activations of section 3, in order.
pub(super) fn dense_activations(d: &DenseInit) -> Vec<&str> {
    let mut names: Vec<&str> = d.configs.iter().map(|c| c.activation.as_str()).collect();
    names.dedup();
    names
}

/// Section 3's figures that have something to draw.
pub fn dense_init_plots(d: &DenseInit) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        chi_figure(d).svg().map(|svg| (CHI_PLOT.to_string(), svg)).into_iter().collect();
    for a in dense_activations(d) {
        if let Some(svg) = dense_layers_figure(d, a).svg() {
            all.push((dense_layers_plot_name(a), svg));
        }
    }
    all
}

/// χ₁ against σ_w²: mean field's curve per activation, its prediction for networks of this depth
/// (dashed), and each row's measured per-layer factor.
pub fn chi_figure(d: &DenseInit) -> Figure {
    let series = d
        .chi_curves
        .iter()
        .enumerate()
        .flat_map(|(i, curve)| {
            let measured = d
                .configs
                .iter()
                .filter(|c| c.activation == curve.activation)
                .filter_map(|c| Some((c.sigma_w2, measured_hidden_factor(c)?)))
                .collect();
            let a = &curve.activation;
            [
                Series::new(format!("{a}: χ₁ = χ(q*)"), Mark::Line, i, curve.chi_1.clone()),
                Series::new(format!("{a}: mean field at depth {}", d.depth), Mark::Dashed, i, curve.at_depth.clone()),
                Series::new(format!("{a}: measured, one dot per scheme"), Mark::Dots, i, measured),
            ]
        })
        .collect();
    Figure {
        title: "χ₁ against σ_w²: where the gradient vanishes, explodes or holds".to_string(),
        subtitle: format!(
            "per-layer factor of mean ‖∂L/∂a‖², probe seed, layers {} → 1; {} networks of width {} per dot",
            d.depth - 1,
            d.nets,
            d.width
        ),
        x: Axis::log10("σ_w² = width·Var(w)"),
        y: Axis::log10("per-layer factor of ‖∂L/∂a‖²"),
        series,
        rules: vec![Rule { y: 1.0, label: "critical".to_string() }],
    }
}

/// Per layer, log10 mean ‖∂L/∂a_l‖² under squared error (± 2 standard errors) against its
/// prediction (the corrected one where a row has it), one colour per scheme.
pub fn dense_layers_figure(d: &DenseInit, activation: &str) -> Figure {
    let series = d
        .configs
        .iter()
        .filter(|c| c.activation == activation)
        .enumerate()
        .flat_map(|(i, c)| {
            let layer = |l: usize| (l + 1) as f64;
            let measured = c.activation_grad.iter().enumerate().map(|(l, e)| (layer(l), e.log10_mean)).collect();
            let band = c
                .activation_grad
                .iter()
                .enumerate()
                .map(|(l, e)| (layer(l), e.log10_mean - 2.0 * e.se, e.log10_mean + 2.0 * e.se))
                .collect();
            let (prediction, which) = match &c.corrected {
                Some(p) => (p, "corrected prediction"),
                None => (&c.predicted, "mean field"),
            };
            let predicted = prediction.iter().enumerate().map(|(l, &p)| (layer(l), p)).collect();
            [
                Series::new(format!("{}: measured", c.init), Mark::Line, i, measured).with_band(band),
                Series::new(format!("{}: {which}", c.init), Mark::Dashed, i, predicted),
            ]
        })
        .collect();
    Figure {
        title: format!("{activation}: log10 ‖∂L/∂a_l‖² per layer, squared error"),
        subtitle: format!(
            "mean over {} networks, band ± 2 standard errors; dashed: the prediction, anchored at the top layer {}",
            d.nets, d.depth
        ),
        x: Axis::linear("layer l"),
        y: Axis::linear("log10 ‖∂L/∂a_l‖²"),
        series,
        rules: Vec::new(),
    }
}

/// The file name of section 6's loss-curve figure for `task`.
pub fn classic_plot_name(task: &str) -> String {
    format!("classic-{}.svg", task.to_lowercase())
}

/// The tasks of section 6, in order.
pub(super) fn classic_tasks(c: &Classic) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for r in &c.runs {
        if !names.contains(&r.task.as_str()) {
            names.push(&r.task);
        }
    }
    names
}

/// Section 6's figures that have something to draw.
pub fn classic_plots(c: &Classic) -> Vec<(String, String)> {
    classic_tasks(c).into_iter().filter_map(|t| Some((classic_plot_name(t), classic_figure(c, t).svg()?))).collect()
}

/// The median training loss against the epoch for every network of `task`: one colour per number
/// of hidden layers, solid with biases, dashed without; the constant predictor's loss and the
/// success threshold as rules.
pub fn classic_figure(c: &Classic, task: &str) -> Figure {
    let runs: Vec<_> = c.runs.iter().filter(|r| r.task == task).collect();
    let series = runs
        .iter()
        .map(|r| {
            let points = r.loss_curve.iter().map(|&(e, l)| (e as f64, l)).collect();
            let bias = if r.bias { "with bias" } else { "no bias" };
            let mark = if r.bias { Mark::Line } else { Mark::Dashed };
            Series::new(format!("{} hidden, {bias}", r.hidden_layers), mark, r.hidden_layers, points)
        })
        .collect();
    let constant = runs.first().map(|r| r.constant_loss);
    let mut rules: Vec<Rule> =
        constant.map(|y| Rule { y, label: "constant predictor: Var(t)".to_string() }).into_iter().collect();
    rules.push(Rule { y: classic::TARGET_LOSS, label: "success".to_string() });
    Figure {
        title: format!("{task}: median training loss by epoch"),
        subtitle: format!("median over {} seeds; logistic units, {} per hidden layer", c.seeds, classic::HIDDEN_WIDTH),
        x: Axis::linear("epoch"),
        y: Axis::log10("loss (1/4)·Σ(y − t)²"),
        series,
        rules,
    }
}

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
