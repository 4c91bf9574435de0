//! Section 5's rows: the two failing networks, each remedy as one change of its control, and how
//! each row is trained.

use super::{CLIP_NORM, CLIP_VALUE, DEEP, EXPLODING_GAIN, SMALL_EPSILON, WEIGHT_DECAY, WIDTH};
use crate::sections::meanfield;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;
use vectorised::train::{ADAM_DEFAULT_BETA1, ADAM_DEFAULT_BETA2, Clip, DecayForm, Optimizer};

/// Which failing network a row starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Problem {
    /// The deep sigmoid network: the gradient vanishes towards the input.
    Vanishing,
    /// The deep ReLU network above critical gain: the gradient explodes towards the input.
    Exploding,
}

/// The rows of the section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Sigmoid, U[±1/√n], Adam: the vanishing baseline.
    Baseline,
    /// ReLU hidden layers under He.
    ReluHe,
    /// Softplus hidden layers under He.
    SoftplusHe,
    /// A pre-activation skip of span 2: a_m = f(w·a_{m−1} + b + a_{m−2}); the skipped signal
    /// still passes through f′.
    PreActivationSkip2,
    /// N(0, 16/n): σ_w²·σ′(0)² = 1, but χ₁ (at the fixed point, where σ′ is mostly below 1/4) is
    /// well below 1.
    ScaledNormal,
    /// Two hidden layers instead of ten.
    TwoHidden,
    /// The baseline with Adam's ε = [`SMALL_EPSILON`].
    SmallEpsilon,
    /// The baseline with coupled L2 decay λ = [`WEIGHT_DECAY`].
    L2,
    /// The baseline with decoupled decay λ = [`WEIGHT_DECAY`] (AdamW).
    DecoupledDecay,
    /// The baseline under momentum SGD.
    BaselineSgd,
    /// ReLU under He, momentum SGD.
    ReluHeSgd,
    /// N(0, 16/n), momentum SGD.
    ScaledNormalSgd,
    /// Two hidden layers, momentum SGD.
    TwoHiddenSgd,
    /// ReLU, N(0, EXPLODING_GAIN²·2/n), plain SGD: the exploding baseline.
    Exploding,
    /// The exploding baseline clipped by norm [`CLIP_NORM`].
    ExplodingClipNorm,
    /// The exploding baseline clipped by value [`CLIP_VALUE`].
    ExplodingClipValue,
    /// The exploding baseline with coupled L2 decay λ = [`WEIGHT_DECAY`] (under SGD, the same as
    /// decoupled).
    ExplodingL2,
    /// The exploding network under Adam.
    ExplodingAdam,
}

/// One row: its network and its training.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// Which row it is.
    pub name: Remedy,
    /// The network it starts from.
    pub problem: Problem,
    /// The row it changes one thing of (`None` for a baseline).
    pub control: Option<Remedy>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// Hidden layers.
    pub hidden: usize,
    /// The hidden layers' initialisation (the output layer's too).
    pub init: Init,
    /// The pre-activation skip's span.
    pub skip: Option<usize>,
    /// How it is trained.
    pub training: Training,
}

/// How a row is trained (its sentence is `render`'s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Training {
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Its step size η.
    pub learning_rate: f64,
    /// Gradient clipping.
    pub clip: Clip,
    /// Weight decay λ.
    pub weight_decay: f64,
    /// Coupled (L2) or decoupled (AdamW).
    pub decay_form: DecayForm,
}

/// The rows, in the report's order: the vanishing network under Adam, then under momentum SGD,
/// then the exploding network.
pub fn variants() -> Vec<Variant> {
    let n = WIDTH as f64;
    let adam = Training {
        optimizer: Optimizer::adam(),
        learning_rate: 0.01,
        clip: Clip::None,
        weight_decay: 0.0,
        decay_form: DecayForm::Coupled,
    };
    let momentum = Training { optimizer: Optimizer::momentum(0.9), learning_rate: 0.05, ..adam };
    let base = Variant {
        name: Remedy::Baseline,
        problem: Problem::Vanishing,
        control: None,
        activation: Activation::Sigmoid,
        hidden: DEEP,
        init: Init::Uniform { a: 1.0 / n.sqrt() },
        skip: None,
        training: adam,
    };
    let fix = |name, control| Variant { name, control: Some(control), ..base };
    let relu_he = Variant { activation: Activation::Relu, init: Init::He, ..fix(Remedy::ReluHe, Remedy::Baseline) };
    let scaled = Variant { init: Init::Normal { std: 4.0 / n.sqrt() }, ..fix(Remedy::ScaledNormal, Remedy::Baseline) };
    let two = Variant { hidden: 2, ..fix(Remedy::TwoHidden, Remedy::Baseline) };
    let base_sgd = Variant { name: Remedy::BaselineSgd, training: momentum, ..base };
    let sgd = |v: Variant, name| Variant { name, control: Some(Remedy::BaselineSgd), training: momentum, ..v };
    let exploding = Variant {
        name: Remedy::Exploding,
        problem: Problem::Exploding,
        control: None,
        activation: Activation::Relu,
        init: Init::Normal { std: EXPLODING_GAIN * (2.0 / n).sqrt() },
        training: Training { optimizer: Optimizer::sgd(), learning_rate: 0.1, ..adam },
        ..base
    };
    let explode_fix = |name, training| Variant { name, control: Some(Remedy::Exploding), training, ..exploding };
    vec![
        base,
        relu_he,
        Variant { activation: Activation::Softplus, init: Init::He, ..fix(Remedy::SoftplusHe, Remedy::Baseline) },
        Variant { skip: Some(2), ..fix(Remedy::PreActivationSkip2, Remedy::Baseline) },
        scaled,
        two,
        Variant {
            training: Training {
                optimizer: Optimizer::Adam {
                    beta1: ADAM_DEFAULT_BETA1,
                    beta2: ADAM_DEFAULT_BETA2,
                    epsilon: SMALL_EPSILON,
                },
                ..adam
            },
            ..fix(Remedy::SmallEpsilon, Remedy::Baseline)
        },
        Variant { training: Training { weight_decay: WEIGHT_DECAY, ..adam }, ..fix(Remedy::L2, Remedy::Baseline) },
        Variant {
            training: Training { weight_decay: WEIGHT_DECAY, decay_form: DecayForm::Decoupled, ..adam },
            ..fix(Remedy::DecoupledDecay, Remedy::Baseline)
        },
        base_sgd,
        sgd(relu_he, Remedy::ReluHeSgd),
        sgd(scaled, Remedy::ScaledNormalSgd),
        sgd(two, Remedy::TwoHiddenSgd),
        exploding,
        explode_fix(Remedy::ExplodingClipNorm, Training { clip: Clip::Norm(CLIP_NORM), ..exploding.training }),
        explode_fix(Remedy::ExplodingClipValue, Training { clip: Clip::Value(CLIP_VALUE), ..exploding.training }),
        explode_fix(Remedy::ExplodingL2, Training { weight_decay: WEIGHT_DECAY, ..exploding.training }),
        explode_fix(Remedy::ExplodingAdam, adam),
    ]
}

impl Remedy {
    /// The same network under Adam, for a row under momentum SGD.
    pub fn adam_twin(self) -> Option<Remedy> {
        match self {
            Remedy::BaselineSgd => Some(Remedy::Baseline),
            Remedy::ReluHeSgd => Some(Remedy::ReluHe),
            Remedy::ScaledNormalSgd => Some(Remedy::ScaledNormal),
            Remedy::TwoHiddenSgd => Some(Remedy::TwoHidden),
            _ => None,
        }
    }
}

impl Variant {
    /// The layer widths: 2 inputs, the hidden layers, 1 output.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(2).chain(std::iter::repeat_n(WIDTH, self.hidden)).chain([1]).collect()
    }

    /// χ₁ of the hidden layers by mean field (σ_w² = n·Var(w), σ_b = 0, the fixed point's χ); `None`
    /// with a skip, where a layer's gradient is not a product of per-layer factors alone.
    pub fn chi_1(&self) -> Option<f64> {
        let sigma_w2 = WIDTH as f64 * self.init.std_dev(WIDTH, WIDTH).powi(2);
        self.skip.is_none().then(|| meanfield::fixed_point(self.activation, sigma_w2, 0.0).1)
    }
}
