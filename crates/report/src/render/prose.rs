//! The report's sentences: what each symptom is called, the rule that detects it, the runs that
//! show it, what a hand-written-backprop bug case shows. The Markdown prints them, and the
//! JSON carries the same words (these types serialize as their sentences), so the two never
//! disagree.

use crate::numfmt::{percent, sig};
use crate::sections::classic::Diagnosis;
use crate::sections::handwritten::Bug;
use crate::sections::symptoms::{
    Caveat, FIRST_LAST_MOVE, GROWTH, JUMPS, SHRINK, STUCK_BAND, Symptom, SymptomKind, Witness,
};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// The symptom as people describe it.
pub fn symptom_name(kind: SymptomKind) -> &'static str {
    match kind {
        SymptomKind::LossStuck => "loss stuck",
        SymptomKind::LossJumping => "loss jumping",
        SymptomKind::LossNonFinite => "loss NaN (or ±∞)",
        // Its rule compares the end with the start, not a rate: the name says no more than that.
        SymptomKind::WeightsGrowing => "weights far larger at the end than at the start",
        SymptomKind::GradientsAboveOne => "gradients above 1 in every layer",
        SymptomKind::OutputSideMovesMore => "weights near the output change far more than near the input",
        SymptomKind::WeightsShrinking => "weights shrinking to 0",
    }
}

/// The rule used to detect it.
pub fn symptom_rule(kind: SymptomKind) -> String {
    match kind {
        SymptomKind::LossStuck => format!(
            "final loss within {} of the constant predictor's loss (what always answering the best constant costs: \
             the label entropy H(p) of the run's points under section 5's cross-entropy, Var(t) under section 6's squared error)",
            percent(STUCK_BAND)
        ),
        SymptomKind::LossJumping => format!("at least {JUMPS} steps where the loss rose by more than 5%"),
        SymptomKind::LossNonFinite => {
            "a non-finite value met by the engine (section 4), or a training step refused for one".into()
        }
        SymptomKind::WeightsGrowing => format!("‖W‖ at the end ≥ {GROWTH}× its start"),
        SymptomKind::GradientsAboveOne => "‖∂L/∂W_l‖ > 1 for every layer l (a trained run: at initialisation)".into(),
        SymptomKind::OutputSideMovesMore => format!("Σ‖ΔW_1‖ < {}·Σ‖ΔW_L‖ over training", FIRST_LAST_MOVE),
        SymptomKind::WeightsShrinking => format!("‖W‖ at the end < {SHRINK}× its start"),
    }
}

/// A run that shows a symptom, named so a reader can find it in its section.
pub fn witness(w: &Witness) -> String {
    match w {
        Witness::Remedy { variant, seed, succeeded } => {
            format!("{variant} (seed {seed}, {})", if *succeeded { "succeeded" } else { "failed" })
        }
        Witness::ClassicStuck { task, hidden_layers, width, bias, bug, stuck, seeds } => {
            let with_bug = if bug.0 == Bug::None { String::new() } else { format!(" with the bug \"{bug}\"") };
            format!(
                "classic {task}, {}{with_bug}: {stuck} of {seeds} seeds",
                architecture(*hidden_layers, *width, *bias)
            )
        }
        Witness::NonFinite { gain, format, layer, stage } => {
            format!("gain {gain} in {format}: layer {layer} ({stage}; not trained)")
        }
        Witness::Clipping { gain, depth } => {
            format!("section 4's clipping example (gain {gain}, {depth} layers; not trained)")
        }
    }
}

/// A network of section 6, e.g. "1 hidden layer of 2 units, biases".
pub fn architecture(hidden_layers: usize, width: usize, bias: bool) -> String {
    let layers = match hidden_layers {
        0 => "no hidden layer".to_string(),
        1 => format!("1 hidden layer of {width} units"),
        n => format!("{n} hidden layers of {width} units"),
    };
    format!("{layers}, {}", if bias { "biases" } else { "no biases" })
}

/// What to keep in mind about a symptom's runs.
pub fn caveat(c: &Caveat) -> String {
    match c {
        Caveat::NormalInHealthyRuns { succeeded, runs } => format!(
            "{succeeded} of {runs} runs showing it succeeded: in a network that trains, the loss rises now and then \
             and the weights grow as it fits; a symptom only beside a loss that does not fall"
        ),
        Caveat::CoupledDecayUnderAdam { coupled, runs, learning_rate, weight_decay, steps, reach, decay_alone } => {
            format!(
                "{coupled} of {runs} runs showing it add L2 decay λ·w (λ = {}) to the gradient under Adam (coupled decay): \
                 where λ·w outweighs a tiny data gradient, Adam's normalised step moves each weight by about the learning rate \
                 η = {} towards 0 per step ({} over {steps} steps), while the same λ under plain gradient descent would shrink ‖W‖ \
                 by at most (1 − ηλ)^T = {}: the shrinking is the optimiser's artefact, not a sign of the network",
                sig(*weight_decay, 2),
                sig(*learning_rate, 2),
                sig(*reach, 3),
                sig(*decay_alone, 4)
            )
        }
    }
}

/// What a bug case shows.
pub fn diagnosis(d: &Diagnosis) -> String {
    match d {
        Diagnosis::GradientsWrong => {
            "the gradient check against the oracle fails, on the data the code computes with as on the real data: the gradients are wrong"
                .into()
        }
        Diagnosis::WrongData { median_reported_final_loss, constant_loss, settles_at_constant } => {
            let tell = if *settles_at_constant {
                format!(
                    "the tell in training: the loss the code reports settles at the constant predictor's, median {} against Var(t) = {} \
                     (its inputs are all the same, so only the biases matter and the best it can do is answer mean(t) everywhere)",
                    sig(*median_reported_final_loss, 4),
                    sig(*constant_loss, 4)
                )
            } else {
                format!(
                    "the loss the code reports ends at a median {} against the constant predictor's {}",
                    sig(*median_reported_final_loss, 4),
                    sig(*constant_loss, 4)
                )
            };
            format!(
                "gradients are right for the data the code computes with (they pass the check against the oracle on it) \
                 and fail only against the real data: the data is wrong, not the backprop; {tell}"
            )
        }
        Diagnosis::SymmetryNeverBroken => {
            "gradients are right; every hidden unit stays identical to the others (symmetry is never broken)".into()
        }
        Diagnosis::CannotFit { median_final_loss, constant_loss } => format!(
            "gradients are right; no seed fits the task: median final loss {median_final_loss:.4} against the constant predictor's {constant_loss:.4}"
        ),
        Diagnosis::TrainingSucceeds => "gradients are right and training succeeds".into(),
    }
}

/// `{"symptom", "rule", "checked", "runs", "shown_by", "caveat"}`, in words.
impl Serialize for Symptom {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Symptom", 7)?;
        s.serialize_field("symptom", symptom_name(self.kind))?;
        s.serialize_field("rule", &symptom_rule(self.kind))?;
        s.serialize_field("checked", &self.checked)?;
        s.serialize_field("runs", &self.runs)?;
        s.serialize_field("shown_by", &self.shown_by)?;
        s.serialize_field("caveat", &self.caveat.as_ref().map(caveat))?;
        s.end()
    }
}

/// The run's name ([`witness`]).
impl Serialize for Witness {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&witness(self))
    }
}

/// The sentence ([`diagnosis`]).
impl Serialize for Diagnosis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&diagnosis(self))
    }
}
