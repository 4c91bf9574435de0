//! The forward side of mean field: the correlation map between two inputs, its depth scale ξ_c
//! (Schoenholz et al. 2017), and the finite-width law of ReLU's squared length (Hanin 2018), by
//! quadrature and in closed form. The networks they are measured on are
//! [`super::critical_depth`]'s.
//!
//! Two inputs whose pre-activations at layer l have variances q₁, q₂ and covariance q₁₂ are
//! jointly Gaussian in the wide limit; one layer maps the covariance to
//!
//! ```text
//! q₁₂′ = σ_w²·E[φ(u₁)φ(u₂)] + σ_b²,   u₁ = √q₁·z₁,  u₂ = √q₂·(c·z₁ + √(1 − c²)·z₂),  c = q₁₂/√(q₁q₂)
//! ```
//!
//! At q₁ = q₂ = q* this is the correlation map c′ = C(c). c = 1 is always fixed, and its slope
//! there is C′(1) = σ_w²·E[φ′(u)²] = χ₁ (Price's theorem: ∂E[φ(u₁)φ(u₂)]/∂q₁₂ = E[φ′(u₁)φ′(u₂)]),
//! so in the ordered phase (χ₁ < 1) 1 − c_l ∝ χ₁^l = e^(−l/ξ_c) with ξ_c = −1/ln χ₁: after many
//! ξ_c layers every input reaches the top as the same vector. At χ₁ = 1 the depth scale is
//! infinite and the approach is a power law. Bias-free ReLU at σ_w² = 2 keeps q and has the
//! arc-cosine map (Cho & Saul 2009)
//!
//! ```text
//! C(c) = (√(1 − c²) + (π − arccos c)·c)/π,    1 − C(c) = ε − (2√2/(3π))·ε^(3/2) + O(ε²),  ε = 1 − c
//! ```
//!
//! whose slope at 1 is exactly 1: dε/dl = −(2√2/(3π))·ε^(3/2) gives ε_l ≈ 9π²/(2l²).
//!
//! The expectations over (z₁, z₂) are a product Simpson rule on [−[`Z2_MAX`], [`Z2_MAX`]]² with
//! [`INTERVALS_2D`] intervals a side, z₁ split at 0 (where ReLU′ jumps for u₁): a relative error
//! below 1e−6 for tanh at the variances used here (q ≤ 1; at c = 1 it is checked against the 1-D
//! rule), about 1e−3 for ReLU, whose kink along u₂ = 0 is not on the grid (bias-free ReLU uses
//! the closed form instead).

use scalar::Activation;

/// Half-width of the 2-D quadrature square (the normal density beyond 9 is below 1e−17).
pub const Z2_MAX: f64 = 9.0;
/// Simpson intervals a side of the 2-D rule (a multiple of 4).
pub const INTERVALS_2D: usize = 96;

/// E[f(z₁, z₂)] for independent standard normals, by the product Simpson rule.
pub fn gaussian_expectation_2d(f: impl Fn(f64, f64) -> f64) -> f64 {
    let n = INTERVALS_2D;
    let h = 2.0 * Z2_MAX / n as f64;
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let weight = |i: usize| {
        if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        }
    };
    let nodes: Vec<(f64, f64)> = (0..=n)
        .map(|i| {
            let z = -Z2_MAX + i as f64 * h;
            (z, weight(i) * density(z) * h / 3.0)
        })
        .collect();
    let inner = |z1: f64| nodes.iter().map(|&(z2, w2)| w2 * f(z1, z2)).sum::<f64>();
    // z = 0 is a node between two Simpson panels (n/2 is even): there z₁ takes the mean of its
    // one-sided limits, each side's rule on its own.
    nodes
        .iter()
        .enumerate()
        .map(|(i, &(z1, w1))| w1 * if i == n / 2 { 0.5 * (inner(-1e-9 * h) + inner(1e-9 * h)) } else { inner(z1) })
        .sum()
}

/// q₁₂′: the next layer's pre-activation covariance of two inputs with variances `q1`, `q2` and
/// correlation `c` (clamped to [−1, 1]).
pub fn next_covariance(f: Activation, sigma_w2: f64, sigma_b2: f64, q1: f64, q2: f64, c: f64) -> f64 {
    let c = c.clamp(-1.0, 1.0);
    let (s1, s2, r) = (q1.sqrt(), q2.sqrt(), (1.0 - c * c).max(0.0).sqrt());
    sigma_w2 * gaussian_expectation_2d(|z1, z2| f.value(s1 * z1) * f.value(s2 * (c * z1 + r * z2))) + sigma_b2
}

/// χ_c(c) = σ_w²·E[φ′(u₁)φ′(u₂)] at variance `q` and correlation `c`: the slope of the
/// correlation map at c (χ₁ at c = 1).
pub fn chi_c(f: Activation, sigma_w2: f64, q: f64, c: f64) -> f64 {
    let c = c.clamp(-1.0, 1.0);
    let (s, r) = (q.sqrt(), (1.0 - c * c).max(0.0).sqrt());
    sigma_w2 * gaussian_expectation_2d(|z1, z2| f.derivative(s * z1) * f.derivative(s * (c * z1 + r * z2)))
}

/// ξ_c = −1/ln χ for a slope χ of the map at its fixed point; `None` unless 0 < χ < 1 (at χ ≥ 1
/// the approach is not exponential: no finite depth scale).
pub fn depth_scale(chi: f64) -> Option<f64> {
    (chi > 0.0 && chi < 1.0).then(|| -1.0 / chi.ln())
}

/// The arc-cosine correlation map of bias-free ReLU at σ_w² = 2 (closed form).
pub fn relu_c_map(c: f64) -> f64 {
    let c = c.clamp(-1.0, 1.0);
    ((1.0 - c * c).max(0.0).sqrt() + (std::f64::consts::PI - c.acos()) * c) / std::f64::consts::PI
}

/// One layer of bias-free ReLU at σ_w² = 2 in ε = 1 − c: with θ = arccos c = 2·asin(√(ε/2)),
/// 1 − C(c) = ε − (sin θ − θ·cos θ)/π. The same map as [`relu_c_map`], written so that no
/// rounding of c (1.1e−16 a step, against a step of ≈ 0.3·ε^(3/2)) accumulates over thousands
/// of layers.
pub fn relu_decorrelation(eps: f64) -> f64 {
    let theta = 2.0 * (eps / 2.0).clamp(0.0, 1.0).sqrt().asin();
    eps - (theta.sin() - theta * theta.cos()) / std::f64::consts::PI
}

/// The asymptote 9π²/(2l²) of 1 − c_l for bias-free ReLU at σ_w² = 2.
pub fn relu_power_law(layer: f64) -> f64 {
    4.5 * std::f64::consts::PI.powi(2) / (layer * layer)
}

/// Below this 1 − c, [`decorrelations`] steps the map's linearisation instead of the quadrature.
pub const LINEAR_BELOW: f64 = 1e-6;

/// Mean-field 1 − c_1 … 1 − c_layers of two inputs whose first-layer pre-activations both have
/// variance `q1` and correlation `c1`. The complement ε = 1 − c is what is iterated, so it is kept
/// to full relative precision far below f64's 1.1e−16 spacing at 1, where 1 − c computed from c
/// would stop at that spacing. Once ε < [`LINEAR_BELOW`] the step is the map's linearisation at
/// c = 1, ε′ = χ(q)·(q/q′)·ε (q₁₂′ = q′ − χ(q)·q·ε to first order), whose relative error is O(ε)
/// for a smooth φ: it costs nothing and avoids the quadrature's rounding, which 1 − C(c) would
/// magnify as c nears 1.
pub fn decorrelations(f: Activation, sigma_w2: f64, sigma_b2: f64, q1: f64, c1: f64, layers: usize) -> Vec<f64> {
    let (mut q, mut eps) = (q1, 1.0 - c1);
    let mut out = Vec::with_capacity(layers);
    for _ in 0..layers {
        out.push(eps);
        let next = super::meanfield::next_q(f, sigma_w2, sigma_b2, q);
        eps = if eps < LINEAR_BELOW {
            super::meanfield::chi(f, sigma_w2, q) * q / next * eps
        } else {
            1.0 - (next_covariance(f, sigma_w2, sigma_b2, q, q, 1.0 - eps) / next).clamp(-1.0, 1.0)
        };
        q = next;
    }
    out
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: relative error below 1e−14).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = G[0] + (1..9).map(|i| G[i] / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// ψ(x) and ψ′(x) for x > 0: the recurrences ψ(x) = ψ(x + 1) − 1/x, ψ′(x) = ψ′(x + 1) + 1/x²
/// up to x ≥ 10, then the asymptotic series (error below 1e−13 there).
pub fn digamma_trigamma(x: f64) -> (f64, f64) {
    let (mut x, mut psi, mut psi1) = (x, 0.0, 0.0);
    while x < 10.0 {
        psi -= 1.0 / x;
        psi1 += 1.0 / (x * x);
        x += 1.0;
    }
    let (i1, i2) = (1.0 / x, 1.0 / (x * x));
    psi += x.ln() - 0.5 * i1 - i2 * (1.0 / 12.0 - i2 * (1.0 / 120.0 - i2 * (1.0 / 252.0 - i2 / 240.0)));
    psi1 += i1 + 0.5 * i2 + i1 * i2 * (1.0 / 6.0 - i2 * (1.0 / 30.0 - i2 * (1.0 / 42.0 - i2 / 30.0)));
    (psi, psi1)
}

/// The law of one bias-free ReLU layer at σ_w² = 2 and width n: R = ‖a_{l+1}‖²/‖a_l‖² =
/// (2/n)·χ²_K with K ~ Binomial(n, 1/2) the units with positive pre-activation (given a_l,
/// the n pre-activations are independent N(0, 2‖a_l‖²/n)), the same whatever a_l, so
/// ln(‖a_L‖²/‖x‖²) is a sum of L independent copies of ln R. Returns (E[ln R], Var[ln R]) given
/// K ≥ 1, from E[ln χ²_K] = ψ(K/2) + ln 2 and Var[ln χ²_K] = ψ′(K/2) (K = 0, a dead layer, has
/// probability 2⁻ⁿ and is left out). For large n, E ≈ −5/(2n) and Var ≈ 5/n (Var R = 5/n), so
/// over L layers the mean is preserved, E‖a_L‖² = ‖x‖², while the typical network drifts to
/// e^(−5β/2), β = Σ 1/n_l (Hanin 2018).
///
/// # Panics
/// If `width` is 0.
pub fn relu_log_ratio_law(width: usize) -> (f64, f64) {
    assert!(width > 0, "a layer needs a unit");
    let n = width as f64;
    // P(K = k) for k = 1…n, in log space (n up to thousands without overflow).
    let ln_p = |k: usize| {
        ln_gamma(n + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma(n - k as f64 + 1.0) - n * std::f64::consts::LN_2
    };
    let (mut p_total, mut m1, mut m2, mut var_within) = (0.0, 0.0, 0.0, 0.0);
    for k in 1..=width {
        let p = ln_p(k).exp();
        let (psi, psi1) = digamma_trigamma(k as f64 / 2.0);
        let mean_k = (2.0 / n).ln() + psi + std::f64::consts::LN_2;
        p_total += p;
        m1 += p * mean_k;
        m2 += p * mean_k * mean_k;
        var_within += p * psi1;
    }
    let (m1, m2, var_within) = (m1 / p_total, m2 / p_total, var_within / p_total);
    (m1, var_within + m2 - m1 * m1)
}
