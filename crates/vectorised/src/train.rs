//! Training a [`Dense`] network: SGD with momentum and Adam, gradient clipping by global norm or
//! by value, L2 weight decay, and a [`StepReport`] per step (loss, gradient norms, the engine's
//! per-layer statistics, per-layer update and weight norms).
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
//! 4. decay:         g ← g + λ·w    for weights (and biases only if `decay_biases`)
//!                   i.e. the objective is L + (λ/2)·Σ_l ‖W_l‖²  (L2, "coupled": Adam sees λ·w
//!                   through its moments; this is not AdamW's decoupled decay)
//! 5. update, elementwise:
//!      SGD (μ = 0):       w ← w − η·g                               (no state)
//!      momentum μ > 0:    v ← μ·v + g,  w ← w − η·v                  (heavy ball; v₀ = 0)
//!      Adam:              m ← β₁·m + (1−β₁)·g,   v ← β₂·v + (1−β₂)·(g·g)      (m₀ = v₀ = 0)
//!                         m̂ = m / (1−β₁ᵗ),   v̂ = v / (1−β₂ᵗ)
//!                         w ← w − η·(m̂ / (√v̂ + ε))
//! 6. refuse the step if any new weight or state would be NaN or ±∞
//! ```
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

use crate::dense::{Batch, Dense, DenseReal, Gradients, Loss, Normalisation, Workspace};
use crate::error::Error;
use crate::real::Real;
use crate::stats::{GradientStats, NonFinite};

/// β₁, Adam's default first-moment decay.
pub const ADAM_DEFAULT_BETA1: f64 = 0.9;
/// β₂, Adam's default second-moment decay.
pub const ADAM_DEFAULT_BETA2: f64 = 0.999;
/// ε, Adam's default denominator guard.
pub const ADAM_DEFAULT_EPSILON: f64 = 1e-8;

/// The update rule (see the [module docs](self) for the equations).
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

/// Gradient clipping, applied to the data gradient before decay.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Clip {
    /// No clipping (the default).
    #[default]
    None,
    /// If ‖g‖₂ > c over every weight and bias, scale every gradient by c/‖g‖₂.
    Norm(f64),
    /// Clamp every gradient entry to [−c, c] (c rounded to `T`).
    Value(f64),
}

/// Everything a [`Trainer`] needs besides the network and the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// η > 0.
    pub learning_rate: f64,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Gradient clipping ([`Clip::None`] by default).
    pub clip: Clip,
    /// λ ≥ 0, the L2 weight decay (0 by default).
    pub weight_decay: f64,
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
            decay_biases: false,
            loss,
            normalisation: Normalisation::PerSample,
        }
    }
    /// This configuration with `clip`.
    pub fn with_clip(self, clip: Clip) -> Self {
        TrainConfig { clip, ..self }
    }
    /// This configuration with weight decay λ (on weights; see [`TrainConfig::decay_biases`]).
    pub fn with_weight_decay(self, weight_decay: f64) -> Self {
        TrainConfig { weight_decay, ..self }
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
    /// < 0.
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
    /// (λ/2)·Σ_l ‖W_l‖² at those weights (and biases, if decayed); the regularised objective is
    /// `loss + penalty`. 0 when λ = 0.
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

/// What [`clip_gradients`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipOutcome {
    /// ‖g‖₂ before.
    pub norm_before: f64,
    /// ‖g‖₂ after.
    pub norm_after: f64,
    /// Whether any gradient changed.
    pub clipped: bool,
}

/// ‖v‖₂ in `f64`, robust to overflow, in a fixed order (see the [module docs](self)).
pub fn norm<T: Real>(values: &[T]) -> f64 {
    norm_of_groups([values].into_iter())
}

/// ‖g‖₂ over every weight and bias gradient, layer 1 to L, weights before biases.
///
/// A layer without biases should hold an empty bias gradient (as a [`Trainer`]'s copy does):
/// the engine's [`Gradients::bias`] is computed for every layer.
pub fn global_norm<T: Real>(grads: &Gradients<T>) -> f64 {
    norm_of_groups(groups(grads))
}

fn groups<T>(grads: &Gradients<T>) -> impl Iterator<Item = &[T]> + Clone {
    grads.weight.iter().zip(&grads.bias).flat_map(|(w, b)| [&w[..], &b[..]])
}

/// √(Σ v²) over several slices in order: scaled by a power of two, eight lanes, lanes added 0…7.
fn norm_of_groups<'a, T: Real>(groups: impl Iterator<Item = &'a [T]> + Clone) -> f64 {
    const LANES: usize = 8;
    let mut max = 0.0f64;
    for g in groups.clone() {
        for v in g {
            let a = v.to_f64().abs();
            if a > max || a.is_nan() {
                max = a;
            }
            if a.is_nan() {
                return f64::NAN;
            }
        }
    }
    if max == 0.0 || !max.is_finite() {
        return max;
    }
    // 2ᵉ ≤ max < 2ᵉ⁺¹ (e clamped so that both 2ᵉ and 2⁻ᵉ are normal).
    let e = ((((max.to_bits() >> 52) & 0x7ff) as i64) - 1023).clamp(-1022, 1022);
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    let (scale, unscale) = (pow2(-e), pow2(e));
    let mut lanes = [0.0f64; LANES];
    for g in groups {
        let mut chunks = g.chunks_exact(LANES);
        for chunk in &mut chunks {
            for l in 0..LANES {
                let s = chunk[l].to_f64() * scale;
                lanes[l] += s * s;
            }
        }
        for (l, v) in chunks.remainder().iter().enumerate() {
            let s = v.to_f64() * scale;
            lanes[l] += s * s;
        }
    }
    lanes.iter().fold(0.0, |s, &v| s + v).sqrt() * unscale
}

/// Clips `grads` in place (every weight and bias gradient; see [`global_norm`] about layers
/// without biases) and says what it did.
///
/// By norm, g ← g·s with s = c/‖g‖₂ computed in `f64` and rounded to `T`, when ‖g‖₂ > c; by value,
/// each entry is clamped to [−c, c] with c rounded to `T`. Non-finite gradients are left as they
/// are (a [`Trainer`] refuses them before clipping). The thresholds are trusted: see
/// [`TrainConfig::validate`].
pub fn clip_gradients<T: Real>(grads: &mut Gradients<T>, clip: Clip) -> ClipOutcome {
    let before = global_norm(grads);
    clip_with_norm(grads, clip, before)
}

fn clip_with_norm<T: Real>(grads: &mut Gradients<T>, clip: Clip, before: f64) -> ClipOutcome {
    let unchanged = ClipOutcome { norm_before: before, norm_after: before, clipped: false };
    if !before.is_finite() {
        return unchanged;
    }
    let clipped = match clip {
        Clip::None => false,
        Clip::Norm(c) => {
            if before > c {
                let s = T::from_f64(c / before);
                for_each_gradient(grads, |v| *v *= s);
                true
            } else {
                false
            }
        }
        Clip::Value(c) => {
            let c = T::from_f64(c);
            let mut any = false;
            for_each_gradient(grads, |v| {
                if *v > c {
                    *v = c;
                    any = true;
                } else if *v < -c {
                    *v = -c;
                    any = true;
                }
            });
            any
        }
    };
    if clipped { ClipOutcome { norm_before: before, norm_after: global_norm(grads), clipped } } else { unchanged }
}

fn for_each_gradient<T>(grads: &mut Gradients<T>, mut f: impl FnMut(&mut T)) {
    for (w, b) in grads.weight.iter_mut().zip(&mut grads.bias) {
        w.iter_mut().chain(b.iter_mut()).for_each(&mut f);
    }
}

/// One step's update rule with its constants in `T` (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
enum Rule<T> {
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
    fn apply(self, w: T, g: T, s1: T, s2: T) -> (T, T, T) {
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

/// One parameter group (a layer's weights or its biases) and everything the update touches.
struct Group<'a, T> {
    param: &'a mut [T],
    grad: &'a mut [T],
    /// Velocity, or Adam's m (empty for plain SGD).
    state1: &'a mut [T],
    /// Adam's v (empty otherwise).
    state2: &'a mut [T],
    /// λ in `T`, if this group is decayed.
    decay: Option<T>,
}

impl<T: Real> Group<'_, T> {
    /// The first index whose new parameter or state would be non-finite, computing without writing.
    fn first_non_finite(&self, rule: Rule<T>) -> Option<usize> {
        (0..self.param.len()).find(|&i| {
            let (w, s1, s2) = self.new_values(rule, i);
            !(w.is_finite() && s1.is_finite() && s2.is_finite())
        })
    }

    /// Writes the new parameters, state and applied gradient; ΔW (new − old) into `delta` if given.
    fn commit(&mut self, rule: Rule<T>, mut delta: Option<&mut [T]>) {
        for i in 0..self.param.len() {
            let (w, s1, s2) = self.new_values(rule, i);
            self.grad[i] = self.effective_gradient(i);
            if let Some(d) = delta.as_deref_mut() {
                d[i] = w - self.param[i];
            }
            self.param[i] = w;
            if let Some(s) = self.state1.get_mut(i) {
                *s = s1;
            }
            if let Some(s) = self.state2.get_mut(i) {
                *s = s2;
            }
        }
    }

    /// g + λ·w, or g when the group is not decayed.
    #[inline(always)]
    fn effective_gradient(&self, i: usize) -> T {
        match self.decay {
            Some(lambda) => self.grad[i] + lambda * self.param[i],
            None => self.grad[i],
        }
    }

    #[inline(always)]
    fn new_values(&self, rule: Rule<T>, i: usize) -> (T, T, T) {
        let s1 = self.state1.get(i).copied().unwrap_or(T::ZERO);
        let s2 = self.state2.get(i).copied().unwrap_or(T::ZERO);
        rule.apply(self.param[i], self.effective_gradient(i), s1, s2)
    }
}

/// A layer's shape as the trainer saw it: (n_in, n_out, has_bias).
type Shape = (usize, usize, bool);

/// Trains a [`Dense`] network of a fixed shape, step by step, keeping the optimizer state and the
/// engine's [`Workspace`] between steps (once warm, a step allocates only its report).
#[derive(Debug)]
pub struct Trainer<T> {
    config: TrainConfig,
    shapes: Vec<Shape>,
    ws: Workspace<T>,
    /// The engine's gradient, then clipped and decayed: what the last update used.
    grads: Gradients<T>,
    /// Velocity, or Adam's m, per layer: (weights, biases).
    state1: Vec<(Vec<T>, Vec<T>)>,
    /// Adam's v per layer.
    state2: Vec<(Vec<T>, Vec<T>)>,
    /// ΔW per layer of the last applied step.
    delta: Vec<Vec<T>>,
    steps: u64,
    /// β₁ᵗ and β₂ᵗ after `steps` steps, running products in `f64`.
    beta_powers: (f64, f64),
}

impl<T: DenseReal> Trainer<T> {
    /// A trainer for networks shaped like `net`, with fresh optimizer state (zeros).
    ///
    /// Refused: any hyper-parameter out of range ([`TrainConfig::validate`]).
    pub fn new(net: &Dense<T>, config: TrainConfig) -> Result<Self, Error> {
        config.validate::<T>()?;
        let shapes: Vec<Shape> = net.layers().iter().map(|l| (l.n_in(), l.n_out(), l.bias().is_some())).collect();
        let sized = |active: bool| -> Vec<(Vec<T>, Vec<T>)> {
            shapes
                .iter()
                .map(|&(n_in, n_out, has_bias)| {
                    let n_w = if active { n_in * n_out } else { 0 };
                    let n_b = if active && has_bias { n_out } else { 0 };
                    (vec![T::ZERO; n_w], vec![T::ZERO; n_b])
                })
                .collect()
        };
        let (keep1, keep2) = match config.optimizer {
            Optimizer::Sgd { momentum } => (momentum > 0.0, false),
            Optimizer::Adam { .. } => (true, true),
        };
        let grads = Gradients {
            loss: T::ZERO,
            weight: shapes.iter().map(|&(i, o, _)| vec![T::ZERO; i * o]).collect(),
            bias: shapes.iter().map(|&(_, o, b)| vec![T::ZERO; if b { o } else { 0 }]).collect(),
        };
        Ok(Trainer {
            config,
            state1: sized(keep1),
            state2: sized(keep2),
            delta: shapes.iter().map(|&(i, o, _)| vec![T::ZERO; i * o]).collect(),
            shapes,
            ws: Workspace::new(),
            grads,
            steps: 0,
            beta_powers: (1.0, 1.0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The number of steps applied so far (refused steps do not count).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The gradient the last applied update used: the engine's, clipped, plus λ·w where decayed.
    /// Layers without biases hold an empty bias gradient. After a refused step it holds the
    /// engine's gradient, clipped if the step got that far, without decay.
    pub fn applied_gradient(&self) -> &Gradients<T> {
        &self.grads
    }

    /// The engine's workspace (activations and statistics of the last step).
    pub fn workspace(&self) -> &Workspace<T> {
        &self.ws
    }

    /// Sets the saturation threshold θ of the engine's statistics (statistics are always
    /// gathered: the trainer locates non-finite values with them).
    ///
    /// Refused: θ not finite or negative.
    pub fn set_saturation_threshold(&mut self, threshold: f64) -> Result<(), Error> {
        self.ws.set_stats(Some(threshold))
    }

    /// Forgets the optimizer state (velocity, moments, step count) as if freshly built.
    pub fn reset(&mut self) {
        for (w, b) in self.state1.iter_mut().chain(&mut self.state2) {
            w.fill(T::ZERO);
            b.fill(T::ZERO);
        }
        self.steps = 0;
        self.beta_powers = (1.0, 1.0);
    }

    /// One training step on a batch (see the [module docs](self)).
    ///
    /// `Err` (nothing changed): a network shaped differently from the one the trainer was built
    /// for, and whatever [`Dense::gradients`] refuses (empty batch, wrong widths, non-finite
    /// inputs or targets, cross-entropy without a sigmoid output). A NaN or ±∞ that arises
    /// inside the step is not an `Err`: the step is refused, the weights and optimizer state are
    /// untouched, and [`StepReport::refused`] says where.
    pub fn step(&mut self, net: &mut Dense<T>, input: Batch<'_, T>, target: Batch<'_, T>) -> Result<StepReport, Error> {
        self.check_shape(net)?;
        let cfg = self.config;
        net.gradients(input, target, cfg.loss, cfg.normalisation, &mut self.ws)?;
        let engine = self.ws.gradients();
        let stats = self.ws.stats().expect("the trainer's workspace always gathers statistics").clone();
        let loss = engine.loss.to_f64();
        self.grads.loss = engine.loss;
        for (l, &(_, _, has_bias)) in self.shapes.iter().enumerate() {
            self.grads.weight[l].copy_from_slice(&engine.weight[l]);
            if has_bias {
                self.grads.bias[l].copy_from_slice(&engine.bias[l]);
            }
        }
        let penalty = self.penalty(net);
        let before = global_norm(&self.grads);
        let mut report = StepReport {
            step: self.steps,
            loss,
            penalty,
            grad_norm_before_clip: before,
            grad_norm_after_clip: before,
            clipped: false,
            stats,
            update_norm: vec![0.0; self.shapes.len()],
            weight_norm: net.layers().iter().map(|l| norm(l.weight())).collect(),
            refused: None,
        };
        report.refused = report.stats.first_non_finite.map(Refusal::Network).or_else(|| {
            if before.is_finite() { (!loss.is_finite()).then_some(Refusal::Loss) } else { Some(self.locate_gradient()) }
        });
        if report.refused.is_some() {
            return Ok(report);
        }
        let clip = clip_with_norm(&mut self.grads, cfg.clip, before);
        report.grad_norm_after_clip = clip.norm_after;
        report.clipped = clip.clipped;

        let rule = self.rule();
        if let Some(refusal) = self.check_update(net, rule) {
            report.refused = Some(refusal);
            return Ok(report);
        }
        self.commit_update(net, rule);
        self.steps += 1;
        if let Optimizer::Adam { beta1, beta2, .. } = cfg.optimizer {
            self.beta_powers = (self.beta_powers.0 * beta1, self.beta_powers.1 * beta2);
        }
        for (l, layer) in net.layers().iter().enumerate() {
            report.update_norm[l] = norm(&self.delta[l]);
            report.weight_norm[l] = norm(layer.weight());
        }
        Ok(report)
    }

    fn check_shape(&self, net: &Dense<T>) -> Result<(), Error> {
        Error::check_len("network layers", self.shapes.len(), net.layers().len())?;
        for (idx, (layer, &(n_in, n_out, has_bias))) in net.layers().iter().zip(&self.shapes).enumerate() {
            let in_layer = |error| Error::InLayer { layer: idx + 1, error: Box::new(error) };
            Error::check_len("layer inputs", n_in, layer.n_in()).map_err(in_layer)?;
            Error::check_len("layer units", n_out, layer.n_out()).map_err(in_layer)?;
            if has_bias != layer.bias().is_some() {
                return Err(in_layer(Error::invalid("layer bias", "present in one network and not the other")));
            }
        }
        Ok(())
    }

    /// (λ/2)·Σ ‖W_l‖² (and ‖b_l‖² if decayed) at the current weights.
    fn penalty(&self, net: &Dense<T>) -> f64 {
        let lambda = self.config.weight_decay;
        if lambda == 0.0 {
            return 0.0;
        }
        let with_bias = self.config.decay_biases;
        let groups = net.layers().iter().flat_map(|l| [Some(l.weight()), l.bias().filter(|_| with_bias)]).flatten();
        let n = norm_of_groups(groups);
        0.5 * lambda * n * n
    }

    /// The first non-finite entry of the copied gradient (backward order: layer L down to 1,
    /// weights then biases); the engine's statistics have already scanned weights.
    fn locate_gradient(&self) -> Refusal {
        for l in (0..self.shapes.len()).rev() {
            if let Some(index) = self.grads.weight[l].iter().position(|v| !v.is_finite()) {
                return Refusal::Gradient { layer: l + 1, bias: false, index };
            }
            if let Some(index) = self.grads.bias[l].iter().position(|v| !v.is_finite()) {
                return Refusal::Gradient { layer: l + 1, bias: true, index };
            }
        }
        Refusal::GradientNormOverflow
    }

    /// This step's rule, with Adam's bias corrections for t = steps + 1.
    fn rule(&self) -> Rule<T> {
        let eta = T::from_f64(self.config.learning_rate);
        match self.config.optimizer {
            Optimizer::Sgd { momentum: 0.0 } => Rule::Sgd { eta },
            Optimizer::Sgd { momentum } => Rule::Momentum { eta, mu: T::from_f64(momentum) },
            Optimizer::Adam { beta1, beta2, epsilon } => Rule::Adam {
                eta,
                beta1: T::from_f64(beta1),
                one_minus_beta1: T::from_f64(1.0 - beta1),
                beta2: T::from_f64(beta2),
                one_minus_beta2: T::from_f64(1.0 - beta2),
                correction1: T::from_f64(1.0 - self.beta_powers.0 * beta1),
                correction2: T::from_f64(1.0 - self.beta_powers.1 * beta2),
                epsilon: T::from_f64(epsilon),
            },
        }
    }

    /// Calls `f(layer_idx, is_bias, group)` for every parameter group, layer 1 to L, weights
    /// first; stops at the first `Some`.
    fn with_groups<R>(
        &mut self,
        net: &mut Dense<T>,
        mut f: impl FnMut(usize, bool, Group<'_, T>, Option<&mut [T]>) -> Option<R>,
    ) -> Option<R> {
        let lambda = self.config.weight_decay;
        let decay = (lambda != 0.0).then(|| T::from_f64(lambda));
        let decay_bias = if self.config.decay_biases { decay } else { None };
        let layers = net.layers_mut().iter_mut();
        let per_layer = layers.zip(&mut self.grads.weight).zip(&mut self.grads.bias).zip(&mut self.state1);
        for (idx, ((((layer, gw), gb), (s1w, s1b)), (s2w, s2b))) in per_layer.zip(&mut self.state2).enumerate() {
            let weights = Group { param: layer.weight_mut(), grad: gw, state1: s1w, state2: s2w, decay };
            if let Some(r) = f(idx, false, weights, Some(&mut self.delta[idx])) {
                return Some(r);
            }
            if let Some(bias) = layer.bias_mut() {
                let biases = Group { param: bias, grad: gb, state1: s1b, state2: s2b, decay: decay_bias };
                if let Some(r) = f(idx, true, biases, None) {
                    return Some(r);
                }
            }
        }
        None
    }

    fn check_update(&mut self, net: &mut Dense<T>, rule: Rule<T>) -> Option<Refusal> {
        self.with_groups(net, |idx, bias, group, _| {
            group.first_non_finite(rule).map(|index| Refusal::Update { layer: idx + 1, bias, index })
        })
    }

    fn commit_update(&mut self, net: &mut Dense<T>, rule: Rule<T>) {
        self.with_groups(net, |_, _, mut group, delta| -> Option<()> {
            group.commit(rule, delta);
            None
        });
    }
}
