//! Mean-field quadrature against closed forms.

use report::sections::meanfield::{
    FixedPoint, chi, fixed_point, gaussian_expectation, layer_q, relu_squared_error_grad,
};
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
    assert!(q == FixedPoint::Zero && (chi_1 - 0.5).abs() < 1e-12, "{q:?} {chi_1}");
    // Above, q* > 0 and χ₁ > 1 (gradients explode): the chaotic phase.
    let (q, chi_1) = fixed_point(Activation::Tanh, 4.0, 0.0);
    assert!(matches!(q, FixedPoint::At(q) if q > 0.5) && chi_1 > 1.0, "{q:?} {chi_1}");
    // And χ(q) ≤ σ_w² always, since tanh′ ≤ 1.
    assert!(chi(Activation::Tanh, 4.0, 2.0) < 4.0);
}

/// On the critical line q_l → 0 only like 1/(2l): after the iteration's 2000 layers q is still
/// ≈ 2.5e−4, which the report once printed as q*. The fixed point is 0, where χ = 1 exactly.
#[test]
fn tanh_at_unit_weight_variance_has_fixed_point_zero_not_the_iterations_last_value() {
    let (q, chi_1) = fixed_point(Activation::Tanh, 1.0, 0.0);
    assert_eq!(q, FixedPoint::Zero);
    assert!((chi_1 - 1.0).abs() < 1e-12, "{chi_1}");
    // ReLU at σ_w² = 2 keeps every q; at σ_w² = 256 q grows 128-fold per layer.
    assert_eq!(fixed_point(Activation::Relu, 2.0, 0.0).0, FixedPoint::Every);
    let (q, chi_1) = fixed_point(Activation::Relu, 256.0, 0.0);
    assert!(q == FixedPoint::Unbounded && (chi_1 - 128.0).abs() < 1e-9, "{q:?} {chi_1}");
    assert_eq!(fixed_point(Activation::Relu, 1.0, 0.0).0, FixedPoint::Zero);
}

/// Below He, ReLU's q_l falls to 0, but every layer with q_l > 0 still passes half its units:
/// χ₁ is the limit χ(0⁺) = σ_w²/2, not χ(0) = σ_w²·relu′(0)² = 0 (which the report once printed,
/// a gradient vanishing in one layer).
#[test]
fn relu_below_he_has_chi_one_half_sigma_w_squared_at_its_zero_fixed_point() {
    for sigma_w2 in [1.0 / 3.0, 1.0, 1.5] {
        let (q, chi_1) = fixed_point(Activation::Relu, sigma_w2, 0.0);
        assert_eq!(q, FixedPoint::Zero);
        assert!((chi_1 - sigma_w2 / 2.0).abs() < 1e-12, "σ_w² = {sigma_w2}: χ₁ = {chi_1}");
    }
    // Where φ′ is continuous at 0 the limit is σ_w²·φ′(0)² (tanh: σ_w²).
    assert!((fixed_point(Activation::Tanh, 0.5, 0.0).1 - 0.5).abs() < 1e-12);
}

/// At infinite width and σ_w² = 2 the squared-error moment has the closed form
/// E‖∂S/∂a_l‖²/n = 2 + 8(D − l) for l < D and 3 at the top (`docs/derivation.md`): the second
/// moment of the Jacobian's spectrum, linear in depth, where mean field predicts 2 at every l < D.
#[test]
fn relu_squared_error_moment_at_infinite_width_is_linear_in_depth() {
    let depth = 30;
    let g = relu_squared_error_grad(2.0, 1 << 40, depth);
    assert!((g[depth - 1] - 3.0).abs() < 1e-9, "{}", g[depth - 1]);
    for l in 1..depth {
        let want = 2.0 + 8.0 * (depth - l) as f64;
        assert!((g[l - 1] - want).abs() < 1e-6 * want, "layer {l}: {} vs {want}", g[l - 1]);
    }
}

/// The finite-width formula against Monte Carlo on the engine: ReLU networks of width 6 and depth
/// 4 (the 1/n terms are large there), Gaussian weights, no biases, linear top, one sample per
/// network, squared error (∂L/∂a = 2(y − t) back-propagated, so E‖∂L/∂a_l‖² = 4·n·the formula).
/// The mean over 40,000 networks must agree within 4 standard errors with the exact formula, and
/// must not with its infinite-width limit (so the finite-width terms are tested too).
#[test]
fn relu_squared_error_moment_matches_monte_carlo_at_small_width() {
    use vectorised::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};
    let (width, depth, nets) = (6usize, 4usize, 40_000usize);
    for sigma_w2 in [2.0, 3.0] {
        let mut rng = scalar::rng::Rng::new(17);
        let mut ws = Workspace::new();
        let (mut sum, mut sum_sq) = (vec![0.0; depth], vec![0.0; depth]);
        let std = (sigma_w2 / width as f64).sqrt();
        for _ in 0..nets {
            let layers: Vec<DenseLayer<f64>> = (0..depth)
                .map(|l| {
                    let w: Vec<f64> = (0..width * width).map(|_| std * rng.normal()).collect();
                    let f =
                        if l + 1 == depth { vectorised::Activation::Identity } else { vectorised::Activation::Relu };
                    DenseLayer::new(width, width, w, None, f).unwrap()
                })
                .collect();
            let x: Vec<f64> = (0..width).map(|_| rng.normal()).collect();
            let t: Vec<f64> = (0..width).map(|_| rng.normal()).collect();
            let net = Dense::new(layers, None).unwrap();
            let (x, t) = (Batch::new(&x, 1, width).unwrap(), Batch::new(&t, 1, width).unwrap());
            net.gradients(x, t, Loss::SquaredError, Normalisation::PerSample, &mut ws).unwrap();
            for (l, s) in ws.stats().unwrap().layers.iter().enumerate() {
                let v = s.activation.norm * s.activation.norm / (4.0 * width as f64);
                sum[l] += v;
                sum_sq[l] += v * v;
            }
        }
        let exact = relu_squared_error_grad(sigma_w2, width, depth);
        let wide = relu_squared_error_grad(sigma_w2, 1 << 40, depth);
        for l in 0..depth {
            let mean = sum[l] / nets as f64;
            let se = ((sum_sq[l] / nets as f64 - mean * mean) / nets as f64).sqrt();
            assert!(
                (mean - exact[l]).abs() < 4.0 * se,
                "σ_w² {sigma_w2} layer {}: {mean} ± {se} vs {}",
                l + 1,
                exact[l]
            );
            if l == 0 {
                assert!(
                    (mean - wide[l]).abs() > 4.0 * se,
                    "σ_w² {sigma_w2}: infinite width {} also fits {mean} ± {se}",
                    wide[l]
                );
            }
        }
    }
}
