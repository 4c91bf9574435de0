//! The references section: every claim's "ours" is read from the computed report (it follows the
//! data when the data change), every claim holds on the report's data, the section is the last one
//! in Markdown and structured in JSON; and the header leaves sample counts to the sections.

use report::render;
use report::sections::Report;
use report::sections::dense_init::SchemeName;
use report::sections::references::{self, ClaimKind, Paper, References};
use report::sections::remedies::Remedy;

fn quick() -> &'static Report {
    crate::reports::quick_report()
}

fn claims_of(r: &Report) -> References {
    references::compute(&r.worked, &r.decay, &r.dense_init, &r.exploding, &r.remedies)
}

fn ours(r: &Report, kind: ClaimKind) -> Option<f64> {
    claims_of(r).claims.iter().find(|c| c.kind == kind).unwrap().ours
}

#[test]
fn every_claims_ours_follows_the_report_data() {
    let report = quick();
    assert_eq!(claims_of(report), report.references);
    for kind in ClaimKind::ALL {
        let before = ours(report, kind).unwrap_or_else(|| panic!("{kind:?}: no number of ours"));
        let mut changed = report.clone();
        // Move the one number the claim reads, by a factor no computation would hit by chance.
        const F: f64 = 1.375;
        let find = |r: &mut Report, activation: &str, init: SchemeName| -> usize {
            r.dense_init.configs.iter().position(|c| c.activation == activation && c.init.0 == init).unwrap()
        };
        let expected = match kind {
            ClaimKind::ExponentialDecay => {
                let c = changed.decay.configs.iter_mut().find(|c| c.activation == "sigmoid" && c.shortcut.is_none());
                let slope = &mut c.unwrap().weight_fit.as_mut().unwrap().slope;
                *slope *= F;
                *slope
            }
            ClaimKind::SigmoidDerivativeBound => {
                let l = changed.worked.layers.iter_mut().max_by(|a, b| a.derivative.total_cmp(&b.derivative)).unwrap();
                l.derivative *= F;
                l.derivative
            }
            ClaimKind::GlorotVariance | ClaimKind::TanhCritical | ClaimKind::HeVariance | ClaimKind::ReluCritical => {
                let (activation, init) = match kind {
                    ClaimKind::GlorotVariance | ClaimKind::TanhCritical => ("tanh", SchemeName::Xavier),
                    _ => ("relu", SchemeName::He),
                };
                let k = find(&mut changed, activation, init);
                let c = &mut changed.dense_init.configs[k];
                let v = if matches!(kind, ClaimKind::GlorotVariance | ClaimKind::HeVariance) {
                    &mut c.sigma_w2
                } else {
                    &mut c.chi_1
                };
                *v *= F;
                *v
            }
            ClaimKind::GradientRateIsChi => {
                let k = find(&mut changed, "tanh", SchemeName::Uniform);
                let slope = changed.dense_init.configs[k].measured_slope.as_mut().unwrap();
                *slope *= F;
                *slope
            }
            ClaimKind::CriticalLineRises => {
                let s = changed.dense_init.critical_depth.tanh_critical.as_mut().unwrap();
                *s *= F;
                *s
            }
            ClaimKind::CorrelationDepthScale => {
                // Every ordered row's fit moves, so the chosen one's does.
                for r in &mut changed.dense_init.critical_depth.runs {
                    if let Some(x) = r.xi_measured.as_mut() {
                        *x *= F;
                    }
                }
                before + F.log10()
            }
            ClaimKind::TypicalBelowMean => {
                let row = changed.dense_init.critical_depth.hanin.as_mut().unwrap().rows.last_mut().unwrap();
                row.mean *= F;
                row.mean
            }
            ClaimKind::ClippingKeepsDirection => {
                changed.exploding.clipping.cos_norm *= F;
                changed.exploding.clipping.cos_norm
            }
            ClaimKind::L2IsNotDecayUnderAdam => {
                // Every run of the L2 row moves, so the median does too.
                let row = changed.remedies.rows.iter_mut().find(|r| r.name.0 == Remedy::L2).unwrap();
                for run in &mut row.runs {
                    run.weight_growth *= F;
                }
                before * F
            }
        };
        let after = ours(&changed, kind).unwrap();
        assert_ne!(after, before, "{kind:?}");
        assert!((after - expected).abs() <= 1e-12 * expected.abs(), "{kind:?}: {after} vs {expected}");
    }
}

#[test]
fn the_paper_numbers_that_are_predictions_follow_our_setting() {
    // Schoenholz et al.'s rate is log10 χ₁ of the same row (negative: vanishing); Loshchilov & Hutter's decay factor is
    // (1 − ηλ)^T for section 5's steps.
    let report = quick();
    let paper = |r: &Report, kind: ClaimKind| claims_of(r).claims.iter().find(|c| c.kind == kind).unwrap().paper_number;
    let mut changed = report.clone();
    let k = changed
        .dense_init
        .configs
        .iter()
        .position(|c| c.activation == "tanh" && c.init.0 == SchemeName::Uniform)
        .unwrap();
    changed.dense_init.configs[k].chi_1 = 0.01;
    assert_eq!(paper(&changed, ClaimKind::GradientRateIsChi), Some(-2.0));
    changed.remedies.steps *= 2;
    let (before, after) =
        (paper(report, ClaimKind::L2IsNotDecayUnderAdam), paper(&changed, ClaimKind::L2IsNotDecayUnderAdam));
    assert!((after.unwrap() - before.unwrap().powi(2)).abs() < 1e-12);
}

#[test]
fn every_claim_agrees_with_the_reports_data() {
    let report = quick();
    assert_eq!(report.references.claims.len(), ClaimKind::ALL.len());
    for c in &report.references.claims {
        assert_eq!(c.agrees, Some(true), "{:?}: paper {:?}, ours {:?}", c.kind, c.paper_number, c.ours);
    }
    // The relation is checked, not assumed: a number of ours on the wrong side disagrees.
    let mut changed = report.clone();
    changed.worked.layers[0].derivative = 0.3;
    let c = claims_of(&changed);
    assert_eq!(c.claims.iter().find(|c| c.kind == ClaimKind::SigmoidDerivativeBound).unwrap().agrees, Some(false));
}

#[test]
fn references_are_the_last_section_with_structured_entries() {
    let report = quick();
    let md = render::markdown(report, None);
    let last = md.lines().rfind(|l| l.starts_with("## ")).unwrap();
    assert_eq!(last, "## 8. References");
    let json: serde_json::Value = serde_json::from_str(&render::json(report)).unwrap();
    let papers = json["references"]["papers"].as_array().unwrap();
    assert_eq!(papers.len(), Paper::ALL.len());
    for (k, p) in papers.iter().enumerate() {
        assert_eq!(p["number"], k + 1);
        assert!(!p["authors"].as_array().unwrap().is_empty() && p["title"].is_string() && p["year"].is_u64());
        assert!(md.contains(&format!("\n{}. ", k + 1)), "paper {} listed", k + 1);
    }
    let claims = json["references"]["claims"].as_array().unwrap();
    for (c, data) in claims.iter().zip(&report.references.claims) {
        assert_eq!(c["ours"].as_f64(), data.ours);
        assert!(
            c["papers"].as_array().unwrap().iter().all(|n| (1..=papers.len() as u64).contains(&n.as_u64().unwrap()))
        );
    }
}

#[test]
fn the_header_claims_no_global_sample_count_and_each_section_states_its_own() {
    let report = quick();
    let md = render::markdown(report, None);
    let header = md.split("\n## ").next().unwrap();
    assert!(!header.contains("samples"), "{header}");
    assert!(!header.contains(&report.config.samples.to_string()), "{header}");
    let section = |n: &str| md.split(&format!("\n## {n}. ")).nth(1).unwrap().split("\n## ").next().unwrap().to_string();
    assert!(section("2").contains(&format!("{} single-neuron chains", report.decay.samples)));
    assert!(section("3").contains(&format!("{} networks per row", report.dense_init.nets)));
    assert!(section("5").contains(&format!("{} seeds per row", report.remedies.seeds)));
    assert!(section("6").contains(&format!("{} seeds per row", report.classic.seeds)));
}
