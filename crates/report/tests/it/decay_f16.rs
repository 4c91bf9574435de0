//! Section 2's f16 paragraph, each claim with a test that fails if it is wrong: the loss scale's
//! target and cap, and which configurations the dynamic-range sentence lists (every chain redrawn
//! by the oracle).

use crate::decay::{config_of, default_decay, redraw};
use report::render;
use report::sections::decay::{self, ChainSet, DecayConfig, LossScale, SkipForm};
use report::sections::{self, Config, Stream};
use scalar::chain::Chain;
use scalar::{Ext, Skip};

#[test]
fn the_f16_loss_scale_lifts_the_p10_gradient_to_2_to_the_minus_14_up_to_where_the_scaled_loss_overflows() {
    // Independently: the quick configuration's sigmoid chains, redrawn; the median loss gives the cap.
    let config = Config::new(3, true);
    let d = decay::compute(&config);
    let sigmoid = config_of(&d, "sigmoid");
    let mut losses: Vec<f64> = (0..config.decay_samples)
        .map(|i| {
            let (chain, x, t) = redraw(&config, 0, i);
            chain.loss(x, t)
        })
        .collect();
    losses.sort_by(f64::total_cmp);
    let median_loss = losses[losses.len().div_ceil(2) - 1];
    let cap = sigmoid.loss_scale_cap;
    assert!(2f64.powi(cap as i32) * median_loss <= 65504.0, "2^{cap}·{median_loss} overflows f16");
    assert!(2f64.powi(cap as i32 + 1) * median_loss > 65504.0, "2^{cap} is not the largest");
    for c in &d.configs {
        for r in &c.rows {
            let lifted = |n: i64| Ext::from_ln(r.p10 * std::f64::consts::LN_10) * 2f64.powi(n as i32);
            match r.f16_loss_scale {
                LossScale::Scale(n) | LossScale::BeyondRange(n) => {
                    assert!(lifted(n).cmp_abs(Ext::pow2(-14)).unwrap().is_ge(), "{}: 2^{n} too small", c.activation);
                    assert!(
                        lifted(n - 1).cmp_abs(Ext::pow2(-14)).unwrap().is_lt(),
                        "{}: 2^{n} not least",
                        c.activation
                    );
                    assert_eq!(matches!(r.f16_loss_scale, LossScale::BeyondRange(_)), n > c.loss_scale_cap);
                }
                LossScale::NotNeeded => assert!(r.p10 >= -14.0 * std::f64::consts::LOG10_2),
                LossScale::ExactZero => assert_eq!(r.p10, f64::NEG_INFINITY),
            }
        }
    }
}

#[test]
fn one_f16_scale_cannot_hold_a_sigmoid_chain_whose_layers_spread_over_hundreds_of_decades() {
    let d = default_decay();
    let decades = 65504f64.log10() - 2f64.powi(-24).log10();
    assert!((d.f16.decades - decades).abs() < 1e-12, "{} vs {decades}", d.f16.decades);
    // The spread, recomputed on the quick configuration's sigmoid chains from the oracle.
    let config = Config::new(3, true);
    let quick = decay::compute(&config);
    let mut spreads: Vec<f64> = (0..config.decay_samples)
        .map(|i| {
            let (chain, x, t) = redraw(&config, 0, i);
            let m = chain.magnitudes(x, t);
            let hi = m.log10_abs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lo = m.log10_abs.iter().copied().fold(f64::INFINITY, f64::min);
            hi - lo
        })
        .collect();
    spreads.sort_by(f64::total_cmp);
    assert_eq!(config_of(&quick, "sigmoid").layer_spread, Some(spreads[spreads.len().div_ceil(2) - 1]));
    for c in d.configs.iter().chain(&quick.configs) {
        assert_eq!(c.spread_fits_f16, c.layer_spread.map(|s| s <= d.f16.decades), "{}", c.activation);
    }
    let sigmoid = config_of(d, "sigmoid").layer_spread.unwrap();
    assert!(sigmoid > 10.0 * decades, "sigmoid's spread {sigmoid} is not hundreds of decades");
}

/// Chain `i` of configuration `c` (any activation, shortcut form and chain set), redrawn as the
/// section draws it: its stream (an identity row's is the pre-activation row's of the same span),
/// the first `chain_depth` weights, folded to |w|, |x| for live chains; (the chain, x, ŷ).
fn redraw_config(config: &Config, c: &DecayConfig, i: usize) -> (Chain, f64, f64) {
    let a = decay::ACTIVATIONS.iter().position(|f| f.name() == c.activation).expect("a measured activation");
    let s = decay::SHORTCUTS.iter().position(|&s| s == c.shortcut).expect("a measured span");
    let mut rng = sections::stream_rng(config.seed, Stream::Decay { activation: a, shortcut: s }, i as u64);
    let mut w: Vec<f64> = (0..config.max_depth).map(|_| rng.normal()).collect();
    let (mut x, t) = (rng.normal(), rng.uniform(0.0, 1.0));
    w.truncate(c.chain_depth);
    if c.chains == ChainSet::Live {
        w.iter_mut().for_each(|w| *w = w.abs());
        x = x.abs();
    }
    let skip = if c.skip == Some(SkipForm::Identity) { Skip::Identity } else { Skip::PreActivation };
    let chain = Chain::new(w, vec![decay::ACTIVATIONS[a]; c.chain_depth], None, c.shortcut).unwrap().with_skip(skip);
    (chain, x, t)
}

/// "Wider than f16's span, so in more than half of the chains no single scale holds every layer
/// at once": the sentence lists exactly the configurations in which more than half of the chains,
/// redrawn and run by the oracle, spread wider than f16's decades (max − min of log10 |∂L/∂w_d|
/// over the non-zero layers) — on the default report and the quick one. It no longer says "layer 1
/// and layer D": with the identity skip of span 3 those two sit within f16's span of each other in
/// most chains, so the spread is between other layers.
#[test]
fn the_f16_sentence_lists_the_configurations_where_most_chains_spread_wider_than_f16() {
    use rayon::prelude::*;
    let quick = crate::reports::quick_report();
    for (config, d) in [(Config::new(1, false), default_decay()), (Config::new(1, true), &quick.decay)] {
        let decades = d.f16.decades;
        // Per configuration: (chains whose spread exceeds f16's, chains whose layer 1 and layer D
        // are further apart than that).
        let counts: Vec<(usize, usize)> = d
            .configs
            .iter()
            .map(|c| {
                (0..d.samples)
                    .into_par_iter()
                    .map(|i| {
                        let (chain, x, t) = redraw_config(&config, c, i);
                        let l = chain.magnitudes(x, t).log10_abs;
                        let live: Vec<f64> = l.iter().copied().filter(|v| v.is_finite()).collect();
                        let hi = live.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let lo = live.iter().copied().fold(f64::INFINITY, f64::min);
                        let wide = live.len() >= 2 && hi - lo > decades;
                        let ends = (l[0] - l[l.len() - 1]).abs() > decades;
                        (usize::from(wide), usize::from(ends))
                    })
                    .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
            })
            .collect();
        let md = render::markdown(&sections::Report { decay: d.clone(), ..quick.clone() }, None);
        let text = md.split("\n\n").find(|p| p.starts_with("**The f16 loss scale.**")).expect("the paragraph");
        assert!(!text.contains("layer 1 and layer D"), "{text}");
        let listed = text.split_once("at once").map_or("", |(_, list)| list);
        let mut majority = 0;
        for (c, &(wide, _)) in d.configs.iter().zip(&counts) {
            let shortcut = match (c.shortcut, c.skip) {
                (None, _) => "none".to_string(),
                (Some(s), Some(SkipForm::Identity)) => format!("span {s}, identity (bypasses f′)"),
                (Some(s), _) => format!("span {s}, pre-activation (through f′)"),
            };
            let live = if c.chains == ChainSet::Live { " live" } else { "" };
            let spread = c.layer_spread.map_or_else(|| "—".into(), |s| report::numfmt::sig(s, 3));
            let name = format!("{} {shortcut}{live} ({spread} decades)", c.activation);
            let most = 2 * wide > d.samples;
            majority += usize::from(most);
            assert_eq!(listed.contains(&name), most, "{name}: {wide} of {} chains wider than f16: {text}", d.samples);
        }
        assert_eq!(listed.matches(" decades)").count(), majority, "{text}");
        if !config.quick {
            assert!(majority > 0, "the default report lists configurations");
            let identity = d.configs.iter().position(|c| c.skip == Some(SkipForm::Identity) && c.shortcut == Some(3));
            let (wide, ends) = counts[identity.expect("sigmoid, identity skip of span 3")];
            assert!(2 * wide > d.samples && 2 * ends < d.samples, "{wide} wide, {ends} with layer 1 and D apart");
        }
    }
}

/// The other branch of the f16 sentence: shallow chains all fit, and the sentence says it of at
/// least half of each configuration's chains (the column is a median), which every chain redrawn
/// by the oracle bears out.
#[test]
fn when_no_configuration_is_wider_than_f16_the_sentence_says_it_of_half_the_chains() {
    use rayon::prelude::*;
    let mut config = Config::new(1, true);
    config.max_depth = 4;
    let d = decay::compute(&config);
    let decades = d.f16.decades;
    assert!(d.configs.iter().all(|c| c.spread_fits_f16 != Some(false)), "depth 4 fits");
    for c in &d.configs {
        let wide: usize = (0..d.samples)
            .into_par_iter()
            .map(|i| {
                let (chain, x, t) = redraw_config(&config, c, i);
                let live: Vec<f64> = chain.magnitudes(x, t).log10_abs.into_iter().filter(|v| v.is_finite()).collect();
                let hi = live.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lo = live.iter().copied().fold(f64::INFINITY, f64::min);
                usize::from(live.len() >= 2 && hi - lo > decades)
            })
            .sum();
        assert!(
            2 * wide <= d.samples,
            "{} {:?}: {wide} of {} chains wider than f16",
            c.activation,
            c.shortcut,
            d.samples
        );
    }
    let md = render::markdown(&sections::Report { decay: d, ..crate::reports::quick_report().clone() }, None);
    let text = md.split("\n\n").find(|p| p.starts_with("**The f16 loss scale.**")).expect("the paragraph");
    assert!(text.ends_with("In every configuration at least half of the chains spread within f16's span."), "{text}");
}
