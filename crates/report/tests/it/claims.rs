//! The report's sentences that explain a number: each is computed from the data it explains, and
//! each test here fails when the printed numbers contradict the sentence.

use report::render;
use report::sections::{self, Config, Report};
use std::sync::OnceLock;

/// The quick report (seed 1), computed once.
fn quick() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| sections::compute(&Config::new(1, true)))
}

/// The paragraph of `md` that contains `needle`.
fn paragraph<'a>(md: &'a str, needle: &str) -> &'a str {
    md.split("\n\n").find(|p| p.contains(needle)).unwrap_or_else(|| panic!("no paragraph with {needle:?}"))
}

/// §1: the 1/4 bound caps the backward factor w·σ′, not the weight gradient's step, which also
/// carries u_d/u_(d+1); the printed step is the ratio of the printed rows, and the sentence says
/// the step exceeds 1/4 exactly when one printed step does.
#[test]
fn the_worked_chains_quarter_bound_is_about_the_backward_factor_and_its_weight_steps_are_the_rows() {
    let w = &quick().worked;
    for (l, above) in w.layers.iter().zip(&w.layers[1..]) {
        assert!(w.weight * l.derivative <= 0.25, "{l:?}");
        let step = l.step.expect("every row but the top has a step");
        assert_eq!(step, l.grad / above.grad);
        let formula = w.weight * l.derivative * l.input / above.input;
        assert!((step / formula - 1.0).abs() < 1e-12, "{step} against {formula}");
    }
    assert_eq!(w.layers.last().unwrap().step, None);
    let text = paragraph(&render::markdown(quick(), None), "A chain of").to_string();
    let largest = w.layers.iter().filter_map(|l| l.step).fold(0.0, f64::max);
    // u₁ = x = 1 > u₂ = σ(1): the first step is above 1/4.
    assert!(largest > 0.25);
    assert!(text.contains("is not capped at 1/4: it reaches 0.269 at layer 1"), "{text}");
    // With every step under 1/4 the sentence says so instead.
    let mut r = quick().clone();
    for l in r.worked.layers.iter_mut().filter(|l| l.step.is_some()) {
        l.step = Some(0.2);
    }
    let text = render::markdown(&r, None);
    let text = paragraph(&text, "A chain of");
    assert!(text.contains("here it is at most 0.200") && !text.contains("not capped"), "{text}");
}

/// §3's sigmoid critical line: each sigmoid row of the dense table is vanishing exactly when its
/// σ_w² is below the critical one, and the sentence places each row on the side its σ_w² is.
#[test]
fn the_sigmoid_rows_are_placed_on_their_side_of_the_critical_line() {
    use report::sections::dense_init::Phase;
    let d = &quick().dense_init;
    let critical = d.sigmoid_critical.sigma_w2.expect("a critical σ_w²");
    let rows: Vec<_> = d.configs.iter().filter(|c| c.activation == "sigmoid").collect();
    assert!(!rows.is_empty());
    for c in &rows {
        assert_eq!(c.phase.0 == Phase::Vanishing, c.sigma_w2 < critical, "{} {}", c.init, c.sigma_w2);
    }
    let md = render::markdown(quick(), None);
    let text = paragraph(&md, "Of the table above's sigmoid rows");
    let (below, above) = text.split_once("above it:").unwrap_or((text, ""));
    for c in &rows {
        let side = if c.sigma_w2 < critical { below } else { above };
        assert!(side.contains(&format!("{} (σ_w²", c.init)), "{} on the wrong side: {text}", c.init);
    }
    // A row moved across the line moves in the sentence.
    let mut r = quick().clone();
    let he = r.dense_init.configs.iter_mut().find(|c| c.activation == "sigmoid").unwrap();
    he.sigma_w2 = 2.0 * critical;
    let init = he.init.to_string();
    let md = render::markdown(&r, None);
    let above =
        paragraph(&md, "Of the table above's sigmoid rows").split_once("above it:").expect("a row above").1.to_string();
    assert!(above.contains(&format!("{init} (σ_w²")), "{above}");
}
