//! The JSON model and gradient files of `report grad` and `report check`: parsing and validation.
//!
//! A model file describes a dense network, a batch and a loss (`docs/model-format.md` has the
//! full contract and examples):
//!
//! ```text
//! {"layers": [{"weight": [[…], …], "bias": […], "activation": "tanh",
//!              "norm": {"weight": […], "bias": […], "eps": 1e-5, "at": "input"}}, …],
//!  "shortcut": 2, "shortcut_layers": [2, 4], "skip": "identity", "leaky_slope": 0.01,
//!  "weight_layout": "out_in",
//!  "loss": "squared_error" | {"kind": "mse", "reduction": "mean"},
//!  "input": [[…], …], "target": [[…], …] | [class, …]}
//! ```
//!
//! Layer l (1-based; layer 1 reads the input) computes, with `weight` one row per output unit and
//! one column per input — the model of [`scalar::dense`]:
//!
//! ```text
//! z_l[j] = Σ_i W_l[j][i]·a_{l−1}[i] + b_l[j]   (+ a_{l−s}[j]: "skip": "pre_activation", the default)
//! a_l[j] = f_l(z_l[j])                         (+ a_{l−s}[j]: "skip": "identity")
//! squared_error (the default):  L = (1/B)·Σ_b Σ_j (y_bj − t_bj)²
//! bce (sigmoid output layer):   L = (1/B)·Σ_b Σ_j [softplus(z_bj) − t_bj·z_bj]
//! ```
//!
//! and the frameworks' losses and reductions of [`loss`]. A layer's `"norm"` is a layer
//! normalisation ([`scalar::dense::LayerNorm`], PyTorch's `nn.LayerNorm` over the row: γ
//! `"weight"` and β `"bias"`, each optional; `"eps"` 1e-5 unless given) of its input (`"at":
//! "input"`, the default: the product reads LN(a_{l−1})) or of its Linear output
//! (`"pre_activation"`: z_l = LN(W·u + b) before the shortcut joins and f applies), or with
//! `"kind": "rms"` an RMS normalisation (`nn.RMSNorm`: not centred; `model/norm.rs`); a shortcut
//! still carries a_{l−s} itself. Layer l receives a_{l−s} when s | l,
//! or, when the file names them in `"shortcut_layers"`, when it is one of those (a stem layer
//! before the blocks: `"shortcut": 2, "shortcut_layers": [3, 5]`); every such pair of layers
//! must have the same width (a file whose shortcut joins layers of different widths is refused,
//! naming them). A file without `"skip"` means the pre-activation
//! form, as before the field existed; `"skip"` without `"shortcut"` is refused. `"weight_layout"`
//! ([`layout`]) says whether `weight` is one row per output unit (the default) or per input.
//!
//! A gradients file has the shape `report grad` prints:
//! `{"loss": L, "layers": [{"weight_grad": [[…]], "bias_grad": […]}, …]}` (and a normalised
//! layer's `"norm_weight_grad"` and `"norm_bias_grad"`).
//!
//! Both are parsed with serde into structs that refuse unknown fields, then validated here — the
//! boundary — so every later step trusts the validated [`Model`] and [`ClaimedGradients`]. Every
//! message names the file and the place: layers count from 1 as everywhere in gradlab; rows,
//! columns and samples are 0-based indices into the JSON arrays
//! (`model.json: layer 2 weight row 3: expected 4 columns, got 5`). Malformed JSON gives serde's
//! line and column, and so does a number beyond `f64` such as `1e400`, which serde refuses
//! instead of reading it as ∞.

mod grads;
pub mod layout;
pub mod loss;
mod norm;
mod number;

pub use grads::{ClaimedGradients, ClaimedLayer};

pub use layout::{WEIGHT_LAYOUTS, WeightLayout};
pub use loss::{LOSS_KINDS, LOSS_NAMES, REDUCTIONS, Reduction};
use norm::NormFile;
pub use norm::{NORM_AT_NAMES, NORM_KIND_NAMES, norm_at_name};

use crate::error::Error;
use scalar::activation::DEFAULT_LEAKY_SLOPE;
use scalar::dense::{Dense, DenseLayer, Loss};
use scalar::{Activation, Skip};
use serde::Deserialize;
use std::path::Path;

/// A validated model: a network, a batch of inputs and targets, and the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    net: Dense,
    input: Vec<Vec<f64>>,
    target: Vec<Vec<f64>>,
    loss: Loss,
    reduction: Reduction,
    layout: WeightLayout,
}

/// The model file as written (before validation).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a model: an object {\"layers\": […], \"input\": […], \"target\": […]}")]
struct ModelFile {
    layers: Vec<LayerFile>,
    #[serde(default)]
    shortcut: Option<usize>,
    #[serde(default)]
    shortcut_layers: Option<Vec<usize>>,
    #[serde(default)]
    skip: Option<String>,
    #[serde(default, deserialize_with = "number::optional_number")]
    leaky_slope: Option<f64>,
    #[serde(default)]
    weight_layout: Option<String>,
    #[serde(default)]
    loss: Option<serde_json::Value>,
    #[serde(deserialize_with = "number::matrix")]
    input: Vec<Vec<f64>>,
    target: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a layer: an object {\"weight\": [[…]], \"activation\": …}")]
struct LayerFile {
    #[serde(deserialize_with = "number::matrix")]
    weight: Vec<Vec<f64>>,
    #[serde(default, deserialize_with = "number::optional_vector")]
    bias: Option<Vec<f64>>,
    activation: String,
    #[serde(default)]
    norm: Option<NormFile>,
}

/// The names of the `"skip"` field: where the shortcut joins, in [`Skip`]'s order.
pub const SKIP_NAMES: [&str; 2] = ["pre_activation", "identity"];

/// The `"skip"` name of a form (the inverse of the model file's parsing).
pub fn skip_name(skip: Skip) -> &'static str {
    match skip {
        Skip::PreActivation => SKIP_NAMES[0],
        Skip::Identity => SKIP_NAMES[1],
    }
}

impl Model {
    /// Validates a network, a batch and a loss, with gradlab's conventions (the loss divided by
    /// B, weights out_in; [`Model::with_conventions`] changes them).
    ///
    /// Refused: an empty batch, input or target rows of the wrong width, a target with another
    /// number of rows than the input, non-finite values, and `bce` without a sigmoid output layer
    /// or with an identity shortcut into it. Messages name the place
    /// (`target row 1: expected 2 columns, got 3`).
    pub fn new(net: Dense, input: Vec<Vec<f64>>, target: Vec<Vec<f64>>, loss: Loss) -> Result<Model, Error> {
        check_batch("input", &input, net.input_width(), None)?;
        check_batch("target", &target, net.output_width(), Some(input.len()))?;
        let last = net.layers().len();
        let last_activation = net.layers()[last - 1].activation;
        if loss == Loss::BinaryCrossEntropy && last_activation != Activation::Sigmoid {
            return Err(Error::input(format!(
                "loss: bce needs a sigmoid output layer, but layer {last} is {}",
                last_activation.name()
            )));
        }
        if loss == Loss::BinaryCrossEntropy && net.skip() == Skip::Identity && net.shortcut_layers().contains(&last) {
            return Err(Error::input(format!(
                "skip: bce needs layer {last}'s sigmoid output, but an identity shortcut adds a_{} to it \
                 (use \"pre_activation\" or squared_error)",
                last - net.shortcut().expect("a layer receives a shortcut")
            )));
        }
        Ok(Model { net, input, target, loss, reduction: Reduction::BatchMean, layout: WeightLayout::OutIn })
    }

    /// The same model with another reduction and weight layout (neither changes what is valid).
    pub fn with_conventions(self, reduction: Reduction, layout: WeightLayout) -> Model {
        Model { reduction, layout, ..self }
    }

    /// Parses and validates a model file's text; `source` (a file name) starts every message.
    ///
    /// ```
    /// use report::model::Model;
    /// let text = r#"{"layers": [{"weight": [[0.5, -1]], "activation": "tanh"}],
    ///               "input": [[1, 2]], "target": [[0]]}"#;
    /// let model = Model::from_json(text, "model.json")?;
    /// assert_eq!(model.net().widths(), vec![2, 1]);
    ///
    /// let ragged = r#"{"layers": [{"weight": [[0.5, -1], [1]], "activation": "tanh"}],
    ///                 "input": [[1, 2]], "target": [[0, 0]]}"#;
    /// let err = Model::from_json(ragged, "model.json").unwrap_err();
    /// assert_eq!(err.to_string(), "model.json: layer 1 weight row 1: expected 2 columns, got 1");
    /// # Ok::<(), report::Error>(())
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<Model, Error> {
        // Bare NaN and ±Infinity (as Python's json.dump writes a diverged model) are read as
        // numbers, so that validation refuses each by its place instead of serde by a position.
        let (quoted, inserted) = number::quote_bare_non_finite(text);
        let file: ModelFile =
            serde_json::from_str(&quoted).map_err(|e| in_source(source, number::as_written(&e, &inserted)))?;
        file.validate().map_err(|e| in_source(source, e))
    }

    /// Reads and validates a model file (messages start with the path as given).
    pub fn from_file(path: &Path) -> Result<Model, Error> {
        Model::from_json(&read(path)?, &path.display().to_string())
    }

    /// The output layer's number when its sigmoid sits under `bce_with_logits`, which applies a
    /// sigmoid of its own to the output: the network then applies it twice. The format expresses
    /// such a model and its gradients are checked as it is, but it is rarely the one meant (the
    /// loss's logits squeezed into (0, 1) change little, and training slows), so the commands
    /// warn of it. Not with an identity shortcut into the output, which is no sigmoid output.
    pub fn sigmoid_under_logits_loss(&self) -> Option<usize> {
        let last = self.net.layers().len();
        let identity_into_last = self.net.skip() == Skip::Identity && self.net.shortcut_layers().contains(&last);
        (self.loss == Loss::BceWithLogits
            && self.net.layers()[last - 1].activation == Activation::Sigmoid
            && !identity_into_last)
            .then_some(last)
    }

    /// The network.
    pub fn net(&self) -> &Dense {
        &self.net
    }

    /// The batch of inputs, one row per sample.
    pub fn input(&self) -> &[Vec<f64>] {
        &self.input
    }

    /// The targets, one row per sample.
    pub fn target(&self) -> &[Vec<f64>] {
        &self.target
    }

    /// The loss's kind (its per-element terms on the tape).
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// How the batch's sum of per-element losses is reduced.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// D, the number the batch's sum of per-element losses is divided by
    /// ([`Reduction::denominator`]).
    pub fn denominator(&self) -> f64 {
        self.reduction.denominator(self.loss, self.batch(), self.net.output_width())
    }

    /// How `weight` (and `weight_grad`) are indexed in the file.
    pub fn weight_layout(&self) -> WeightLayout {
        self.layout
    }

    /// B, the number of samples.
    pub fn batch(&self) -> usize {
        self.input.len()
    }

    /// The number of weights and biases (biases counted whether or not the model has them, as
    /// their gradients are reported; and γ and β of each normalisation, likewise).
    pub fn n_parameters(&self) -> u128 {
        let widths = self.net.widths();
        let norms: u128 = (self.net.norms().iter().enumerate())
            .filter_map(|(idx, n)| n.as_ref().map(|n| 2 * n.width(widths[idx], widths[idx + 1]) as u128))
            .sum();
        widths.windows(2).map(|w| w[1] as u128 * (w[0] as u128 + 1)).sum::<u128>() + norms
    }

    /// An upper estimate of the memory, in bytes, that `grad` and `check` take for the reference
    /// gradients besides the model itself (the oracle's `backprop_over`, which keeps no tape):
    /// [`BYTES_PER_PARAMETER`] per weight and bias (the gradients, the copy and text that are
    /// printed, and `check`'s per-sample gradients and their sums for the layers' scales), [`BYTES_PER_UNIT`]
    /// per unit of every layer, input included (each row's own allocation, one sample's forward
    /// pass and its adjoints), and [`BYTES_PER_OUTPUT`] per output of every sample (the outputs
    /// and the loss's terms).
    pub fn reference_bytes_estimate(&self) -> u128 {
        let widths = self.net.widths();
        let units: u128 = widths.iter().map(|&n| n as u128).sum();
        let outputs = self.batch() as u128 * *widths.last().expect("a network has layers") as u128;
        self.n_parameters() * BYTES_PER_PARAMETER + units * BYTES_PER_UNIT + outputs * BYTES_PER_OUTPUT
    }

    /// An upper estimate of the memory, in bytes, that `check` takes besides the model itself:
    /// [`Model::reference_bytes_estimate`], and for the scales' error estimates
    /// ([`scalar::dense::Dense::backprop_error_scales_over`]) [`ERROR_SCALE_BYTES_PER_PARAMETER`]
    /// per weight and bias and [`ERROR_SCALE_BYTES_PER_UNIT`] per unit of every layer, and for
    /// weighing the branches at kinks [`KINK_BYTES_PER_PARAMETER`] per weight and bias.
    pub fn check_bytes_estimate(&self) -> u128 {
        let units: u128 = self.net.widths().iter().map(|&n| n as u128).sum();
        self.reference_bytes_estimate()
            + self.n_parameters() * (ERROR_SCALE_BYTES_PER_PARAMETER + KINK_BYTES_PER_PARAMETER)
            + units * ERROR_SCALE_BYTES_PER_UNIT
    }
}

/// Bytes per weight or bias in [`Model::check_bytes_estimate`] for the branches at kinks
/// (`reference/check/branches.rs`), at most: the reference with branches taken, one sample's
/// gradients before and after a branch, both again weighed, the residual and one change (8 bytes
/// each), and the changes of up to 12 candidates weighed at once (12 × 8, where a normalisation
/// mixes a layer that holds every parameter).
pub const KINK_BYTES_PER_PARAMETER: u128 = 152;

/// Bytes per weight or bias in [`Model::check_bytes_estimate`]: its adjoint with what its error
/// estimate is made of (32 bytes) while the sweep runs, and the estimate it reports (8).
pub const ERROR_SCALE_BYTES_PER_PARAMETER: u128 = 40;
/// Bytes per unit in [`Model::check_bytes_estimate`]: the adjoints of one sample's a, z and a
/// normalisation's values, 32 bytes each, generously.
pub const ERROR_SCALE_BYTES_PER_UNIT: u128 = 128;

/// Bytes per weight or bias in [`Model::reference_bytes_estimate`], generously: the oracle's
/// gradient and the model-layout copy that is printed (8 bytes each), its JSON text (at most 25),
/// and `check`'s per-sample gradient and the sum of their absolute values (8 each).
pub const BYTES_PER_PARAMETER: u128 = 80;
/// Bytes per unit in [`Model::reference_bytes_estimate`]: the allocation headers of a weight row
/// in each copy, z, a and their adjoints.
pub const BYTES_PER_UNIT: u128 = 256;
/// Bytes per output of each sample in [`Model::reference_bytes_estimate`]: the output and its
/// loss term, each in a row of its own per sample.
pub const BYTES_PER_OUTPUT: u128 = 64;

impl ModelFile {
    fn validate(self) -> Result<Model, Error> {
        if self.layers.is_empty() {
            return Err(Error::input("layers: the network has no layers"));
        }
        let slope = self.leaky_slope.unwrap_or(DEFAULT_LEAKY_SLOPE);
        check_finite("leaky_slope", slope)?;
        let layout = WeightLayout::parse(self.weight_layout.as_deref())?;
        let n_layers = self.layers.len();
        let mut width_in = match layout {
            WeightLayout::OutIn => self.layers[0].weight.first().map_or(0, Vec::len),
            WeightLayout::InOut => self.layers[0].weight.len(),
        };
        let mut layers = Vec::with_capacity(n_layers);
        let mut norms = Vec::with_capacity(n_layers);
        for (idx, mut layer) in self.layers.into_iter().enumerate() {
            let l = idx + 1;
            if layout == WeightLayout::InOut {
                if layer.weight.is_empty() {
                    return Err(Error::input(format!(
                        "layer {l} weight: it has no rows (weight_layout in_out: a layer needs at least one input)"
                    )));
                }
                layout::check_in_out(l, &layer.weight, (l > 1).then_some(width_in))?;
                layer.weight = layout.to_out_in(layer.weight);
            }
            if layer.weight.is_empty() {
                return Err(Error::input(format!(
                    "layer {l} weight: it has no rows (a layer needs at least one output unit)"
                )));
            }
            if width_in == 0 {
                return Err(Error::input(format!(
                    "layer {l} weight row 0: it has no columns (a layer needs at least one input)"
                )));
            }
            check_matrix(&format!("layer {l} weight"), &layer.weight, width_in)?;
            if let Some(bias) = &layer.bias {
                check_vector(&format!("layer {l} bias"), bias, layer.weight.len())?;
            }
            let activation = Activation::from_name(&layer.activation, slope).map_err(|_| {
                Error::input(format!(
                    "layer {l} activation: unknown name {:?} (expected one of {})",
                    layer.activation,
                    Activation::NAMES.join(", ")
                ))
            })?;
            norms.push(layer.norm.map(|norm| norm.validate(l, width_in, layer.weight.len())).transpose()?);
            width_in = layer.weight.len();
            layers.push(DenseLayer { weight: layer.weight, bias: layer.bias, activation });
        }
        if let Some(s) = self.shortcut {
            if s == 0 || s > n_layers {
                return Err(Error::input(format!(
                    "shortcut: span {s} must be between 1 and the number of layers {n_layers}"
                )));
            }
        }
        let skip = match (self.skip.as_deref(), self.shortcut) {
            (None, _) => Skip::PreActivation,
            (Some(name), None) => {
                return Err(Error::input(format!(
                    "skip: {name:?} needs a \"shortcut\" span (without one no layer has a shortcut to place)"
                )));
            }
            (Some("pre_activation"), Some(_)) => Skip::PreActivation,
            (Some("identity"), Some(_)) => Skip::Identity,
            (Some(other), Some(_)) => {
                return Err(Error::input(format!(
                    "skip: unknown name {other:?} (expected {})",
                    SKIP_NAMES.join(" or ")
                )));
            }
        };
        let (loss, reduction) = loss::parse(self.loss)?;
        // Everything Dense::new refuses has been refused above with a located message.
        let mut net = Dense::new(layers, self.shortcut)?.with_skip(skip).with_norms(norms)?;
        match self.shortcut_layers {
            Some(joins) => {
                check_shortcut_layers(&net, &joins)?;
                net = net.with_shortcut_layers(joins)?;
            }
            None => check_shortcut_widths(&net)?,
        }
        let target = loss::target_rows(self.target, loss, net.output_width())?;
        Ok(Model::new(net, self.input, target, loss)?.with_conventions(reduction, layout))
    }
}

/// Every layer l = s, 2s, … of a shortcut of span s receives a_{l−s}, so its width must be layer
/// l − s's (the engine's experiments skip such a layer; a model file is refused instead, as
/// a silently missing shortcut is not what its author meant).
fn check_shortcut_widths(net: &Dense) -> Result<(), Error> {
    let Some(s) = net.shortcut() else { return Ok(()) };
    let widths = net.widths();
    for l in (s..widths.len()).step_by(s) {
        if widths[l - s] != widths[l] {
            let from = if l == s { "the input".to_string() } else { format!("layer {}'s output", l - s) };
            return Err(Error::input(format!(
                "shortcut: span {s} adds {from} (width {}) to layer {l} (width {}); a shortcut \
                 joins layers of the same width (name the layers that receive it in \"shortcut_layers\", \
                 choose another span, or drop \"shortcut\")",
                widths[l - s],
                widths[l]
            )));
        }
    }
    Ok(())
}

/// The layers a file names to receive the shortcut: each from s to L, increasing, and as wide as
/// the layer s below it (or the input). `Dense::with_shortcut_layers` refuses the same; here the
/// message speaks of the file's fields.
fn check_shortcut_layers(net: &Dense, joins: &[usize]) -> Result<(), Error> {
    let Some(s) = net.shortcut() else {
        return Err(Error::input(
            "shortcut_layers: they name the layers that receive a shortcut, so they need a \"shortcut\" span",
        ));
    };
    let (widths, n_layers) = (net.widths(), net.layers().len());
    for (k, &l) in joins.iter().enumerate() {
        let place = format!("shortcut_layers[{k}]");
        if l < s || l > n_layers {
            return Err(Error::input(format!(
                "{place}: layer {l} cannot receive a shortcut of span {s}: it must be between {s} and the number of layers {n_layers}"
            )));
        }
        if k > 0 && joins[k - 1] >= l {
            return Err(Error::input(format!(
                "{place}: layer {l} follows layer {}; list the layers in increasing order, each once",
                joins[k - 1]
            )));
        }
        if widths[l - s] != widths[l] {
            let from = if l == s { "the input".to_string() } else { format!("layer {}'s output", l - s) };
            return Err(Error::input(format!(
                "{place}: the shortcut adds {from} (width {}) to layer {l} (width {}); a shortcut \
                 joins layers of the same width",
                widths[l - s],
                widths[l]
            )));
        }
    }
    Ok(())
}

/// Reads a whole file as UTF-8.
pub(crate) fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), action: "read", source })
}

/// Prefixes a message with the file it is about. Control characters are escaped: serde quotes
/// the file's own text (an unknown field named `"a\nb"`), and the message must stay one line.
pub(crate) fn in_source(source: &str, e: impl std::fmt::Display) -> Error {
    let mut text = String::new();
    for c in format!("{source}: {e}").chars() {
        if c.is_control() {
            text.extend(c.escape_debug());
        } else {
            text.push(c);
        }
    }
    Error::input(text)
}

/// `"1 column"`, `"4 columns"`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

fn check_finite(place: &str, v: f64) -> Result<(), Error> {
    if v.is_finite() { Ok(()) } else { Err(Error::input(format!("{place}: {v} is not a finite number"))) }
}

/// Every row of `rows` has `width` finite entries.
pub(crate) fn check_matrix(place: &str, rows: &[Vec<f64>], width: usize) -> Result<(), Error> {
    for (j, row) in rows.iter().enumerate() {
        if row.len() != width {
            return Err(Error::input(format!(
                "{place} row {j}: expected {}, got {}",
                count(width, "column"),
                row.len()
            )));
        }
        for (i, &v) in row.iter().enumerate() {
            check_finite(&format!("{place} row {j} column {i}"), v)?;
        }
    }
    Ok(())
}

/// Every row of `rows` has `width` entries (of any value).
pub(crate) fn check_shape_of(place: &str, rows: &[Vec<f64>], width: usize) -> Result<(), Error> {
    match rows.iter().position(|row| row.len() != width) {
        Some(j) => {
            Err(Error::input(format!("{place} row {j}: expected {}, got {}", count(width, "column"), rows[j].len())))
        }
        None => Ok(()),
    }
}

/// `values` has `len` entries (of any value).
pub(crate) fn check_len(place: &str, values: &[f64], len: usize) -> Result<(), Error> {
    if values.len() == len {
        Ok(())
    } else {
        Err(Error::input(format!("{place}: expected {}, got {}", count(len, "value"), values.len())))
    }
}

/// `values` has `len` finite entries.
pub(crate) fn check_vector(place: &str, values: &[f64], len: usize) -> Result<(), Error> {
    if values.len() != len {
        return Err(Error::input(format!("{place}: expected {}, got {}", count(len, "value"), values.len())));
    }
    for (j, &v) in values.iter().enumerate() {
        check_finite(&format!("{place} {j}"), v)?;
    }
    Ok(())
}

/// A non-empty batch of rows of `width` finite entries (and `rows` of them, if given).
fn check_batch(place: &str, batch: &[Vec<f64>], width: usize, rows: Option<usize>) -> Result<(), Error> {
    if batch.is_empty() {
        return Err(Error::input(format!("{place}: the batch is empty (it needs at least one sample)")));
    }
    if let Some(rows) = rows {
        if batch.len() != rows {
            return Err(Error::input(format!(
                "{place}: expected {} (one per input sample), got {}",
                count(rows, "row"),
                batch.len()
            )));
        }
    }
    check_matrix(place, batch, width)
}
