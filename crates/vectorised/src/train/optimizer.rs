//! The update rules: SGD, momentum and Adam, with their constants rounded to `T` once per step.

use crate::real::Real;

/// β₁, Adam's default first-moment decay.
pub const ADAM_DEFAULT_BETA1: f64 = 0.9;
/// β₂, Adam's default second-moment decay.
pub const ADAM_DEFAULT_BETA2: f64 = 0.999;
/// ε, Adam's default denominator guard.
pub const ADAM_DEFAULT_EPSILON: f64 = 1e-8;

/// The update rule (see the [module docs](crate::train) for the equations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Heavy-ball SGD: v ← μ·v + g, w ← w − η·v; μ = 0 is plain SGD w ← w − η·g (no state).
    Sgd {
        /// μ ∈ [0, 1).
        momentum: f64,
    },
    /// Adam with bias correction.
    Adam {
        /// β₁ ∈ [0, 1), the first moment's decay.
        beta1: f64,
        /// β₂ ∈ [0, 1), the second moment's decay.
        beta2: f64,
        /// ε > 0, added to √v̂.
        epsilon: f64,
    },
}

impl Optimizer {
    /// Plain SGD (μ = 0).
    pub const fn sgd() -> Self {
        Optimizer::Sgd { momentum: 0.0 }
    }
    /// Heavy-ball SGD with momentum μ.
    pub const fn momentum(momentum: f64) -> Self {
        Optimizer::Sgd { momentum }
    }
    /// Adam with the defaults β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸.
    pub const fn adam() -> Self {
        Optimizer::Adam { beta1: ADAM_DEFAULT_BETA1, beta2: ADAM_DEFAULT_BETA2, epsilon: ADAM_DEFAULT_EPSILON }
    }
}

/// One step's update rule with its constants in `T` (see the [module docs](crate::train)).
#[derive(Debug, Clone, Copy)]
pub(super) enum Rule<T> {
    Sgd {
        eta: T,
    },
    Momentum {
        eta: T,
        mu: T,
    },
    Adam {
        eta: T,
        beta1: T,
        one_minus_beta1: T,
        beta2: T,
        one_minus_beta2: T,
        correction1: T,
        correction2: T,
        epsilon: T,
    },
}

impl<T: Real> Rule<T> {
    /// (w′, s₁′, s₂′) from the weight w, its gradient g (clipped and decayed) and its state
    /// (velocity v, or Adam's m and v; zeros where the rule keeps none).
    #[inline(always)]
    pub(super) fn apply(self, w: T, g: T, s1: T, s2: T) -> (T, T, T) {
        match self {
            Rule::Sgd { eta } => (w - eta * g, s1, s2),
            Rule::Momentum { eta, mu } => {
                let v = mu * s1 + g;
                (w - eta * v, v, s2)
            }
            Rule::Adam { eta, beta1, one_minus_beta1, beta2, one_minus_beta2, correction1, correction2, epsilon } => {
                let m = beta1 * s1 + one_minus_beta1 * g;
                let v = beta2 * s2 + one_minus_beta2 * (g * g);
                let m_hat = m / correction1;
                let v_hat = v / correction2;
                (w - eta * (m_hat / (v_hat.sqrt() + epsilon)), m, v)
            }
        }
    }
}
