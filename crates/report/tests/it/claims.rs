//! The report's sentences that explain a number: each is computed from the data it explains, and
//! each test here fails when the printed numbers contradict the sentence.

use report::render;
use report::sections::Report;

/// The quick report (seed 1).
fn quick() -> &'static Report {
    crate::reports::quick_report()
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

/// §4: "later than the measured median in k of m rows" counts the rows where the top-layer
/// estimate exceeds the median depth, and names the others.
#[test]
fn the_top_layer_estimates_lateness_is_counted_from_the_rows() {
    let mut r = quick().clone();
    let rows: Vec<_> = r.exploding.spread.rows.iter_mut().filter(|row| row.gain > 1.0).collect();
    let m = 2 * rows.len();
    assert!(m >= 2);
    let template = report::sections::exploding::spread::OverNetworks {
        mean: 10.0,
        mean_se: 0.0,
        median: 10.0,
        median_se: 0.0,
        p10: 10.0,
        p90: 10.0,
    };
    for (i, row) in rows.into_iter().enumerate() {
        for (j, o) in [&mut row.f32, &mut row.f64].into_iter().enumerate() {
            o.gradient = Some(template);
            // The very first row early, every other late.
            o.gradient_top_layer = Some(if i == 0 && j == 0 { 9.5 } else { 10.5 });
        }
    }
    let md = render::markdown(&r, None);
    let text = paragraph(&md, "The top-layer estimate is where");
    let want = format!("It comes later than the measured median in {} of {m} rows (not in: gain", m - 1);
    assert!(text.contains(&want), "{text}");
    assert!(!text.contains("It comes too late"), "{text}");
}

/// §3's isometry: the sentence lists exactly the rows deeper than n/8 whose Var λ is more than
/// 4 standard errors from its expectation, and the theory is stated for the wide limit.
#[test]
fn the_isometry_rows_beyond_the_wide_limit_are_the_ones_listed() {
    let iso = &quick().isometry;
    let off = |iso: &report::sections::isometry::Isometry| -> usize {
        iso.settings
            .iter()
            .flat_map(|s| &s.rows)
            .filter(|r| r.networks > 1 && r.depth > iso.width / 8)
            .filter(|r| {
                let off = (r.var_lambda - r.exact_var.unwrap_or(r.predicted_var)).abs();
                off > (4.0 * r.var_se.unwrap_or(0.0)).max(report::sections::isometry::VAR_ROUNDING)
            })
            .count()
    };
    let listed = |md: &str| {
        md.split("\n\n")
            .find(|p| p.contains("measurement and expectation part by more than 4 standard errors"))
            .map_or(0, |p| p.matches(" against exact ").count() + p.matches(" against wide limit ").count())
    };
    let md = render::markdown(quick(), None);
    assert_eq!(listed(&md), off(iso));
    if off(iso) > 0 {
        let below = iso
            .settings
            .iter()
            .flat_map(|s| &s.rows)
            .filter(|r| r.networks > 1 && r.depth > iso.width / 8)
            .filter(|r| {
                let target = r.exact_var.unwrap_or(r.predicted_var);
                let off = (r.var_lambda - target).abs();
                off > (4.0 * r.var_se.unwrap_or(0.0)).max(report::sections::isometry::VAR_ROUNDING)
                    && r.var_lambda < target
            })
            .count();
        assert!(md.contains(&format!("{below} of these {} lie below their expectation", off(iso))), "{below}");
    }
    assert!(!md.contains("whatever the weights") && md.contains("in the limit of infinite width at fixed depth L"));
    for r in iso.settings.iter().flat_map(|s| &s.rows) {
        assert!(r.var_lambda >= 0.0, "{r:?}");
    }
    // Every row put on its expectation: none is listed.
    let mut r = quick().clone();
    for row in r.isometry.settings.iter_mut().flat_map(|s| s.rows.iter_mut()) {
        row.var_lambda = row.exact_var.unwrap_or(row.predicted_var);
    }
    assert_eq!(listed(&render::markdown(&r, None)), 0);
    assert_eq!(off(&r.isometry), 0);
}

/// §7: a symptom's name claims no more than its rule measures; the weight-growth rule compares
/// ‖W‖ at the end with its start (a ratio), so its name says nothing of a rate.
#[test]
fn the_weight_growth_symptom_is_named_for_the_ratio_its_rule_measures() {
    use report::render::prose::{symptom_name, symptom_rule};
    use report::sections::symptoms::SymptomKind;
    let (name, rule) = (symptom_name(SymptomKind::WeightsGrowing), symptom_rule(SymptomKind::WeightsGrowing));
    assert!(rule.contains("at the end") && rule.contains("its start"), "{rule}");
    for rate in ["exponential", "per step", "per epoch", "rate"] {
        assert!(!name.contains(rate), "{name}");
    }
    assert!(name.contains("at the end") && name.contains("start"), "{name}");
}

/// §3: a non-ReLU row that misses mean field under squared error is named once, in the paragraph
/// that says its miss is not explained, not again in the closing list.
#[test]
fn an_unexplained_squared_error_miss_is_named_once() {
    let mut r = quick().clone();
    let c = r.dense_init.configs.iter_mut().find(|c| c.activation == "sigmoid").unwrap();
    c.decades.agrees = false;
    c.decades.agrees_with_mean_field = false;
    let name = format!("{} with {} (", c.activation, c.init);
    let md = render::markdown(&r, None);
    let section = md.split("## 3.").nth(1).unwrap().split("### The sigmoid's critical line").next().unwrap();
    assert_eq!(section.matches(&name).count(), 1, "{section}");
}

/// §3: in the vanishing rows whose forward signal does not die, the sentence says the weight
/// gradient vanishes with the backward one for the rows where it does (the forward signal moves
/// by under a decade, the backward signal and the weight gradient fall by one or more), and
/// names the others apart.
#[test]
fn where_the_forward_signal_holds_the_weight_gradient_vanishes_with_the_backward_one() {
    use report::sections::dense_init::{Phase, collapses};
    let sentence = |r: &Report| {
        let md = render::markdown(r, None);
        paragraph(&md, "Vanishing rows whose forward signal does not die").to_string()
    };
    let mut r = quick().clone();
    let live: Vec<usize> = (0..r.dense_init.configs.len())
        .filter(|&i| {
            let c = &r.dense_init.configs[i];
            c.phase.0 == Phase::Vanishing && !collapses(c)
        })
        .collect();
    assert!(live.len() >= 2);
    for &i in &live {
        let c = &mut r.dense_init.configs[i];
        (c.forward_decades, c.decades.measured, c.weight_decades) = (0.2, -20.0, -21.0);
    }
    let text = sentence(&r);
    assert!(
        text.contains("There the forward signal holds") && text.contains("is an expectation, not a measurement"),
        "{text}"
    );
    // One row whose backward signal does not vanish is named apart.
    let c = &mut r.dense_init.configs[live[0]];
    c.decades.measured = 0.3;
    let name = format!("not in {} with {},", c.activation, c.init);
    let text = sentence(&r);
    assert!(text.contains(&name), "{text}");
}

/// §3: the counts of layers whose measured median is below mean field are the data's.
#[test]
fn the_medians_below_mean_field_are_counted_from_the_layers() {
    let d = &quick().dense_init.critical_depth;
    let layers = |bias: Option<bool>| {
        d.runs.iter().filter(move |r| bias.is_none_or(|b| (r.sigma_b2 > 0.0) == b)).flat_map(|r| &r.layers)
    };
    let backward = layers(None).filter(|l| l.backward.median < l.backward_theory).count();
    let unbiased = layers(Some(false)).filter(|l| l.forward.median < l.forward_theory).count();
    let biased = layers(Some(true)).filter(|l| l.forward.median < l.forward_theory).count();
    let want = format!(
        "below mean field in {backward} of {} layers for ‖∂L/∂a_l‖², in {unbiased} of {} for ‖a_l‖² without biases and in {biased} of {} with them",
        layers(None).count(),
        layers(Some(false)).count(),
        layers(Some(true)).count()
    );
    let md = render::markdown(quick(), None);
    assert!(paragraph(&md, "Counted over every layer").contains(&want), "{want}");
    assert!(!md.contains("by an amount that grows with depth over width"));
}

/// §4's clipping: the layers' spread is the printed norms' largest ÷ smallest, clipping by norm
/// keeps it, and the sentence says "evens out" only when clamping lowers it.
#[test]
fn clamping_evens_out_the_layers_only_when_their_spread_falls() {
    let c = &quick().exploding.clipping;
    let spread = |v: &[f64]| v.iter().copied().fold(0.0, f64::max) / v.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(c.layer_spread, [spread(&c.raw), spread(&c.by_value)]);
    assert!((spread(&c.by_norm) / c.layer_spread[0] - 1.0).abs() < 1e-12);
    let text = |r: &Report| paragraph(&render::markdown(r, None), "Clipping one exploding gradient").to_string();
    let evens = c.layer_spread[1] < c.layer_spread[0];
    assert_eq!(text(quick()).contains("±0.010 evens out"), evens);
    let mut r = quick().clone();
    r.exploding.clipping.layer_spread = [2.0, 3.0];
    assert!(text(&r).contains("does not even out"));
    r.exploding.clipping.layer_spread = [3.0, 2.0];
    assert!(text(&r).contains("±0.010 evens out"));
}

/// §4: "as it does at every gain" is said only where every gain's corrected forward step is
/// above the approximations' allowance; otherwise the gains are named.
#[test]
fn the_gains_where_the_allowance_is_under_half_a_layer_are_the_steep_ones() {
    use report::sections::exploding::largest::APPROXIMATION;
    let mut r = quick().clone();
    let rows: Vec<_> = r.exploding.spread.rows.iter_mut().filter(|row| row.gain > 1.0).collect();
    let n = rows.len();
    assert!(n >= 2);
    for row in rows {
        row.step[1] = 2.0 * APPROXIMATION;
    }
    let sentence = |r: &Report| {
        render::markdown(r, None)
            .split("\n\n")
            .find(|p| p.starts_with("Which layer holds the largest gradient value"))
            .map(str::to_string)
    };
    let text = sentence(&r).expect("the quick report's rows have a largest value");
    assert!(text.contains("as it does at every gain above 1 here"), "{text}");
    let first = r.exploding.spread.rows.iter_mut().find(|row| row.gain > 1.0).unwrap();
    first.step[1] = 0.5 * APPROXIMATION;
    let text = sentence(&r).unwrap();
    assert!(text.contains("but not at"), "{text}");
}

/// §5.1: a scaled sigmoid row would be labelled with the sigmoid networks' own blocks.
#[test]
fn a_scaled_sigmoid_row_names_the_sigmoid_networks_blocks() {
    let mut r = quick().clone();
    let s = &mut r.shortcuts;
    let (sig_blocks, relu_blocks) = (s.sigmoid_blocks, s.relu_blocks);
    assert_ne!(sig_blocks, relu_blocks);
    assert_eq!(sig_blocks, report::sections::shortcuts::SIGMOID_DEPTH / report::sections::shortcuts::SPAN);
    s.sigmoid[1].alpha = 0.5;
    let md = render::markdown(&r, None);
    let row = md.lines().find(|l| l.starts_with("| sigmoid,") && l.contains("scaled by")).expect("the scaled row");
    assert!(row.contains(&format!("1/√{sig_blocks}")), "{row}");
}

/// Every paper cited in the text by author and year is in §8's list, and every paper in the list
/// is cited: in the claims table or in the text.
#[test]
fn every_citation_is_listed_and_every_listed_paper_is_cited() {
    use report::render::citations::entry;
    use report::sections::references::Paper;
    let md = render::markdown(quick(), None);
    let (body, refs) = md.split_once("## 8. References").unwrap();
    let surname = |p: Paper| entry(p).authors[0].rsplit(' ').next().unwrap().to_string();
    let claimed: Vec<Paper> = quick().references.claims.iter().flat_map(|c| c.kind.papers().iter().copied()).collect();
    for p in Paper::ALL {
        let e = entry(p);
        assert!(refs.contains(&format!("\n{}. {}", p.number(), e.authors[0])), "{p:?} not listed");
        let inline = body
            .match_indices(&surname(p))
            .any(|(i, _)| body[i..].chars().take(60).collect::<String>().contains(&e.year.to_string()));
        assert!(inline || claimed.contains(&p), "{p:?} is listed but never cited");
    }
    // Each "X et al." in the text names a listed paper's first author with its year nearby.
    for (i, _) in body.match_indices(" et al.") {
        let name = body[..i].rsplit(|ch: char| !ch.is_alphabetic() && ch != '-').next().unwrap();
        let after: String = body[i..].chars().take(16).collect();
        let listed = Paper::ALL.iter().any(|&p| surname(p) == name && after.contains(&entry(p).year.to_string()));
        assert!(listed || after.contains("(wide)"), "{name}{after} is not in §8's list");
    }
}

/// §8's Hanin row: ours, the mean over networks of ln(‖a_l‖²/‖x‖²) at the deepest hidden layer of
/// ReLU under He, agrees with the paper's law l·E[ln R] (the mean of a sum of l independent ln R,
/// ≈ −(5/2)β) within 3 of its standard errors over the networks — the sample standard deviation
/// ÷ √networks. The law lies more than 4 of them below 0, so agreement says the typical network is
/// that far below the kept mean; a drift of the right sign but near 0 disagrees, as "ours < 0"
/// would not have said.
#[test]
fn the_hanin_row_compares_the_measured_drift_with_the_law_in_standard_errors() {
    use report::numfmt::sig;
    use report::sections::critical_depth::Regime;
    use report::sections::references::{ClaimKind, DRIFT_STANDARD_ERRORS};
    let claim = |r: &Report| claim_set(r).claims.into_iter().find(|c| c.kind == ClaimKind::TypicalBelowMean).unwrap();
    let row = |md: &str| md.lines().find(|l| l.starts_with("| with 2/fan-in")).expect("§8's row").to_string();
    let d = &quick().dense_init.critical_depth;
    let h = d.hanin.as_ref().expect("ReLU under He ran");
    let deepest = h.rows.last().unwrap();
    assert_eq!(deepest.layer, d.depth - 1, "the deepest hidden layer");
    assert_eq!(deepest.exact_mean, deepest.layer as f64 * h.law_mean);
    let networks = d.runs.iter().find(|r| r.regime == Regime::He).unwrap().networks as f64;
    let se = (deepest.var / networks).sqrt();
    let c = claim(quick());
    assert_eq!((c.paper_number, c.ours, c.standard_error), (Some(deepest.exact_mean), Some(deepest.mean), Some(se)));
    let count = f64::from(DRIFT_STANDARD_ERRORS);
    assert!((deepest.mean - deepest.exact_mean).abs() <= count * se, "{c:?}");
    assert!(deepest.exact_mean + (count + 1.0) * se < 0.0, "{c:?}");
    assert_eq!(c.agrees, Some(true));
    assert!(quick().references.claims.contains(&c), "the report's own claim");
    // The typical network barely below the mean: negative, yet the law is more than 3 standard
    // errors away.
    let mut r = quick().clone();
    r.dense_init.critical_depth.hanin.as_mut().unwrap().rows.last_mut().unwrap().mean = -se;
    assert_eq!(claim(&r).agrees, Some(false));
    let text = row(&render::markdown(quick(), None));
    assert!(text.contains(&format!("| {} ± {} |", sig(deepest.mean, 4), sig(se, 2))), "{text}");
    let relation = format!("| yes (within {DRIFT_STANDARD_ERRORS} standard errors of the paper's) |");
    assert!(text.ends_with(&relation), "{text}");
    r.references = claim_set(&r);
    assert!(row(&render::markdown(&r, None)).contains("| **no** ("));
}

/// The references of `r`, recomputed from its sections.
fn claim_set(r: &Report) -> report::sections::references::References {
    report::sections::references::compute(&r.worked, &r.decay, &r.dense_init, &r.exploding, &r.remedies)
}

/// §5.1: "the median over the seeds of each network's step from layer 2 to layer 1": each seed's
/// identity-skip sigmoid network, run again, gives its step log10 ‖∂L/∂a_1‖ ÷ ‖∂L/∂a_2‖; their
/// nearest-rank median is the row's kept `median_first_to_span`, bit for bit (the difference of the
/// layer-by-layer medians the table shows need not be), and the sentence prints it.
#[test]
fn the_identity_skips_step_to_layer_1_is_the_median_of_each_seeds_step() {
    use report::numfmt::log10;
    use report::sections::Stream;
    use report::sections::shortcuts::{Form, NETWORKS, SPAN, log10_profile};
    let row = |r: &Report| r.shortcuts.sigmoid.iter().find(|row| row.form == Form::Identity).cloned().unwrap();
    let identity = row(quick());
    let mut steps: Vec<f64> = (0..NETWORKS)
        .map(|k| {
            let sigmoid = vectorised::Activation::Sigmoid;
            let p = log10_profile(1, Stream::ShortcutsSigmoid, k, Form::Identity, identity.alpha, sigmoid);
            p[0] - p[SPAN - 1]
        })
        .collect();
    steps.sort_by(f64::total_cmp);
    let median = steps[NETWORKS.div_ceil(2) - 1];
    assert_eq!(identity.median_first_to_span.to_bits(), median.to_bits(), "{steps:?}");
    let sentence = |r: &Report| paragraph(&render::markdown(r, None), "**Sigmoid.** Without a shortcut").to_string();
    let printed = |v: f64| format!("each network's step from layer 2 to layer 1, {}, against", log10(v, 2));
    let text = sentence(quick());
    assert!(text.contains(&printed(median)), "{text}");
    // The printed number follows the kept median.
    let mut r = quick().clone();
    let kept = &mut r.shortcuts.sigmoid.iter_mut().find(|row| row.form == Form::Identity).unwrap().median_first_to_span;
    *kept = -0.9;
    assert!(sentence(&r).contains(&printed(-0.9)));
}
