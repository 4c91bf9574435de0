//! Section 7 — the symptom checklist, evaluated on the runs of sections 4–6: each symptom with the
//! rule that detects it and the runs that show it, as data (the sentences are `render`'s).

use super::Label;
use super::classic::Classic;
use super::exploding::Exploding;
use super::remedies::{Remedies, Remedy};
use vectorised::stats::Stage;

/// Loss within this relative distance of where it started counts as stuck.
pub const STUCK_BAND: f64 = 0.01;
/// At least this many >5% rises of the loss count as jumping.
pub const JUMPS: usize = 5;
/// ‖W‖ growing by at least this factor over training.
pub const GROWTH: f64 = 10.0;
/// ‖W‖ shrinking below this share of its start.
pub const SHRINK: f64 = 0.1;
/// The first layer moving less than this share of the last layer's movement.
pub const FIRST_LAST_MOVE: f64 = 0.01;

/// A symptom of the checklist (its name and its rule in words are `render`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymptomKind {
    /// The loss does not move: final within [`STUCK_BAND`] of the initial loss (section 5), or
    /// half the seeds on the constant predictor's plateau (section 6).
    LossStuck,
    /// At least [`JUMPS`] steps where the loss rose by more than 5%.
    LossJumping,
    /// A non-finite value met by the engine (section 4), or a training step refused for one.
    LossNonFinite,
    /// ‖W‖ at the end ≥ [`GROWTH`]× its start.
    WeightsGrowing,
    /// ‖∂L/∂W_l‖ > 1 for every layer l.
    GradientsAboveOne,
    /// Σ‖ΔW_1‖ < [`FIRST_LAST_MOVE`]·Σ‖ΔW_L‖ over training.
    OutputSideMovesMore,
    /// ‖W‖ at the end < [`SHRINK`]× its start.
    WeightsShrinking,
}

/// A run that shows a symptom.
#[derive(Debug, Clone, PartialEq)]
pub enum Witness {
    /// A run of section 5.
    Remedy {
        /// The variant.
        variant: Label<Remedy>,
        /// The seed index.
        seed: usize,
    },
    /// A configuration of section 6 where at least half the seeds stay on the plateau.
    ClassicStuck {
        /// "AND" or "XOR".
        task: String,
        /// Hidden layers.
        hidden_layers: usize,
        /// Whether the net has biases.
        bias: bool,
        /// The share of seeds stuck.
        stuck_share: f64,
    },
    /// A net of section 4's sweep that met a non-finite value.
    NonFinite {
        /// Its gain.
        gain: f64,
        /// "f32" or "f64".
        format: &'static str,
        /// The layer, 1-based.
        layer: usize,
        /// Which value.
        stage: Label<Stage>,
    },
    /// Section 4's clipping example.
    Clipping {
        /// Its gain.
        gain: f64,
        /// Its layers.
        depth: usize,
    },
}

/// One symptom and the runs that show it (serialized by `render`, as its sentences).
#[derive(Debug, Clone, PartialEq)]
pub struct Symptom {
    /// The symptom.
    pub kind: SymptomKind,
    /// Runs checked.
    pub checked: usize,
    /// The runs that show it.
    pub shown_by: Vec<Witness>,
}

/// Evaluates the checklist.
pub fn compute(exploding: &Exploding, remedies: &Remedies, classic: &Classic) -> Vec<Symptom> {
    let runs: Vec<(Label<Remedy>, &super::remedies::RunTrace)> =
        remedies.rows.iter().flat_map(|row| row.runs.iter().map(move |r| (row.name, r))).collect();
    let select = |pred: &dyn Fn(&super::remedies::RunTrace) -> bool| -> Vec<Witness> {
        runs.iter().filter(|(_, r)| pred(r)).map(|&(name, r)| Witness::Remedy { variant: name, seed: r.seed }).collect()
    };
    let mut stuck = select(&|r| (r.final_loss - r.initial_loss).abs() <= STUCK_BAND * r.initial_loss);
    stuck.extend(classic.runs.iter().filter(|c| c.stuck_share >= 0.5).map(|c| Witness::ClassicStuck {
        task: c.task.clone(),
        hidden_layers: c.hidden_layers,
        bias: c.bias,
        stuck_share: c.stuck_share,
    }));
    let mut non_finite: Vec<Witness> = exploding
        .sweep
        .iter()
        .flat_map(|row| {
            [("f32", &row.f32), ("f64", &row.f64)].into_iter().filter_map(move |(format, loc)| {
                loc.as_ref().map(|l| Witness::NonFinite { gain: row.gain, format, layer: l.layer, stage: l.stage })
            })
        })
        .collect();
    non_finite.extend(select(&|r| r.refused.is_some()));
    let every_layer_above_1 = exploding.clipping.raw.iter().all(|&g| g > 1.0);
    let clipping = Witness::Clipping { gain: exploding.clipping.gain, depth: exploding.clipping.depth };
    vec![
        Symptom { kind: SymptomKind::LossStuck, checked: runs.len() + classic.runs.len(), shown_by: stuck },
        Symptom { kind: SymptomKind::LossJumping, checked: runs.len(), shown_by: select(&|r| r.loss_jumps >= JUMPS) },
        Symptom {
            kind: SymptomKind::LossNonFinite,
            checked: runs.len() + 2 * exploding.sweep.len(),
            shown_by: non_finite,
        },
        Symptom {
            kind: SymptomKind::WeightsGrowing,
            checked: runs.len(),
            shown_by: select(&|r| r.weight_growth >= GROWTH),
        },
        Symptom {
            kind: SymptomKind::GradientsAboveOne,
            checked: 1,
            shown_by: if every_layer_above_1 { vec![clipping] } else { Vec::new() },
        },
        Symptom {
            kind: SymptomKind::OutputSideMovesMore,
            checked: runs.len(),
            shown_by: select(&|r| r.first_last_update_ratio.is_some_and(|x| x < FIRST_LAST_MOVE)),
        },
        Symptom {
            kind: SymptomKind::WeightsShrinking,
            checked: runs.len(),
            shown_by: select(&|r| r.weight_growth < SHRINK),
        },
    ]
}
