//! Which layer's gradient leaves a format first: the expected largest gradient value of a deep
//! ReLU network, and the depth at which it reaches a format's largest value.
//!
//! The engine sums the loss, S = Σ_b ‖y_b − t_b‖², and divides by B only as it stores ∂L/∂W, so
//! the values that overflow are ∂S = B·∂L: log10 B decades above ∂L.
//!
//! Without biases y_b is positively homogeneous of degree 1 in each W_l, so by Euler's theorem
//!
//! ```text
//! ⟨∂S/∂W_l, W_l⟩ = Σ_b ⟨∂S/∂y_b, y_b⟩ = C        at every layer l (exact),
//! ‖∂S/∂W_l‖ = C/(‖W_l‖·cos θ_l),                 θ_l the angle between ∂S/∂W_l and W_l.
//! ```
//!
//! Layers differ only by cos θ_l. Deep down, the batch's signals have aligned and
//! ∂S/∂W_l ≈ u·vᵀ (u the back-propagated error, v the signal below), ⟨u·vᵀ, W⟩ = uᵀ·W·v:
//! - the top (linear) layer has u = 2·W_D·v (the outputs dwarf the targets): cos θ_D =
//!   ‖W_D·v̂‖/‖W_D‖ ≈ 1/√n;
//! - a layer inside, taking u and v as independent of W_l: uᵀ·W·v/(‖u‖·‖v‖) ~ N(0, 2g²/n) and
//!   ‖W_l‖ ≈ g·√(2n), so cos θ_l ≈ |ξ|/n, ξ ~ N(0, 1) (an approximation).
//!
//! So Y_l = log10(‖∂S/∂W_l‖/‖∂S/∂W_D‖) ≈ log10(√n/|ξ|), whose tail is exponential: P(Y_l > y) ≈
//! √(2n/π)·10^−y (|ξ|'s density at 0 is √(2/π)). The largest entry of u·vᵀ is ‖u‖·‖v‖·ρ_u·ρ_v
//! with ρ = max_j |v_j|/‖v‖, and u, v each have about n/2 Gaussian-like nonzero entries (u masked
//! by the layer's active units, v a ReLU's output): the entries' tail is √(2n/π)·E\[ρ\]²·10^−y.
//!
//! From layer to layer uᵀ·W·v stays C, so log cos θ changes by a forward step minus a backward
//! step (independent, variances [`ReluWalk::hidden_step_variance`] and
//! [`ReluWalk::backward_step_variance`]): an Ornstein–Uhlenbeck process of stationary variance
//! Var(log10 |ξ|) = π²/(8·ln²10) forgets in τ = 2·Var(Y)/(Var_fwd + Var_bwd) layers. Counting the
//! D layers as D/τ independent draws (an approximation), the largest (Gumbel) is in expectation
//! log10((D/τ)·√(2n/π)·E\[ρ\]²) + γ/ln 10 above the top layer's norm. `docs/derivation.md` §13.

use super::walk::ReluWalk;
use crate::sections::{Stream, stream_rng};
use std::f64::consts::{LN_10, PI};

/// Euler–Mascheroni γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// How far, in decades, the excess's two approximations (the angle's law inside, the D/τ
/// independent layers) are allowed to miss beyond the measurement's own tolerance: wherever the
/// gradient grows by more than 0.4 decades per layer (2·E\[step\]; section 4 names the gains
/// where it does), it moves the predicted depth by under half a layer, less than the one layer
/// a depth resolves.
pub const APPROXIMATION: f64 = 0.2;

/// 2·[`APPROXIMATION`]: a gradient growing by more than this many decades per layer turns the
/// approximations' allowance into under half a layer of depth.
pub const STEEP_GRADIENT: f64 = 2.0 * APPROXIMATION;

/// Draws behind E[ρ]: its Monte-Carlo standard error is below 10⁻³ of it.
const RATIO_DRAWS: u64 = 20_000;

/// The law of a deep ReLU network's largest gradient value (weights N(0, g²·2/n), width n, batch
/// B, squared error, no biases).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LargestLaw {
    /// The forward walk.
    pub walk: ReluWalk,
    /// B, the samples per batch.
    pub batch: usize,
    /// E[max_j relu(ξ_j)/‖relu(ξ)‖] over ξ ~ N(0, I_n).
    pub entry_ratio: f64,
}

impl LargestLaw {
    /// The law for `walk` and `batch`; E\[ρ\] by 20,000 draws from a fixed stream (the
    /// same for every report seed: it is a constant of the model, not of the networks).
    pub fn new(walk: ReluWalk, batch: usize) -> LargestLaw {
        let mut rng = stream_rng(0, Stream::Exploding, 200);
        let mut sum = 0.0;
        let mut v = vec![0.0; walk.width];
        for _ in 0..RATIO_DRAWS {
            v.iter_mut().for_each(|x| *x = rng.normal().max(0.0));
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                sum += v.iter().copied().fold(0.0, f64::max) / norm;
            }
        }
        LargestLaw { walk, batch, entry_ratio: sum / RATIO_DRAWS as f64 }
    }

    /// τ = 2·Var(log10 |ξ|)/(Var_fwd + Var_bwd): the layers over which cos θ_l forgets.
    pub fn forgetting_layers(&self) -> f64 {
        let stationary = PI * PI / (8.0 * LN_10 * LN_10);
        2.0 * stationary / (self.walk.hidden_step_variance() + self.walk.backward_step_variance())
    }

    /// E[max over layers and entries of log10 |∂S/∂W_l| − log10 ‖∂S/∂W_D‖] for a depth-D
    /// network: log10((D/τ)·√(2n/π)·E\[ρ\]²) + γ/ln 10.
    pub fn excess(&self, depth: f64) -> f64 {
        let n = self.walk.width as f64;
        let tail = (2.0 * n / PI).sqrt() * self.entry_ratio * self.entry_ratio;
        (depth / self.forgetting_layers() * tail).log10() + EULER_GAMMA / LN_10
    }

    /// E[log10 of the largest |∂S/∂W_l| entry] of a depth-D network: the typical top layer's
    /// ‖∂L/∂W_D‖ ([`ReluWalk::top_weight_gradient`]), times B, plus [`LargestLaw::excess`].
    pub fn largest_value(&self, depth: f64) -> f64 {
        let top = self.walk.top_weight_gradient(1) + 2.0 * (depth - 1.0) * self.walk.hidden_step();
        top + (self.batch as f64).log10() + self.excess(depth)
    }

    /// The depth at which [`LargestLaw::largest_value`] reaches `log10_max` (`None` if the walk
    /// does not grow); it grows in D, so bisection finds it.
    pub fn crossing(&self, log10_max: f64) -> Option<f64> {
        let top = self.walk.gradient_crossing(log10_max)?;
        let (mut lo, mut hi) = (1.0, top.max(1.0) + 1.0);
        while self.largest_value(hi) < log10_max {
            hi *= 2.0;
        }
        if self.largest_value(lo) >= log10_max {
            return Some(lo);
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.largest_value(mid) < log10_max { lo = mid } else { hi = mid }
        }
        Some(0.5 * (lo + hi))
    }
}
