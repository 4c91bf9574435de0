//! Section 6's bug table: the diagnosis of each bug holds (inputs fed as zeros: right gradients
//! for the wrong data, and training settles at the constant predictor), and each case states its
//! network.

use report::render;
use report::sections::classic::{self, AND, Diagnosis, HIDDEN_WIDTH, INPUTS};
use report::sections::handwritten::{Bug, Net};
use report::sections::{self, Config, Stream};
use scalar::dense::Loss;

/// The oracle's gradient of `net` on `inputs`, flattened as [`Net::flatten`].
fn oracle_gradient(net: &Net, inputs: &[[f64; 2]], targets: &[f64]) -> Vec<f64> {
    let x: Vec<Vec<f64>> = inputs.iter().map(|x| x.to_vec()).collect();
    let t: Vec<Vec<f64>> = targets.iter().map(|&t| vec![t]).collect();
    let g = net.to_oracle().gradients(&x, &t, Loss::SquaredError).unwrap();
    let mut flat: Vec<f64> = g.weight.iter().flatten().flatten().copied().collect();
    if net.bias {
        flat.extend(g.bias.iter().flatten());
    }
    flat
}

#[test]
fn inputs_fed_as_zeros_give_the_oracles_gradient_on_the_zeroed_inputs() {
    // The bug case's network (its stream and index, as the section draws it).
    let k = Bug::ALL.iter().position(|&b| b == Bug::InputsAsZeros).unwrap();
    let net = Net::init(
        1,
        HIDDEN_WIDTH,
        true,
        Bug::InputsAsZeros,
        &mut sections::stream_rng(1, Stream::ClassicBug { bug: k }, u64::MAX),
    );
    let (_, claimed) = net.backprop(&INPUTS, &AND.targets, Bug::InputsAsZeros);
    let zeros = INPUTS.map(|x| Bug::InputsAsZeros.input_seen(x));
    assert_eq!(zeros, [[0.0; 2]; 4]);
    let on_zeros = oracle_gradient(&net, &zeros, &AND.targets);
    for (i, (c, o)) in claimed.iter().zip(&on_zeros).enumerate() {
        assert!((c - o).abs() <= 1e-15 + 1e-12 * o.abs(), "{:?}: {c} vs the oracle's {o} on zeros", net.param(i));
    }
    // Only the biases matter: every first-layer weight's gradient is exactly 0 on zero inputs...
    let first_layer = net.w[0].len() * net.w[0][0].len();
    assert!(claimed[..first_layer].iter().all(|&g| g == 0.0));
    // ...and that is what the check against the real data sees as wrong.
    let on_real = oracle_gradient(&net, &INPUTS, &AND.targets);
    assert!(on_real[..first_layer].iter().any(|&g| g.abs() > 1e-6));
}

/// The loss the code reports after training may sit above Var(t) only by what the remaining
/// epochs of gradient descent on the biases have not yet closed.
const SETTLED: f64 = 1e-3;

#[test]
fn inputs_fed_as_zeros_settle_at_the_constant_predictors_loss() {
    let config = Config::new(1, true);
    let c = classic::compute(&config);
    let case = c.bugs.iter().find(|b| b.bug == Bug::InputsAsZeros).unwrap();
    assert!(!case.gradient_check_passed && case.gradient_check_on_seen_data_passed);
    // With zero inputs the output is one constant for all four points; the best constant is
    // mean(t), whose loss is Var(t): where the loss the code reports settles.
    let constant = AND.constant_loss();
    let reported = case.median_reported_final_loss;
    assert!(reported >= constant - 1e-15, "no constant does better than Var(t): {reported} vs {constant}");
    assert!((reported - constant) <= SETTLED * constant, "{reported} vs Var(t) = {constant}");
    assert_eq!(
        case.diagnosis,
        Diagnosis::WrongData {
            median_reported_final_loss: reported,
            constant_loss: constant,
            settles_at_constant: true
        }
    );
    // The bug whose gradients are wrong fails both checks.
    let sigma = c.bugs.iter().find(|b| b.bug == Bug::MissingSigmoidPrime).unwrap();
    assert!(!sigma.gradient_check_passed && !sigma.gradient_check_on_seen_data_passed);
    assert_eq!(sigma.diagnosis, Diagnosis::GradientsWrong);
}

#[test]
fn the_bug_table_states_each_cases_network() {
    let report = crate::reports::quick_report();
    let md = render::markdown(report, None);
    for b in &report.classic.bugs {
        let row = md.lines().find(|l| l.starts_with(&format!("| {} |", b.description))).unwrap();
        let network = render::prose::architecture(b.training.hidden_layers, b.hidden_width, b.training.bias);
        assert!(row.contains(&format!("| {network} |")), "{row}");
        assert_eq!(b.hidden_width, HIDDEN_WIDTH);
    }
    assert!(md.contains("| no bias unit | AND | no hidden layer, no biases |"));
}

/// The loss curves the figure draws are the runs the table summarises: where most seeds are stuck
/// on the constant predictor's loss at the end, the median curve ends on it; where most succeed,
/// it ends below it. The curve starts at epoch 0 and steps by `curve_step`.
#[test]
fn loss_curves_end_where_the_table_says_the_runs_end() {
    let c = &crate::reports::default_report().classic;
    let step = classic::curve_step(c.epochs);
    for r in &c.runs {
        let name = format!("{} {} hidden bias {}", r.task, r.hidden_layers, r.bias);
        assert_eq!(r.loss_curve.len(), c.epochs.div_ceil(step), "{name}");
        assert!(r.loss_curve.iter().enumerate().all(|(k, &(e, _))| e == k * step), "{name}");
        let (_, last) = *r.loss_curve.last().unwrap();
        let on_plateau = (last - r.constant_loss).abs() <= classic::PLATEAU_BAND * r.constant_loss;
        if r.stuck_share > 0.5 {
            assert!(on_plateau, "{name}: mostly stuck, yet the curve ends at {last}");
        }
        if r.success_rate > 0.5 {
            assert!(
                last < r.constant_loss * (1.0 - classic::PLATEAU_BAND),
                "{name}: mostly successful, yet ends at {last}"
            );
        }
    }
    // Both kinds occur, so neither check above is vacuous.
    assert!(c.runs.iter().any(|r| r.stuck_share > 0.5) && c.runs.iter().any(|r| r.success_rate > 0.5));
}

/// "Every hidden unit stays identical" is said only when it holds in every seed's run, not in
/// the median one: all-equal initial weights keep the units identical exactly (they get the same
/// updates), and one run whose units parted would withdraw the sentence.
#[test]
fn symmetry_is_said_to_hold_only_when_it_holds_in_every_run() {
    let c = &crate::reports::quick_report().classic;
    let case = c.bugs.iter().find(|b| b.bug == Bug::EqualInit).unwrap();
    assert_eq!(case.diagnosis, Diagnosis::SymmetryNeverBroken);
    assert_eq!(case.training.largest_hidden_spread, Some(0.0), "every run's units stayed identical");
    let (seen, real) = (case.gradient_check_on_seen_data_passed, case.gradient_check_passed);
    let mut one_run_parted = case.training.clone();
    one_run_parted.largest_hidden_spread = Some(1e-3); // the median spread is still 0
    assert_eq!(one_run_parted.median_hidden_spread, Some(0.0));
    let d = classic::diagnose(seen, real, &one_run_parted, case.median_reported_final_loss);
    assert_ne!(d, Diagnosis::SymmetryNeverBroken);
}
