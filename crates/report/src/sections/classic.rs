//! Section 6 — why the network does not train, the classic case: AND and XOR with logistic units,
//! 0–3 hidden layers of 2 units, with and without bias, trained by full-batch gradient descent on
//! squared error over many seeds; and the classic bugs, reproduced with [`super::handwritten`] and caught
//! (or not) by gradient checking against the oracle.
//!
//! The constant predictor's loss — what a network that outputs the mean target for every input
//! reaches — is Var(t) = mean((t − mean t)²): 3/16 = 0.1875 for AND, 1/4 for XOR. A run that
//! "plateaus" spends at least [`PLATEAU_EPOCHS`] consecutive epochs within [`PLATEAU_BAND`]
//! (relative) of it.

use super::handwritten::{Bug, Net, Param, Scratch, oracle_loss};
use super::{Config, Label, Stream, stream_rng};
use rayon::prelude::*;
use scalar::gradcheck::{Options, check_gradient};
use serde::Serialize;

/// Full-batch gradient-descent step size.
pub const LEARNING_RATE: f64 = 2.0;
/// A run succeeds when its loss falls below this (every output within about 0.1 of its target).
pub const TARGET_LOSS: f64 = 0.01;
/// Relative distance from the constant predictor's loss that counts as "on the plateau".
pub const PLATEAU_BAND: f64 = 0.02;
/// Consecutive epochs on the plateau that make a plateau.
pub const PLATEAU_EPOCHS: usize = 100;
/// Hidden units per hidden layer.
pub const HIDDEN_WIDTH: usize = 2;
pub use super::stats::{CURVE_POINTS, curve_step};

/// A task: four inputs and their targets.
#[derive(Debug, Clone, Copy)]
pub struct Task {
    /// "AND" or "XOR".
    pub name: &'static str,
    /// The four targets for inputs (0,0), (0,1), (1,0), (1,1).
    pub targets: [f64; 4],
}

/// The inputs of both tasks.
pub const INPUTS: [[f64; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// y = x1 AND x2.
pub const AND: Task = Task { name: "AND", targets: [0.0, 0.0, 0.0, 1.0] };
/// y = x1 XOR x2.
pub const XOR: Task = Task { name: "XOR", targets: [0.0, 1.0, 1.0, 0.0] };

impl Task {
    /// Var(t): the loss of the best constant prediction.
    pub fn constant_loss(&self) -> f64 {
        let mean = self.targets.iter().sum::<f64>() / 4.0;
        self.targets.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / 4.0
    }
}

/// The whole section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classic {
    /// Epochs per run.
    pub epochs: usize,
    /// Seeds per configuration.
    pub seeds: usize,
    /// One row per (task, hidden layers, bias).
    pub runs: Vec<ClassicRuns>,
    /// One row per reproduced bug.
    pub bugs: Vec<BugCase>,
}

/// The outcome of training one configuration over every seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassicRuns {
    /// "AND" or "XOR".
    pub task: String,
    /// Hidden layers.
    pub hidden_layers: usize,
    /// Whether the units have biases.
    pub bias: bool,
    /// The bug trained with ([`Bug::None`] for the main table).
    pub bug: Bug,
    /// The constant predictor's loss.
    pub constant_loss: f64,
    /// Share of seeds whose loss fell below [`TARGET_LOSS`].
    pub success_rate: f64,
    /// Median epochs to reach the target, over the successful seeds.
    pub median_epochs_to_target: Option<usize>,
    /// Median final loss over all seeds.
    pub median_final_loss: f64,
    /// Share of seeds whose loss sat on the constant predictor's plateau.
    pub plateau_share: f64,
    /// Share of seeds still on the plateau at the end.
    pub stuck_share: f64,
    /// Median over seeds of the largest spread between the weight rows of units of one hidden
    /// layer at the end (0 means the units stayed identical).
    pub median_hidden_spread: Option<f64>,
    /// The largest of those spreads over the seeds: 0 when the units stayed identical in every
    /// run, which is what [`Diagnosis::SymmetryNeverBroken`] says. Not serialized (the median is).
    #[serde(skip)]
    pub largest_hidden_spread: Option<f64>,
    /// Seeds whose loss became non-finite, if any (never expected).
    pub non_finite_runs: usize,
    /// (epoch, median loss over the seeds) at the epochs 0, k, 2k, … (k = ⌈epochs /
    /// [`CURVE_POINTS`]⌉), the loss the training code computes before that epoch's step (with a
    /// bug in the data, on the data it sees); a seed whose loss became non-finite leaves the
    /// medians from then on.
    pub loss_curve: Vec<(usize, f64)>,
}

/// A bug, reproduced: what gradient checking says, and what training with it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BugCase {
    /// The bug.
    pub bug: Bug,
    /// What it is (serialized as its description).
    pub description: Label<Bug>,
    /// The task it is shown on.
    pub task: String,
    /// Hidden layers, as in `training`, of this many units each.
    pub hidden_width: usize,
    /// Whether the hand-written gradient passes the check against the oracle's loss on the real
    /// data.
    pub gradient_check_passed: bool,
    /// Whether it passes the check against the oracle's loss on the data the code computes with
    /// ([`Bug::input_seen`]: zeros for [`Bug::InputsAsZeros`], the real inputs otherwise).
    pub gradient_check_on_seen_data_passed: bool,
    /// The worst coordinate: which parameter, the claimed and the numeric derivative.
    pub worst: Option<(Label<Param>, f64, f64)>,
    /// Training with the bug (same seeds and budget as the main table).
    pub training: ClassicRuns,
    /// Median over the seeds of the final loss the code itself reports (on the data it sees;
    /// `training.median_final_loss` is judged on the real data).
    pub median_reported_final_loss: f64,
    /// What reveals the bug, judged from the measurements above.
    pub diagnosis: Diagnosis,
}

/// What a bug case shows, decided in [`Diagnosis`]'s order from the gradient checks (on the data
/// the code sees, and on the real data) and the training runs.
pub fn diagnose(
    seen_passed: bool,
    real_passed: bool,
    training: &ClassicRuns,
    median_reported_final_loss: f64,
) -> Diagnosis {
    if !seen_passed {
        Diagnosis::GradientsWrong
    } else if !real_passed {
        let constant_loss = training.constant_loss;
        Diagnosis::WrongData {
            median_reported_final_loss,
            constant_loss,
            settles_at_constant: (median_reported_final_loss - constant_loss).abs() <= PLATEAU_BAND * constant_loss,
        }
    } else if training.largest_hidden_spread == Some(0.0) {
        Diagnosis::SymmetryNeverBroken
    } else if training.success_rate == 0.0 {
        Diagnosis::CannotFit { median_final_loss: training.median_final_loss, constant_loss: training.constant_loss }
    } else {
        Diagnosis::TrainingSucceeds
    }
}

/// Seeds per configuration: half of `--samples` (training runs cost far more than chains).
pub fn seeds(config: &Config) -> usize {
    config.samples.div_ceil(2)
}

/// What a bug case shows, in the order it is decided (its sentence is `render`'s, in the Markdown
/// and the JSON alike).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Diagnosis {
    /// The gradient check against the oracle fails, on the data the code sees as on the real data.
    GradientsWrong,
    /// The gradients are right for the data the code computes with, which is not the real data:
    /// the check passes against the oracle on that data and fails on the real data. Training
    /// settles where that data lets it: for zeroed inputs only the biases matter, the output is
    /// one constant for every point, and the best constant, mean(t), costs Var(t).
    WrongData {
        /// The median final loss the code itself reports.
        median_reported_final_loss: f64,
        /// The constant predictor's loss, Var(t).
        constant_loss: f64,
        /// Whether the first is within [`PLATEAU_BAND`] of the second: training found no more in
        /// the data it sees than the constant predictor does.
        settles_at_constant: bool,
    },
    /// The gradients are right, but every hidden unit stays identical to the others, in every
    /// seed's run.
    SymmetryNeverBroken,
    /// The gradients are right, but no seed fits the task.
    CannotFit {
        /// The median final loss over the seeds.
        median_final_loss: f64,
        /// The constant predictor's loss.
        constant_loss: f64,
    },
    /// The gradients are right and training succeeds.
    TrainingSucceeds,
}

/// The main table's rows: (task, index of the task, hidden layers, bias), in the table's order.
fn main_rows() -> impl Iterator<Item = (Task, usize, usize, bool)> {
    [AND, XOR]
        .into_iter()
        .enumerate()
        .flat_map(|(t, task)| (0..=3).flat_map(move |hidden| [true, false].map(|bias| (task, t, hidden, bias))))
}

/// The task, hidden layers and bias a bug is shown with.
fn bug_setting(bug: Bug) -> (Task, usize, bool) {
    let task = if matches!(bug, Bug::MissingSigmoidPrime | Bug::EqualInit) { XOR } else { AND };
    let hidden = if bug == Bug::NoBias { 0 } else { 1 };
    (task, hidden, bug != Bug::NoBias)
}

/// The section's trained configurations: the main table's rows and one per bug, each trained
/// [`seeds`] times for `epochs` epochs.
pub const CONFIGS: usize = 2 * 4 * 2 + Bug::ALL.len();

/// The epochs the section trains, summed over its runs (an epoch of every run costs about the
/// same: a full-batch step of a net of at most 3 hidden layers of 2 units on 4 points).
pub fn training_epochs(config: &Config) -> u128 {
    (CONFIGS * seeds(config)) as u128 * config.epochs as u128
}

/// Computes the section.
pub fn compute(config: &Config) -> Classic {
    let runs = main_rows()
        .map(|(task, t, hidden, bias)| {
            let stream = Stream::ClassicRuns { task: t, hidden, bias };
            train_many(config, &task, hidden, bias, Bug::None, stream).0
        })
        .collect();
    let bugs = Bug::ALL
        .iter()
        .enumerate()
        .map(|(k, &bug)| {
            let (task, hidden, bias) = bug_setting(bug);
            bug_case(config, &task, hidden, bias, bug, Stream::ClassicBug { bug: k })
        })
        .collect();
    Classic { epochs: config.epochs, seeds: seeds(config), runs, bugs }
}

/// The section's training measured for the time budget: one call trains one net of each of its
/// configurations (drawn from [`Stream::RateProbe`]) for `epochs` epochs, on the calling thread,
/// as [`compute`] trains each seed; returns the epochs trained.
pub fn probe(epochs: usize) -> u128 {
    let settings =
        main_rows().map(|(task, _, hidden, bias)| (task, hidden, bias, Bug::None)).chain(Bug::ALL.map(|bug| {
            let (task, hidden, bias) = bug_setting(bug);
            (task, hidden, bias, bug)
        }));
    let mut trained = 0;
    for (k, (task, hidden, bias, bug)) in settings.enumerate() {
        let mut net = Net::init(hidden, HIDDEN_WIDTH, bias, bug, &mut stream_rng(0, Stream::RateProbe, k as u64));
        std::hint::black_box(train(&mut net, &task, bug, epochs, task.constant_loss()));
        trained += epochs as u128;
    }
    trained
}

fn bug_case(config: &Config, task: &Task, hidden: usize, bias: bool, bug: Bug, stream: Stream) -> BugCase {
    let net = Net::init(hidden, HIDDEN_WIDTH, bias, bug, &mut stream_rng(config.seed, stream, u64::MAX));
    let (_, claimed) = net.backprop(&INPUTS, &task.targets, bug);
    let check = |inputs: &[[f64; 2]]| {
        let f = |p: &[f64]| oracle_loss(&net.unflatten(p), inputs, &task.targets);
        check_gradient(f, &net.flatten(), &claimed, &Options::default()).expect("finite parameters and gradients")
    };
    let report = check(&INPUTS);
    let seen_passed = check(&INPUTS.map(|x| bug.input_seen(x))).passed();
    let (training, median_reported_final_loss) = train_many(config, task, hidden, bias, bug, stream);
    let diagnosis = diagnose(seen_passed, report.passed(), &training, median_reported_final_loss);
    BugCase {
        bug,
        description: Label(bug),
        task: task.name.to_string(),
        hidden_width: HIDDEN_WIDTH,
        gradient_check_passed: report.passed(),
        gradient_check_on_seen_data_passed: seen_passed,
        worst: report
            .worst()
            .map(|c| (Label(net.param(c.index).expect("an index of flatten()")), c.claimed, c.numeric)),
        training,
        median_reported_final_loss,
        diagnosis,
    }
}

/// One seed's run.
struct Run {
    epochs_to_target: Option<usize>,
    final_loss: f64,
    /// The loss the code itself reports at the final weights (on the data it sees).
    reported_loss: f64,
    plateau: bool,
    stuck: bool,
    hidden_spread: Option<f64>,
    /// The loss at the epochs of [`curve_step`], while it is finite.
    curve: Vec<f64>,
}

/// The runs of every seed, summarised, and the median final loss the code itself reports.
fn train_many(config: &Config, task: &Task, hidden: usize, bias: bool, bug: Bug, stream: Stream) -> (ClassicRuns, f64) {
    let constant = task.constant_loss();
    let runs: Vec<Run> = (0..seeds(config))
        .into_par_iter()
        .map(|seed| {
            let mut net = Net::init(hidden, HIDDEN_WIDTH, bias, bug, &mut stream_rng(config.seed, stream, seed as u64));
            train(&mut net, task, bug, config.epochs, constant)
        })
        .collect();
    let finite: Vec<&Run> = runs.iter().filter(|r| r.final_loss.is_finite()).collect();
    let n = runs.len() as f64;
    let mut epochs: Vec<usize> = finite.iter().filter_map(|r| r.epochs_to_target).collect();
    epochs.sort_unstable();
    let mut losses: Vec<f64> = finite.iter().map(|r| r.final_loss).collect();
    losses.sort_by(f64::total_cmp);
    let mut spreads: Vec<f64> = finite.iter().filter_map(|r| r.hidden_spread).collect();
    spreads.sort_by(f64::total_cmp);
    let median = |v: &[f64]| (!v.is_empty()).then(|| super::stats::percentile(v, 50.0));
    let mut reported: Vec<f64> = finite.iter().map(|r| r.reported_loss).collect();
    reported.sort_by(f64::total_cmp);
    let runs = ClassicRuns {
        task: task.name.to_string(),
        hidden_layers: hidden,
        bias,
        bug,
        constant_loss: constant,
        success_rate: epochs.len() as f64 / n,
        median_epochs_to_target: (!epochs.is_empty()).then(|| epochs[epochs.len().div_ceil(2) - 1]),
        median_final_loss: median(&losses).unwrap_or(f64::NAN),
        plateau_share: finite.iter().filter(|r| r.plateau).count() as f64 / n,
        stuck_share: finite.iter().filter(|r| r.stuck).count() as f64 / n,
        median_hidden_spread: median(&spreads),
        largest_hidden_spread: spreads.last().copied(),
        non_finite_runs: runs.len() - finite.len(),
        loss_curve: loss_curve(&runs, config.epochs),
    };
    (runs, median(&reported).unwrap_or(f64::NAN))
}

/// The median over the runs of the loss at each sampled epoch (runs without a finite loss there
/// left out).
fn loss_curve(runs: &[Run], epochs: usize) -> Vec<(usize, f64)> {
    let curves: Vec<&[f64]> = runs.iter().map(|r| &r.curve[..]).collect();
    super::stats::curve_columns(&curves, epochs)
        .into_iter()
        .map(|(epoch, at)| (epoch, super::stats::percentile(&at, 50.0)))
        .collect()
}

fn train(net: &mut Net, task: &Task, bug: Bug, epochs: usize, constant: f64) -> Run {
    let on_plateau = |loss: f64| (loss - constant).abs() <= PLATEAU_BAND * constant;
    let (mut epochs_to_target, mut streak, mut plateau, mut loss) = (None, 0, false, f64::NAN);
    let mut scratch = Scratch::default();
    let mut curve = Vec::with_capacity(CURVE_POINTS);
    for epoch in 0..epochs {
        loss = net.backprop_into(&INPUTS, &task.targets, bug, &mut scratch);
        if !loss.is_finite() {
            break;
        }
        if super::stats::on_curve(epoch, epochs) {
            curve.push(loss);
        }
        if loss < TARGET_LOSS && epochs_to_target.is_none() {
            epochs_to_target = Some(epoch);
        }
        streak = if on_plateau(loss) { streak + 1 } else { 0 };
        plateau |= streak >= PLATEAU_EPOCHS;
        net.step(&scratch.grads, LEARNING_RATE);
    }
    // The loss the (possibly buggy) code reports is on its own view of the data; judge the run on
    // the real data.
    let final_loss = if loss.is_finite() { oracle_loss(net, &INPUTS, &task.targets) } else { loss };
    let reported_loss =
        if loss.is_finite() { net.backprop_into(&INPUTS, &task.targets, bug, &mut scratch) } else { loss };
    let hidden_spread = net.w[..net.w.len() - 1]
        .iter()
        .map(|layer| {
            let mut spread: f64 = 0.0;
            for a in layer {
                for b in layer {
                    spread = spread.max(a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max));
                }
            }
            spread
        })
        .reduce(f64::max);
    Run { epochs_to_target, final_loss, reported_loss, plateau, stuck: on_plateau(final_loss), hidden_spread, curve }
}
