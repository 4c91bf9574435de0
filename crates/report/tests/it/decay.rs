//! Section 2's explanations, each a claim with a test that fails if it is wrong: the backward
//! factor's derived slopes (tanh, leaky ReLU, live ReLU), the homogeneity identity, ReLU survival
//! 2^−D, the folding of live chains, the collapse criterion and the one sign convention (the f16
//! paragraph's claims are in `decay_f16.rs`).
//!
//! The claims about the default report are checked on the default section itself (seed 1, the
//! seed of `docs/report.md`), computed once for the whole module.

use crate::reports::{default_report, quick_report};
use report::render;
use report::sections::decay::{
    self, Basis, ChainSet, Collapse, Decay, DecayConfig, Fit, SkipForm, Underflow, survival,
};
use report::sections::{self, Config, Stream};
use scalar::chain::Chain;
use scalar::{Activation, Ext, Skip};

/// The default report's section 2 (seed 1).
pub(crate) fn default_decay() -> &'static Decay {
    &default_report().decay
}

/// Chain `i` of section 2's stream for activation `a` (index into `decay::ACTIVATIONS`), without
/// shortcut, redrawn as the section draws it: (the chain, x, ŷ).
pub(crate) fn redraw(config: &Config, a: usize, i: usize) -> (Chain, f64, f64) {
    let mut rng = sections::stream_rng(config.seed, Stream::Decay { activation: a, shortcut: 0 }, i as u64);
    let w: Vec<f64> = (0..config.max_depth).map(|_| rng.normal()).collect();
    let (x, t) = (rng.normal(), rng.uniform(0.0, 1.0));
    (Chain::uniform(decay::ACTIVATIONS[a], w).unwrap(), x, t)
}

fn config<'a>(d: &'a Decay, name: &str, chains: ChainSet) -> &'a DecayConfig {
    d.config(name, None, chains).unwrap_or_else(|| panic!("{name} is measured"))
}

/// Whether `fit` is within 3 standard errors of `value`.
fn within_3_se(fit: Fit, value: f64) -> bool {
    (fit.slope - value).abs() <= 3.0 * fit.standard_error
}

/// E[g(w)] for w ~ N(0, 1) by composite Simpson quadrature, with g even and a logarithmic
/// singularity at 0 allowed: 2∫_0^1 g(t²)·φ(t²)·2t dt + 2∫_1^9 g(w)·φ(w) dw (the mass beyond 9 is
/// below 1e−18).
fn expectation_over_standard_normal(g: impl Fn(f64) -> f64) -> f64 {
    let phi = |w: f64| (-0.5 * w * w).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let simpson = |f: &dyn Fn(f64) -> f64, a: f64, b: f64, n: usize| {
        let h = (b - a) / n as f64;
        let inner: f64 = (1..n).map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
        (f(a) + inner + f(b)) * h / 3.0
    };
    let near = |t: f64| if t == 0.0 { 0.0 } else { g(t * t) * phi(t * t) * 2.0 * t };
    2.0 * simpson(&near, 0.0, 1.0, 200_000) + 2.0 * simpson(&|w| g(w) * phi(w), 1.0, 9.0, 200_000)
}

#[test]
fn the_closed_form_of_e_log10_abs_w_agrees_with_quadrature() {
    let quadrature = expectation_over_standard_normal(|w| w.abs().log10());
    let closed = report::sections::stats::mean_log10_abs_std_normal();
    assert!((quadrature - closed).abs() < 1e-6, "quadrature {quadrature} vs closed form {closed}");
}

#[test]
fn tanh_backward_factor_decays_at_e_log10_abs_w_once_the_forward_signal_has_collapsed() {
    let d = default_decay();
    let tanh = config(d, "tanh", ChainSet::All);
    // The chain's actual per-layer factor once collapsed: z = w·u with |u| below the level 2^−14;
    // E[log10|w·tanh′(w·u)|] by quadrature differs from E[log10|w|] by at most u²/ln 10.
    let u = 2f64.powi(-14);
    let collapsed =
        expectation_over_standard_normal(|w| (w * Activation::Tanh.derivative(w * u)).abs().log10().max(-400.0));
    let prediction = tanh.prediction.expect("tanh without shortcut has a prediction");
    assert!((collapsed - prediction.slope).abs() < 1e-6, "quadrature {collapsed} vs {}", prediction.slope);
    let backward = tanh.backward_fit.unwrap();
    assert!(within_3_se(backward, prediction.slope), "backward {backward:?} vs {}", prediction.slope);
    assert!(prediction.agrees);
    // The collapse the prediction rests on happens within the chain's first tenth.
    match tanh.collapse {
        Collapse::FromLayer { layer, .. } => assert!(layer < d.max_depth / 10, "collapsed only from layer {layer}"),
        Collapse::NotCollapsed => panic!("tanh's forward signal must collapse"),
    }
}

#[test]
fn tanh_and_leaky_relu_weight_gradients_are_flat_because_the_forward_signal_cancels_the_backward_decay() {
    let d = default_decay();
    for name in ["tanh", "leaky_relu"] {
        let c = config(d, name, ChainSet::All);
        let (w, b, f) = (c.weight_fit.unwrap(), c.backward_fit.unwrap(), c.forward_fit.unwrap());
        assert!(within_3_se(w, 0.0), "{name}: ∂L/∂w slope {w:?} is not flat");
        assert!(b.slope < -0.2, "{name}: the backward factor must vanish: {b:?}");
        // The forward signal grows towards the input as fast as the backward factor shrinks.
        let se = (b.standard_error.powi(2) + f.standard_error.powi(2)).sqrt();
        assert!((f.slope + b.slope).abs() <= 3.0 * se, "{name}: forward {f:?} vs backward {b:?}");
    }
    // Control: sigmoid's forward signal stays in (0, 1), so its ∂L/∂w shows the backward decay.
    let sigmoid = config(d, "sigmoid", ChainSet::All);
    assert!(sigmoid.weight_fit.unwrap().slope < -0.5);
    assert_eq!(sigmoid.collapse, Collapse::NotCollapsed);
}

#[test]
fn leaky_relu_backward_factor_decays_at_the_derived_rate_faster_than_sigmoids() {
    let d = default_decay();
    let leaky = config(d, "leaky_relu", ChainSet::All);
    let alpha = scalar::activation::DEFAULT_LEAKY_SLOPE;
    // Each unit is on its α side with probability ½ (w's sign is a fair coin independent of |w|).
    let derived = expectation_over_standard_normal(|w| w.abs().log10()) + 0.5 * alpha.log10();
    let prediction = leaky.prediction.unwrap();
    assert!((prediction.slope - derived).abs() < 1e-6, "{} vs {derived}", prediction.slope);
    let backward = leaky.backward_fit.unwrap();
    assert!(within_3_se(backward, derived) && prediction.agrees, "{backward:?} vs {derived}");
    let sigmoid = config(d, "sigmoid", ChainSet::All).backward_fit.unwrap();
    let se = (backward.standard_error.powi(2) + sigmoid.standard_error.powi(2)).sqrt();
    assert!(backward.slope + 3.0 * se < sigmoid.slope, "leaky {backward:?} vs sigmoid {sigmoid:?}");
}

#[test]
fn w_times_the_weight_gradient_is_the_same_at_every_layer_of_the_sections_leaky_and_live_relu_chains() {
    // Over every chain and layer, to rounding: (2D + 8)·ε (scalar's test derives it).
    let d = default_decay();
    let tolerance = (2 * d.max_depth + 8) as f64 * f64::EPSILON;
    for (name, chains) in [("leaky_relu", ChainSet::All), ("relu", ChainSet::Live), ("relu", ChainSet::All)] {
        let deviation = config(d, name, chains).homogeneity_deviation.expect("positively homogeneous");
        assert!(deviation <= tolerance, "{name}: {deviation}");
    }
    assert_eq!(config(d, "tanh", ChainSet::All).homogeneity_deviation, None);
    // Control: for tanh, whose f(z) ≠ f′(z)·z, w_d·∂L/∂w_d is not constant along a chain.
    let chain = Chain::uniform(Activation::Tanh, vec![1.5, -2.0, 0.75, 1.25]).unwrap();
    let g = chain.gradients_ext(0.8, 0.3);
    let terms: Vec<f64> = g.weight.iter().zip(chain.weights()).map(|(g, w)| (*g * *w).to_f64()).collect();
    assert!(terms.windows(2).any(|t| (t[0] - t[1]).abs() > 1e-3 * t[0].abs()), "{terms:?}");
}

#[test]
fn relu_survival_is_two_to_the_minus_depth_and_the_same_at_every_layer() {
    let s = &default_decay().survival;
    assert!(s.rows.len() >= 8, "a range of depths");
    let deepest = s.rows.last().unwrap();
    assert!(deepest.expected_share * s.chains as f64 >= 30.0, "enough chains that the deepest row means something");
    for r in &s.rows {
        assert_eq!(r.expected_share, 2f64.powi(-(r.depth as i32)));
        assert_eq!(r.live_everywhere, r.live_somewhere, "D = {}: non-zero at some layers only", r.depth);
        let se = (r.expected_share * (1.0 - r.expected_share) / s.chains as f64).sqrt();
        assert!((r.share - r.expected_share).abs() <= 3.0 * se, "D = {}: {} vs {}", r.depth, r.share, r.expected_share);
    }
}

#[test]
fn a_live_relu_chain_is_its_fold_so_folded_chains_are_distributed_as_survivors() {
    // Every live chain of depth 6 among the survival streams' first 2000 has |∂L/∂w_d| bit for
    // bit equal to its fold (|w|, |x|), and every fold is live.
    let mut live = 0;
    for i in 0..2000 {
        let (chain, x, target) = survival::draw(1, 6, i);
        let g = chain.gradients_ext(x, target);
        let folded = Chain::uniform(Activation::Relu, chain.weights().iter().map(|w| w.abs()).collect()).unwrap();
        let fg = folded.gradients_ext(x.abs(), target);
        assert!(fg.weight.iter().all(|g| !g.is_zero()), "chain {i}: a fold is live");
        if g.weight.iter().all(|g| !g.is_zero()) {
            live += 1;
            for (a, b) in g.weight.iter().zip(&fg.weight) {
                assert_eq!(a.abs(), b.abs(), "chain {i}");
            }
        }
    }
    assert!(live > 10, "{live} live chains");
}

#[test]
fn dead_relu_chains_say_all_exact_zero_instead_of_never_underflowing() {
    let d = default_decay();
    let relu = config(d, "relu", ChainSet::All);
    assert!(relu.all_exact_zero);
    assert!(relu.underflow.iter().all(|u| *u == Underflow::AllExactZero));
    let md = render::markdown(&sections::Report { decay: d.clone(), ..quick_report().clone() }, None);
    let row = md.lines().find(|l| l.starts_with("| relu | none | all | — (all exact 0) | — (all exact 0) |")).unwrap();
    assert!(!row.contains("> "), "{row}");
    // Live chains do underflow, and say where.
    let live = config(d, "relu", ChainSet::Live);
    assert!(matches!(live.underflow[0], Underflow::At(_)));
}

pub(crate) fn config_of<'a>(d: &'a Decay, name: &str) -> &'a DecayConfig {
    config(d, name, ChainSet::All)
}

#[test]
fn the_collapse_layer_is_the_median_layer_from_which_every_input_is_below_2_to_the_minus_14() {
    let config = Config::new(3, true);
    let quick = decay::compute(&config);
    let level = 2f64.powi(-14);
    let mut layers: Vec<usize> = (0..config.decay_samples)
        .map(|i| {
            let (chain, x, _) = redraw(&config, 1, i);
            let trace = chain.forward_ext(x);
            let above = trace.input.iter().rposition(|u| u.cmp_abs(Ext::from_f64(level)).unwrap().is_ge());
            above.map_or(1, |i| i + 2)
        })
        .collect();
    layers.sort_unstable();
    let median = layers[layers.len().div_ceil(2) - 1];
    let expected = if median > config.max_depth {
        Collapse::NotCollapsed
    } else {
        Collapse::FromLayer { layer: median, through_depth: config.max_depth - median + 1 }
    };
    assert_eq!(config_of(&quick, "tanh").collapse, expected);
    assert!(matches!(expected, Collapse::FromLayer { .. }));
}

#[test]
fn every_slope_is_decades_per_layer_negative_when_shrinking_towards_the_input() {
    // The sign of each fitted slope is the sign of (median at k = D) − (median at k = 1) wherever
    // that difference is large; and the bound on the backward slope is above it.
    let d = default_decay();
    for c in &d.configs {
        let first = c.rows.first().unwrap();
        let last = c.rows.last().unwrap();
        let columns = [
            (c.weight_fit, first.median, last.median),
            (c.backward_fit, first.backward_median, last.backward_median),
            (c.forward_fit, first.forward_median, last.forward_median),
        ];
        for (fit, top, bottom) in columns {
            if let Some(f) = fit.filter(|_| (bottom - top).abs() > 20.0 && bottom.is_finite() && top.is_finite()) {
                assert_eq!(f.slope.signum(), (bottom - top).signum(), "{} {:?}", c.activation, c.shortcut);
            }
        }
        if let (Some(bound), Some(b)) = (c.backward_slope_bound, c.backward_fit) {
            assert!(b.slope <= bound + 3.0 * b.standard_error, "{}: {b:?} above its bound {bound}", c.activation);
        }
    }
}

#[test]
fn section_2_states_its_own_sample_counts() {
    let d = default_decay();
    let md = render::markdown(&sections::Report { decay: d.clone(), ..quick_report().clone() }, None);
    let section = &md[md.find("## 2.").unwrap()..md.find("## 3.").unwrap()];
    assert!(
        section.contains(&format!("{} single-neuron chains of depth D = {} per configuration", d.samples, d.max_depth))
    );
    assert!(section.contains(&format!("{} bootstrap resamples", d.bootstrap_resamples)));
    assert!(section.contains(&format!("{} chains per depth", d.survival.chains)));
}

// The two shortcuts (docs/derivation.md §5a).

#[test]
fn the_shortcut_bounds_are_the_derivations_with_e_abs_w_by_quadrature() {
    // Pre-activation: [log10 sup|f′| + log10(1 + sup^{s−1}·E|w|^s)]/s; identity:
    // log10(1 + sup^s·E|w|^s)/s, with E|w| for w ~ N(0, 1) by quadrature (√(2/π) in closed form).
    let mean_abs_w = expectation_over_standard_normal(f64::abs);
    for span in [1usize, 2, 3, 5] {
        let s = span as f64;
        for f in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
            let sup = f.sup_derivative();
            let pre = (sup.log10() + (1.0 + sup.powf(s - 1.0) * mean_abs_w.powf(s)).log10()) / s;
            let identity = (1.0 + sup.powf(s) * mean_abs_w.powf(s)).log10() / s;
            let got_pre = decay::skip_slope_bound(f, span, SkipForm::PreActivation);
            let got_identity = decay::skip_slope_bound(f, span, SkipForm::Identity);
            assert!((got_pre - pre).abs() < 1e-9, "{f:?} span {span}: {got_pre} vs {pre}");
            assert!((got_identity - identity).abs() < 1e-9, "{f:?} span {span}: {got_identity} vs {identity}");
        }
    }
    // For a sigmoid the pre-activation bound is below 0 (its path meets σ′ ≤ 1/4 once per block);
    // the identity bound is above 0 (nothing on its path shrinks).
    assert!(decay::skip_slope_bound(Activation::Sigmoid, 2, SkipForm::PreActivation) < -0.25);
    assert!(decay::skip_slope_bound(Activation::Sigmoid, 2, SkipForm::Identity) > 0.0);
}

#[test]
fn per_block_the_backward_factor_is_multiplied_by_f_prime_times_1_plus_p_before_f_and_by_1_plus_p_after_it() {
    // The recursion the section's prediction and bounds rest on, checked in Ext on chains drawn
    // like the section's (N(0, 1) weights, sigmoid) at every layer m the skip leaves:
    //   pre-activation  ∂L/∂a_m = σ′(z_{m+s})·(1 + P′_m)·∂L/∂a_{m+s},  P′_m = ∏ w_{m+j} · ∏_{j<s} σ′(z_{m+j})
    //   identity        ∂L/∂a_m = (1 + P_m)·∂L/∂a_{m+s},               P_m = ∏ w_{m+j}·σ′(z_{m+j})
    // (each side rounded differently: a relative tolerance of a few ε per factor).
    const TOL: f64 = 1e-12;
    let mut rng = scalar::rng::Rng::new(99);
    for span in [2usize, 3] {
        for skip in [Skip::PreActivation, Skip::Identity] {
            for _ in 0..5 {
                let depth = 12 * span;
                let weights: Vec<f64> = (0..depth).map(|_| rng.normal()).collect();
                let (x, target) = (rng.normal(), rng.uniform(0.0, 1.0));
                let chain =
                    Chain::new(weights, vec![Activation::Sigmoid; depth], None, Some(span)).unwrap().with_skip(skip);
                let trace = chain.forward_ext(x);
                let g = chain.backward_ext(&trace, target);
                let slope = |layer: usize| Activation::Sigmoid.derivative_ext(trace.pre_activation[layer - 1]);
                let w = |layer: usize| Ext::from_f64(chain.weights()[layer - 1]);
                for m in (span..=depth - span).step_by(span) {
                    let mut p = Ext::ONE;
                    for j in 1..=span {
                        p = p * w(m + j);
                        if skip == Skip::Identity || j < span {
                            p = p * slope(m + j);
                        }
                    }
                    let mut want = (Ext::ONE + p) * g.layer_output[m + span - 1];
                    if skip == Skip::PreActivation {
                        want = want * slope(m + span);
                    }
                    let got = g.layer_output[m - 1];
                    let deviation = (got - want).log10_abs() - want.log10_abs();
                    assert!(deviation <= TOL.log10() || got == want, "{skip:?} span {span} layer {m}: {got} vs {want}");
                }
            }
        }
    }
}

#[test]
fn the_identity_skips_backward_factor_is_flat_as_predicted_while_the_pre_activation_shortcut_decays_below_its_bound() {
    let d = default_decay();
    let plain = config(d, "sigmoid", ChainSet::All).backward_fit.unwrap();
    for span in decay::IDENTITY_SKIP_SPANS {
        let identity = d.identity_config("sigmoid", span).expect("identity rows are measured");
        let pre = d.config("sigmoid", Some(span), ChainSet::All).unwrap();
        assert_eq!((pre.skip, identity.skip), (Some(SkipForm::PreActivation), Some(SkipForm::Identity)));
        // The prediction: slope 0, and the measurement agrees within 3 standard errors.
        let prediction = identity.prediction.expect("the identity skip has a prediction");
        assert_eq!((prediction.basis, prediction.slope), (Basis::IdentitySkip { span }, 0.0));
        let b = identity.backward_fit.unwrap();
        assert!(within_3_se(b, 0.0) && prediction.agrees, "span {span}: {b:?}");
        assert!(b.slope.abs() < 1e-3, "span {span}: {b:?} is not near 0");
        // The weight gradient at the layers the skip joins does not decay like (1/4)^D either.
        let w = identity.weight_fit.unwrap();
        assert!(w.slope.abs() < 0.02, "span {span}: ∂L/∂w slope {w:?}");
        // The pre-activation shortcut on the same draws: decaying, at or below its derived bound
        // (less than 1/4 per block), and far from the identity skip's flat line.
        let p = pre.backward_fit.unwrap();
        let bound = decay::skip_slope_bound(Activation::Sigmoid, span, SkipForm::PreActivation);
        assert_eq!(pre.backward_slope_bound, Some(bound));
        assert!(p.slope <= bound + 3.0 * p.standard_error, "span {span}: {p:?} above {bound}");
        assert!(p.slope < -0.15 && p.slope > plain.slope, "span {span}: {p:?} vs no shortcut {plain:?}");
        assert_eq!(pre.prediction, None);
        // Identity chains end on a layer the skip joins, and every row is such a layer.
        assert_eq!(identity.chain_depth % span, 0);
        assert!(identity.chain_depth + span > d.max_depth);
        let depths: Vec<usize> = identity.rows.iter().map(|r| r.depth).collect();
        assert_eq!(depths, decay::identity_depths(&d.depths, identity.chain_depth, span));
        assert!(depths.iter().all(|&k| (identity.chain_depth + 1 - k).is_multiple_of(span)), "{depths:?}");
    }
    // The rendered section names both forms and says what the measurements say.
    let md = render::markdown(&sections::Report { decay: d.clone(), ..quick_report().clone() }, None);
    assert!(md.contains("| sigmoid | span 2, pre-activation (through f′) | all |"));
    assert!(md.contains("| sigmoid | span 2, identity (bypasses f′) | all |"));
    let full = render::markdown_with(
        &sections::Report { decay: d.clone(), ..quick_report().clone() },
        None,
        render::Detail::Full,
    );
    assert!(full.contains("### sigmoid, shortcut span 3, identity (bypasses f′)"));
    let bullet = md.lines().find(|l| l.starts_with("- **sigmoid with a shortcut**")).expect("the shortcut bullet");
    assert!(bullet.contains("at or below its bound") && bullet.matches("agrees with the predicted 0").count() == 2);
}

#[test]
fn identity_depths_are_the_joined_layers_at_or_below_each_depth() {
    // Chain depth 999, span 3: k = 1 is layer 999 (joined); k = 2 → layer 998 → 996 (k = 4);
    // k = 4 → layer 996 (k = 4, once); k = 8 → layer 992 → 990 (k = 10); k = 1000 → layer 0 → 3.
    assert_eq!(decay::identity_depths(&[1, 2, 4, 8, 1000], 999, 3), vec![1, 4, 10, 997]);
    // Span 2 on an even depth: every odd layer moves down one.
    assert_eq!(decay::identity_depths(&[1, 2, 4, 64], 64, 2), vec![1, 3, 5, 63]);
}

// The per-layer curve the figures draw.

#[test]
fn the_curve_has_every_layer_and_the_tables_values_at_the_reported_depths() {
    let d = default_decay();
    for c in &d.configs {
        let name = format!("{} {:?} {:?} {:?}", c.activation, c.shortcut, c.skip, c.chains);
        let k = &c.curve.depth;
        assert!(k.windows(2).all(|w| w[0] < w[1]), "{name}: ascending");
        let expected: Vec<usize> = match (c.skip, c.shortcut) {
            // The layers the skip joins: layer D − k + 1 a multiple of the span.
            (Some(SkipForm::Identity), Some(span)) => {
                (1..=c.chain_depth).filter(|&k| (c.chain_depth + 1 - k).is_multiple_of(span)).collect()
            }
            _ => (1..=c.chain_depth).collect(),
        };
        assert_eq!(k, &expected, "{name}: every layer where the data exist");
        for r in &c.rows {
            let j = k.binary_search(&r.depth).unwrap_or_else(|_| panic!("{name}: depth {} on the curve", r.depth));
            let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
            assert!(same(c.curve.p10[j], r.p10) && same(c.curve.median[j], r.median), "{name} k = {}", r.depth);
            assert!(same(c.curve.p90[j], r.p90) && same(c.curve.backward_median[j], r.backward_median), "{name}");
        }
    }
}

#[test]
fn the_curve_between_reported_depths_is_the_median_over_redrawn_chains() {
    // Independently: the quick configuration's sigmoid chains without shortcut, redrawn and
    // differentiated by the oracle; the median log10 |∂L/∂w| at depth 3 (not a reported depth).
    let config = Config::new(3, true);
    let d = decay::compute(&config);
    let sigmoid = config_of(&d, "sigmoid");
    let k = 3;
    assert!(!d.depths.contains(&k));
    let mut at_k: Vec<f64> = (0..config.decay_samples)
        .map(|i| {
            let (chain, x, t) = redraw(&config, 0, i);
            let g = chain.gradients_ext(x, t);
            g.weight[config.max_depth - k].log10_abs()
        })
        .collect();
    at_k.sort_by(f64::total_cmp);
    let median = at_k[at_k.len().div_ceil(2) - 1];
    let j = sigmoid.curve.depth.binary_search(&k).unwrap();
    assert_eq!(sigmoid.curve.median[j], median);
}

#[test]
fn the_decay_section_runs_ten_times_the_other_sections_samples_by_default() {
    for quick in [false, true] {
        let config = Config::new(1, quick);
        assert_eq!(config.decay_samples, sections::DECAY_SAMPLES_PER_SAMPLE * config.samples);
    }
    assert!(Config::new(1, false).decay_samples >= 2000, "at least 2,000 chains per configuration");
}

#[test]
fn the_decay_sections_own_sample_count_changes_that_section_alone() {
    let quick = Config::new(2, true);
    let more = Config { decay_samples: 3 * quick.decay_samples, ..quick.clone() };
    let (a, b) = (sections::compute(&quick), sections::compute(&more));
    assert_eq!((a.decay.samples, b.decay.samples), (quick.decay_samples, 3 * quick.decay_samples));
    assert_ne!(a.decay, b.decay);
    // Every other section has the same value: no other section's draws moved.
    let others = |r: &sections::Report| {
        let mut v = serde_json::to_value(r).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("decay");
        o.remove("config");
        // The references' claims quote section 2's slopes.
        o.remove("references");
        v
    };
    let (oa, ob) = (others(&a), others(&b));
    for (k, v) in oa.as_object().unwrap() {
        assert_eq!(Some(v), ob.get(k), "section {k}");
    }
    // The survival table does not depend on the chains per configuration either.
    assert_eq!(a.decay.survival, b.decay.survival);
}
