//! The gradients file: `{"loss": L, "layers": [{"weight_grad": [[…]], "bias_grad": […]}, …]}`,
//! its numbers read leniently (`NaN`, `Infinity` and `-Infinity` are numbers: [`super::number`]).
//! Their gradients are what is being debugged, and a non-finite value is often the very symptom:
//! `check` reports each as a located FAIL (layer, entry) rather than refusing the file.

use super::number::{as_written, matrix, optional_number, optional_vector, quote_bare_non_finite};
use super::{in_source, read};
use crate::error::Error;
use serde::Deserialize;
use std::path::Path;

/// Gradients computed elsewhere, in the shape `report grad` prints. Any value, NaN and ±∞
/// included (their shape is checked against a model by [`crate::reference::check_gradients`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "gradients: an object {\"layers\": [{\"weight_grad\": [[…]], …}, …]}")]
pub struct ClaimedGradients {
    /// Their loss, if they give it (compared too when present).
    #[serde(default, deserialize_with = "optional_number")]
    pub loss: Option<f64>,
    /// One entry per layer, layer 1 first.
    pub layers: Vec<ClaimedLayer>,
}

/// One layer of [`ClaimedGradients`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimedLayer {
    /// ∂L/∂W_l\[j\]\[i\]: one row per output unit, one column per input (in the model's
    /// `weight_layout`).
    #[serde(deserialize_with = "matrix")]
    pub weight_grad: Vec<Vec<f64>>,
    /// ∂L/∂b_l\[j\]; may be left out for a layer that has no bias in the model.
    #[serde(default, deserialize_with = "optional_vector")]
    pub bias_grad: Option<Vec<f64>>,
    /// ∂L/∂γ_i of the layer's normalisation; may be left out when the model's norm has no γ,
    /// refused for a layer without a norm.
    #[serde(default, deserialize_with = "optional_vector")]
    pub norm_weight_grad: Option<Vec<f64>>,
    /// ∂L/∂β_i of the layer's normalisation; may be left out when the model's norm has no β.
    #[serde(default, deserialize_with = "optional_vector")]
    pub norm_bias_grad: Option<Vec<f64>>,
}

impl ClaimedGradients {
    /// Parses a gradients file's text (bare `NaN`, `Infinity` and `-Infinity` are read as
    /// numbers); `source` (a file name) starts every message. Shapes are checked against a model
    /// later.
    ///
    /// ```
    /// use report::model::ClaimedGradients;
    /// let g = ClaimedGradients::from_json(r#"{"layers": [{"weight_grad": [[NaN, -Infinity]]}]}"#, "g.json")?;
    /// assert!(g.layers[0].weight_grad[0][0].is_nan());
    /// assert_eq!(g.layers[0].weight_grad[0][1], f64::NEG_INFINITY);
    /// # Ok::<(), report::Error>(())
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<ClaimedGradients, Error> {
        let (quoted, inserted) = quote_bare_non_finite(text);
        serde_json::from_str(&quoted).map_err(|e| in_source(source, as_written(&e, &inserted)))
    }

    /// Reads a gradients file (messages start with the path as given).
    pub fn from_file(path: &Path) -> Result<ClaimedGradients, Error> {
        ClaimedGradients::from_json(&read(path)?, &path.display().to_string())
    }
}
