//! Mean-field quadrature against closed forms.

use report::sections::meanfield::{chi, fixed_point, gaussian_expectation, layer_q};
use scalar::Activation;

#[test]
fn quadrature_integrates_gaussian_moments() {
    // E[z²] = 1, E[z⁴] = 3, E[|z|] = √(2/π), E[e^z] = e^{1/2}.
    assert!((gaussian_expectation(|z| z * z) - 1.0).abs() < 1e-12);
    assert!((gaussian_expectation(|z| z.powi(4)) - 3.0).abs() < 1e-12);
    assert!((gaussian_expectation(f64::abs) - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-9);
    assert!((gaussian_expectation(f64::exp) - 0.5f64.exp()).abs() < 1e-12);
}

#[test]
fn relu_chi_is_half_sigma_w_squared_so_he_is_critical() {
    // φ′(z)² = 1 for z > 0: E = 1/2 whatever q; He (σ_w² = 2) gives χ = 1.
    for q in [0.1, 1.0, 7.0] {
        assert!((chi(Activation::Relu, 2.0, q) - 1.0).abs() < 1e-12);
    }
    // E[relu(√q z)²] = q/2: with σ_w² = 2 the variance is preserved layer to layer.
    let q = layer_q(Activation::Relu, 2.0, 0.0, 1.0, 5);
    for l in 1..5 {
        assert!((q[l] - q[0]).abs() < 1e-9 * q[0], "{q:?}");
    }
}

#[test]
fn tanh_is_critical_at_unit_weight_variance_and_chaotic_above() {
    // With σ_b = 0 and σ_w² ≤ 1 the fixed point is q* = 0, where χ = σ_w²·tanh′(0)² = σ_w².
    let (q, chi_1) = fixed_point(Activation::Tanh, 0.5, 0.0);
    assert!(q < 1e-100 && (chi_1 - 0.5).abs() < 1e-12, "{q} {chi_1}");
    // Above, q* > 0 and χ₁ > 1 (gradients explode): the chaotic phase.
    let (q, chi_1) = fixed_point(Activation::Tanh, 4.0, 0.0);
    assert!(q > 0.5 && chi_1 > 1.0, "{q} {chi_1}");
    // And χ(q) ≤ σ_w² always, since tanh′ ≤ 1.
    assert!(chi(Activation::Tanh, 4.0, 2.0) < 4.0);
}
