//! A layer's `"norm"` in the model file: its fields, their names and their validation into the
//! oracle's [`LayerNorm`].

use super::{check_len, check_vector, number};
use crate::error::Error;
use scalar::dense::{LayerNorm, NormAt, NormKind};
use serde::Deserialize;

/// A layer's `"norm"`: the normalisation of its input or of its Linear output.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a layer's norm: an object {\"weight\": […], \"bias\": […], \"eps\": …, \"at\": …, \"kind\": …}"
)]
pub(super) struct NormFile {
    #[serde(default, deserialize_with = "number::optional_vector")]
    weight: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "number::optional_vector")]
    bias: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "number::optional_number")]
    eps: Option<f64>,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// The names of a norm's `"kind"`, in [`NormKind`]'s order: layer normalisation (the default)
/// or RMS normalisation.
pub const NORM_KIND_NAMES: [&str; 2] = ["layer", "rms"];

/// The names of a norm's `"at"`: what it normalises, in [`NormAt`]'s order.
pub const NORM_AT_NAMES: [&str; 2] = ["input", "pre_activation"];

/// The `"at"` name of a norm's place (the inverse of the model file's parsing).
pub fn norm_at_name(at: NormAt) -> &'static str {
    match at {
        NormAt::Input => NORM_AT_NAMES[0],
        NormAt::PreActivation => NORM_AT_NAMES[1],
    }
}

impl NormFile {
    /// `"at"` a known name; γ and β finite, one per value normalised: per input of layer l
    /// (`n_in` of them), or per unit (`n_out`); ε finite and positive.
    pub(super) fn validate(self, l: usize, n_in: usize, n_out: usize) -> Result<LayerNorm, Error> {
        let (at, width, per) = match self.at.as_deref() {
            None | Some("input") => (NormAt::Input, n_in, "one per input of the layer"),
            Some("pre_activation") => (NormAt::PreActivation, n_out, "one per unit of the layer"),
            Some(other) => {
                return Err(Error::input(format!(
                    "layer {l} norm at: unknown name {other:?} (expected {})",
                    NORM_AT_NAMES.join(" or ")
                )));
            }
        };
        let place = |what: &str| format!("layer {l} norm {what} ({per})");
        for (what, values) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(values) = values {
                check_len(&place(what), values, width)?;
                check_vector(&format!("layer {l} norm {what}"), values, width)?;
            }
        }
        let kind = match self.kind.as_deref() {
            None | Some("layer") => NormKind::Layer,
            Some("rms") => NormKind::Rms,
            Some(other) => {
                return Err(Error::input(format!(
                    "layer {l} norm kind: unknown name {other:?} (expected {})",
                    NORM_KIND_NAMES.join(" or ")
                )));
            }
        };
        let eps = self.eps.unwrap_or(LayerNorm::DEFAULT_EPS);
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::input(format!("layer {l} norm eps: {eps} must be a finite number > 0")));
        }
        Ok(LayerNorm { weight: self.weight, bias: self.bias, eps, at, kind })
    }
}
