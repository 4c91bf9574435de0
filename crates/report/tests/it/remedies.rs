//! Section 5: the experiment is controlled (same points, same initial weights where the network
//! matches), and each sentence's claim holds on the runs — χ₁ of the scaled row, Adam's ε, the
//! constant predictor, coupled against decoupled decay, and which remedies address which problem
//! (the exploding network's unclipped runs blow up and fail, its clipped runs train).

use report::render;
use report::sections::dense_init::CRITICAL_BAND;
use report::sections::remedies::{
    self, BLOWN_UP, LOWER_LOSS, Problem, Remedies, Remedy, RemedyRow, RunTrace, SUCCESS_ACCURACY, Variant, Verdict,
    initial_weights, label_entropy, task, variants,
};
use report::sections::{Config, Label, Report, classic};
use vectorised::train::{Optimizer, TrainConfig, Trainer};
use vectorised::{Batch, Dense, DenseLayer, Loss};

fn quick() -> &'static Report {
    crate::reports::quick_report()
}

/// The default report's section 5 (seed 1).
fn default_remedies() -> &'static Remedies {
    &crate::reports::default_report().remedies
}

fn variant(name: Remedy) -> Variant {
    variants().into_iter().find(|v| v.name == name).unwrap()
}

fn row(r: &Remedies, name: Remedy) -> &RemedyRow {
    r.rows.iter().find(|row| row.name.0 == name).unwrap()
}

fn section_5(report: &Report) -> String {
    let md = render::markdown(report, None);
    md.split("\n## 5. ").nth(1).unwrap().split("\n## ").next().unwrap().to_string()
}

#[test]
fn rows_with_the_same_widths_and_initialisation_start_from_identical_weights() {
    let seed = 1;
    let all = variants();
    let mut pairs = 0;
    for a in &all {
        for b in &all {
            if a.widths() == b.widths() && a.init == b.init {
                for run in 0..3 {
                    assert_eq!(
                        initial_weights(seed, a, run),
                        initial_weights(seed, b, run),
                        "{:?} {:?}",
                        a.name,
                        b.name
                    );
                }
                pairs += usize::from(a.name != b.name);
            }
        }
    }
    assert!(pairs >= 2 * 10, "only {pairs} ordered pairs share a network");
    // Different runs draw different weights.
    let base = variant(Remedy::Baseline);
    assert_ne!(initial_weights(seed, &base, 0), initial_weights(seed, &base, 1));
    // Common random numbers across initialisations of the same widths: He and N(0, 16/n) are the
    // same normal draws, scaled (layer by layer, by the ratio of their standard deviations).
    let (he, scaled) =
        (initial_weights(seed, &variant(Remedy::ReluHe), 0), initial_weights(seed, &variant(Remedy::ScaledNormal), 0));
    for (l, (a, b)) in he.iter().zip(&scaled).enumerate() {
        let ratio = a[0][0] / b[0][0];
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!((x / y - ratio).abs() <= 1e-12 * ratio.abs(), "layer {l}: {x} / {y} vs {ratio}");
        }
    }
    // The runs themselves started from those weights: rows whose network matches (activation and
    // skip included) have bit-identical initial losses and gradient ratios on every seed.
    let r = &quick().remedies;
    let same_network = |a: &Variant, b: &Variant| {
        a.widths() == b.widths() && a.init == b.init && a.activation == b.activation && a.skip == b.skip
    };
    let mut compared = 0;
    for (a, ra) in all.iter().zip(&r.rows) {
        for (b, rb) in all.iter().zip(&r.rows) {
            if same_network(a, b) {
                for (x, y) in ra.runs.iter().zip(&rb.runs) {
                    assert_eq!(x.initial_loss.to_bits(), y.initial_loss.to_bits(), "{:?} {:?}", a.name, b.name);
                    assert_eq!(x.initial_grad_ratio, y.initial_grad_ratio);
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > all.len() * r.seeds);
}

#[test]
fn every_row_trains_on_the_same_points_per_seed_as_the_text_says() {
    let report = quick();
    let r = &report.remedies;
    for row in &r.rows {
        assert_eq!(row.runs.len(), r.seeds);
        for (s, run) in row.runs.iter().enumerate() {
            assert_eq!(run.seed, s);
            assert_eq!(run.constant_loss, label_entropy(&task(report.config.seed, s).1), "{}", row.name);
        }
    }
    let text = section_5(report);
    assert!(text.contains(&format!("runs {} seeds per row", r.seeds)));
    assert!(text.contains(
        "the same points for every row, and the same initial weights for rows whose widths and initialisation match"
    ));
}

#[test]
fn the_scaled_normal_row_is_labelled_with_its_chi_which_is_well_below_critical() {
    // σ_w² = 16 and σ′(0) = 1/4, so σ_w²·σ′(0)² = 1 exactly — but at the fixed point the
    // pre-activations spread where σ′ < 1/4, and χ₁ is far below 1: the row is not critical.
    let v = variant(Remedy::ScaledNormal);
    let sigma_w2 = remedies::WIDTH as f64 * v.init.std_dev(remedies::WIDTH, remedies::WIDTH).powi(2);
    assert!((sigma_w2 * (0.25f64).powi(2) - 1.0).abs() < 1e-12);
    let chi = v.chi_1().unwrap();
    assert!(chi < 1.0 - CRITICAL_BAND && chi > 0.2, "χ₁ = {chi}");
    let report = quick();
    let row = row(&report.remedies, Remedy::ScaledNormal);
    assert_eq!(row.chi_1, Some(chi));
    // Its gradient does vanish towards the input, if far less than the baseline's.
    let (ratio, base) = (row.log10_grad_ratio.unwrap(), report.remedies.rows[0].log10_grad_ratio.unwrap());
    assert!(ratio < 0.0 && ratio > base, "{ratio} vs {base}");
    // The label no longer calls it critical, and the table prints its χ₁.
    let text = section_5(report);
    assert!(!text.contains("(σ_w²·σ′(0)² = 1)"));
    let line = text.lines().find(|l| l.starts_with(&format!("| {} |", row.name))).unwrap();
    assert!(line.contains(&format!("| {} |", report::numfmt::sig(chi, 3))), "{line}");
}

#[test]
fn adams_first_step_moves_the_baselines_first_layer_by_eta_g_over_g_plus_epsilon() {
    // The claim of the ε paragraph, on the trainer itself: with ε = 1e-8 above every first-layer
    // gradient a first-layer weight moves by η·|g|/(|g| + ε) ≪ η; with the small ε by about η.
    let config = Config::new(1, true);
    let r = &quick().remedies;
    let e = &r.epsilon;
    assert!(e.first_layer_max < e.epsilon, "the text says the gradient is below ε");
    assert!(section_5(quick()).contains("below ε"));
    assert_eq!(e.first_step, e.learning_rate * e.first_layer_max / (e.first_layer_max + e.epsilon));
    assert!(e.first_step < 0.1 * e.learning_rate && e.first_step_small > 0.99 * e.learning_rate);
    let (x, t) = task(config.seed, 0);
    for name in [Remedy::Baseline, Remedy::SmallEpsilon] {
        let v = variant(name);
        let Optimizer::Adam { epsilon, .. } = v.training.optimizer else { panic!() };
        let layers = initial_weights(config.seed, &v, 0)
            .iter()
            .map(|rows| {
                DenseLayer::from_out_in(rows, Some(vec![0.0; rows.len()]), vectorised::Activation::Sigmoid).unwrap()
            })
            .collect();
        let mut net = Dense::new(layers, None).unwrap();
        let before = net.layers()[0].weight().to_vec();
        let eta = v.training.learning_rate;
        let mut trainer =
            Trainer::new(&net, TrainConfig::new(eta, v.training.optimizer, Loss::BinaryCrossEntropy)).unwrap();
        let (input, target) =
            (Batch::new(&x, remedies::POINTS, 2).unwrap(), Batch::new(&t, remedies::POINTS, 1).unwrap());
        let report = trainer.step(&mut net, input, target).unwrap();
        assert_eq!(report.stats.layers[0].weight.max_abs, r.rows[0].runs[0].initial_first_layer_max);
        let g = trainer.applied_gradient().weight[0].clone();
        for ((w0, w1), g) in before.iter().zip(net.layers()[0].weight()).zip(&g) {
            let expected = eta * g.abs() / (g.abs() + epsilon);
            assert!(
                ((w0 - w1).abs() - expected).abs() <= 1e-6 * expected + 1e-17,
                "{name:?}: moved {} vs {expected}",
                (w0 - w1).abs()
            );
            if name == Remedy::Baseline {
                assert!(g.abs() < epsilon && (w0 - w1).abs() < 0.1 * eta);
            } else {
                assert!((w0 - w1).abs() > 0.99 * eta);
            }
        }
    }
}

#[test]
fn every_baseline_ends_at_the_constant_predictors_loss_and_the_text_names_it() {
    for (r, text) in [(&quick().remedies, Some(section_5(quick()))), (default_remedies(), None)] {
        assert_eq!(r.baselines.len(), r.rows.iter().filter(|row| row.control.is_none()).count());
        for b in &r.baselines {
            let row = row(r, b.name.0);
            let gap = row
                .runs
                .iter()
                .map(|run| (run.final_loss - run.constant_loss).abs() / run.constant_loss)
                .fold(0.0, f64::max);
            assert_eq!(b.largest_relative_gap, gap);
            assert_eq!(b.at_constant, gap <= classic::PLATEAU_BAND);
            // Every baseline does end there, and fails.
            assert!(b.at_constant, "{}: {gap}", b.name);
            assert_eq!(row.success_rate, 0.0);
            if let Some(text) = &text {
                assert!(text.contains(&format!("{} (largest relative gap", b.name)), "{}", b.name);
            }
        }
        let h: Vec<f64> = (0..r.seeds).map(|s| label_entropy(&task(1, s).1)).collect();
        assert_eq!(
            r.constant_loss_range,
            (h.iter().copied().fold(f64::INFINITY, f64::min), h.iter().copied().fold(0.0, f64::max))
        );
    }
    assert!(section_5(quick()).contains(
        "The constant predictor — always answering p, the share of points labelled 1 — costs the label entropy H(p)"
    ));
}

/// The verdict's rule, written again from its documentation.
fn expected_verdict(problem: Problem, runs: &[RunTrace], control: &[RunTrace]) -> Verdict {
    let ok = |r: &RunTrace| r.accuracy >= SUCCESS_ACCURACY;
    let successes = runs.iter().filter(|r| ok(r)).count();
    let control_successes = control.iter().filter(|r| ok(r)).count();
    let blown = |r: &RunTrace| {
        r.first_step_relative_update.is_none_or(|u| u >= BLOWN_UP)
            || r.refused.is_some()
            || !matches!(
                r.final_loss.partial_cmp(&r.initial_loss),
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            )
    };
    let control_failed = control_successes == 0 && (problem == Problem::Vanishing || control.iter().all(blown));
    if control_failed && successes * 2 > runs.len() {
        Verdict::Addresses
    } else if successes > control_successes {
        Verdict::Helps
    } else if runs.iter().zip(control).all(|(r, c)| r.final_loss < c.final_loss * (1.0 - LOWER_LOSS)) {
        Verdict::LowersLoss
    } else {
        Verdict::DoesNotHelp
    }
}

fn check_rows(r: &Remedies) {
    let row_of = |name| row(r, name);
    for (v, row) in variants().iter().zip(&r.rows) {
        assert_eq!(row.name.0, v.name);
        assert_eq!(row.control.map(|c| c.0), v.control);
        let Some(control) = v.control else {
            assert!(row.verdict.is_none() && row.paired.is_none());
            continue;
        };
        let c = row_of(control);
        assert_eq!(c.problem, row.problem, "{} is compared with a network of the same problem", row.name);
        assert_eq!(row.verdict, Some(Label(expected_verdict(row.problem, &row.runs, &c.runs))), "{}", row.name);
        // The change against the control is seed by seed.
        let mut changes: Vec<f64> = row.runs.iter().zip(&c.runs).map(|(a, b)| a.final_loss - b.final_loss).collect();
        changes.sort_by(f64::total_cmp);
        let p = row.paired.unwrap();
        assert_eq!(p.loss_change_range, (changes[0], changes[changes.len() - 1]));
        assert!(p.median_loss_change >= changes[0] && p.median_loss_change <= changes[changes.len() - 1]);
        assert_eq!(p.control_succeeded, c.runs.iter().filter(|r| r.accuracy >= SUCCESS_ACCURACY).count());
    }
}

#[test]
fn each_rows_verdict_follows_from_its_runs_against_its_controls_and_the_summary_lists_it() {
    check_rows(&quick().remedies);
    check_rows(default_remedies());
    let text = section_5(quick());
    let summary = text.split("### What addresses what, on these runs").nth(1).unwrap();
    for (problem, line) in
        [(Problem::Vanishing, "- The vanishing gradient."), (Problem::Exploding, "- The exploding gradient.")]
    {
        let line = summary.lines().find(|l| l.starts_with(line)).unwrap();
        for (verdict, head) in [
            (Verdict::Addresses, "Addressed ("),
            (Verdict::Helps, "Helped on some seeds: "),
            (Verdict::LowersLoss, "Lowered the loss below the control's on every seed without more successes: "),
            (Verdict::DoesNotHelp, "Did not help: "),
        ] {
            let listed = line.split(head).nth(1).unwrap();
            let listed = if verdict == Verdict::Addresses { listed.split("): ").nth(1).unwrap() } else { listed };
            let listed = listed.split(". ").next().unwrap().trim_end_matches('.');
            let expected: Vec<String> = quick()
                .remedies
                .rows
                .iter()
                .filter(|r| r.problem == problem && r.verdict == Some(Label(verdict)))
                .map(|r| r.name.to_string())
                .collect();
            let expected = if expected.is_empty() { "none".to_string() } else { expected.join("; ") };
            assert_eq!(listed, expected, "{problem:?} {verdict:?}");
        }
    }
}

#[test]
fn on_the_default_report_clipping_addresses_the_exploding_network_and_decay_does_not() {
    // What the section exists to show: without clipping the exploding network's first step throws
    // its weights away (a layer moves by more than its own norm) and every seed fails; clipped by
    // norm or by value, the first step is small, clipping did act, and most seeds train.
    let r = default_remedies();
    let base = row(r, Remedy::Exploding);
    assert_eq!(base.problem, Problem::Exploding);
    for run in &base.runs {
        assert!(run.initial_min_layer_grad > 1.0, "every layer's gradient is above 1 at initialisation");
        assert!(run.first_step_relative_update.unwrap() >= 1.0, "seed {}", run.seed);
        assert!(run.blown_up() && run.accuracy < SUCCESS_ACCURACY);
    }
    for name in [Remedy::ExplodingClipNorm, Remedy::ExplodingClipValue] {
        let row = row(r, name);
        assert_eq!(row.verdict, Some(Label(Verdict::Addresses)), "{}", row.name);
        for run in &row.runs {
            assert!(run.clipped_steps > 0 && run.first_step_relative_update.unwrap() < BLOWN_UP / 10.0, "{}", row.name);
        }
    }
    // L2 cannot stop the first step: it blows up like its control.
    let l2 = row(r, Remedy::ExplodingL2);
    assert_eq!(l2.blown_up, r.seeds);
    assert_eq!(l2.verdict, Some(Label(Verdict::DoesNotHelp)));
}

/// "The decoupled form shrinks each weight by the factor 1 − ηλ per step, as decay alone should":
/// AdamW's step is w ← w·(1 − ηλ) − η·(Adam's step on the data gradient), so over T steps the
/// decay multiplies ‖W‖ by c = (1 − ηλ)^T beside what the data gradient does, and the decoupled
/// row's ‖W‖ end ÷ start is the baseline's times c, seed by seed (both start from the same
/// weights on the same points). The derivation holds to first order in ηλ: it leaves out how the
/// shrunk weights change Adam's own steps, so each seed may miss by a quarter of the decay's own
/// effect 1 − c — a run without the decay (ratio 1) or with it twice (c²) misses by a whole one.
#[test]
fn decoupled_decay_is_the_baselines_growth_times_the_decay_alone_seed_by_seed() {
    for r in [default_remedies(), &quick().remedies] {
        let d = &r.decay;
        let v = variant(Remedy::DecoupledDecay);
        let (eta, lambda) = (v.training.learning_rate, v.training.weight_decay);
        assert_eq!((d.learning_rate, d.weight_decay), (eta, lambda));
        let c = (1.0 - eta * lambda).powi(r.steps as i32);
        assert_eq!(d.decay_alone, c);
        let (decoupled, baseline) = (row(r, Remedy::DecoupledDecay), row(r, Remedy::Baseline));
        assert_eq!(decoupled.control, Some(Label(Remedy::Baseline)));
        assert_eq!(decoupled.runs.len(), r.seeds);
        for (run, base) in decoupled.runs.iter().zip(&baseline.runs) {
            assert_eq!((run.seed, run.initial_loss), (base.seed, base.initial_loss), "the same start");
            let ratio = run.weight_growth / base.weight_growth;
            assert!(
                (ratio - c).abs() <= (1.0 - c) / 4.0,
                "seed {}: decoupled ÷ baseline {ratio} against (1 − ηλ)^T = {c}",
                run.seed
            );
        }
    }
}

#[test]
fn on_the_default_report_the_vanishing_remedies_and_the_optimizer_settings_show_what_the_text_says() {
    let r = default_remedies();
    let row_of = row;
    // Activation and initialisation address the vanishing gradient under Adam.
    for name in [Remedy::ReluHe, Remedy::SoftplusHe, Remedy::ScaledNormal, Remedy::TwoHidden] {
        assert_eq!(row(r, name).verdict, Some(Label(Verdict::Addresses)), "{name:?}");
    }
    // Neither decay nor the pre-activation skip does.
    for name in [Remedy::L2, Remedy::DecoupledDecay, Remedy::PreActivationSkip2] {
        assert_ne!(row(r, name).verdict, Some(Label(Verdict::Addresses)), "{name:?}");
    }
    // A smaller ε lets Adam move the starved first layer: the loss falls below the baseline's on
    // every seed.
    assert_eq!(row(r, Remedy::SmallEpsilon).verdict, Some(Label(Verdict::LowersLoss)));
    // Coupled L2 under Adam shrinks ‖W‖ far more than the same λ decoupled (which follows the
    // decay alone: `decoupled_decay_is_the_baselines_growth_times_the_decay_alone_seed_by_seed`).
    let d = &r.decay;
    assert!(d.coupled_below_decoupled && d.coupled < 0.1, "{d:?}");
    // Part of what rescues a network under Adam is Adam: the rows listed rescue it under Adam and
    // not under momentum SGD, and the list is exactly those.
    assert!(!r.adam_only.is_empty());
    for row in r.rows.iter().filter(|row| row.name.0.adam_twin().is_some()) {
        let twin = row_of(r, row.name.0.adam_twin().unwrap());
        let listed = r.adam_only.contains(&row.name);
        let addresses = |row: &RemedyRow| row.verdict == Some(Label(Verdict::Addresses));
        assert_eq!(listed, addresses(twin) && !addresses(row), "{}", row.name);
    }
    // The rows name their optimizer: the SGD rows are compared with the SGD baseline.
    for row in
        r.rows.iter().filter(|row| matches!(row.training.0.optimizer, Optimizer::Sgd { momentum } if momentum > 0.0))
    {
        assert!(row.control.is_none_or(|c| c.0 == Remedy::BaselineSgd), "{}", row.name);
        assert!(row.training.to_string().starts_with("momentum SGD"), "{}", row.training);
    }
}
