//! Criticality with depth and the correlation map (`sections::critical_depth`,
//! `sections::correlation`) against independent computations: the 2-D quadrature against the 1-D
//! one and against ReLU's closed form, the critical-line solve against the fixed-point bisection,
//! the exact ReLU length law against direct sampling, and the networks against mean field.

use report::sections::correlation::{self, relu_c_map};
use report::sections::critical_depth::{self, CriticalDepth, Regime};
use report::sections::meanfield;
use scalar::Activation;

/// The default report's criticality with depth (seed 1).
fn section() -> &'static CriticalDepth {
    &crate::reports::default_report().dense_init.critical_depth
}

#[test]
fn two_dimensional_quadrature_at_c_one_is_the_one_dimensional() {
    // At c = 1, u₂ = u₁: E[φ(u)²] and E[φ′(u)²], by the 1-D rule (2400 intervals). The 2-D
    // rule's step is h = 18/96: Simpson's error h⁴/180·|f⁗| ≈ 7e−6·|f⁗|, and sech⁴(√q·z)'s
    // fourth derivative is of order q² ≤ 1 at the variances the section uses (q ≤ 1): 1e−6
    // relative.
    for (q, sw, sb) in [(0.3, 1.5, 0.05), (1.0, 1.0, 0.0), (0.57, 1.76, 0.05)] {
        let two = correlation::next_covariance(Activation::Tanh, sw, sb, q, q, 1.0);
        let one = meanfield::next_q(Activation::Tanh, sw, sb, q);
        assert!((two - one).abs() < 1e-6 * one, "q₁₂′ at c = 1: {two} against {one}");
        let (c2, c1) = (correlation::chi_c(Activation::Tanh, sw, q, 1.0), meanfield::chi(Activation::Tanh, sw, q));
        assert!((c2 - c1).abs() < 1e-6 * c1, "χ_c(1) {c2} against χ₁ {c1}");
    }
}

#[test]
fn relu_quadrature_matches_the_arc_cosine_kernel() {
    // Simpson's rule across ReLU's kink along u₂ = 0 (a slanted line in (z₁, z₂)) is O(h²)
    // there, h = 18/96: h²·(largest jump of the integrand's slope, ≤ 1)·density ≈ 0.035·0.4/12
    // ≈ 1e−3 per unit of q; q = 1 and σ_w² = 2 give twice that.
    for c in [-0.9, -0.5, 0.0, 0.3, 0.7, 0.95, 0.999] {
        let quad = correlation::next_covariance(Activation::Relu, 2.0, 0.0, 1.0, 1.0, c);
        let exact = relu_c_map(c);
        assert!((quad - exact).abs() < 2e-3, "c = {c}: quadrature {quad}, closed form {exact}");
    }
    assert_eq!(relu_c_map(1.0), 1.0);
    for c in [-0.5, 0.0, 0.5, 0.9] {
        assert!((1.0 - correlation::relu_decorrelation(1.0 - c) - relu_c_map(c)).abs() < 1e-14, "c = {c}");
    }
    assert!((relu_c_map(0.0) - 1.0 / std::f64::consts::PI).abs() < 1e-15);
}

#[test]
fn the_correlation_maps_slope_at_one_is_chi_1() {
    // Price's theorem: C′(1) = χ₁ at q*. A one-sided difference at ε has error O(ε·C″).
    let (sw, sb) = (1.2, 0.05);
    let q = match meanfield::fixed_point(Activation::Tanh, sw, sb) {
        (meanfield::FixedPoint::At(q), _) => q,
        other => panic!("tanh with σ_b > 0 has q* > 0: {other:?}"),
    };
    let chi_1 = meanfield::chi(Activation::Tanh, sw, q);
    let eps = 1e-3;
    let slope = (1.0 - correlation::next_covariance(Activation::Tanh, sw, sb, q, q, 1.0 - eps) / q) / eps;
    assert!((slope - chi_1).abs() < 1e-2 * chi_1, "slope {slope} against χ₁ {chi_1}");
}

#[test]
fn relu_decorrelation_is_the_power_law_9_pi_squared_over_2_l_squared() {
    // The map in ε, iterated from orthogonal inputs (ε_1 = 1); the corrections to l²·ε_l are
    // O(ln l / l), below 1% by l = 10⁵.
    let mut eps = 1.0;
    for _ in 1..100_000 {
        eps = correlation::relu_decorrelation(eps);
    }
    let asymptote = correlation::relu_power_law(100_000.0);
    assert!((eps / asymptote - 1.0).abs() < 0.01, "1 − c = {eps}, 9π²/(2l²) = {asymptote}");
}

#[test]
fn the_critical_line_solve_agrees_with_the_fixed_point_bisection() {
    let (sw, q) = critical_depth::critical_line(Activation::Tanh, critical_depth::TANH_SIGMA_B2).expect("a point");
    let other =
        meanfield::critical_sigma_w2(Activation::Tanh, critical_depth::TANH_SIGMA_B2, 0.5, 10.0).expect("found");
    assert!((sw / other - 1.0).abs() < 1e-6, "{sw} against {other}");
    let (fixed, chi_1) = meanfield::fixed_point(Activation::Tanh, sw, critical_depth::TANH_SIGMA_B2);
    assert!((chi_1 - 1.0).abs() < 1e-6, "χ₁ = {chi_1}");
    assert!(matches!(fixed, meanfield::FixedPoint::At(p) if (p / q - 1.0).abs() < 1e-6), "{fixed:?} against {q}");
}

#[test]
fn the_exact_relu_length_law_matches_direct_sampling_and_its_asymptote() {
    // R = (2/n)·Σ relu(g_i)², g ~ N(0, 1): 200 000 draws at n = 32.
    let n = 32;
    let (m, v) = correlation::relu_log_ratio_law(n);
    let mut rng = scalar::rng::Rng::new(7);
    let draws: Vec<f64> = (0..200_000)
        .map(|_| (2.0 / n as f64 * (0..n).map(|_| rng.normal().max(0.0).powi(2)).sum::<f64>()).ln())
        .collect();
    let k = draws.len() as f64;
    let mean = draws.iter().sum::<f64>() / k;
    let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
    assert!((mean - m).abs() < 4.0 * (v / k).sqrt(), "E[ln R]: sampled {mean}, exact {m}");
    // The variance of a sample variance is ≈ (μ₄ − σ⁴)/k; ln R's kurtosis is below 10 here.
    assert!((var - v).abs() < 4.0 * (10.0f64 - 1.0).sqrt() * v / k.sqrt(), "Var[ln R]: sampled {var}, exact {v}");
    // Large n: −5/(2n) and 5/n to O(1/n²).
    let (m, v) = correlation::relu_log_ratio_law(2000);
    assert!((m * 2000.0 / -2.5 - 1.0).abs() < 0.01 && (v * 2000.0 / 5.0 - 1.0).abs() < 0.01, "{m} {v}");
}

#[test]
fn tanh_at_its_critical_point_loses_q_as_one_over_2l() {
    // q_{l+1} = q_l − 2q_l² + O(q³) gives q_l ≈ 1/(2l), with O(ln l / l) corrections.
    let q = meanfield::layer_q(Activation::Tanh, 1.0, 0.0, 1.0, 20_000);
    let l = q.len() as f64;
    assert!((2.0 * l * q[q.len() - 1] - 1.0).abs() < 0.01, "2l·q_l = {}", 2.0 * l * q[q.len() - 1]);
}

#[test]
fn relu_networks_follow_the_exact_length_law() {
    let h = section().hanin.as_ref().expect("ReLU under He ran");
    let nets = section().runs.iter().find(|r| r.regime == Regime::He).expect("He row").networks as f64;
    for r in h.rows.iter().filter(|r| r.layer % 50 == 0) {
        // Normal-sample standard errors of the mean and of the variance, from the exact law.
        let se_mean = (r.exact_var / nets).sqrt();
        let se_var = r.exact_var * (2.0 / (nets - 1.0)).sqrt();
        assert!(
            (r.mean - r.exact_mean).abs() < 3.0 * se_mean,
            "layer {}: mean {} against {}",
            r.layer,
            r.mean,
            r.exact_mean
        );
        assert!((r.var - r.exact_var).abs() < 3.0 * se_var, "layer {}: var {} against {}", r.layer, r.var, r.exact_var);
        // The typical network is below the mean: the drift is negative and grows with β.
        assert!(r.mean < 0.0);
    }
}

#[test]
fn forward_lengths_with_bias_sit_inside_the_spread_around_mean_field() {
    for r in section().runs.iter().filter(|r| r.sigma_b2 > 0.0) {
        assert_eq!(r.networks, section().nets, "{r:?}");
        for l in &r.layers {
            assert!(
                l.forward.p10 <= l.forward_theory && l.forward_theory <= l.forward.p90,
                "{} σ_w² {} layer {}: mean field {} outside [{}, {}]",
                r.activation,
                r.sigma_w2,
                l.layer,
                l.forward_theory,
                l.forward.p10,
                l.forward.p90
            );
        }
    }
}

#[test]
fn the_measured_correlation_depth_scale_is_mean_fields() {
    for r in section().runs.iter().filter(|r| r.regime == Regime::Ordered && r.sigma_b2 > 0.0) {
        let (xi, measured) = (r.xi_c.expect("q* > 0 and χ₁ < 1"), r.xi_measured.expect("a fit"));
        // Width 32: each layer's factor on 1 − c fluctuates by O(1/√n), so the mean over 32
        // networks decays at a rate that differs from ln χ₁ by O(1/n) ≈ 0.03 nats a layer,
        // against 1/ξ_c = 0.09–0.36: a quarter of the rate at most.
        assert!((measured / xi - 1.0).abs() < 0.25, "σ_w² {}: ξ_c {xi}, measured {measured}", r.sigma_w2);
    }
}

/// In the ordered phase with q* > 0, mean field's 1 − c falls by χ₁ per layer once q has
/// settled and 1 − c is small (C′(1) = χ₁): the printed theory is that geometric law all the way
/// down, not f64's spacing below 1 (1.1e−16), where 1 − c computed from c would stop.
#[test]
fn mean_fields_decorrelation_falls_by_chi_1_per_layer_in_the_ordered_rows() {
    let ordered: Vec<_> = section().runs.iter().filter(|r| r.regime == Regime::Ordered && r.q_star.is_some()).collect();
    assert!(!ordered.is_empty());
    for r in ordered {
        let theory: Vec<f64> = r.layers.iter().map(|l| l.decorrelation_theory).collect();
        // The deepest half of the layers: q within rounding of q*, 1 − c below 1e−4, so the map's
        // ratio is χ₁·(1 + O(1 − c)); the last step is in the linearised range (1 − c below
        // `LINEAR_BELOW`), where the ratio is χ(q*) to rounding.
        for pair in theory[theory.len() / 2..].windows(2) {
            let ratio = pair[1] / pair[0];
            assert!((ratio / r.chi_1 - 1.0).abs() < 1e-4, "σ_w² {}: ratio {ratio}, χ₁ {}", r.sigma_w2, r.chi_1);
        }
        let (last, before) = (theory[theory.len() - 1], theory[theory.len() - 2]);
        assert!(before < correlation::LINEAR_BELOW);
        assert!((last / before / r.chi_1 - 1.0).abs() < 1e-9, "σ_w² {}: {}", r.sigma_w2, last / before);
        assert!(theory.iter().all(|&e| e > 0.0 && e.is_finite()), "σ_w² {}", r.sigma_w2);
    }
}

#[test]
fn the_critical_line_keeps_gradients_and_the_ordered_phase_loses_them() {
    let s = section();
    let at_one = |r: &critical_depth::DepthRun| r.layers[0].backward.median;
    let line = s.runs.iter().find(|r| r.regime == Regime::CriticalLine).expect("critical line");
    for r in s.runs.iter().filter(|r| r.regime == Regime::Ordered && r.activation == "tanh") {
        assert!(at_one(r) < at_one(line), "ordered σ_w² {} keeps more than the critical line", r.sigma_w2);
        // Mean field's prediction falls by about χ₁ per layer.
        let per_layer = r.layers[0].backward_theory.ln() / (s.depth - 2) as f64;
        assert!((per_layer - r.chi_1.ln()).abs() < 0.1 * r.chi_1.ln().abs());
    }
}

#[test]
fn tanh_at_its_critical_point_keeps_a_power_law_of_the_gradient() {
    // χ(q_l) ≈ 1 − 2q_l ≈ 1 − 1/l, so Π_{k>l} χ(q_k) ≈ l/D (derivation.md §15), up to O(ln l / l).
    let s = section();
    let r = s.runs.iter().find(|r| r.regime == Regime::CriticalPoint).expect("critical point");
    for l in r.layers.iter().filter(|l| l.layer >= 50) {
        let ratio = l.backward_theory / (l.layer as f64 / s.depth as f64);
        assert!((ratio - 1.0).abs() < 0.1, "layer {}: {} against l/D", l.layer, l.backward_theory);
    }
}
