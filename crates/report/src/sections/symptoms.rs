//! Section 7 — the symptom checklist, evaluated on the runs of sections 4–6: each symptom with the
//! rule that detects it, the runs that show it (each with whether it trained successfully) and,
//! where a symptom is also normal or an artefact, the caveat — as data (the sentences are
//! `render`'s).
//!
//! "Loss stuck" compares a run's final loss with the constant predictor's — the loss of always
//! answering the best constant, which a network that learned nothing about its inputs reaches:
//! the label entropy H(p) for section 5's cross-entropy ([`super::remedies::label_entropy`]),
//! Var(t) for section 6's squared error — not with its initial loss (a run can fall from a bad
//! start onto that plateau and stay there).
//!
//! Coupled L2 under Adam: the step adds λ·w to the data gradient g before Adam normalises it, so
//! where λ|w| ≫ |g| (a vanishing gradient) Adam's m̂/√v̂ ≈ sign(w) and every weight moves by about
//! the learning rate η towards 0 per step, whatever λ: ‖W‖ collapses in |w|/η steps. The same λ
//! under plain gradient descent shrinks a weight by the factor (1 − ηλ) per step at most
//! ([`Caveat::CoupledDecayUnderAdam`]).

use super::Label;
use super::classic::{self, Classic, ClassicRuns};
use super::exploding::Exploding;
use super::handwritten::Bug;
use super::remedies::{self, Remedies, Remedy, RunTrace};
use vectorised::stats::Stage;
use vectorised::train::{DecayForm, Optimizer};

/// A final loss within this relative distance of the constant predictor's loss is stuck on its
/// plateau (section 6's band, so both sections use one rule).
pub const STUCK_BAND: f64 = classic::PLATEAU_BAND;
/// At least this many >5% rises of the loss count as jumping.
pub const JUMPS: usize = 5;
/// ‖W‖ growing by at least this factor over training.
pub const GROWTH: f64 = 10.0;
/// ‖W‖ shrinking below this share of its start.
pub const SHRINK: f64 = 0.1;
/// The first layer moving less than this share of the last layer's movement.
pub const FIRST_LAST_MOVE: f64 = 0.01;

/// "Loss stuck": the final loss within [`STUCK_BAND`] of the constant predictor's.
pub fn loss_stuck(run: &RunTrace) -> bool {
    (run.final_loss - run.constant_loss).abs() <= STUCK_BAND * run.constant_loss
}

/// "Loss jumping": at least [`JUMPS`] steps where the loss rose by more than 5%.
pub fn loss_jumping(run: &RunTrace) -> bool {
    run.loss_jumps >= JUMPS
}

/// "Weights growing": ‖W‖ at the end ≥ [`GROWTH`]× its start.
pub fn weights_growing(run: &RunTrace) -> bool {
    run.weight_growth >= GROWTH
}

/// "Weights shrinking": ‖W‖ at the end < [`SHRINK`]× its start.
pub fn weights_shrinking(run: &RunTrace) -> bool {
    run.weight_growth < SHRINK
}

/// "Gradients above 1 in every layer", for a run of section 5: ‖∂L/∂W_l‖ > 1 for every layer l at
/// initialisation.
pub fn gradients_above_one(run: &RunTrace) -> bool {
    run.initial_min_layer_grad > 1.0
}

/// "Output side moves more": Σ‖ΔW_1‖ < [`FIRST_LAST_MOVE`]·Σ‖ΔW_L‖.
pub fn output_side_moves_more(run: &RunTrace) -> bool {
    run.first_last_update_ratio.is_some_and(|x| x < FIRST_LAST_MOVE)
}

/// Whether a run of section 5 succeeded (classified at least
/// [`SUCCESS_ACCURACY`](remedies::SUCCESS_ACCURACY) of the points right).
pub fn succeeded(run: &RunTrace) -> bool {
    run.accuracy >= remedies::SUCCESS_ACCURACY
}

/// A symptom of the checklist (its name and its rule in words are `render`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymptomKind {
    /// [`loss_stuck`] (section 5), or a seed of section 6 still on the constant predictor's
    /// plateau at the end.
    LossStuck,
    /// [`loss_jumping`].
    LossJumping,
    /// A non-finite value met by the engine (section 4), or a training step refused for one.
    LossNonFinite,
    /// [`weights_growing`].
    WeightsGrowing,
    /// ‖∂L/∂W_l‖ > 1 for every layer l: section 4's clipping example, or a run of section 5 at
    /// initialisation ([`gradients_above_one`]).
    GradientsAboveOne,
    /// [`output_side_moves_more`].
    OutputSideMovesMore,
    /// [`weights_shrinking`].
    WeightsShrinking,
}

/// A run (or a set of seeds) that shows a symptom.
#[derive(Debug, Clone, PartialEq)]
pub enum Witness {
    /// A run of section 5.
    Remedy {
        /// The variant.
        variant: Label<Remedy>,
        /// The seed index.
        seed: usize,
        /// Whether the run succeeded ([`succeeded`]).
        succeeded: bool,
    },
    /// A configuration of section 6 (or a bug case's training) with seeds stuck on the plateau at
    /// the end (none of them succeeded: the plateau is far above the target loss).
    ClassicStuck {
        /// "AND" or "XOR".
        task: String,
        /// Hidden layers.
        hidden_layers: usize,
        /// Units per hidden layer.
        width: usize,
        /// Whether the net has biases.
        bias: bool,
        /// The bug it was trained with ([`Bug::None`] for the main table).
        bug: Label<Bug>,
        /// Seeds stuck.
        stuck: usize,
        /// Seeds trained.
        seeds: usize,
    },
    /// A net of section 4's sweep that met a non-finite value (not trained).
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
    /// Section 4's clipping example (not trained).
    Clipping {
        /// Its gain.
        gain: f64,
        /// Its layers.
        depth: usize,
    },
}

impl Witness {
    /// The runs it stands for.
    pub fn runs(&self) -> usize {
        match self {
            Witness::ClassicStuck { stuck, .. } => *stuck,
            _ => 1,
        }
    }

    /// Whether its runs succeeded (`None` for a network that was not trained).
    pub fn succeeded(&self) -> Option<bool> {
        match self {
            Witness::Remedy { succeeded, .. } => Some(*succeeded),
            Witness::ClassicStuck { .. } => Some(false),
            Witness::NonFinite { .. } | Witness::Clipping { .. } => None,
        }
    }
}

/// Why a symptom shown may not mean what the checklist says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Caveat {
    /// The symptom also shows in runs that train well (a loss that rises now and then under
    /// Adam's steps, weights that grow as a net fits its data): `succeeded` of the `runs` showing
    /// it succeeded.
    NormalInHealthyRuns {
        /// Runs showing it that succeeded.
        succeeded: usize,
        /// Runs showing it.
        runs: usize,
    },
    /// `coupled` of the `runs` showing it add L2 decay λ·w to the gradient under Adam (coupled
    /// decay): Adam's normalised step moves each weight by about η per step towards 0 where λ|w|
    /// dominates a tiny data gradient — the optimiser's artefact.
    CoupledDecayUnderAdam {
        /// Runs showing it trained with coupled decay under Adam.
        coupled: usize,
        /// Runs showing it.
        runs: usize,
        /// Their learning rate η.
        learning_rate: f64,
        /// Their λ.
        weight_decay: f64,
        /// Their steps T.
        steps: usize,
        /// η·T: how far Adam's steps can carry a weight over the run.
        reach: f64,
        /// (1 − ηλ)^T: the most the same λ would shrink ‖W‖ under plain gradient descent.
        decay_alone: f64,
    },
}

/// One symptom and the runs that show it (serialized by `render`, as its sentences).
#[derive(Debug, Clone, PartialEq)]
pub struct Symptom {
    /// The symptom.
    pub kind: SymptomKind,
    /// Runs checked.
    pub checked: usize,
    /// Runs showing it (a section-6 witness stands for its stuck seeds).
    pub runs: usize,
    /// The runs that show it.
    pub shown_by: Vec<Witness>,
    /// What to keep in mind, where it applies to the runs shown.
    pub caveat: Option<Caveat>,
}

/// The runs showing a symptom by outcome (each witness counted as [`Witness::runs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcomes {
    /// Trained runs that succeeded.
    pub succeeded: usize,
    /// Trained runs that failed.
    pub failed: usize,
    /// Networks that were not trained (section 4's).
    pub not_trained: usize,
}

impl Symptom {
    /// Its runs by outcome; they add up to [`Symptom::runs`].
    pub fn outcomes(&self) -> Outcomes {
        self.shown_by.iter().fold(Outcomes::default(), |o, w| match w.succeeded() {
            Some(true) => Outcomes { succeeded: o.succeeded + w.runs(), ..o },
            Some(false) => Outcomes { failed: o.failed + w.runs(), ..o },
            None => Outcomes { not_trained: o.not_trained + w.runs(), ..o },
        })
    }
}

/// The section-6 rows a stuck witness can come from: the main table and each bug's training.
fn classic_rows(classic: &Classic) -> impl Iterator<Item = &ClassicRuns> {
    classic.runs.iter().chain(classic.bugs.iter().map(|b| &b.training))
}

/// Evaluates the checklist.
pub fn compute(exploding: &Exploding, remedies: &Remedies, classic: &Classic) -> Vec<Symptom> {
    let variants = remedies::variants();
    let runs: Vec<(Label<Remedy>, &RunTrace)> =
        remedies.rows.iter().flat_map(|row| row.runs.iter().map(move |r| (row.name, r))).collect();
    let select = |rule: fn(&RunTrace) -> bool| -> Vec<Witness> {
        runs.iter()
            .filter(|(_, r)| rule(r))
            .map(|&(name, r)| Witness::Remedy { variant: name, seed: r.seed, succeeded: succeeded(r) })
            .collect()
    };
    let classic_seeds = classic_rows(classic).count() * classic.seeds;
    let mut stuck = select(loss_stuck);
    stuck.extend(classic_rows(classic).filter_map(|c| {
        let count = (c.stuck_share * classic.seeds as f64).round() as usize;
        (count > 0).then(|| Witness::ClassicStuck {
            task: c.task.clone(),
            hidden_layers: c.hidden_layers,
            width: classic::HIDDEN_WIDTH,
            bias: c.bias,
            bug: Label(c.bug),
            stuck: count,
            seeds: classic.seeds,
        })
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
    non_finite.extend(select(|r| r.refused.is_some()));
    let every_layer_above_1 = exploding.clipping.raw.iter().all(|&g| g > 1.0);
    let clipping = Witness::Clipping { gain: exploding.clipping.gain, depth: exploding.clipping.depth };
    let mut above_one = if every_layer_above_1 { vec![clipping] } else { Vec::new() };
    above_one.extend(select(gradients_above_one));
    let symptom = |kind, checked, shown_by: Vec<Witness>| {
        let runs = shown_by.iter().map(Witness::runs).sum();
        Symptom { kind, checked, runs, shown_by, caveat: None }
    };
    let healthy = |s: Symptom| {
        let succeeded = s.shown_by.iter().filter(|w| w.succeeded() == Some(true)).map(Witness::runs).sum();
        let caveat = (s.runs > 0).then_some(Caveat::NormalInHealthyRuns { succeeded, runs: s.runs });
        Symptom { caveat, ..s }
    };
    let coupled_decay = |s: Symptom| {
        let coupled: Vec<remedies::Training> = s
            .shown_by
            .iter()
            .filter_map(|w| match w {
                Witness::Remedy { variant, .. } => variants.iter().find(|v| v.name == variant.0),
                _ => None,
            })
            .map(|v| v.training)
            .filter(|t| {
                t.weight_decay > 0.0
                    && t.decay_form == DecayForm::Coupled
                    && matches!(t.optimizer, Optimizer::Adam { .. })
            })
            .collect();
        let caveat = coupled.first().map(|t| Caveat::CoupledDecayUnderAdam {
            coupled: coupled.len(),
            runs: s.runs,
            learning_rate: t.learning_rate,
            weight_decay: t.weight_decay,
            steps: remedies.steps,
            reach: t.learning_rate * remedies.steps as f64,
            decay_alone: (1.0 - t.learning_rate * t.weight_decay).powi(remedies.steps as i32),
        });
        Symptom { caveat, ..s }
    };
    vec![
        symptom(SymptomKind::LossStuck, runs.len() + classic_seeds, stuck),
        healthy(symptom(SymptomKind::LossJumping, runs.len(), select(loss_jumping))),
        symptom(SymptomKind::LossNonFinite, runs.len() + 2 * exploding.sweep.len(), non_finite),
        healthy(symptom(SymptomKind::WeightsGrowing, runs.len(), select(weights_growing))),
        symptom(SymptomKind::GradientsAboveOne, 1 + runs.len(), above_one),
        symptom(SymptomKind::OutputSideMovesMore, runs.len(), select(output_side_moves_more)),
        coupled_decay(symptom(SymptomKind::WeightsShrinking, runs.len(), select(weights_shrinking))),
    ]
}
