//! The names people read for the values sections hold as [`Label`]s: each label's text, shown by
//! `Display` in tables and sentences and carried by the JSON as the same string.

use crate::numfmt::sig;
use crate::sections::dense_init::{Phase, SchemeName};
use crate::sections::handwritten::{Bug, Param};
use crate::sections::isometry::Weights;
use crate::sections::remedies::{self, Remedy, Training, Verdict};
use crate::sections::{Label, Section};
use serde::{Serialize, Serializer};
use std::fmt;
use vectorised::stats::Stage;
use vectorised::train::{Clip, DecayForm, Optimizer, Refusal};

/// The progress bar's name for a section.
pub fn section(section: Section) -> &'static str {
    match section {
        Section::Worked => "worked chain",
        Section::Decay => "decay per depth",
        Section::DenseInit => "dense networks and initialisation",
        Section::Isometry => "dynamical isometry",
        Section::Exploding => "exploding gradients",
        Section::Remedies => "remedies",
        Section::Shortcuts => "shortcuts",
        Section::Classic => "classic AND/XOR",
    }
}

/// `Display` and `Serialize` (as the displayed string) for the labels of these types.
macro_rules! labelled {
    ($($t:ty => |$v:ident, $f:ident| $body:expr;)*) => {$(
        impl fmt::Display for Label<$t> {
            fn fmt(&self, $f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $v = self.0;
                $body
            }
        }
        impl Serialize for Label<$t> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    )*};
}

labelled! {
    Weights => |weights, f| f.write_str(match weights {
        Weights::Gaussian => "Gaussian",
        Weights::Orthogonal => "orthogonal",
    });
    Bug => |bug, f| f.write_str(match bug {
        Bug::None => "correct backprop",
        Bug::MissingSigmoidPrime => "missing σ′ in the hidden delta",
        Bug::InputsAsZeros => "inputs fed as zeros",
        Bug::NoBias => "no bias unit",
        Bug::EqualInit => "all-equal initial weights",
    });
    Param => |param, f| match param {
        Param::Weight { layer, row, col } => write!(f, "layer {layer} W[{row}][{col}]"),
        Param::Bias { layer, unit } => write!(f, "layer {layer} b[{unit}]"),
    };
    Stage => |stage, f| f.write_str(match stage {
        Stage::Forward => "forward value",
        Stage::ShortcutSum => "forward value (shortcut sum)",
        Stage::ActivationGradient => "activation gradient",
        Stage::WeightGradient => "weight gradient",
    });
    SchemeName => |scheme, f| f.write_str(match scheme {
        SchemeName::Uniform => "U[±1/√n]",
        SchemeName::Xavier => "Xavier",
        SchemeName::He => "He",
        SchemeName::Orthogonal => "orthogonal",
        SchemeName::StandardNormal => "N(0, 1)",
    });
    Phase => |phase, f| f.write_str(match phase {
        Phase::Vanishing => "vanishing",
        Phase::Critical => "critical",
        Phase::Exploding => "exploding",
    });
    Remedy => |remedy, f| match remedy {
        Remedy::Baseline => f.write_str("baseline: sigmoid, U[±1/√n], Adam"),
        Remedy::ReluHe => f.write_str("ReLU, He, Adam"),
        Remedy::SoftplusHe => f.write_str("softplus, He, Adam"),
        Remedy::PreActivationSkip2 => f.write_str("sigmoid + pre-activation skip of span 2, Adam"),
        Remedy::ScaledNormal => f.write_str("sigmoid, N(0, 16/n), Adam"),
        Remedy::TwoHidden => f.write_str("sigmoid, 2 hidden layers, Adam"),
        Remedy::SmallEpsilon => write!(f, "baseline, Adam with ε = {}", sig(remedies::SMALL_EPSILON, 1)),
        Remedy::L2 => f.write_str("baseline + coupled L2 decay, Adam"),
        Remedy::DecoupledDecay => f.write_str("baseline + decoupled decay (AdamW)"),
        Remedy::BaselineSgd => f.write_str("baseline: sigmoid, U[±1/√n], momentum SGD"),
        Remedy::ReluHeSgd => f.write_str("ReLU, He, momentum SGD"),
        Remedy::ScaledNormalSgd => f.write_str("sigmoid, N(0, 16/n), momentum SGD"),
        Remedy::TwoHiddenSgd => f.write_str("sigmoid, 2 hidden layers, momentum SGD"),
        Remedy::Exploding => write!(f, "exploding baseline: ReLU, He × gain {}², SGD", sig(remedies::EXPLODING_GAIN, 2)),
        Remedy::ExplodingClipNorm => f.write_str("exploding + clipping by norm, SGD"),
        Remedy::ExplodingClipValue => f.write_str("exploding + clipping by value, SGD"),
        Remedy::ExplodingL2 => f.write_str("exploding + L2 decay, SGD"),
        Remedy::ExplodingAdam => f.write_str("exploding, Adam"),
    };
    Verdict => |verdict, f| f.write_str(match verdict {
        Verdict::Addresses => "addresses it",
        Verdict::Helps => "helps on some seeds",
        Verdict::LowersLoss => "lowers the loss, no more successes",
        Verdict::DoesNotHelp => "does not help",
    });
    Training => |t, f| {
        match t.optimizer {
            Optimizer::Adam { beta1, beta2, epsilon } => write!(
                f,
                "Adam (β₁ = {}, β₂ = {}, ε = {})",
                sig(beta1, 3),
                sig(beta2, 3),
                sig(epsilon, 1)
            )?,
            Optimizer::Sgd { momentum: 0.0 } => f.write_str("SGD")?,
            Optimizer::Sgd { momentum } => write!(f, "momentum SGD (μ = {})", sig(momentum, 2))?,
        }
        write!(f, ", η = {}", sig(t.learning_rate, 2))?;
        match t.clip {
            Clip::None => {}
            Clip::Norm(c) => write!(f, ", clipped by norm to ‖g‖ ≤ {}", sig(c, 2))?,
            Clip::Value(c) => write!(f, ", clipped by value to [−{0}, {0}] per entry", sig(c, 2))?,
        }
        if t.weight_decay > 0.0 {
            match t.decay_form {
                DecayForm::Coupled => write!(f, ", L2 decay λ = {} (coupled: λ·w added to g)", sig(t.weight_decay, 2))?,
                DecayForm::Decoupled => {
                    write!(f, ", decoupled decay λ = {} (w ← w·(1 − ηλ) beside the step)", sig(t.weight_decay, 2))?
                }
            }
        }
        Ok(())
    };
    Refusal => |refusal, f| {
        let which = |bias: bool| if bias { "bias" } else { "weight" };
        match refusal {
            Refusal::Network(nf) => {
                write!(f, "a non-finite {} at layer {}, unit {}", Label(nf.stage), nf.layer, nf.unit)?;
                match nf.sample {
                    Some(s) => write!(f, ", sample {s}"),
                    None => Ok(()),
                }
            }
            Refusal::Gradient { layer, bias, index } => {
                write!(f, "a non-finite {} gradient at layer {layer}, index {index}", which(bias))
            }
            Refusal::GradientNormOverflow => f.write_str("the gradients' global norm overflows f64"),
            Refusal::Loss => f.write_str("a non-finite loss"),
            Refusal::Update { layer, bias, index } => {
                write!(f, "the update makes the {} at layer {layer}, index {index} non-finite", which(bias))
            }
        }
    };
}
