//! The figures of sections 1 (the worked chain), 2 (survival), 5 (loss curves), 5.1 (shortcuts, growth) and 7
//! (symptoms): each pinned by a snapshot of a small fixed input, the data they draw checked against
//! the tables they illustrate, and a configuration with nothing to draw said in words instead.

use report::render::{self, svg};
use report::sections::decay::survival::{Survival, SurvivalRow};
use report::sections::remedies::{self, LossPoint};
use report::sections::shortcuts::{Form, GradientRow, GrowthRow, LayerSpread, Shortcuts};
use report::sections::symptoms::{Symptom, SymptomKind, Witness};
use report::sections::{self, Label, Report};

fn quick() -> &'static Report {
    crate::reports::quick_report()
}

/// A row of section 5.1's gradient tables whose per-layer median falls by `rate` decades per
/// layer below the top, its range ± `half_width` around it (dyadic values: exact).
fn gradient_row(form: Form, alpha: f64, rate: f64, half_width: f64) -> GradientRow {
    let depth = 6;
    let by_layer: Vec<LayerSpread> = (1..=depth)
        .map(|layer| {
            let median = -rate * (depth - layer) as f64;
            LayerSpread { layer, median, lowest: median - half_width, highest: median + half_width }
        })
        .collect();
    GradientRow {
        form,
        alpha,
        log10_ratio: vec![by_layer[0].lowest, by_layer[0].highest],
        median: by_layer[0].median,
        spread: 2.0 * half_width,
        median_at_span: by_layer[1].median,
        median_first_to_span: by_layer[0].median - by_layer[1].median,
        by_layer,
    }
}

fn growth_row(alpha: f64, gain: f64) -> GrowthRow {
    let factor = 1.0 + gain * alpha * alpha;
    let predicted_by_block: Vec<f64> = (1..=4).map(|m| factor.powi(m)).collect();
    let by_block: Vec<f64> = predicted_by_block.iter().map(|p| p * 1.0625).collect();
    GrowthRow {
        alpha,
        gain,
        predicted_factor: factor,
        predicted_growth: predicted_by_block[3],
        measured_growth: by_block[3],
        standard_error: 0.5,
        measured_factor: factor,
        by_block,
        predicted_by_block,
    }
}

fn small_shortcuts() -> Shortcuts {
    Shortcuts {
        relu: vec![gradient_row(Form::None, 1.0, 0.0, 0.5), gradient_row(Form::PreActivation, 0.5, 0.25, 0.25)],
        sigmoid: vec![gradient_row(Form::None, 1.0, 0.5, 0.25), gradient_row(Form::Identity, 1.0, 0.0, 0.125)],
        growth: vec![growth_row(1.0, 1.0), growth_row(0.5, 1.0)],
        relu_blocks: 3,
        sigmoid_blocks: 3,
        sigmoid_joins: 2,
        sigmoid_path_bound: -1.25,
        log10_quarter: -0.625,
    }
}

#[test]
fn shortcut_figures_snapshot() {
    let s = small_shortcuts();
    insta::assert_snapshot!("shortcuts_relu", svg::shortcuts_figure(&s, svg::ShortcutNetwork::Relu).svg().unwrap());
    insta::assert_snapshot!("shortcuts_growth", svg::growth_figure(&s).svg().unwrap());
}

#[test]
fn survival_figure_snapshot() {
    let rows = (1..=4)
        .map(|depth| {
            let expected_share = 0.5f64.powi(depth as i32);
            let live = 1024 >> depth;
            SurvivalRow {
                depth,
                live_everywhere: live + 1,
                live_somewhere: live + 1,
                share: (live + 1) as f64 / 1024.0,
                expected_share,
                standard_error: 0.0078125,
                deviation: 1.0 / 8.0,
            }
        })
        .collect();
    let s = Survival { chains: 1024, rows };
    insta::assert_snapshot!("survival", svg::survival_figure(&s).svg().unwrap());
}

fn remedy(variant: remedies::Remedy, seed: usize, succeeded: bool) -> Witness {
    Witness::Remedy { variant: Label(variant), seed, succeeded }
}

fn small_symptoms() -> Vec<Symptom> {
    use remedies::Remedy::{Baseline, Exploding, ReluHe};
    let symptom = |kind, checked, shown_by: Vec<Witness>| Symptom {
        kind,
        checked,
        runs: shown_by.iter().map(Witness::runs).sum(),
        shown_by,
        caveat: None,
    };
    vec![
        symptom(
            SymptomKind::LossStuck,
            12,
            vec![
                remedy(Baseline, 0, false),
                Witness::ClassicStuck {
                    task: "XOR".into(),
                    hidden_layers: 1,
                    width: 2,
                    bias: true,
                    bug: Label(sections::handwritten::Bug::None),
                    stuck: 3,
                    seeds: 4,
                },
            ],
        ),
        symptom(SymptomKind::LossJumping, 8, vec![remedy(ReluHe, 0, true), remedy(ReluHe, 1, true)]),
        symptom(
            SymptomKind::GradientsAboveOne,
            9,
            vec![Witness::Clipping { gain: 2.0, depth: 40 }, remedy(Exploding, 0, false), remedy(ReluHe, 2, true)],
        ),
        symptom(SymptomKind::WeightsShrinking, 8, vec![]),
    ]
}

#[test]
fn symptoms_figure_snapshot() {
    insta::assert_snapshot!("symptoms", svg::symptoms_figure(&small_symptoms()).svg().unwrap());
}

/// The Markdown names at most three runs per symptom and counts the rest, in runs, by outcome; the page
/// (Detail::Full) names every one.
#[test]
fn the_summary_table_counts_the_witnesses_the_full_one_names() {
    let mut report = quick().clone();
    report.symptoms = small_symptoms();
    let row = |md: &str| md.lines().find(|l| l.starts_with("| gradients above 1")).unwrap().to_string();
    let summary = row(&render::markdown(&report, None));
    assert!(summary.contains("| section 4's clipping example"), "three witnesses are all named: {summary}");
    assert!(!summary.contains("more"), "{summary}");
    let mut many = small_symptoms();
    let Witness::Remedy { variant, .. } = many[2].shown_by[1].clone() else { unreachable!() };
    many[2].shown_by.extend((1..=4).map(|seed| Witness::Remedy { variant, seed, succeeded: false }));
    // A section-6 witness stands for its stuck seeds: the rest is counted in runs, not entries.
    let stuck = many[0].shown_by[1].clone();
    assert_eq!(stuck.runs(), 3);
    many[2].shown_by.push(stuck);
    many[2].runs = many[2].shown_by.iter().map(Witness::runs).sum();
    report.symptoms = many;
    let summary = row(&render::markdown(&report, None));
    assert!(summary.contains("| 1 succeeded, 8 failed, 1 not trained: "), "{summary}");
    // 8 entries, 3 named; the other 5 are 4 one-run entries and one of 3 runs.
    assert!(summary.contains("… and 7 more runs |"), "{summary}");
    let full = row(&render::markdown_with(&report, None, render::Detail::Full));
    assert_eq!(full.matches("seed ").count(), 6, "{full}");
    assert!(!full.contains("more"), "{full}");
}

#[test]
fn remedies_figure_snapshot() {
    // The quick report's rows with small fixed curves: the SVG depends on nothing computed but
    // the rows' names and the seeds.
    let mut r = quick().remedies.clone();
    r.constant_loss_range = (0.625, 0.6875);
    for (i, row) in r.rows.iter_mut().enumerate() {
        row.loss_curve = (0..4)
            .map(|k| {
                let median = 0.625 / f64::from(1 << (k * (i % 3)));
                LossPoint { step: 25 * k, median, lowest: median / 2.0, highest: median * 1.25 }
            })
            .collect();
    }
    let figure = svg::remedies_figure(&r, svg::RemediesPanel::Exploding);
    insta::assert_snapshot!("remedies_exploding", figure.svg().unwrap());
}

/// Each row's curve is its runs' losses: the first point is the median initial loss of its seeds,
/// the steps go by `curve_step`, and the range holds the median.
#[test]
fn remedies_loss_curves_are_the_runs_losses() {
    let r = &quick().remedies;
    let step = sections::stats::curve_step(r.steps);
    for row in &r.rows {
        let first = row.loss_curve[0];
        let mut initial: Vec<f64> = row.runs.iter().map(|run| run.initial_loss).collect();
        initial.sort_by(f64::total_cmp);
        assert_eq!(first.step, 0, "{}", row.name);
        assert_eq!(first.median, sections::stats::percentile(&initial, 50.0), "{}", row.name);
        assert!(row.loss_curve.iter().enumerate().all(|(k, p)| p.step == k * step), "{}", row.name);
        assert!(row.loss_curve.iter().all(|p| p.lowest <= p.median && p.median <= p.highest), "{}", row.name);
    }
    // Every panel's rows are the rows of its table: each row in exactly one panel.
    for row in &r.rows {
        assert_eq!(svg::RemediesPanel::ALL.iter().filter(|p| p.holds(row)).count(), 1, "{}", row.name);
    }
}

/// The worked chain's figure draws the table's |∂L/∂w_d| and bound, layer by layer, the gradient
/// below the bound at every layer (the bound's claim), and the Markdown shows it after the table.
#[test]
fn the_worked_chains_figure_is_its_table() {
    let w = &quick().worked;
    let figure = svg::worked_figure(w);
    let [gradient, bound] = &figure.series[..] else { panic!("two series") };
    assert_eq!(gradient.points.len(), w.depth);
    for (l, (g, b)) in w.layers.iter().zip(gradient.points.iter().zip(&bound.points)) {
        assert_eq!((g.0, g.1), (l.layer as f64, l.grad.abs()));
        assert_eq!((b.0, b.1), (l.layer as f64, l.bound));
        assert!(g.1 > 0.0 && g.1 <= b.1, "layer {}: {} above the bound {}", l.layer, g.1, b.1);
    }
    let md = render::markdown(quick(), Some("plots"));
    let table_end = md.find("| 10 |").expect("the table's last row");
    let image = md.find(&format!("]({}/{})", "plots", svg::WORKED_PLOT)).expect("the figure is linked");
    assert!(table_end < image && image < md.find("## 2.").unwrap(), "in section 1, after the table");
}

/// The shortcuts' per-layer and per-block data end where the tables' numbers are.
#[test]
fn shortcut_profiles_agree_with_the_tables() {
    let s = &quick().shortcuts;
    for row in s.relu.iter().chain(&s.sigmoid) {
        assert_eq!(row.by_layer[0].median, row.median);
        assert_eq!(row.by_layer[0].lowest, row.log10_ratio[0]);
        assert_eq!(row.by_layer[1].median, row.median_at_span);
        assert_eq!(row.by_layer.last().unwrap().median, 0.0, "the top layer against itself");
    }
    for g in &s.growth {
        assert_eq!(*g.by_block.last().unwrap(), g.measured_growth);
        assert_eq!(*g.predicted_by_block.last().unwrap(), g.predicted_growth);
    }
}

/// No figure without data: the Markdown says so where an image would be.
#[test]
fn nothing_to_draw_is_said_in_words() {
    let mut report = quick().clone();
    for row in &mut report.remedies.rows {
        row.loss_curve.clear();
    }
    for row in report.shortcuts.relu.iter_mut().chain(&mut report.shortcuts.sigmoid) {
        row.by_layer.clear();
    }
    for g in &mut report.shortcuts.growth {
        g.by_block.clear();
        g.predicted_by_block.clear();
    }
    for r in &mut report.decay.survival.rows {
        (r.share, r.expected_share) = (0.0, 0.0);
    }
    for s in &mut report.symptoms {
        s.shown_by.clear();
        s.runs = 0;
    }
    for l in &mut report.worked.layers {
        (l.grad, l.bound) = (0.0, 0.0);
    }
    let md = render::markdown(&report, Some("plots"));
    assert_eq!(md.matches("No loss curve for these rows").count(), 3);
    assert_eq!(md.matches("No figure for these networks").count(), 2);
    for words in ["No growth figure", "No survival figure", "No symptom figure", "No figure for the worked chain"] {
        assert!(md.contains(words), "{words}");
    }
    let names: Vec<String> = svg::figures(&report).into_iter().map(|(n, _)| n).collect();
    for gone in ["remedies-", "shortcuts-", "survival", "symptoms", "worked"] {
        assert!(!names.iter().any(|n| n.contains(gone)), "{gone}: {names:?}");
    }
    // And with the data, each is linked.
    let md = render::markdown(quick(), Some("plots"));
    for file in [
        "remedies-vanishing-adam.svg",
        "remedies-vanishing-sgd.svg",
        "remedies-exploding.svg",
        "shortcuts-relu.svg",
        "shortcuts-sigmoid.svg",
        "shortcuts-growth.svg",
        "decay-relu-survival.svg",
        "symptoms.svg",
    ] {
        assert!(md.contains(&format!("(plots/{file})")), "{file}");
    }
}

/// Written to standard output (no plots folder), the report says how to get its figures; with
/// one, it links them instead.
#[test]
fn without_a_plots_folder_the_text_says_how_to_get_the_figures() {
    let how = "This text has no figures: `--plots DIR` writes them";
    let text = render::markdown(quick(), None);
    assert!(text.contains(how) && !text.contains("](plots/"));
    let text = render::markdown(quick(), Some("plots"));
    assert!(!text.contains(how) && text.contains("](plots/"));
}
