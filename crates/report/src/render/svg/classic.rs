//! Section 6's figures: the classic networks' training loss by epoch.

use super::super::figure::{Axis, Figure, Mark, Rule, Series};
use crate::sections::classic::{self, Classic};

/// The file name of section 6's loss-curve figure for `task`.
pub fn classic_plot_name(task: &str) -> String {
    format!("classic-{}.svg", task.to_lowercase())
}

/// The tasks of section 6, in order.
pub(in crate::render) fn classic_tasks(c: &Classic) -> Vec<&str> {
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
