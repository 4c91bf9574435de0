//! Section 5 — remedies as controlled experiments: one task, two networks that fail to learn it —
//! a deep sigmoid network whose gradient vanishes and a deep ReLU network whose gradient explodes
//! — and the usual remedies one at a time, each row against its control (the row it changes one
//! thing of), trained on the vectorised engine's [`Trainer`](vectorised::train::Trainer).
//!
//! Task: 32 points drawn uniformly from [−1, 1]², labelled 1 where x₁·x₂ > 0 (the XOR quadrants);
//! binary cross-entropy on a sigmoid output; full-batch steps. Measured per run: the gradient
//! ratio ‖∂L/∂W_1‖ / ‖∂L/∂W_L‖ at initialisation (the vanishing or exploding gradient in one
//! number), the first layer's largest |∂L/∂w| beside Adam's ε, the final loss and accuracy, and
//! the loss and weight histories the symptom checklist (section 7) reads, and the loss curve,
//! thinned as section 6's ([`super::stats::curve_step`]).
//!
//! **Controls.** Every row trains on the same points per seed (one stream, keyed by the seed), and
//! a network's initial weights come from a stream keyed by the seed and its layer widths, not by
//! its row ([`initial_weights`]): rows that share widths and initialisation start from identical
//! weights (a remedy that changes the activation, the skip, the optimizer, clipping or decay
//! changes nothing else), and rows that differ in initialisation transform the same random numbers
//! (common random numbers). Each row's final loss is compared with its control's seed by seed
//! ([`Paired`]).
//!
//! **What a remedy addresses** ([`Verdict`]): a row addresses its problem when its control fails
//! on every seed and it succeeds on most of them; for the exploding network the control must also
//! have diverged (a step refused as non-finite, or a final loss above the initial one).

mod run;
mod variants;

use super::{Config, Label};
use rayon::prelude::*;
pub use run::{initial_weights, label_entropy, task, train};
use serde::Serialize;
pub use variants::{Problem, Remedy, Training, Variant, variants};
use vectorised::train::{Optimizer, Refusal};

/// Points in the task.
pub const POINTS: usize = 32;
/// Hidden units per hidden layer.
pub const WIDTH: usize = 8;
/// Hidden layers of the deep networks.
pub const DEEP: usize = 10;
/// A run succeeds when it classifies at least this share of the points right.
pub const SUCCESS_ACCURACY: f64 = 0.95;
/// The exploding network's weights: N(0, EXPLODING_GAIN²·2/n), He's variance times a gain², so
/// χ₁ = EXPLODING_GAIN² per layer for ReLU.
pub const EXPLODING_GAIN: f64 = 2.0;
/// The smaller Adam ε tried on the vanishing baseline (the default is
/// [`vectorised::train::ADAM_DEFAULT_EPSILON`]).
pub const SMALL_EPSILON: f64 = 1e-16;
/// λ of the decay rows, coupled and decoupled.
pub const WEIGHT_DECAY: f64 = 1e-3;
/// The clipping thresholds of the exploding network's rows: by global norm, and by value.
pub const CLIP_NORM: f64 = 1.0;
/// See [`CLIP_NORM`].
pub const CLIP_VALUE: f64 = 0.1;

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remedies {
    /// Steps per run.
    pub steps: usize,
    /// Seeds per variant.
    pub seeds: usize,
    /// The smallest and largest over seeds of the label entropy H(p) of the seed's labels: the
    /// constant predictor's loss ([`label_entropy`]), the same for every row.
    pub constant_loss_range: (f64, f64),
    /// Each baseline's final loss against the constant predictor's.
    pub baselines: Vec<BaselineEnd>,
    /// Adam's ε against the vanishing baseline's first-layer gradients.
    pub epsilon: EpsilonCheck,
    /// Coupled against decoupled decay under Adam.
    pub decay: DecayCheck,
    /// The momentum-SGD rows that do not address the vanishing gradient while the same network
    /// under Adam does ([`Remedy::adam_twin`]).
    pub adam_only: Vec<Label<Remedy>>,
    /// One row per variant.
    pub rows: Vec<RemedyRow>,
}

/// Where a baseline (a row without a control) ended, against the constant predictor's loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaselineEnd {
    /// The baseline (serialized as its name).
    pub name: Label<Remedy>,
    /// The largest |final loss − H(p)| ÷ H(p) over its seeds.
    pub largest_relative_gap: f64,
    /// Whether that is within [`classic::PLATEAU_BAND`](super::classic::PLATEAU_BAND): the run
    /// ended on the constant predictor's loss on every seed.
    pub at_constant: bool,
}

/// The decay rows under Adam: how much ‖W‖ shrank, coupled against decoupled, beside what the
/// decay alone would do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecayCheck {
    /// λ.
    pub weight_decay: f64,
    /// η.
    pub learning_rate: f64,
    /// (1 − ηλ)^T: ‖W‖ after T steps of decay alone (decoupled, or coupled under plain SGD),
    /// with no data gradient.
    pub decay_alone: f64,
    /// The median ‖W‖ end ÷ start of [`Remedy::L2`] (coupled, under Adam).
    pub coupled: f64,
    /// The same for [`Remedy::DecoupledDecay`] (AdamW).
    pub decoupled: f64,
    /// The same for the baseline (no decay).
    pub baseline: f64,
    /// Whether coupled L2 shrank ‖W‖ more than decoupled decay (the artefact shows).
    pub coupled_below_decoupled: bool,
}

/// Adam's ε beside the vanishing baseline's first-layer gradients. On Adam's first step
/// m̂ = g and √v̂ = |g|, so a weight moves by η·|g|/(|g| + ε): about η when |g| ≫ ε, and about
/// η·|g|/ε ≪ η when |g| ≪ ε.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpsilonCheck {
    /// The baseline's ε.
    pub epsilon: f64,
    /// The smaller ε of [`Remedy::SmallEpsilon`].
    pub small_epsilon: f64,
    /// The baseline's η.
    pub learning_rate: f64,
    /// The median over seeds of the baseline's largest first-layer |∂L/∂w| at initialisation.
    pub first_layer_max: f64,
    /// η·g/(g + ε) for that g: the first step's move of that weight.
    pub first_step: f64,
    /// The same with the smaller ε.
    pub first_step_small: f64,
}

/// One variant over every seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemedyRow {
    /// The variant (serialized as its name).
    pub name: Label<Remedy>,
    /// The network it starts from.
    pub problem: Problem,
    /// Its control (serialized as its name).
    pub control: Option<Label<Remedy>>,
    /// How it was trained (serialized as its sentence).
    pub training: Label<Training>,
    /// χ₁ of its hidden layers by mean field ([`Variant::chi_1`]).
    pub chi_1: Option<f64>,
    /// Median log10(‖∂L/∂W_1‖ / ‖∂L/∂W_L‖) at initialisation, over the runs where the last
    /// layer's gradient is not 0 (`None` if there are none).
    pub log10_grad_ratio: Option<f64>,
    /// Runs whose last layer had an exactly zero gradient at initialisation (a dead ReLU network).
    pub dead_at_init: usize,
    /// Median over runs of the first layer's largest |∂L/∂w| at initialisation.
    pub first_layer_max_grad: f64,
    /// Median final loss.
    pub median_final_loss: f64,
    /// The smallest and largest final loss over the seeds.
    pub final_loss_range: (f64, f64),
    /// The smallest and largest ‖g‖ at initialisation over the seeds.
    pub initial_grad_norm_range: (f64, f64),
    /// The smallest and largest first-step move ([`RunTrace::first_step_relative_update`]) over
    /// the seeds whose first step was applied (`None` if none was).
    pub first_step_range: Option<(f64, f64)>,
    /// Median over seeds of the steps whose gradient clipping changed.
    pub median_clipped_steps: f64,
    /// Seeds that blew up ([`RunTrace::blown_up`]).
    pub blown_up: usize,
    /// Median over seeds of ‖W‖ at the end ÷ at the start.
    pub median_weight_growth: f64,
    /// Share of seeds reaching [`SUCCESS_ACCURACY`].
    pub success_rate: f64,
    /// Against the control, seed by seed (`None` for a baseline).
    pub paired: Option<Paired>,
    /// What the row shows about its problem (`None` for a baseline; serialized as its words).
    pub verdict: Option<Label<Verdict>>,
    /// The training loss against the step over the seeds ([`RunTrace::loss_curve`]).
    pub loss_curve: Vec<LossPoint>,
    /// The runs, for the symptom checklist.
    pub runs: Vec<RunTrace>,
}

/// One point of a row's loss curve: the loss before a step, over the seeds whose loss was still
/// finite there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LossPoint {
    /// The step (0-based; the loss at the weights it starts from).
    pub step: usize,
    /// The median over the seeds (nearest rank).
    pub median: f64,
    /// The smallest.
    pub lowest: f64,
    /// The largest.
    pub highest: f64,
}

/// A row against its control on the same seeds (same points; same initial weights where the
/// widths and initialisation match).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Paired {
    /// Median over seeds of (this run's final loss − the control's on that seed).
    pub median_loss_change: f64,
    /// The smallest and largest of those differences.
    pub loss_change_range: (f64, f64),
    /// Seeds where this row succeeded.
    pub succeeded: usize,
    /// Seeds where the control succeeded.
    pub control_succeeded: usize,
}

/// What a row shows about its problem, judged from its runs and its control's ([`verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The control failed on every seed (and, for the exploding network, blew up on every seed:
    /// [`RunTrace::blown_up`]) and this row succeeded on more than half of them.
    Addresses,
    /// It succeeded on more seeds than the control, but not on most, or the control did not fail
    /// (or blow up) everywhere.
    Helps,
    /// It succeeded on no more seeds than the control, but ended below the control's final loss
    /// by more than [`LOWER_LOSS`] of it on every seed.
    LowersLoss,
    /// Neither.
    DoesNotHelp,
}

/// A final loss counts as lower than the control's when it is below it by more than this share.
pub const LOWER_LOSS: f64 = 0.02;
/// A first step that moves some layer's weights by at least this share of their norm has blown
/// the network up ([`RunTrace::blown_up`]).
pub const BLOWN_UP: f64 = 0.5;

/// What the symptom checklist reads from one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunTrace {
    /// The seed index.
    pub seed: usize,
    /// The loss before the first step.
    pub initial_loss: f64,
    /// The constant predictor's loss on this run's points: the label entropy
    /// H(p) = −p·ln p − (1 − p)·ln(1 − p), p the share of points labelled 1 (the cross-entropy
    /// of always answering p, the best constant answer; [`label_entropy`]).
    pub constant_loss: f64,
    /// ‖∂L/∂W_1‖ ÷ ‖∂L/∂W_L‖ at initialisation (`None` when ‖∂L/∂W_L‖ = 0).
    pub initial_grad_ratio: Option<f64>,
    /// The first layer's largest |∂L/∂w| at initialisation.
    pub initial_first_layer_max: f64,
    /// ‖g‖ over every weight and bias at initialisation (before clipping).
    pub initial_grad_norm: f64,
    /// The smallest ‖∂L/∂W_l‖ over the layers at initialisation.
    pub initial_min_layer_grad: f64,
    /// The first applied step's largest ‖ΔW_l‖ ÷ ‖W_l‖ (the initial weights': refused steps change
    /// nothing); `None` if every step was refused.
    pub first_step_relative_update: Option<f64>,
    /// The loss after the last step.
    pub final_loss: f64,
    /// Steps whose loss rose more than 5% over the step before.
    pub loss_jumps: usize,
    /// Steps the trainer refused for a non-finite value, if any.
    pub refused: Option<Refused>,
    /// Steps whose gradient clipping changed.
    pub clipped_steps: usize,
    /// ‖W‖ over every layer, after the last step ÷ before the first.
    pub weight_growth: f64,
    /// Σ over steps of ‖ΔW_1‖ ÷ Σ of ‖ΔW_L‖: how much the first layer moved relative to the last
    /// (`None` if the last layer never moved).
    pub first_last_update_ratio: Option<f64>,
    /// Final accuracy.
    pub accuracy: f64,
    /// The loss before the steps 0, k, 2k, … (k = [`curve_step`](super::stats::curve_step) of
    /// the steps), until the first one that is not finite; in the JSON as its row's
    /// [`RemedyRow::loss_curve`].
    #[serde(skip)]
    pub loss_curve: Vec<f64>,
}

impl RunTrace {
    /// Whether it classified at least [`SUCCESS_ACCURACY`] of the points right.
    pub fn succeeded(&self) -> bool {
        self.accuracy >= SUCCESS_ACCURACY
    }

    /// Whether training blew up: its first step moved some layer's weights by at least
    /// [`BLOWN_UP`] of their norm, a step was refused as non-finite, or the final loss is not
    /// finite or above the initial one.
    pub fn blown_up(&self) -> bool {
        self.first_step_relative_update.is_none_or(|u| u >= BLOWN_UP)
            || self.refused.is_some()
            || self.final_loss.partial_cmp(&self.initial_loss).is_none_or(std::cmp::Ordering::is_gt)
    }
}

/// The steps of one run that the trainer refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Refused {
    /// How many.
    pub steps: usize,
    /// The first one (0-based).
    pub first_step: usize,
    /// Why the first one was refused.
    pub first: Label<Refusal>,
}

/// Computes the section: every (row, seed) run in parallel, each from its own streams.
pub fn compute(config: &Config) -> Remedies {
    let (steps, seeds) = if config.quick { (100, 2) } else { (800, 3) };
    let variants = variants();
    let jobs: Vec<(usize, usize)> = (0..variants.len()).flat_map(|v| (0..seeds).map(move |s| (v, s))).collect();
    let mut runs: Vec<RunTrace> =
        jobs.into_par_iter().map(|(v, seed)| run::train(config.seed, &variants[v], seed, steps)).collect();
    let mut per_row: Vec<Vec<RunTrace>> = Vec::with_capacity(variants.len());
    for _ in &variants {
        per_row.push(runs.drain(..seeds).collect());
    }
    let rows: Vec<RemedyRow> = variants
        .iter()
        .zip(&per_row)
        .map(|(variant, runs)| {
            let control = variant.control.map(|c| {
                let index = variants.iter().position(|v| v.name == c).expect("a control is a row");
                (&variants[index], &per_row[index][..])
            });
            row(variant, runs.clone(), control, steps)
        })
        .collect();
    let constant_loss_range = range((0..seeds).map(|s| label_entropy(&task(config.seed, s).1)));
    let baselines = rows
        .iter()
        .filter(|r| r.control.is_none())
        .map(|r| {
            let gap = r.runs.iter().map(|run| (run.final_loss - run.constant_loss).abs() / run.constant_loss);
            let largest_relative_gap = gap.fold(0.0, f64::max);
            BaselineEnd {
                name: r.name,
                largest_relative_gap,
                at_constant: largest_relative_gap <= super::classic::PLATEAU_BAND,
            }
        })
        .collect();
    let base = &variants[0];
    let Optimizer::Adam { epsilon, .. } = base.training.optimizer else {
        unreachable!("the baseline trains with Adam")
    };
    let g = rows[0].first_layer_max_grad;
    let eta = base.training.learning_rate;
    let epsilon = EpsilonCheck {
        epsilon,
        small_epsilon: SMALL_EPSILON,
        learning_rate: eta,
        first_layer_max: g,
        first_step: eta * g / (g + epsilon),
        first_step_small: eta * g / (g + SMALL_EPSILON),
    };
    let growth = |name: Remedy| rows.iter().find(|r| r.name.0 == name).expect("a row").median_weight_growth;
    let (coupled, decoupled) = (growth(Remedy::L2), growth(Remedy::DecoupledDecay));
    let decay = DecayCheck {
        weight_decay: WEIGHT_DECAY,
        learning_rate: eta,
        decay_alone: (1.0 - eta * WEIGHT_DECAY).powi(steps as i32),
        coupled,
        decoupled,
        baseline: growth(Remedy::Baseline),
        coupled_below_decoupled: coupled < decoupled,
    };
    let addresses =
        |name: Remedy| rows.iter().any(|r| r.name.0 == name && r.verdict == Some(Label(Verdict::Addresses)));
    let adam_only = rows
        .iter()
        .filter(|r| r.name.0.adam_twin().is_some_and(addresses) && !addresses(r.name.0))
        .map(|r| r.name)
        .collect();
    Remedies { steps, seeds, constant_loss_range, baselines, epsilon, decay, adam_only, rows }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    super::stats::percentile(&v, 50.0)
}

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
}

/// The seeds' loss curves as a median and range per recorded step.
fn loss_curve(runs: &[RunTrace], steps: usize) -> Vec<LossPoint> {
    let curves: Vec<&[f64]> = runs.iter().map(|r| &r.loss_curve[..]).collect();
    super::stats::curve_columns(&curves, steps)
        .into_iter()
        .map(|(step, at)| LossPoint {
            step,
            median: super::stats::percentile(&at, 50.0),
            lowest: at[0],
            highest: at[at.len() - 1],
        })
        .collect()
}

fn row(variant: &Variant, runs: Vec<RunTrace>, control: Option<(&Variant, &[RunTrace])>, steps: usize) -> RemedyRow {
    let ratios: Vec<f64> = runs.iter().filter_map(|r| r.initial_grad_ratio.map(f64::log10)).collect();
    let succeeded = runs.iter().filter(|r| r.succeeded()).count();
    let paired = control.map(|(_, c)| {
        let changes: Vec<f64> = runs.iter().zip(c).map(|(r, c)| r.final_loss - c.final_loss).collect();
        Paired {
            median_loss_change: median(changes.clone()),
            loss_change_range: range(changes.into_iter()),
            succeeded,
            control_succeeded: c.iter().filter(|r| r.succeeded()).count(),
        }
    });
    let verdict = control.map(|(_, c_runs)| Label(verdict(variant.problem, &runs, c_runs)));
    RemedyRow {
        name: Label(variant.name),
        problem: variant.problem,
        control: variant.control.map(Label),
        training: Label(variant.training),
        chi_1: variant.chi_1(),
        log10_grad_ratio: (!ratios.is_empty()).then(|| median(ratios)),
        dead_at_init: runs.iter().filter(|r| r.initial_grad_ratio.is_none()).count(),
        first_layer_max_grad: median(runs.iter().map(|r| r.initial_first_layer_max).collect()),
        median_final_loss: median(runs.iter().map(|r| r.final_loss).collect()),
        final_loss_range: range(runs.iter().map(|r| r.final_loss)),
        initial_grad_norm_range: range(runs.iter().map(|r| r.initial_grad_norm)),
        first_step_range: {
            let moves: Vec<f64> = runs.iter().filter_map(|r| r.first_step_relative_update).collect();
            (!moves.is_empty()).then(|| range(moves.into_iter()))
        },
        median_clipped_steps: median(runs.iter().map(|r| r.clipped_steps as f64).collect()),
        blown_up: runs.iter().filter(|r| r.blown_up()).count(),
        median_weight_growth: median(runs.iter().map(|r| r.weight_growth).collect()),
        success_rate: succeeded as f64 / runs.len() as f64,
        paired,
        verdict,
        loss_curve: loss_curve(&runs, steps),
        runs,
    }
}

/// [`Verdict`] of `runs` against its control's runs.
pub fn verdict(problem: Problem, runs: &[RunTrace], control: &[RunTrace]) -> Verdict {
    let succeeded = runs.iter().filter(|r| r.succeeded()).count();
    let control_succeeded = control.iter().filter(|r| r.succeeded()).count();
    let control_failed = control_succeeded == 0
        && match problem {
            Problem::Vanishing => true,
            Problem::Exploding => control.iter().all(RunTrace::blown_up),
        };
    let lower = runs.iter().zip(control).all(|(r, c)| r.final_loss < (1.0 - LOWER_LOSS) * c.final_loss);
    if control_failed && 2 * succeeded > runs.len() {
        Verdict::Addresses
    } else if succeeded > control_succeeded {
        Verdict::Helps
    } else if lower {
        Verdict::LowersLoss
    } else {
        Verdict::DoesNotHelp
    }
}
