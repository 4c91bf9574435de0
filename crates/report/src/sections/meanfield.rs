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
use serde::Serialize;

/// Half-width of the quadrature interval: the normal density beyond 12 is below 1e−31.
pub const Z_MAX: f64 = 12.0;
/// Simpson intervals over the whole interval (a multiple of 4: each half has an even number).
pub const INTERVALS: usize = 2400;

/// E_z[f(z)] for z ~ N(0, 1): Simpson's rule on each half, [−Z_MAX, 0⁻] and [0⁺, Z_MAX], with the
/// integrand at 0 taken as its one-sided limit (evaluated at ∓1e−9·h), so a jump at 0 (ReLU′)
/// costs no accuracy.
pub fn gaussian_expectation(f: impl Fn(f64) -> f64) -> f64 {
    let h = Z_MAX / (INTERVALS / 2) as f64;
    let side = |points: &[(f64, f64)]| {
        let g = |i: usize| {
            let (z, density) = points[i];
            f(z) * density
        };
        let half = points.len() - 1;
        let mut sum = g(0) + g(half);
        for i in 1..half {
            sum += if i % 2 == 1 { 4.0 } else { 2.0 } * g(i);
        }
        sum * h / 3.0
    };
    let [negative, positive] = quadrature_points();
    side(negative) + side(positive)
}

/// The points z_i of each half of [`gaussian_expectation`]'s rule with the normal density there,
/// (z_i, φ(z_i)) for i = 0 … INTERVALS/2 (z_0 = ∓1e−9·h), computed once per process: every
/// expectation (the fixed points iterate thousands of them) reuses them, the same numbers as
/// computing them afresh.
fn quadrature_points() -> &'static [Vec<(f64, f64)>; 2] {
    static POINTS: std::sync::OnceLock<[Vec<(f64, f64)>; 2]> = std::sync::OnceLock::new();
    POINTS.get_or_init(|| {
        let half = INTERVALS / 2;
        let h = Z_MAX / half as f64;
        let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        [-1.0, 1.0].map(|sign: f64| {
            (0..=half)
                .map(|i| {
                    let z = if i == 0 { sign * 1e-9 * h } else { sign * i as f64 * h };
                    (z, density(z))
                })
                .collect()
        })
    })
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

/// Where q_l goes as l grows: the fixed point q* of `next_q`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum FixedPoint {
    /// q* = 0: the signal dies (the iteration may approach it only like 1/l, as tanh at
    /// σ_w² = 1 does; then q after any finite number of layers is not q*).
    Zero,
    /// q* > 0, reached by the iteration.
    At(f64),
    /// Every q is fixed: q_{l+1} = q_l whatever q_l (ReLU at σ_w² = 2 with σ_b = 0), so q_l = q_1.
    Every,
    /// q_l grows without bound.
    Unbounded,
}

/// χ(0⁺), the limit of χ(q) as q falls to 0: σ_w²·φ′(0)² where φ′ is continuous at 0, σ_w²/2
/// for ReLU (φ′ = 1 on half the line at every q > 0; χ(0) itself would read φ′(0) = 0, a
/// gradient that vanishes in one layer, which no network with q_l > 0 shows).
fn chi_at_zero(f: Activation, sigma_w2: f64) -> f64 {
    chi(f, sigma_w2, f64::MIN_POSITIVE)
}

/// The fixed point and χ₁ = χ(q*) (χ(0⁺) for [`FixedPoint::Zero`], χ(1) for
/// [`FixedPoint::Every`], the limit of χ(q_l) for [`FixedPoint::Unbounded`]).
///
/// Iterated from q = 1 until the relative change is below 1e−12, for at most
/// [`FIXED_POINT_STEPS`] layers. Exactly neutral maps (q_{l+1} = q_l at q = 1 and q = 4) are
/// [`FixedPoint::Every`]. An iteration that has not converged but still falls, with σ_b² = 0 and
/// φ(0) = 0 (so 0 is a fixed point), is going to 0: on the critical line of an odd activation
/// q_l ≈ 1/(2l), so after 2000 layers q is still ≈ 2.5e−4, which is not q*.
pub fn fixed_point(f: Activation, sigma_w2: f64, sigma_b2: f64) -> (FixedPoint, f64) {
    let neutral = |q: f64| (next_q(f, sigma_w2, sigma_b2, q) - q).abs() <= 1e-12 * q;
    if neutral(1.0) && neutral(4.0) {
        return (FixedPoint::Every, chi(f, sigma_w2, 1.0));
    }
    let mut q = 1.0;
    for _ in 0..FIXED_POINT_STEPS {
        let next = next_q(f, sigma_w2, sigma_b2, q);
        let done = (next - q).abs() <= 1e-12 * q.max(1e-300);
        let falling = next < q;
        q = next;
        if !q.is_finite() {
            return (FixedPoint::Unbounded, chi(f, sigma_w2, f64::MAX.sqrt()));
        }
        if q < 1e-200 {
            return (FixedPoint::Zero, chi_at_zero(f, sigma_w2));
        }
        if done {
            return (FixedPoint::At(q), chi(f, sigma_w2, q));
        }
        if !falling && q > 1e200 {
            return (FixedPoint::Unbounded, chi(f, sigma_w2, q));
        }
    }
    if sigma_b2 == 0.0 && f.value(0.0) == 0.0 && next_q(f, sigma_w2, sigma_b2, q) < q {
        (FixedPoint::Zero, chi_at_zero(f, sigma_w2))
    } else {
        (FixedPoint::At(q), chi(f, sigma_w2, q))
    }
}

/// E‖∂S/∂a_l‖²/n, l = 1…D (index l − 1), for the squared-error seed ∂S/∂y = y − t of a ReLU
/// network of D square layers of width n with N(0, σ_w²/n) weights and no biases, the top layer
/// linear, inputs x ~ N(0, I_n) and targets t ~ N(0, I_n) independent of everything
/// (`docs/derivation.md`, "The squared-error seed"). Exact at every width.
///
/// With c = σ_w²/2 and K_l = ∂y/∂a_l, y = K_l·a_l exactly (positive homogeneity), so
/// ‖∂S/∂a_l‖² = ‖K_lᵀy‖² − 2tᵀK_lK_lᵀy + ‖K_lᵀt‖². The last term is plain mean field
/// (E = n·σ_w²·c^(D−1−l)); the first follows the recursion, over the layers l above a_{l−1},
///
/// ```text
/// f_D = σ_w⁴(1 + 2/n),         f_l = c²(1 + 5/n)·f_{l+1}             E‖y‖⁴ = f_l·‖a_{l−1}‖⁴
/// ρ_D = σ_w²,                  ρ_l = c·(f_{l+1} + σ_w²·(n − 1)/(2n)·ρ_{l+1})
/// γ_l = f_l + σ_w²(1 − 1/n)·ρ_l                                       E‖K_{l−1}ᵀy‖² = γ_l·‖a_{l−1}‖²
/// ```
///
/// and E‖a_l‖² = c^l·n. At infinite width and σ_w² = 2 (He), γ_l = 8 + 8(D − l): the second
/// moment of the Jacobian's spectrum, which grows linearly with depth (Pennington et al. 2017).
///
/// # Panics
/// If `width` or `depth` is 0.
pub fn relu_squared_error_grad(sigma_w2: f64, width: usize, depth: usize) -> Vec<f64> {
    assert!(width > 0 && depth > 0, "a network needs a layer and a unit");
    let (n, c, s) = (width as f64, sigma_w2 / 2.0, sigma_w2);
    // f[l], ρ[l], γ[l] for l = 1…D (index l − 1).
    let (mut f, mut rho) = (vec![0.0; depth], vec![0.0; depth]);
    f[depth - 1] = s * s * (1.0 + 2.0 / n);
    rho[depth - 1] = s;
    for l in (1..depth).rev() {
        f[l - 1] = c * c * (1.0 + 5.0 / n) * f[l];
        rho[l - 1] = c * (f[l] + s * (n - 1.0) / (2.0 * n) * rho[l]);
    }
    let gamma = |l: usize| f[l - 1] + s * (1.0 - 1.0 / n) * rho[l - 1];
    (1..=depth)
        .map(|l| {
            if l == depth {
                s * c.powi(depth as i32 - 1) + 1.0
            } else {
                gamma(l + 1) * c.powi(l as i32) + s * c.powi((depth - 1 - l) as i32)
            }
        })
        .collect()
}

/// The σ_w² in [`lo`, `hi`] at which χ₁ = 1 (the critical line at bias variance `sigma_b2`), found
/// by bisection on ln σ_w² to a relative width of 1e−12; `None` if χ₁ − 1 does not change sign
/// between the ends (bisection assumes one crossing there, which holds where χ₁ grows with σ_w²,
/// as it does for tanh, ReLU and the sigmoid).
pub fn critical_sigma_w2(f: Activation, sigma_b2: f64, lo: f64, hi: f64) -> Option<f64> {
    let excess = |s: f64| fixed_point(f, s, sigma_b2).1 - 1.0;
    let (mut lo, mut hi) = (lo.ln(), hi.ln());
    let (below, above) = (excess(lo.exp()), excess(hi.exp()));
    if !(below < 0.0 && above > 0.0) {
        return None;
    }
    while hi - lo > 1e-12 {
        let mid = 0.5 * (lo + hi);
        if excess(mid.exp()) < 0.0 { lo = mid } else { hi = mid }
    }
    Some((0.5 * (lo + hi)).exp())
}
