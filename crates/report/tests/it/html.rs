//! `--format html` and the figures: the page holds every figure the Markdown shows, fetches
//! nothing, and the Markdown renders as written (no stray emphasis); each figure kind's SVG is
//! pinned by a snapshot of a small fixed input. The browser test (`tests/browser/`, run by
//! `.ci/run`) checks the page as Chromium draws it.

use pulldown_cmark::{Event, Options, Parser, Tag};
use report::render::figure::{Axis, Figure, Mark, Rule, Series};
use report::render::{self, html};

#[test]
fn the_markdown_renders_as_written_with_no_stray_emphasis() {
    // The report writes italics only for the papers' titles in the references: elsewhere a pair
    // of `_` or `*` in a formula would make some.
    let report = crate::reports::quick_report();
    let md = render::markdown(report, Some("plots"));
    let references = md.find("\n## 8. References").expect("the references section");
    let emphasised: Vec<std::ops::Range<usize>> = Parser::new_ext(&md, Options::ENABLE_TABLES)
        .into_offset_iter()
        .filter(|(e, range)| matches!(e, Event::Start(Tag::Emphasis)) && range.start < references)
        .map(|(_, range)| range)
        .collect();
    let spans: Vec<&str> = emphasised.iter().map(|r| &md[r.clone()]).collect();
    assert!(spans.is_empty(), "emphasis outside the references: {spans:?}");
    assert!(
        Parser::new(&md[references..]).any(|e| matches!(e, Event::Start(Tag::Emphasis))),
        "the references set titles in italics (else this test checks nothing)"
    );
}

#[test]
fn the_page_holds_every_figure_and_fetches_nothing() {
    let report = crate::reports::quick_report();
    let figures = render::svg::figures(report);
    let md = render::markdown_with(report, Some("plots"), render::Detail::Full);
    let page = html::page(&md, &figures);
    let images = Parser::new(&md).filter(|e| matches!(e, Event::Start(Tag::Image { .. }))).count();
    assert!(images > 0);
    assert_eq!(page.matches("<svg").count(), images, "one inline SVG per image of the Markdown");
    assert!(!page.contains("figure not in this page"));
    for forbidden in ["src=", "href=\"http", "<script", "<link", "url("] {
        assert!(!page.contains(forbidden), "the page contains {forbidden}");
    }
    for section in ["1. The article", "2. Decay per depth", "7. Symptoms"] {
        assert!(page.contains(&format!("\">{section}")), "the table of contents lacks {section}");
    }
}

/// One figure of every mark, on a log axis, with a rule: the SVG is pinned byte for byte.
#[test]
fn figure_svg_snapshot() {
    let measured: Vec<(f64, f64)> = (1..=6i32).map(|d| (f64::from(d), 10f64.powi(-d))).collect();
    let band = measured.iter().map(|&(x, y)| (x, y / 3.0, y * 3.0)).collect();
    let figure = Figure {
        title: "log10 |g| by depth".into(),
        subtitle: "6 depths; band: 10th–90th percentile".into(),
        x: Axis::linear("depth"),
        y: Axis::log10("|g|"),
        series: vec![
            Series::new("measured", Mark::Line, 0, measured.clone()).with_band(band),
            Series::new("predicted", Mark::Dashed, 0, measured.iter().map(|&(x, y)| (x, y * 2.0)).collect()),
            Series::new("networks", Mark::Dots, 1, vec![(2.0, 1e-3), (4.0, f64::NAN), (5.0, 1e-4)]),
        ],
        rules: vec![Rule { y: 1e-5, label: "a format's smallest normal".into() }],
    };
    insta::assert_snapshot!("figure_all_marks", figure.svg().expect("data to draw"));
}

/// Logarithmic on both axes, as section 3's χ₁ against σ_w²: pinned byte for byte.
#[test]
fn figure_svg_snapshot_log_log() {
    let curve: Vec<(f64, f64)> = (-4..=8i32).map(|k| (2f64.powi(k), 2f64.powi(k) / 2.0)).collect();
    let figure = Figure {
        title: "χ₁ against σ_w²".into(),
        subtitle: "a curve, dots on it, the critical line".into(),
        x: Axis::log10("σ_w²"),
        y: Axis::log10("χ₁"),
        series: vec![
            Series::new("χ₁", Mark::Line, 0, curve),
            Series::new("measured", Mark::Dots, 0, vec![(1.0 / 3.0, 1.0 / 6.0), (2.0, 1.0), (32.0, 16.0)]),
        ],
        rules: vec![Rule { y: 1.0, label: "critical".into() }],
    };
    insta::assert_snapshot!("figure_log_log", figure.svg().expect("data to draw"));
}
