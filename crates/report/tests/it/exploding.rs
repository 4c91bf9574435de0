//! Section 4's claims, each against the default report's own numbers (seed 1): the forward
//! signal's exact walk, the corrected overflow layers, the gradient leaving each format at about
//! half the forward depth, and the spread at gain 1.

use report::sections::exploding::spread::{self, Spread};
use report::sections::exploding::walk::{ReluWalk, digamma_half, mean_log10_chi2};
use report::sections::exploding::{self, Exploding, NETWORKS};
use report::sections::{Config, Stream, stream_rng};
use std::sync::OnceLock;

/// The default report's section 4 (seed 1), computed once for the tests below.
fn default_section() -> &'static Exploding {
    static SECTION: OnceLock<Exploding> = OnceLock::new();
    SECTION.get_or_init(|| exploding::compute(&Config::new(1, false)))
}

fn default_spread() -> &'static Spread {
    &default_section().spread
}

#[test]
fn digamma_at_half_integers_is_the_known_closed_form() {
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    assert!((digamma_half(1) - (-EULER_GAMMA - 2.0 * std::f64::consts::LN_2)).abs() < 1e-15);
    assert!((digamma_half(2) + EULER_GAMMA).abs() < 1e-15);
    // ψ(5) = 1 + 1/2 + 1/3 + 1/4 − γ.
    assert!((digamma_half(10) - (25.0 / 12.0 - EULER_GAMMA)).abs() < 1e-14);
    // E[log10 χ²_2]: χ²_2/2 is Exp(1), E[ln] = −γ, so E[ln χ²_2] = ln 2 − γ.
    assert!((mean_log10_chi2(2) - (std::f64::consts::LN_2 - EULER_GAMMA) / std::f64::consts::LN_10).abs() < 1e-15);
}

#[test]
fn the_walks_exact_step_is_the_monte_carlo_mean_and_near_first_order() {
    // E[log10 √(g²·(2/n)·Σ_j relu(ξ_j)²)], by 200,000 draws of n standard normals.
    for (width, gain) in [(8, 1.0), (32, 2.0)] {
        let walk = ReluWalk { width, gain };
        let mut rng = stream_rng(17, Stream::Exploding, 999);
        let draws = 200_000;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..draws {
            let s: f64 = (0..width).map(|_| rng.normal().max(0.0).powi(2)).sum();
            if s > 0.0 {
                let v = 0.5 * (gain * gain * 2.0 / width as f64 * s).log10();
                sum += v;
                sum_sq += v * v;
            }
        }
        let mean = sum / draws as f64;
        let se = ((sum_sq / draws as f64 - mean * mean) / draws as f64).sqrt();
        assert!((mean - walk.hidden_step()).abs() < 4.0 * se, "n = {width}: {mean} ± {se} vs {}", walk.hidden_step());
        // First order in 1/n: −5/(4n·ln 10); the rest is O(1/n²).
        let rest = walk.hidden_step() - walk.first_order_step();
        assert!(rest.abs() < 3.0 / (width * width) as f64, "n = {width}: {rest}");
        assert!(walk.hidden_step() < walk.naive_step());
    }
}

#[test]
fn the_forward_signal_agrees_with_the_walks_mean_and_not_with_the_naive_growth() {
    let s = default_spread();
    assert_eq!(s.networks, NETWORKS);
    const { assert!(NETWORKS >= 30, "enough networks for a bootstrap standard error to mean something") };
    for r in &s.rows {
        let m = r.signal.mean;
        let tolerance = spread::MIN_TOLERANCE.max(3.0 * r.signal.mean_se);
        assert_eq!(tolerance, r.signal_tolerance);
        assert!((m - r.signal_corrected).abs() <= tolerance, "gain {}: {m} vs {}", r.gain, r.signal_corrected);
        assert!((m - r.signal_naive).abs() > tolerance, "gain {}: the naive {} agrees too", r.gain, r.signal_naive);
        assert_eq!(r.signal_agrees, [true, false]);
        // One sign convention: decades per layer, negative when the signal shrinks.
        assert_eq!(r.step[2] < 0.0, r.gain == 1.0);
    }
}

#[test]
fn the_first_forward_overflow_agrees_with_the_corrected_layer_and_the_naive_one_fails_where_the_drift_matters() {
    let s = default_spread();
    for r in s.rows.iter().filter(|r| r.gain > 1.0) {
        for (format, o) in [("f32", &r.f32), ("f64", &r.f64)] {
            let m = o.forward.expect("every network overflows");
            let (corrected, naive) = (o.forward_corrected.unwrap(), o.forward_naive.unwrap());
            assert!(
                (m.median - corrected).abs() <= o.forward_tolerance,
                "gain {} {format}: {m:?} vs {corrected}",
                r.gain
            );
            assert!(o.forward_agrees[0]);
            // Where the drift moves the expectation by more than twice the tolerance, the naive
            // layer must fail: the control is meaningful.
            if (corrected - naive).abs() > 2.0 * o.forward_tolerance {
                assert!(!o.forward_agrees[1], "gain {} {format}: the naive layer {naive} agrees", r.gain);
            }
        }
        assert!(!r.f64.forward_agrees[1], "gain {}: in f64 the drift always matters", r.gain);
    }
}

#[test]
fn the_gradient_leaves_each_format_at_about_half_the_forward_depth_while_the_forward_pass_is_finite() {
    let s = default_spread();
    for r in s.rows.iter().filter(|r| r.gain > 1.0) {
        for (format, o) in [("f32", &r.f32), ("f64", &r.f64)] {
            // Every network: a gradient value, located by the engine, with every forward value finite.
            assert_eq!(o.gradient_found, s.networks, "gain {} {format}", r.gain);
            assert_eq!(o.gradient_forward_finite, s.networks, "gain {} {format}", r.gain);
            assert!(o.gradient_in_weights > 0);
            // Half the depth: ratio − ½ = (c_f − c_g)/(2·(log10 max − c_f)) for offsets c within
            // a few decades (3 allowed) of each other.
            let ratio = o.gradient_ratio.unwrap();
            let allowed = 3.0 / (2.0 * (o.log10_max - 3.0));
            assert!((ratio - 0.5).abs() <= allowed, "gain {} {format}: ratio {ratio}", r.gain);
            // The conjecture's size: a few layers before the top-layer estimate (at most 3
            // decades of the gradient, which grows 2·step per layer), never after it.
            let m = o.gradient.unwrap();
            let estimate = o.gradient_corrected.unwrap();
            let step = ReluWalk { width: 32, gain: r.gain }.hidden_step();
            assert!(m.median <= estimate + 3.0 * m.median_se + 1.0, "gain {} {format}: {m:?} vs {estimate}", r.gain);
            assert!(m.median >= estimate - 3.0 / (2.0 * step), "gain {} {format}: {m:?} vs {estimate}", r.gain);
        }
    }
    // Where the drift matters most (gain 2 in f64) the naive half-depth is far too shallow.
    let two = s.rows.iter().find(|r| r.gain == 2.0).unwrap();
    let m = two.f64.gradient.unwrap();
    assert!(m.median - two.f64.gradient_naive.unwrap() > 10.0 * (m.median_se + 1.0));
}

#[test]
fn at_gain_one_the_first_weight_gradient_spreads_over_decades_far_below_the_naive_size() {
    let s = default_spread();
    let one = s.rows.iter().find(|r| r.gain == 1.0).unwrap();
    let w = one.first_weight_grad.expect("gain 1 stays finite in f64");
    assert!(w.p90 - w.p10 >= 3.0, "{w:?}");
    assert!(one.signal.p90 - one.signal.p10 >= 3.0, "{:?}", one.signal);
    // The drift, not a bad draw: the typical network sits many standard errors below 0.
    assert!(w.median + 3.0 * w.median_se < -10.0, "{w:?}");
    assert_eq!(one.f32.forward_finite + one.f64.forward_finite, 2 * s.networks);
    // "The sweep's single network is one draw of it": its value lies inside the spread.
    let (sweep_first, _) = default_section().sweep[0].f64_first_last_grad_log10.unwrap();
    assert!((w.p10..=w.p90).contains(&sweep_first), "{sweep_first} outside {w:?}");
}

#[test]
fn the_bootstrap_is_deterministic_and_its_error_shrinks_with_more_networks() {
    let values: Vec<f64> = (0..64).map(|i| ((i * 37) % 64) as f64).collect();
    let a = spread::OverNetworks::of(&values, &mut stream_rng(3, Stream::ExplodingBootstrap { gain: 0 }, 0));
    let b = spread::OverNetworks::of(&values, &mut stream_rng(3, Stream::ExplodingBootstrap { gain: 0 }, 0));
    assert_eq!(a, b);
    // The standard error of a mean of 64 values of standard deviation σ is about σ/8.
    let sd = (values.iter().map(|v| (v - a.mean).powi(2)).sum::<f64>() / 63.0).sqrt();
    assert!((a.mean_se / (sd / 8.0) - 1.0).abs() < 0.15, "{} vs {}", a.mean_se, sd / 8.0);
    assert_eq!(exploding::spread::RESAMPLES, 1000);
}
