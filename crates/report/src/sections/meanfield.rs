//! Mean-field theory of signal propagation in wide random networks, computed by quadrature.
//!
//! For a layer of width n with weights w ~ (0, σ_w²/n) and biases b ~ (0, σ_b²), the
//! pre-activations of layer l are approximately N(0, q_l) with
//!
//! ```text
//! q_1     = σ_w²·E[x²] + σ_b²                      (for inputs x with E[x²] per coordinate)
//! q_{l+1} = σ_w²·E_z[φ(√q_l·z)²] + σ_b²,            z ~ N(0, 1)
//! ```
//!
//! and back-propagated gradients scale, layer to layer, by
//!
//! ```text
//! χ(q) = σ_w²·E_z[φ′(√q·z)²]:   E‖∂L/∂a_{l−1}‖² ≈ χ(q_l)·E‖∂L/∂a_l‖²
//! ```
//!
//! At the fixed point q* of the first recursion, χ₁ = χ(q*) decides the phase: χ₁ < 1 gradients
//! vanish exponentially with depth, χ₁ > 1 they explode, χ₁ = 1 is the critical line (Xavier/LeCun
//! for tanh, He for ReLU). The expectations are computed by composite Simpson quadrature over
//! z ∈ [−[`Z_MAX`], [`Z_MAX`]] with [`INTERVALS`] intervals, split at z = 0 where ReLU′ jumps.

use scalar::Activation;

/// Half-width of the quadrature interval: the normal density beyond 12 is below 1e−31.
pub const Z_MAX: f64 = 12.0;
/// Simpson intervals over the whole interval (a multiple of 4: each half has an even number).
pub const INTERVALS: usize = 2400;

/// E_z[f(z)] for z ~ N(0, 1): Simpson's rule on each half, [−Z_MAX, 0⁻] and [0⁺, Z_MAX], with the
/// integrand at 0 taken as its one-sided limit (evaluated at ∓1e−9·h), so a jump at 0 (ReLU′)
/// costs no accuracy.
pub fn gaussian_expectation(f: impl Fn(f64) -> f64) -> f64 {
    let half = INTERVALS / 2;
    let h = Z_MAX / half as f64;
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let side = |sign: f64| {
        let g = |i: usize| {
            let z = if i == 0 { sign * 1e-9 * h } else { sign * i as f64 * h };
            f(z) * density(z)
        };
        let mut sum = g(0) + g(half);
        for i in 1..half {
            sum += if i % 2 == 1 { 4.0 } else { 2.0 } * g(i);
        }
        sum * h / 3.0
    };
    side(-1.0) + side(1.0)
}

/// The most layers [`fixed_point`] iterates.
pub const FIXED_POINT_STEPS: usize = 2000;

/// q_{l+1} from q_l.
pub fn next_q(f: Activation, sigma_w2: f64, sigma_b2: f64, q: f64) -> f64 {
    let s = q.sqrt();
    sigma_w2 * gaussian_expectation(|z| f.value(s * z).powi(2)) + sigma_b2
}

/// χ(q) = σ_w²·E[φ′(√q·z)²].
pub fn chi(f: Activation, sigma_w2: f64, q: f64) -> f64 {
    let s = q.sqrt();
    sigma_w2 * gaussian_expectation(|z| f.derivative(s * z).powi(2))
}

/// q_1, …, q_depth starting from inputs with `E[x²] = input_q`.
pub fn layer_q(f: Activation, sigma_w2: f64, sigma_b2: f64, input_q: f64, depth: usize) -> Vec<f64> {
    let mut q = Vec::with_capacity(depth);
    let mut current = sigma_w2 * input_q + sigma_b2;
    for _ in 0..depth {
        q.push(current);
        current = next_q(f, sigma_w2, sigma_b2, current);
    }
    q
}

/// The fixed point q* (iterated from q = 1 until the relative change is below 1e−12, for at most
/// [`FIXED_POINT_STEPS`] layers) and χ₁ = χ(q*). On the critical line the approach is slow
/// (q_l ≈ 1/(2l) for tanh at σ_w² = 1), so there the result is q after that many layers, ≈ 2.5e−4,
/// where χ differs from its limit 1 by about 5e−4.
pub fn fixed_point(f: Activation, sigma_w2: f64, sigma_b2: f64) -> (f64, f64) {
    let mut q = 1.0;
    for _ in 0..FIXED_POINT_STEPS {
        let next = next_q(f, sigma_w2, sigma_b2, q);
        let done = (next - q).abs() <= 1e-12 * q.max(1e-300);
        q = next;
        if done || q < 1e-200 || !q.is_finite() {
            break;
        }
    }
    (q, chi(f, sigma_w2, q))
}
