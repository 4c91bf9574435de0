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
