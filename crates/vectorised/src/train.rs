//! Training a [`Dense`] network: SGD with momentum and Adam, gradient clipping by global norm or
//! by value, weight decay coupled (L2) or decoupled (AdamW), and a [`StepReport`] per step (loss,
//! gradient norms, the engine's per-layer statistics, per-layer update and weight norms).
//!
//! One [`Trainer::step`] on a batch, with g the engine's gradient of the data loss L (every
//! weight and bias, [`Dense::gradients`]), η the learning rate, λ the weight decay and t the
//! number of applied steps including this one:
//!
//! ```text
//! 1. g ← ∂L/∂θ                                  forward + backward (the dense engine)
//! 2. refuse the step if L or any g is NaN or ±∞  (weights and optimizer state untouched)
//! 3. clip, on the data gradient only:
//!      by norm c:   ‖g‖₂ = √(Σ g²) over every weight and bias;  if ‖g‖₂ > c:  g ← g·(c/‖g‖₂)
//!      by value c:  g ← min(max(g, −c), c)                       elementwise
//! 4. decay, on weights (and biases only if `decay_biases`), in one of two forms (`decay_form`):
//!      coupled (L2, the default):  g ← g + λ·w
//!                   i.e. the objective is L + (λ/2)·Σ_l ‖W_l‖², and Adam sees λ·w through its
//!                   moments (normalised like the data gradient)
//!      decoupled (AdamW, SGDW):    w ← w·(1 − ηλ)     g unchanged; 1 − ηλ computed in f64, rounded to T
//!                   the shrinking happens beside the optimizer, not through its moments
//! 5. update, elementwise (w being the decoupled form's shrunk weight):
//!      SGD (μ = 0):       w ← w − η·g                               (no state)
//!      momentum μ > 0:    v ← μ·v + g,  w ← w − η·v                  (heavy ball; v₀ = 0)
//!      Adam:              m ← β₁·m + (1−β₁)·g,   v ← β₂·v + (1−β₂)·(g·g)      (m₀ = v₀ = 0)
//!                         m̂ = m / (1−β₁ᵗ),   v̂ = v / (1−β₂ᵗ)
//!                         w ← w − η·(m̂ / (√v̂ + ε))
//! 6. refuse the step if any new weight or state would be NaN or ±∞
//! ```
//!
//! **Coupled against decoupled decay.** Under plain SGD (μ = 0) the two forms are the same step,
//! w − η·(g + λ·w) = w·(1 − ηλ) − η·g, up to rounding. Under Adam they differ (Loshchilov &
//! Hutter, "Decoupled Weight Decay Regularization", ICLR 2019): in the coupled form Adam divides
//! g + λ·w by its own running magnitude, so wherever λ|w| dominates |g| every weight moves by about
//! η per step towards 0, whatever λ — an artefact of the normalisation, not a decay by ηλ|w|; the
//! decoupled form shrinks each weight by exactly the factor 1 − ηλ per step, whatever g. The decay
//! is scaled by η as in PyTorch's and Optax's `AdamW` (the paper scales it by the schedule's
//! multiplier only; its λ is this λ times η).
//!
//! The momentum form is the "heavy ball" of Polyak (PyTorch's `SGD(momentum=μ, dampening=0)`):
//! v accumulates raw gradients and η multiplies it at the update. Adam's defaults are β₁ = 0.9,
//! β₂ = 0.999, ε = 10⁻⁸ ([`Optimizer::adam`]); on its first step m̂ = g and v̂ = g² up to
//! rounding, so every parameter moves by η·g/(|g| + ε) ≈ η·sign(g).
//!
//! Each line above is computed exactly as written, in `T`, one IEEE operation per symbol and no
//! fused multiply-add, so a test can redo a step by hand and compare bits. β₁ᵗ and β₂ᵗ are running
//! products in `f64` (no `powi`), rounded to `T` after the subtraction from 1.
//!
//! Adam's v holds g·g, which overflows for |g| above ~10¹⁵⁴ in `f64` (~10¹⁹ in `f32`): such a
//! step is refused at step 6 ([`Refusal::Update`]) rather than freezing the parameter with
//! v = +∞; clipping by norm or value is the remedy for gradients that large.
//!
//! **The report.** [`StepReport::loss`] is the *data* loss L at the weights the gradient was taken
//! at (before the update); the decay's (λ/2)·Σ‖W‖² is reported separately as
//! [`StepReport::penalty`]. Gradient norms are of the data gradient (before decay), before and
//! after clipping. `update_norm[l]` is ‖ΔW_l‖ with ΔW_l = W_new − W_old computed in `T`, and
//! `weight_norm[l]` is ‖W_l‖ after the step: their ratio per layer shows which layers learn.
//!
//! **Norms** ([`norm`], [`global_norm`]) are computed in `f64` in a fixed order (eight lanes,
//! element i to lane i mod 8, lanes added 0…7), after scaling every value by the power of two
//! 2⁻ᵉ with 2ᵉ ≤ max|v| < 2ᵉ⁺¹: a power-of-two scale commutes with rounding, so for ordinary
//! values the result has the bits of the unscaled √(Σ v²), while gradients of 10²⁰⁰ (an exploding
//! network) still get a finite norm instead of +∞.
//!
//! **Determinism.** The engine's gradients have the same bits on any number of threads; every
//! step here is elementwise or a fixed-order reduction on the calling thread, so the weights
//! after any number of steps have the same bits on 1, 2 or 7 threads.

use crate::dense::{Batch, Dense, Gradients, Loss, Normalisation, Workspace};
use crate::error::Error;
use crate::real::Real;
use crate::stats::{GradientStats, NonFinite};

mod clip;
mod optimizer;
mod trainer;

pub use clip::{Clip, ClipOutcome, clip_gradients, global_norm, norm};
use optimizer::Rule;
pub use optimizer::{ADAM_DEFAULT_BETA1, ADAM_DEFAULT_BETA2, ADAM_DEFAULT_EPSILON, Optimizer};
pub use trainer::Trainer;

/// Everything a [`Trainer`] needs besides the network and the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// η > 0.
    pub learning_rate: f64,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Gradient clipping ([`Clip::None`] by default).
    pub clip: Clip,
    /// λ ≥ 0, the weight decay (0 by default).
    pub weight_decay: f64,
    /// How λ enters the step: [`DecayForm::Coupled`] (L2, the default) or
    /// [`DecayForm::Decoupled`] (AdamW).
    pub decay_form: DecayForm,
    /// Whether λ also applies to biases (`false` by default: the usual L2 penalises weights only).
    pub decay_biases: bool,
    /// The loss the engine differentiates.
    pub loss: Loss,
    /// What the summed loss is divided by.
    pub normalisation: Normalisation,
}

impl TrainConfig {
    /// Learning rate η, an optimizer and a loss; no clipping, no decay, [`Normalisation::PerSample`].
    pub fn new(learning_rate: f64, optimizer: Optimizer, loss: Loss) -> Self {
        TrainConfig {
            learning_rate,
            optimizer,
            clip: Clip::None,
            weight_decay: 0.0,
            decay_form: DecayForm::Coupled,
            decay_biases: false,
            loss,
            normalisation: Normalisation::PerSample,
        }
    }
    /// This configuration with `clip`.
    pub fn with_clip(self, clip: Clip) -> Self {
        TrainConfig { clip, ..self }
    }
    /// This configuration with weight decay λ (on weights; see [`TrainConfig::decay_biases`]), in
    /// the form it has ([`DecayForm::Coupled`] unless set).
    pub fn with_weight_decay(self, weight_decay: f64) -> Self {
        TrainConfig { weight_decay, ..self }
    }
    /// This configuration with decoupled weight decay λ (AdamW's form: [`DecayForm::Decoupled`]).
    pub fn with_decoupled_weight_decay(self, weight_decay: f64) -> Self {
        TrainConfig { weight_decay, decay_form: DecayForm::Decoupled, ..self }
    }
    /// This configuration with λ applied to biases too (`true`) or to weights only (`false`).
    pub fn with_decay_biases(self, decay_biases: bool) -> Self {
        TrainConfig { decay_biases, ..self }
    }
    /// This configuration with `normalisation`.
    pub fn with_normalisation(self, normalisation: Normalisation) -> Self {
        TrainConfig { normalisation, ..self }
    }

    /// Checks every hyper-parameter, in `f64` and after rounding to `T` (so that, say, ε = 10⁻⁵⁰
    /// is refused for `f32`, where it would round to 0).
    ///
    /// Refused, each with the parameter's name: η not finite or ≤ 0, μ outside [0, 1), β₁ or β₂
    /// outside [0, 1), ε not finite or ≤ 0, a clip threshold not finite or ≤ 0, λ not finite or
    /// < 0, and for decoupled decay η·λ ≥ 1 (the factor 1 − ηλ would zero or flip every weight).
    pub fn validate<T: Real>(&self) -> Result<(), Error> {
        positive::<T>("learning_rate", self.learning_rate)?;
        match self.optimizer {
            Optimizer::Sgd { momentum } => unit_interval("momentum", momentum)?,
            Optimizer::Adam { beta1, beta2, epsilon } => {
                unit_interval("adam beta1", beta1)?;
                unit_interval("adam beta2", beta2)?;
                positive::<T>("adam epsilon", epsilon)?;
            }
        }
        match self.clip {
            Clip::None => {}
            Clip::Norm(c) => positive::<T>("clip norm", c)?,
            Clip::Value(c) => positive::<T>("clip value", c)?,
        }
        let lambda = self.weight_decay;
        if !(lambda.is_finite() && lambda >= 0.0 && T::from_f64(lambda).is_finite()) {
            return Err(Error::invalid("weight_decay", format!("must be finite and ≥ 0, got {lambda}")));
        }
        let eta_lambda = self.learning_rate * lambda;
        if self.decay_form == DecayForm::Decoupled && eta_lambda >= 1.0 {
            return Err(Error::invalid(
                "weight_decay",
                format!("decoupled decay needs learning_rate·weight_decay < 1, got {eta_lambda}"),
            ));
        }
        Ok(())
    }
}

/// `Err` unless `x` is finite and > 0 in `f64` and in `T`.
fn positive<T: Real>(what: &'static str, x: f64) -> Result<(), Error> {
    if !(x.is_finite() && x > 0.0) {
        return Err(Error::invalid(what, format!("must be finite and > 0, got {x}")));
    }
    let t = T::from_f64(x);
    if !(t.is_finite() && t > T::ZERO) {
        return Err(Error::invalid(what, format!("{x} is not a finite positive {}", T::NAME)));
    }
    Ok(())
}

/// `Err` unless `x` ∈ [0, 1).
fn unit_interval(what: &'static str, x: f64) -> Result<(), Error> {
    if (0.0..1.0).contains(&x) { Ok(()) } else { Err(Error::invalid(what, format!("must be in [0, 1), got {x}"))) }
}

/// How the weight decay λ enters a step (see the [module docs](crate::train)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecayForm {
    /// L2: λ·w is added to the (clipped) data gradient and the optimizer steps on the sum (the
    /// objective L + (λ/2)·Σ‖W‖²; under Adam, λ·w is normalised with g).
    #[default]
    Coupled,
    /// Decoupled (Loshchilov & Hutter's AdamW, SGDW): w ← w·(1 − ηλ), then the optimizer's step
    /// from the data gradient alone.
    Decoupled,
}

/// Why a step was refused (weights and optimizer state are then untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The engine met a NaN or ±∞ in a forward value, a back-propagated gradient or a weight
    /// gradient: the first one, from its statistics.
    Network(NonFinite),
    /// A gradient the engine's statistics do not scan is NaN or ±∞: a bias gradient, whose sum
    /// over the batch overflowed.
    Gradient {
        /// The layer, 1-based.
        layer: usize,
        /// Whether it is a bias gradient (else a weight gradient).
        bias: bool,
        /// The flat index in the layer's weight (i·n_out + j) or bias (j).
        index: usize,
    },
    /// Every gradient is finite but their global norm exceeds `f64`'s range.
    GradientNormOverflow,
    /// The data loss is NaN or ±∞ while every gradient is finite (e.g. (y − t)² overflowed).
    Loss,
    /// The update would make a parameter or its optimizer state NaN or ±∞.
    Update {
        /// The layer, 1-based.
        layer: usize,
        /// Whether the parameter is a bias (else a weight).
        bias: bool,
        /// The flat index in the layer's weight (i·n_out + j) or bias (j).
        index: usize,
    },
}

/// What one [`Trainer::step`] did.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a step may have been refused: check `refused`"]
pub struct StepReport {
    /// The number of steps applied before this one.
    pub step: u64,
    /// The data loss L at the weights the gradient was taken at.
    pub loss: f64,
    /// (λ/2)·Σ_l ‖W_l‖² at those weights (and biases, if decayed); with coupled decay the
    /// regularised objective is `loss + penalty` (decoupled decay under Adam follows no
    /// objective's gradient: the same number is reported for comparison). 0 when λ = 0.
    pub penalty: f64,
    /// ‖g‖₂ of the data gradient over every weight and bias.
    pub grad_norm_before_clip: f64,
    /// ‖g‖₂ after clipping (equal to the above when nothing was clipped).
    pub grad_norm_after_clip: f64,
    /// Whether clipping changed the gradient.
    pub clipped: bool,
    /// The engine's per-layer statistics of this step's gradient.
    pub stats: GradientStats,
    /// ‖W_new − W_old‖ per layer (index l − 1); zeros when refused.
    pub update_norm: Vec<f64>,
    /// ‖W_l‖ per layer after the step (before it, when refused).
    pub weight_norm: Vec<f64>,
    /// `Some` if the step was refused, saying where the first non-finite value arose.
    pub refused: Option<Refusal>,
}

impl StepReport {
    /// Whether the update was applied.
    pub fn applied(&self) -> bool {
        self.refused.is_none()
    }
}
