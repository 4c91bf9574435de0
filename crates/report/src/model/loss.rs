//! The model file's `"loss"`: today's names, or the frameworks' `{"kind", "reduction"}`, and the
//! targets each accepts.
//!
//! Every loss is a sum S = Σ_b Σ_j ℓ_bj over the batch (B samples, n outputs) divided by the
//! reduction's denominator D, so L = S / D and every gradient is ∂S/∂θ / D:
//!
//! ```text
//! kind             ℓ_bj (y = the last layer's output, z its pre-activation)        "mean": D
//! mse              (y_bj − t_bj)²                                                   B·n
//! bce              softplus(z_bj) − t_bj·z_bj   (a sigmoid output layer: −[t ln y + (1−t) ln(1−y)])  B·n
//! bce_with_logits  softplus(y_bj) − t_bj·y_bj   (y the logits)                      B·n
//! cross_entropy    per sample (Σ_j t_bj)·lse(y_b) − Σ_j t_bj·y_bj   (softmax over j) B
//! ```
//!
//! `"sum"` is D = 1 and `"batch_mean"` D = B (gradlab's own convention, what `"squared_error"`
//! and `"bce"` as strings mean). `"mean"` is PyTorch's and Keras's default: per element for the
//! element-wise losses (`nn.MSELoss()` divides by B·n, so a two-output net's gradients are half
//! of gradlab's `batch_mean`), per sample for the cross-entropy (`nn.CrossEntropyLoss()`).
//! Cross-entropy targets are rows (one-hot or probabilities, as wide as the last layer) or one
//! class index per sample, which becomes its one-hot row.

use crate::error::Error;
use scalar::dense::Loss;
use serde::Deserialize;

/// The names of the string form of `"loss"` (each means its kind with `"batch_mean"`).
pub const LOSS_NAMES: [&str; 2] = ["squared_error", "bce"];

/// The names of `"kind"` in the object form of `"loss"`: squared error, binary cross-entropy on a sigmoid
/// output, on logits, and softmax cross-entropy.
pub const LOSS_KINDS: [&str; 4] = ["mse", "bce", "bce_with_logits", "cross_entropy"];

/// The names of `"reduction"`, in [`Reduction`]'s order.
pub const REDUCTIONS: [&str; 3] = ["sum", "mean", "batch_mean"];

/// How the batch's sum S of per-element losses becomes L (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// L = S.
    Sum,
    /// PyTorch's and Keras's `mean`: S / (B·n) for the element-wise losses, S / B for the
    /// cross-entropy.
    Mean,
    /// L = S / B, gradlab's own.
    BatchMean,
}

impl Reduction {
    /// Its `"reduction"` name.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Sum => REDUCTIONS[0],
            Reduction::Mean => REDUCTIONS[1],
            Reduction::BatchMean => REDUCTIONS[2],
        }
    }

    /// D, the number S is divided by, for `loss` over `batch` samples of `n_out` outputs.
    pub fn denominator(self, loss: Loss, batch: usize, n_out: usize) -> f64 {
        match (self, loss) {
            (Reduction::Sum, _) => 1.0,
            (Reduction::BatchMean, _) | (Reduction::Mean, Loss::CrossEntropy) => batch as f64,
            (Reduction::Mean, Loss::SquaredError | Loss::BinaryCrossEntropy | Loss::BceWithLogits | Loss::Linear) => {
                (batch as f64) * (n_out as f64)
            }
        }
    }
}

/// The `"kind"` name of a loss.
pub fn kind_name(loss: Loss) -> &'static str {
    match loss {
        Loss::SquaredError => LOSS_KINDS[0],
        Loss::BinaryCrossEntropy => LOSS_KINDS[1],
        Loss::BceWithLogits => LOSS_KINDS[2],
        Loss::CrossEntropy => LOSS_KINDS[3],
        Loss::Linear => "linear",
    }
}

/// The object form of `"loss"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LossObject {
    kind: String,
    #[serde(default)]
    reduction: Option<String>,
}

/// `"loss"` as written — absent, a name, or `{"kind", "reduction"}` — as the tape's loss and the
/// reduction; an object without `"reduction"` takes `"mean"`, as the frameworks do.
pub(super) fn parse(file: Option<serde_json::Value>) -> Result<(Loss, Reduction), Error> {
    let object: LossObject = match file {
        None => return Ok((Loss::SquaredError, Reduction::BatchMean)),
        Some(serde_json::Value::String(name)) => {
            return match name.as_str() {
                "squared_error" => Ok((Loss::SquaredError, Reduction::BatchMean)),
                "bce" => Ok((Loss::BinaryCrossEntropy, Reduction::BatchMean)),
                other => Err(Error::input(format!(
                    "loss: unknown name {other:?} (expected {}, or an object {{\"kind\": {}, \"reduction\": {}}})",
                    LOSS_NAMES.join(" or "),
                    LOSS_KINDS.join("|"),
                    REDUCTIONS.join("|")
                ))),
            };
        }
        Some(v @ serde_json::Value::Object(_)) => {
            serde_json::from_value(v).map_err(|e| Error::input(format!("loss: {e}")))?
        }
        Some(other) => {
            return Err(Error::input(format!(
                "loss: expected a name or an object {{\"kind\", \"reduction\"}}, got {other}"
            )));
        }
    };
    let kind = match object.kind.as_str() {
        "mse" => Loss::SquaredError,
        "bce" => Loss::BinaryCrossEntropy,
        "bce_with_logits" => Loss::BceWithLogits,
        "cross_entropy" => Loss::CrossEntropy,
        other => {
            return Err(Error::input(format!(
                "loss kind: unknown name {other:?} (expected one of {})",
                LOSS_KINDS.join(", ")
            )));
        }
    };
    let reduction = match object.reduction.as_deref() {
        None | Some("mean") => Reduction::Mean,
        Some("sum") => Reduction::Sum,
        Some("batch_mean") => Reduction::BatchMean,
        Some(other) => {
            return Err(Error::input(format!(
                "loss reduction: unknown name {other:?} (expected one of {})",
                REDUCTIONS.join(", ")
            )));
        }
    };
    Ok((kind, reduction))
}

/// The targets as rows: rows as given, or — for the cross-entropy only — one class index per
/// sample (`"target": [2, 0, 1]`), each made its one-hot row of `n_out` entries.
pub(super) fn target_rows(target: serde_json::Value, loss: Loss, n_out: usize) -> Result<Vec<Vec<f64>>, Error> {
    let serde_json::Value::Array(items) = target else {
        return Err(Error::input("target: expected an array (one row, or one class index, per sample)"));
    };
    let indices = !items.is_empty() && items.iter().all(|v| !v.is_array());
    if !indices {
        let rows: Vec<Vec<super::number::Number>> = serde_json::from_value(serde_json::Value::Array(items))
            .map_err(|e| Error::input(format!("target: {e} (expected one row of numbers per sample)")))?;
        return Ok(rows.into_iter().map(|row| row.into_iter().map(|n| n.0).collect()).collect());
    }
    if loss != Loss::CrossEntropy {
        return Err(Error::input(format!(
            "target: one number per sample (class indices) is for cross_entropy; {} needs one row per \
             sample, as wide as the last layer",
            kind_name(loss)
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(b, v)| {
            let class = v
                .as_u64()
                .or_else(|| {
                    v.as_f64().filter(|c| c.fract() == 0.0 && *c >= 0.0 && *c < 2f64.powi(53)).map(|c| c as u64)
                })
                .filter(|&c| c < n_out as u64)
                .ok_or_else(|| {
                    Error::input(format!(
                        "target {b}: {v} is not a class index (an integer from 0 to {}, below the last \
                         layer's width {n_out})",
                        n_out - 1
                    ))
                })?;
            let mut row = vec![0.0; n_out];
            row[class as usize] = 1.0;
            Ok(row)
        })
        .collect()
}
