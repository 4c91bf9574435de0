//! The sigmoid's critical line: mean field's critical σ_w² against an independent quadrature, and
//! the measured networks around it.

use report::sections::criticality::{self, MULTIPLES, SigmoidCritical};
use report::sections::meanfield::{self, critical_sigma_w2};
use scalar::Activation;

/// The default report's sigmoid critical line (seed 1).
fn section() -> &'static SigmoidCritical {
    &crate::reports::default_report().dense_init.sigmoid_critical
}

/// E_z[f(z)] by the trapezoid rule with step 1e−3 on [−10, 10]: a different rule and grid from
/// `meanfield`'s Simpson quadrature.
fn trapezoid(f: impl Fn(f64) -> f64) -> f64 {
    let h = 1e-3;
    let n = 20_000;
    (0..=n)
        .map(|i| {
            let z = -10.0 + i as f64 * h;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            w * f(z) * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
        })
        .sum::<f64>()
        * h
}

/// χ₁ of the bias-free sigmoid at σ_w², computed from scratch: q iterated to its fixed point with
/// the trapezoid rule and σ(x) = 1/(1 + e^−x) written out.
fn sigmoid_chi_1(sigma_w2: f64) -> f64 {
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut q: f64 = 1.0;
    for _ in 0..500 {
        q = sigma_w2 * trapezoid(|z| s(q.sqrt() * z).powi(2));
    }
    sigma_w2 * trapezoid(|z| (s(q.sqrt() * z) * (1.0 - s(q.sqrt() * z))).powi(2))
}

/// The 1/4 bound is not a wall for dense sigmoid networks: χ₁ = 1 at a finite σ_w², which an
/// independent quadrature confirms, near the large-q estimate 36π (χ₁ ≈ √σ_w²/(6√π)).
#[test]
fn sigmoid_reaches_chi_one_at_a_large_but_finite_weight_variance() {
    let critical = critical_sigma_w2(Activation::Sigmoid, 0.0, 1.0, 1e4).expect("a crossing");
    assert!((sigmoid_chi_1(critical) - 1.0).abs() < 1e-6, "{critical}: {}", sigmoid_chi_1(critical));
    assert!(sigmoid_chi_1(critical * 0.9) < 0.99 && sigmoid_chi_1(critical * 1.1) > 1.01);
    // docs/derivation.md §11 quotes it as ≈ 103.
    assert!((critical - 103.0).abs() < 0.5, "{critical}");
    let estimate = 36.0 * std::f64::consts::PI;
    assert!((critical / estimate - 1.0).abs() < 0.15, "{critical} against 36π = {estimate}");
    // The schemes with σ_w² ≤ 2 sit far below it; N(0, 1) at width 256 (σ_w² = 256) above it.
    assert!(meanfield::fixed_point(Activation::Sigmoid, 2.0, 0.0).1 < 0.2);
    assert!(meanfield::fixed_point(Activation::Sigmoid, 256.0, 0.0).1 > 1.0);
    assert!(section().sigma_w2 == Some(critical));
}

/// The measured per-layer factor follows mean field across the critical line: each row within
/// max(0.01 decades per layer, 3 standard errors) of mean field's factor for this depth, and the
/// measured crossing within 25% of mean field's critical σ_w².
#[test]
fn measured_sigmoid_factor_crosses_one_near_the_critical_weight_variance() {
    let s = section();
    assert_eq!(s.rows.len(), MULTIPLES.len());
    for r in &s.rows {
        assert_eq!(r.networks, s.nets);
        let gap = (r.log10_measured - r.predicted.log10()).abs();
        assert!(gap <= 0.01f64.max(3.0 * r.se), "{r:?}: {gap}");
    }
    let critical = s.sigma_w2.expect("found");
    let measured = s.measured_critical.expect("rows straddle 1");
    assert!((measured / critical - 1.0).abs() < 0.25, "measured {measured}, mean field {critical}");
    // Below and above: vanishing and exploding, as χ₁ says.
    assert!(s.rows[0].measured < 1.0 && s.rows[MULTIPLES.len() - 1].measured > 1.0);
}

#[test]
fn crossing_interpolates_in_log_space() {
    let row = |sigma_w2: f64, l: f64| criticality::SigmoidRow {
        sigma_w2,
        multiple: 1.0,
        chi_1: 1.0,
        predicted: 1.0,
        measured: 10f64.powf(l),
        log10_measured: l,
        se: 0.0,
        networks: 1,
    };
    // log factor −1 at σ_w² = 1 and +1 at 100: crossing halfway in log σ_w², at 10.
    let c = criticality::crossing(&[row(1.0, -1.0), row(100.0, 1.0)]).unwrap();
    assert!((c - 10.0).abs() < 1e-12, "{c}");
    assert_eq!(criticality::crossing(&[row(1.0, 1.0), row(100.0, 2.0)]), None);
}

/// The sigmoid critical-line figure from a small fixed input: the SVG is pinned byte for byte.
#[test]
fn sigmoid_critical_figure_snapshot() {
    let row = |multiple: f64, chi_1: f64, l: f64| criticality::SigmoidRow {
        sigma_w2: 100.0 * multiple,
        multiple,
        chi_1,
        predicted: chi_1 * 0.99,
        measured: 10f64.powf(l),
        log10_measured: l,
        se: 0.01,
        networks: 4,
    };
    let s = SigmoidCritical {
        width: 16,
        depth: 6,
        batch: 2,
        nets: 4,
        sigma_w2: Some(100.0),
        q_star: Some(50.0),
        asymptotic: 36.0 * std::f64::consts::PI,
        rows: vec![row(0.5, 0.7, -0.16), row(1.0, 1.0, 0.01), row(2.0, 1.4, 0.15)],
        measured_critical: Some(95.0),
    };
    let svg = report::render::svg::sigmoid_critical_figure(&s).svg().expect("data to draw");
    insta::assert_snapshot!("sigmoid_critical_figure", svg);
}
