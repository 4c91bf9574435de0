//! Section 3's dynamical isometry: the Jacobian product and its singular values against direct
//! small-network computations (central differences, a Jacobi eigensolver of JᵀJ, the closed form
//! of orthogonal linear networks), the quadrature against its series, the finite-width recursion,
//! the measured spectra against the theory, determinism, and the figure.

use report::sections::isometry::{self, Critical, Isometry, Layer, SpectrumRow, SpectrumSetting, Weights};
use report::sections::{Config, Label};
use scalar::Activation;
use scalar::init::Init;
use scalar::rng::Rng;

/// The default report's dynamical isometry (seed 1).
fn full() -> &'static Isometry {
    &crate::reports::default_report().isometry
}

fn layers(init: Init, n: usize, depth: usize, bias: f64, rng: &mut Rng) -> Vec<Layer> {
    (0..depth)
        .map(|_| Layer {
            weight: init.matrix(n, n, rng).expect("valid").concat(),
            bias: (0..n).map(|_| bias * rng.normal()).collect(),
        })
        .collect()
}

fn jacobian(f: Activation, layers: &[Layer], x0: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    isometry::walk_jacobian(f, layers, x0, |l, j, _| {
        if l == layers.len() {
            out = j.to_vec();
        }
    });
    out
}

/// The network's output, written out directly (no Jacobian, no shared code).
fn forward(f: fn(f64) -> f64, layers: &[Layer], x0: &[f64]) -> Vec<f64> {
    let n = x0.len();
    let mut x = x0.to_vec();
    for l in layers {
        x = (0..n).map(|i| f((0..n).map(|k| l.weight[i * n + k] * x[k]).sum::<f64>() + l.bias[i])).collect();
    }
    x
}

/// The eigenvalues of the symmetric n × n `a` by cyclic Jacobi rotations, descending.
fn jacobi_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    let mut e: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    e.sort_by(|x, y| y.total_cmp(x));
    e
}

#[test]
fn orthogonal_linear_networks_have_every_singular_value_equal_to_the_gain_to_the_depth() {
    // J = (g·Q_L)⋯(g·Q_1) = g^L·(an orthogonal matrix): every singular value is g^L exactly;
    // rounding over L products of n terms stays below L·n·ε ≈ 1e−13 relative.
    let mut rng = Rng::new(3);
    for (gain, depth) in [(1.0, 40), (1.1, 8)] {
        let n = 16;
        let net = layers(Init::Orthogonal { gain }, n, depth, 0.0, &mut rng);
        let x0: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let s = isometry::singular_values(&jacobian(Activation::Identity, &net, &x0), n).expect("converges");
        let exact = gain.powi(depth as i32);
        for v in s {
            assert!((v / exact - 1.0).abs() < 1e-12, "singular value {v} against {exact}");
        }
    }
}

#[test]
fn jacobian_and_singular_values_match_central_differences_and_jacobi_on_small_networks() {
    let n = 4;
    let mut rng = Rng::new(11);
    for (f, g, init) in [
        (Activation::Tanh, f64::tanh as fn(f64) -> f64, Init::Normal { std: 0.8 }),
        (Activation::Tanh, f64::tanh, Init::Orthogonal { gain: 1.2 }),
        (Activation::Relu, (|z: f64| z.max(0.0)) as fn(f64) -> f64, Init::He),
    ] {
        let net = layers(init, n, 3, 0.3, &mut rng);
        let x0: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let jac = jacobian(f, &net, &x0);
        // Central differences: error h²·f‴/6 + ε/h ≈ 1e−9 at h = 1e−5 for tanh; exact for ReLU
        // away from its kinks (no pre-activation within 1e−3 of 0 here: checked below).
        let h = 1e-5;
        for k in 0..n {
            let shifted = |d: f64| {
                let mut x = x0.clone();
                x[k] += d;
                forward(g, &net, &x)
            };
            let (up, down) = (shifted(h), shifted(-h));
            for i in 0..n {
                let numeric = (up[i] - down[i]) / (2.0 * h);
                assert!(
                    (numeric - jac[i * n + k]).abs() < 1e-7,
                    "{f:?} J[{i}][{k}] = {} against {numeric}",
                    jac[i * n + k]
                );
            }
        }
        if f == Activation::Relu {
            let mut x = x0.clone();
            for l in &net {
                let pre: Vec<f64> =
                    (0..n).map(|i| (0..n).map(|k| l.weight[i * n + k] * x[k]).sum::<f64>() + l.bias[i]).collect();
                assert!(pre.iter().all(|p| p.abs() > 1e-3), "a kink within the difference step");
                x = pre.iter().map(|p| p.max(0.0)).collect();
            }
        }
        // JᵀJ's eigenvalues by Jacobi rotations are the squared singular values.
        let jtj: Vec<f64> =
            (0..n * n).map(|ab| (0..n).map(|i| jac[i * n + ab / n] * jac[i * n + ab % n]).sum()).collect();
        let eig = jacobi_eigenvalues(jtj, n);
        let s = isometry::singular_values(&jac, n).expect("converges");
        for (v, e) in s.iter().zip(&eig) {
            assert!((v * v - e.max(0.0)).abs() < 1e-12 * s[0] * s[0], "{f:?}: s² = {} against eigenvalue {e}", v * v);
        }
    }
}

#[test]
fn quadrature_moments_and_the_critical_line_match_their_series() {
    let identity = Critical { activation: Activation::Identity, sigma_w2: 1.0, sigma_b2: 0.0, q_star: 1.0 };
    assert!((identity.mu(1) - 1.0).abs() < 1e-12 && (identity.mu(2) - 1.0).abs() < 1e-12);
    let relu = Critical { activation: Activation::Relu, sigma_w2: 2.0, sigma_b2: 0.0, q_star: 1.0 };
    assert!((relu.mu(1) - 0.5).abs() < 1e-12 && (relu.mu(2) - 0.5).abs() < 1e-12);
    // Series in q* (the section's derivation, carried to higher order): the tolerance is twice
    // the first omitted term.
    let q: f64 = 1.0 / 64.0;
    let t = Critical::tanh(q);
    let mu1 = 1.0 - 2.0 * q + 7.0 * q * q - 94.0 / 3.0 * q.powi(3) + 502.0 / 3.0 * q.powi(4);
    let mu2 = 1.0 - 4.0 * q + 26.0 * q * q - 608.0 / 3.0 * q.powi(3) + 5351.0 / 3.0 * q.powi(4);
    assert!((t.mu(1) - mu1).abs() < 2.0 * 15484.0 / 15.0 * q.powi(5), "μ₁ {} against {mu1}", t.mu(1));
    assert!((t.mu(2) - mu2).abs() < 2.0 * 259508.0 / 15.0 * q.powi(5), "μ₂ {} against {mu2}", t.mu(2));
    let sb2 = 4.0 / 3.0 * q.powi(3) - 8.0 * q.powi(4);
    assert!((t.sigma_b2 - sb2).abs() < 2.0 * 748.0 / 15.0 * q.powi(5), "σ_b² {} against {sb2}", t.sigma_b2);
    assert!((t.sigma_w2 * t.mu(1) - 1.0).abs() < 1e-12, "χ₁ = 1 on the critical line");
    let ratio = 8.0 * q * q - 80.0 * q.powi(3);
    assert!((t.mu(2) / t.mu(1).powi(2) - 1.0 - ratio).abs() < 2.0 * 2432.0 / 3.0 * q.powi(4));
}

#[test]
fn linear_gaussian_recursion_has_its_closed_forms() {
    // L = 1: a Wishart matrix's λ has variance 1 + 1/n − 2/n² in expectation (the module's
    // derivation); as n → ∞ the variance is L.
    for n in [4usize, 64] {
        let nf = n as f64;
        let v = isometry::linear_gaussian_variance(n, 1)[0];
        assert!((v - (1.0 + 1.0 / nf - 2.0 / (nf * nf))).abs() < 1e-12);
    }
    let wide = isometry::linear_gaussian_variance(1_000_000, 5);
    for (l, v) in wide.iter().enumerate() {
        assert!((v - (l + 1) as f64).abs() < 1e-3 * (l + 1) as f64, "depth {}: {v}", l + 1);
    }
}

/// The default section's row of (activation, weights, q*) at `depth`.
fn find<'a>(
    iso: &'a Isometry,
    activation: &str,
    weights: Weights,
    q: f64,
    depth: usize,
) -> (&'a SpectrumSetting, &'a SpectrumRow) {
    let s = iso
        .settings
        .iter()
        .find(|s| s.activation == activation && s.weights.0 == weights && s.q_star == q)
        .expect("setting");
    (s, s.rows.iter().find(|r| r.depth == depth).expect("depth"))
}

#[test]
fn measured_variance_agrees_with_theory_where_the_width_is_large_against_the_depth() {
    // Tolerance 4 standard errors over networks, plus the finite-width excess that the linear
    // Gaussian recursion shows at this depth (its exact value above L), for L ≤ n/8.
    let iso = full();
    let n = iso.width;
    let excess = isometry::linear_gaussian_variance(n, n / 8);
    for s in &iso.settings {
        for r in s.rows.iter().filter(|r| r.depth <= n / 8) {
            let target = r.exact_var.unwrap_or(r.predicted_var);
            let allowance = 4.0 * r.var_se.expect("several networks") + (excess[r.depth - 1] - r.depth as f64);
            assert!(
                (r.var_lambda - target).abs() <= allowance.max(1e-12),
                "{} {} L = {}: Var λ {} against {target} (allowance {allowance})",
                s.activation,
                s.weights,
                r.depth,
                r.var_lambda
            );
        }
    }
}

#[test]
fn orthogonal_tanh_is_near_isometric_and_relu_is_not() {
    let iso = full();
    let deepest = *iso.depths.last().expect("depths");
    let q = isometry::TANH_Q_STARS[0];
    for depth in iso.depths.iter().copied() {
        let (_, o) = find(iso, "tanh", Weights::Orthogonal, q, depth);
        let (_, g) = find(iso, "tanh", Weights::Gaussian, q, depth);
        // Theory: 8·L·q*² against ≈ L, a factor 1/(8q*²) = 512; ask for 10.
        assert!(
            10.0 * o.var_lambda < g.var_lambda,
            "L = {depth}: orthogonal {} Gaussian {}",
            o.var_lambda,
            g.var_lambda
        );
        assert_eq!(o.resolved, 1.0);
    }
    let (_, lin) = find(iso, "identity", Weights::Orthogonal, 1.0, deepest);
    assert!(lin.var_lambda.abs() < 1e-12 && (lin.mean_lambda - 1.0).abs() < 1e-12);
    // A variance is never negative, even where the spectrum is isometric to rounding.
    for r in iso.settings.iter().flat_map(|s| &s.rows) {
        assert!(r.var_lambda >= 0.0, "{r:?}");
    }
    for weights in Weights::ALL {
        for depth in iso.depths.iter().copied() {
            let (_, r) = find(iso, "relu", weights, 1.0, depth);
            // Every singular value that must be 0 (rank J ≤ the fewest active units) is found
            // below the resolution: the floor separates exact zeros from resolved values.
            assert!(r.forced_zero > 0.3, "about half of ReLU's units are inactive");
            assert!(1.0 - r.resolved >= r.forced_zero - 1e-12, "{weights:?} L = {depth}");
            assert_eq!(r.log10_percentiles[0], None);
        }
    }
}

#[test]
fn the_section_is_the_same_on_one_and_two_threads() {
    let config = Config::new(5, true);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| isometry::compute(&config))
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn isometry_figure_snapshot() {
    let row = |depth: usize, var: f64, predicted: f64| SpectrumRow {
        depth,
        networks: 4,
        mean_lambda: 1.0,
        var_lambda: var,
        var_se: Some(var / 8.0),
        predicted_var: predicted,
        exact_var: None,
        log10_max: 0.5,
        log10_percentiles: [Some(-1.0), Some(0.0), Some(0.25)],
        resolved: 1.0,
        forced_zero: 0.0,
    };
    let setting = |weights: Weights, scale: f64| SpectrumSetting {
        activation: "tanh".to_string(),
        weights: Label(weights),
        sigma_w2: 1.0,
        sigma_b2: 0.001,
        q_star: 0.125,
        mu1: 1.0,
        mu2: 1.0,
        chi_1: 1.0,
        variance_per_layer: scale,
        rows: vec![
            row(2, 2.0 * scale, 2.0 * scale),
            row(8, 9.0 * scale, 8.0 * scale),
            row(32, 24.0 * scale, 32.0 * scale),
        ],
    };
    let iso = Isometry {
        width: 16,
        nets: 4,
        depths: vec![2, 8, 32],
        resolution: isometry::RESOLUTION,
        settings: vec![setting(Weights::Gaussian, 1.0), setting(Weights::Orthogonal, 0.0625)],
    };
    let svg = report::render::svg::isometry_figure(&iso).svg().expect("data to draw");
    insta::assert_snapshot!("isometry_figure", svg);
}

#[test]
fn the_figures_band_has_every_measured_depth_and_is_symmetric_on_the_log_axis() {
    // The deep rows' standard errors exceed half their Var λ, where a band of Var λ ± 2·se would
    // lose its lower edge on the log axis; in ln Var λ it keeps every row.
    let iso = full();
    assert!(iso.settings.iter().flat_map(|s| &s.rows).any(|r| r.var_se.is_some_and(|e| e > r.var_lambda / 2.0)));
    let figure = report::render::svg::isometry_figure(iso);
    for series in figure.series.iter().filter(|s| s.label.ends_with(": measured")) {
        let drawn = series.points.iter().filter(|p| p.1 > 0.0).count();
        assert_eq!(series.band.len(), drawn, "{}", series.label);
        for (&(x, lo, hi), &(px, v)) in series.band.iter().zip(series.points.iter().filter(|p| p.1 > 0.0)) {
            assert_eq!(x, px);
            assert!(lo > 0.0 && lo < v && v < hi, "{}: {lo} {v} {hi}", series.label);
            assert!(((v / lo).ln() - (hi / v).ln()).abs() < 1e-9, "{}: symmetric in log", series.label);
        }
    }
}
