//! The exact law of a ReLU network's forward signal at finite width, and the expectations §4
//! prints from it.
//!
//! With weights w ~ N(0, g²·2/n), no biases and a_{l−1} ≠ 0, the pre-activation z_l = W_l·a_{l−1}
//! has independent N(0, g²·(2/n)·‖a_{l−1}‖²) entries (a Gaussian matrix is rotation invariant),
//! whatever a_{l−1} is. So
//!
//! ```text
//! ‖a_l‖²/‖a_{l−1}‖² = g²·(2/n)·χ²_K   (ReLU layer: K ~ Binomial(n, 1/2) units are active)
//! ‖z_l‖²/‖a_{l−1}‖² = g²·(2/n)·χ²_n   (linear layer)
//! ```
//!
//! independently of every earlier layer: log‖a_l‖ is a random walk with independent steps, and
//! E[ln χ²_k] = ψ(k/2) + ln 2 (ψ the digamma function) gives its mean step exactly. The mean of the
//! square, E[‖a_l‖²/‖a_{l−1}‖²] = g², is what the naive expectation uses: log10 g decades per
//! layer. The typical (mean-log) step is smaller: by Jensen's inequality, and to first order in
//! 1/n by −Var/(2·mean²) = −(5/n)/2 in ln‖a‖² (Var((2/n)·Σ relu(ξ_j)²) = (4/n²)·n·(3/2 − 1/4)),
//! i.e. −5/(4n) in ln‖a‖ per layer: Hanin's (2018) β = Σ 1/n_l, times 5/4. A unit dies with all
//! others (K = 0) with probability 2^−n per layer; the steps below are conditioned on K ≥ 1.
//! `docs/derivation.md` §4 derives it.

use std::f64::consts::LN_10;

/// Euler–Mascheroni γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// ψ(k/2) for k ≥ 1: ψ(1/2) = −γ − 2 ln 2, ψ(1) = −γ, ψ(x + 1) = ψ(x) + 1/x.
pub fn digamma_half(k: usize) -> f64 {
    debug_assert!(k >= 1);
    let (mut psi, mut x) =
        if k % 2 == 1 { (-EULER_GAMMA - 2.0 * std::f64::consts::LN_2, 0.5) } else { (-EULER_GAMMA, 1.0) };
    while x < k as f64 / 2.0 {
        psi += 1.0 / x;
        x += 1.0;
    }
    psi
}

/// ψ′(k/2) for k ≥ 1 (the trigamma function): ψ′(1/2) = π²/2, ψ′(1) = π²/6,
/// ψ′(x + 1) = ψ′(x) − 1/x².
pub fn trigamma_half(k: usize) -> f64 {
    debug_assert!(k >= 1);
    let pi2 = std::f64::consts::PI * std::f64::consts::PI;
    let (mut psi1, mut x) = if k % 2 == 1 { (pi2 / 2.0, 0.5) } else { (pi2 / 6.0, 1.0) };
    while x < k as f64 / 2.0 {
        psi1 -= 1.0 / (x * x);
        x += 1.0;
    }
    psi1
}

/// E[log10 χ²_k] = (ψ(k/2) + ln 2)/ln 10.
pub fn mean_log10_chi2(k: usize) -> f64 {
    (digamma_half(k) + std::f64::consts::LN_2) / LN_10
}

/// The forward signal's walk in a ReLU network of width `width` and He gain `gain`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReluWalk {
    /// n, the units per layer (and the input's width).
    pub width: usize,
    /// g.
    pub gain: f64,
}

impl ReluWalk {
    /// E[log10 ‖a_l‖/‖a_{l−1}‖] for a ReLU layer, conditioned on K ≥ 1 active units: exact.
    pub fn hidden_step(&self) -> f64 {
        let n = self.width;
        // P(K = k) = C(n, k)·2^−n, by the recurrence C(n, k) = C(n, k − 1)·(n − k + 1)/k.
        let mut p = 0.5f64.powi(n as i32);
        let mut sum = 0.0;
        for k in 1..=n {
            p *= (n - k + 1) as f64 / k as f64;
            sum += p * mean_log10_chi2(k);
        }
        let alive = 1.0 - 0.5f64.powi(n as i32);
        self.gain.log10() + 0.5 * ((2.0 / n as f64).log10() + sum / alive)
    }

    /// Var(log10 ‖a_l‖/‖a_{l−1}‖) for a ReLU layer, conditioned on K ≥ 1: exact. Given K = k,
    /// Var(ln χ²_k) = ψ′(k/2); over K, the law of total variance adds Var(ψ(K/2)); ½ for the
    /// norm's square root.
    pub fn hidden_step_variance(&self) -> f64 {
        let n = self.width;
        let mut p = 0.5f64.powi(n as i32);
        let (mut mean, mut square, mut within) = (0.0, 0.0, 0.0);
        for k in 1..=n {
            p *= (n - k + 1) as f64 / k as f64;
            let psi = digamma_half(k);
            (mean, square, within) = (mean + p * psi, square + p * psi * psi, within + p * trigamma_half(k));
        }
        let alive = 1.0 - 0.5f64.powi(n as i32);
        let (mean, square, within) = (mean / alive, square / alive, within / alive);
        (within + square - mean * mean) / (4.0 * LN_10 * LN_10)
    }

    /// Var(log10 ‖W_lᵀ·u‖/‖u‖) for a unit vector u independent of W_l (all n rows): ψ′(n/2)/(4·ln²10),
    /// the backward pass's step through a layer.
    pub fn backward_step_variance(&self) -> f64 {
        trigamma_half(self.width) / (4.0 * LN_10 * LN_10)
    }

    /// E[log10 ‖z_l‖/‖a_{l−1}‖] for a linear layer (all n units): exact.
    pub fn linear_step(&self) -> f64 {
        self.gain.log10() + 0.5 * ((2.0 / self.width as f64).log10() + mean_log10_chi2(self.width))
    }

    /// E[log10 ‖x‖] for an input x ~ N(0, I_n).
    pub fn input(&self) -> f64 {
        0.5 * mean_log10_chi2(self.width)
    }

    /// The naive step: log10 √E[‖a_l‖²/‖a_{l−1}‖²] = log10 g.
    pub fn naive_step(&self) -> f64 {
        self.gain.log10()
    }

    /// The first-order step: log10 g − 5/(4n·ln 10).
    pub fn first_order_step(&self) -> f64 {
        self.gain.log10() - 5.0 / (4.0 * self.width as f64 * LN_10)
    }

    /// E[log10 ‖z_l‖] of one sample's pre-activation at layer l ≥ 1 (l − 1 ReLU layers, then
    /// the product).
    pub fn pre_activation(&self, layer: usize) -> f64 {
        self.input() + (layer - 1) as f64 * self.hidden_step() + self.linear_step()
    }

    /// The first layer whose typical pre-activation norm, [`ReluWalk::pre_activation`], reaches
    /// `log10_max` (`None` if the walk does not grow).
    pub fn forward_crossing(&self, log10_max: f64) -> Option<f64> {
        let step = self.hidden_step();
        (step > 0.0).then(|| 1.0 + (log10_max - self.input() - self.linear_step()) / step)
    }

    /// E[log10 ‖∂L/∂W_D‖] of a depth-D network's top (linear) layer under squared error
    /// (1/B)·Σ_b ‖y_b − t_b‖², when the outputs dwarf the targets and the batch's signals have
    /// aligned (deep networks: then ∂L/∂W_D ≈ (2/B)·Σ_b ‖a_{D−1,b}‖²·(W_D·v)·vᵀ for the common
    /// unit direction v), counting Σ_b ‖a_{D−1,b}‖² as B times the typical one:
    /// log10 2 + 2·E[log10 ‖a_{D−1}‖] + E[log10 ‖W_D·v‖].
    pub fn top_weight_gradient(&self, depth: usize) -> f64 {
        std::f64::consts::LOG10_2 + 2.0 * (self.input() + (depth - 1) as f64 * self.hidden_step()) + self.linear_step()
    }

    /// The first depth at which [`ReluWalk::top_weight_gradient`] reaches `log10_max`: about half
    /// [`ReluWalk::forward_crossing`], as its log grows twice as fast (`None` if it does not grow).
    pub fn gradient_crossing(&self, log10_max: f64) -> Option<f64> {
        let step = self.hidden_step();
        let at_one = self.top_weight_gradient(1);
        (step > 0.0).then(|| 1.0 + (log10_max - at_one) / (2.0 * step))
    }
}
