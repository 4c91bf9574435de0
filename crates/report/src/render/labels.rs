//! The names people read for the values sections hold as [`Label`]s: each label's text, shown by
//! `Display` in tables and sentences and carried by the JSON as the same string.

use crate::sections::dense_init::{Phase, SchemeName};
use crate::sections::handwritten::{Bug, Param};
use crate::sections::remedies::Remedy;
use crate::sections::{Label, Section};
use serde::{Serialize, Serializer};
use std::fmt;
use vectorised::stats::Stage;
use vectorised::train::Refusal;

/// The progress bar's name for a section.
pub fn section(section: Section) -> &'static str {
    match section {
        Section::Worked => "worked chain",
        Section::Decay => "decay per depth",
        Section::DenseInit => "dense networks and initialisation",
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
    Remedy => |remedy, f| f.write_str(match remedy {
        Remedy::Baseline => "baseline: sigmoid, U[±1/√n]",
        Remedy::ReluHe => "ReLU, He",
        Remedy::SoftplusHe => "softplus, He",
        Remedy::Shortcut2 => "sigmoid + shortcut span 2",
        Remedy::ScaledNormal => "sigmoid, N(0, 16/n) (σ_w²·σ′(0)² = 1)",
        Remedy::ClipNorm1 => "sigmoid + clip norm 1",
        Remedy::L2 => "sigmoid + L2 λ = 1e-3",
        Remedy::Momentum => "sigmoid + plain momentum SGD (η = 0.5, μ = 0.9)",
        Remedy::TwoHidden => "sigmoid, 2 hidden layers",
    });
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
