//! Section 7: each rule flags runs that really have the symptom and no healthy ones, the runs are
//! named with their outcome, and the caveats' explanations hold (the constant predictor's loss is
//! the label entropy; coupled L2 under Adam moves weights by about the learning rate per step).

use report::sections::remedies::{self, POINTS, Remedy, RunTrace, label_entropy, variants};
use report::sections::symptoms::{self, Caveat, SymptomKind, Witness};
use report::sections::{self, Config, Label, Stream};
use vectorised::train::{Optimizer, TrainConfig, Trainer};
use vectorised::{Batch, Dense, DenseLayer, Loss};

fn run(initial_loss: f64, final_loss: f64, constant_loss: f64, accuracy: f64) -> RunTrace {
    RunTrace {
        seed: 0,
        initial_loss,
        constant_loss,
        initial_grad_ratio: Some(1e-9),
        initial_first_layer_max: 1e-10,
        initial_grad_norm: 0.1,
        initial_min_layer_grad: 1e-10,
        first_step_relative_update: Some(0.01),
        final_loss,
        loss_jumps: 0,
        refused: None,
        clipped_steps: 0,
        weight_growth: 1.0,
        first_last_update_ratio: Some(1.0),
        accuracy,
        loss_curve: Vec::new(),
    }
}

#[test]
fn loss_stuck_is_judged_against_the_constant_predictor_not_the_initial_loss() {
    let h = label_entropy(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    // Fell a long way from a bad start onto the plateau and stayed: stuck (comparing with the
    // initial loss would call it moving).
    assert!(symptoms::loss_stuck(&run(3.0 * h, h * (1.0 + symptoms::STUCK_BAND / 2.0), h, 0.6)));
    // Never left the plateau: stuck.
    assert!(symptoms::loss_stuck(&run(h, h, h, 0.5)));
    // Learned: a loss far below the plateau is not stuck, however close it stayed to its start.
    assert!(!symptoms::loss_stuck(&run(0.02, 0.0199, h, 1.0)));
    assert!(!symptoms::loss_stuck(&run(h, 0.3 * h, h, 0.8)));
}

#[test]
fn the_constant_predictors_cross_entropy_is_the_label_entropy() {
    // Answering p = mean(t) everywhere (a network whose output layer ignores its input: zero
    // weights, bias logit(p)) costs exactly H(p) on the oracle's tape, and any other constant more.
    use scalar::Activation;
    use scalar::dense::{Dense, DenseLayer, Loss};
    let t = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    let h = label_entropy(&t);
    let loss_of = |c: f64| {
        let layer = DenseLayer {
            weight: vec![vec![0.0, 0.0]],
            bias: Some(vec![(c / (1.0 - c)).ln()]),
            activation: Activation::Sigmoid,
        };
        let x: Vec<Vec<f64>> = t.iter().map(|_| vec![0.3, -0.7]).collect();
        let y: Vec<Vec<f64>> = t.iter().map(|&v| vec![v]).collect();
        Dense::new(vec![layer], None).unwrap().gradients(&x, &y, Loss::BinaryCrossEntropy).unwrap().loss
    };
    assert!((loss_of(3.0 / 8.0) - h).abs() < 1e-12, "{} vs {h}", loss_of(3.0 / 8.0));
    assert!(loss_of(0.3) > h && loss_of(0.45) > h);
    assert_eq!(label_entropy(&[1.0, 1.0]), 0.0);
}

#[test]
fn every_run_flagged_stuck_failed_and_every_failed_run_on_the_plateau_is_flagged() {
    let config = Config::new(1, true);
    let report = sections::compute(&config);
    let stuck = report.symptoms.iter().find(|s| s.kind == SymptomKind::LossStuck).unwrap();
    for row in &report.remedies.rows {
        for r in &row.runs {
            // The plateau is this run's own label entropy, from its own points.
            let mut rng = sections::stream_rng(config.seed, Stream::RemediesData, r.seed as u64);
            let x: Vec<f64> = (0..2 * POINTS).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let t: Vec<f64> = x.chunks(2).map(|p| if p[0] * p[1] > 0.0 { 1.0 } else { 0.0 }).collect();
            assert_eq!(r.constant_loss, label_entropy(&t));
            let flagged = stuck.shown_by.contains(&Witness::Remedy {
                variant: row.name,
                seed: r.seed,
                succeeded: symptoms::succeeded(r),
            });
            let on_plateau = (r.final_loss - r.constant_loss).abs() <= symptoms::STUCK_BAND * r.constant_loss;
            assert_eq!(
                flagged, on_plateau,
                "{} seed {}: final {} vs {}",
                row.name, r.seed, r.final_loss, r.constant_loss
            );
            if flagged {
                assert!(
                    r.accuracy < remedies::SUCCESS_ACCURACY,
                    "{} seed {} succeeded but is flagged",
                    row.name,
                    r.seed
                );
            }
        }
    }
    // The baseline fails on every seed, and every one of its runs is caught.
    let baseline = &report.remedies.rows[0];
    assert_eq!(baseline.name, Label(Remedy::Baseline));
    assert_eq!(baseline.success_rate, 0.0);
    for r in &baseline.runs {
        assert!(symptoms::loss_stuck(r), "baseline seed {}: {} vs {}", r.seed, r.final_loss, r.constant_loss);
    }
    // Section 6's stuck seeds: every configuration with a stuck seed is listed, with its count.
    let classic = &report.classic;
    for c in classic.runs.iter().chain(classic.bugs.iter().map(|b| &b.training)) {
        let listed = stuck.shown_by.iter().find_map(|w| match w {
            Witness::ClassicStuck { task, hidden_layers, bias, bug, stuck, .. }
                if *task == c.task && *hidden_layers == c.hidden_layers && *bias == c.bias && bug.0 == c.bug =>
            {
                Some(*stuck)
            }
            _ => None,
        });
        let expected = (c.stuck_share * classic.seeds as f64).round() as usize;
        assert_eq!(listed.unwrap_or(0), expected, "{} H={} bias={}", c.task, c.hidden_layers, c.bias);
        assert!(expected == 0 || c.success_rate < 1.0);
    }
    assert_eq!(stuck.runs, stuck.shown_by.iter().map(Witness::runs).sum::<usize>());
}

#[test]
fn jumping_and_growing_are_shown_with_each_runs_outcome_and_the_healthy_run_caveat() {
    let report = crate::reports::quick_report();
    let run_of = |variant: Label<Remedy>, seed: usize| -> &RunTrace {
        let row = report.remedies.rows.iter().find(|r| r.name == variant).unwrap();
        row.runs.iter().find(|r| r.seed == seed).unwrap()
    };
    let mut healthy_with_symptom = 0;
    for kind in [SymptomKind::LossJumping, SymptomKind::WeightsGrowing] {
        let s = report.symptoms.iter().find(|s| s.kind == kind).unwrap();
        let rule = if kind == SymptomKind::LossJumping { symptoms::loss_jumping } else { symptoms::weights_growing };
        let mut succeeded = 0;
        for w in &s.shown_by {
            let Witness::Remedy { variant, seed, succeeded: ok } = w else { panic!("{kind:?}: {w:?}") };
            let r = run_of(*variant, *seed);
            assert!(rule(r));
            assert_eq!(*ok, r.accuracy >= remedies::SUCCESS_ACCURACY);
            succeeded += usize::from(*ok);
        }
        healthy_with_symptom += succeeded;
        let expected = (!s.shown_by.is_empty()).then_some(Caveat::NormalInHealthyRuns { succeeded, runs: s.runs });
        assert_eq!(s.caveat, expected, "{kind:?}");
    }
    // The caveat is a claim: healthy runs do show these symptoms.
    assert!(healthy_with_symptom > 0, "no run that succeeded showed a jumping loss or growing weights");
}

#[test]
fn shrinking_weights_under_coupled_l2_and_adam_carry_the_artefact_caveat() {
    let report = crate::reports::quick_report();
    let s = report.symptoms.iter().find(|s| s.kind == SymptomKind::WeightsShrinking).unwrap();
    assert!(!s.shown_by.is_empty(), "the quick report's L2 row no longer shrinks");
    let l2 = variants().into_iter().find(|v| v.name == Remedy::L2).unwrap();
    for w in &s.shown_by {
        assert!(matches!(w, Witness::Remedy { variant: Label(Remedy::L2), .. }), "{w:?}");
    }
    let Some(Caveat::CoupledDecayUnderAdam { coupled, runs, learning_rate, steps, decay_alone, .. }) = s.caveat else {
        panic!("{:?}", s.caveat)
    };
    assert_eq!(
        (coupled, runs, learning_rate, steps),
        (s.shown_by.len(), s.runs, l2.training.learning_rate, report.remedies.steps)
    );
    // L2 decay alone, under plain gradient descent, would not have shrunk ‖W‖ below the rule's
    // threshold: what shrank it is Adam's normalised step.
    assert!(decay_alone > symptoms::SHRINK);
}

/// Adam's step m̂/(√v̂ + ε) is g/(|g| + ε) on the first step, so |Δw| = η up to ε/|g| when
/// |g| ≫ ε; later, where g shrinks by up to 10% a step, the moments (averages of past g) lag it and
/// |m̂|/√v̂ falls below 1 by up to about that much.
const ABOUT_ETA: f64 = 0.1;

#[test]
fn coupled_l2_under_adam_moves_each_starved_weight_by_about_the_learning_rate() {
    // Section 5's L2 network (its data, init and hyper-parameters), ten steps: the first layer's
    // data gradient is vanishingly small, so with λ > 0 the step sees g ≈ λ·w and Adam moves each
    // weight by about η towards 0; without λ (the control) the same weights barely move, and under
    // plain gradient descent the same λ moves them by ηλ|w|.
    let config = Config::new(1, true);
    let l2 = variants().into_iter().find(|v| v.name == Remedy::L2).unwrap();

    let (x, t) = remedies::task(config.seed, 0);
    let net = || {
        let layers = remedies::initial_weights(config.seed, &l2, 0)
            .iter()
            .map(|rows| {
                DenseLayer::from_out_in(rows, Some(vec![0.0; rows.len()]), vectorised::Activation::Sigmoid).unwrap()
            })
            .collect();
        Dense::new(layers, None).unwrap()
    };
    let eta = l2.training.learning_rate;
    let (input, target) = (Batch::new(&x, POINTS, 2).unwrap(), Batch::new(&t, POINTS, 1).unwrap());
    // Per step, the largest and smallest |Δw| ÷ scale over the first layer's weights still more
    // than 10η from 0 (so g ≈ λ·w has kept its sign and changes by at most 10% a step: Adam's
    // moments, averages of past g, lag it by little).
    let moves = |optimizer: Optimizer, weight_decay: f64, scale: &dyn Fn(f64) -> f64| {
        let mut net = net();
        let config = TrainConfig::new(l2.training.learning_rate, optimizer, Loss::BinaryCrossEntropy)
            .with_weight_decay(weight_decay);
        let mut trainer = Trainer::new(&net, config).unwrap();
        let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
        for _ in 0..10 {
            let before = net.layers()[0].weight().to_vec();
            let report = trainer.step(&mut net, input, target).unwrap();
            // Starved: the data gradient is far below λ|w| ≥ λ·10η for every weight considered.
            assert!(
                report.stats.layers[0].weight.norm < 1e-4 * l2.training.weight_decay * 10.0 * eta,
                "not a starved layer"
            );
            for (w, v) in before.iter().zip(net.layers()[0].weight()).filter(|(w, _)| w.abs() > 10.0 * eta) {
                let r = (w - v).abs() / scale(*w);
                (lo, hi) = (lo.min(r), hi.max(r));
            }
        }
        (lo, hi)
    };
    let (lo, hi) = moves(l2.training.optimizer, l2.training.weight_decay, &|_| eta);
    assert!(lo > 1.0 - ABOUT_ETA && hi < 1.0 + ABOUT_ETA, "Adam + L2: |Δw|/η in [{lo}, {hi}]");
    let (_, hi) = moves(l2.training.optimizer, 0.0, &|_| eta);
    assert!(hi < 0.5, "Adam without L2: |Δw|/η up to {hi}");
    let (lo, hi) = moves(Optimizer::Sgd { momentum: 0.0 }, l2.training.weight_decay, &|w| {
        eta * l2.training.weight_decay * w.abs()
    });
    assert!(lo > 0.99 && hi < 1.01, "SGD + L2: |Δw|/(ηλ|w|) in [{lo}, {hi}]");
}

#[test]
fn gradients_above_one_lists_exactly_the_runs_whose_every_layer_started_above_one() {
    // Section 5's exploding network shows the symptom at initialisation (clipped or not: the
    // symptom is the network's, the remedy acts on the step); the vanishing networks do not.
    let report = crate::reports::quick_report();
    let s = report.symptoms.iter().find(|s| s.kind == SymptomKind::GradientsAboveOne).unwrap();
    let mut listed = 0;
    for row in &report.remedies.rows {
        for r in &row.runs {
            let shown = s.shown_by.contains(&Witness::Remedy {
                variant: row.name,
                seed: r.seed,
                succeeded: symptoms::succeeded(r),
            });
            assert_eq!(shown, r.initial_min_layer_grad > 1.0, "{} seed {}", row.name, r.seed);
            assert_eq!(shown, row.problem == remedies::Problem::Exploding, "{} seed {}", row.name, r.seed);
            listed += usize::from(shown);
        }
    }
    assert!(listed > 0);
    assert_eq!(s.runs, s.shown_by.len());
}
