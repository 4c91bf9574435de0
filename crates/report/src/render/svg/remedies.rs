//! Section 5's figures: the remedies' training loss against the step, one figure per problem and
//! optimizer, with the constant predictor's plateau drawn.
//!
//! Each variant is drawn as its median over the seeds with the seeds' range as a band, not as one
//! line per seed: a panel holds up to nine variants, and three seeds each would be 27 lines, where
//! the median with its range shows the same thing (a variant whose seeds disagree has a wide band)
//! and keeps one colour per variant readable.

use super::super::figure::{Axis, Figure, Mark, Rule, Scale, Series};
use crate::sections::remedies::{Problem, Remedies, RemedyRow};
use vectorised::train::Optimizer;

/// One figure of section 5: the rows of one problem under one kind of optimizer, as the section's
/// tables group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemediesPanel {
    /// The vanishing network's rows under Adam.
    VanishingAdam,
    /// The vanishing network's rows under momentum SGD.
    VanishingSgd,
    /// The exploding network's rows (SGD, and one under Adam).
    Exploding,
}

impl RemediesPanel {
    /// The three, in the section's order.
    pub const ALL: [RemediesPanel; 3] =
        [RemediesPanel::VanishingAdam, RemediesPanel::VanishingSgd, RemediesPanel::Exploding];

    /// Whether `row` belongs to this panel (and to its table).
    pub fn holds(self, row: &RemedyRow) -> bool {
        let adam = matches!(row.training.0.optimizer, Optimizer::Adam { .. });
        match self {
            RemediesPanel::VanishingAdam => row.problem == Problem::Vanishing && adam,
            RemediesPanel::VanishingSgd => row.problem == Problem::Vanishing && !adam,
            RemediesPanel::Exploding => row.problem == Problem::Exploding,
        }
    }

    /// The figure's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            RemediesPanel::VanishingAdam => "remedies-vanishing-adam.svg",
            RemediesPanel::VanishingSgd => "remedies-vanishing-sgd.svg",
            RemediesPanel::Exploding => "remedies-exploding.svg",
        }
    }

    /// The figure's title (also the Markdown's alt text).
    pub fn title(self) -> &'static str {
        match self {
            RemediesPanel::VanishingAdam => "The vanishing gradient under Adam: training loss by step",
            RemediesPanel::VanishingSgd => "The vanishing gradient under momentum SGD: training loss by step",
            RemediesPanel::Exploding => "The exploding gradient: training loss by step",
        }
    }
}

/// Section 5's figures that have something to draw.
pub fn remedies_plots(r: &Remedies) -> Vec<(String, String)> {
    RemediesPanel::ALL
        .into_iter()
        .filter_map(|p| Some((p.file_name().to_string(), remedies_figure(r, p).svg()?)))
        .collect()
}

/// The training loss of every row of `panel` against the step: the median over the seeds, the
/// seeds' range as a band, one colour per row; the constant predictor's loss H(p) as a rule (two,
/// at the lowest and highest over the seeds, where the seeds' labels differ). The loss axis is
/// logarithmic when the curves span a decade or more.
pub fn remedies_figure(r: &Remedies, panel: RemediesPanel) -> Figure {
    let series: Vec<Series> = r
        .rows
        .iter()
        .filter(|row| panel.holds(row))
        .enumerate()
        .map(|(i, row)| {
            let median = row.loss_curve.iter().map(|p| (p.step as f64, p.median)).collect();
            let band = row.loss_curve.iter().map(|p| (p.step as f64, p.lowest, p.highest)).collect();
            Series::new(row.name.to_string(), Mark::Line, i, median).with_band(band)
        })
        .collect();
    let (lo, hi) = r.constant_loss_range;
    let rules = if lo == hi {
        vec![Rule { y: lo, label: "constant predictor: H(p)".to_string() }]
    } else {
        vec![
            Rule { y: lo, label: "constant predictor: H(p), the lowest over the seeds".to_string() },
            Rule { y: hi, label: "constant predictor: H(p), the highest over the seeds".to_string() },
        ]
    };
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1).chain(s.band.iter().flat_map(|b| [b.1, b.2])));
    let label = "training loss (binary cross-entropy)";
    let y = match Scale::for_values(values.chain([lo, hi])) {
        Scale::Log10 => Axis::log10(label),
        Scale::Linear => Axis::linear(label),
    };
    Figure {
        title: panel.title().to_string(),
        subtitle: format!(
            "median over {} seeds, band: their range; the loss before each step, until it is not finite",
            r.seeds
        ),
        x: Axis::linear("step"),
        y,
        series,
        rules,
    }
}
