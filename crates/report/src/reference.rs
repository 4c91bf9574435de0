//! Reference gradients and gradient checks as a library: what `report chain`, `report grad` and
//! `report check` print, as typed results for a Rust project's own tests.
//!
//! - [`chain_gradients`]: the single-neuron chain of [`scalar::chain`] — per layer the forward
//!   values, the gradient ∂L/∂w_d rounded to `f64`, and its exact sign and log10 magnitude, which
//!   stay exact where the `f64` value underflows to 0 or overflows to ∞.
//! - [`model_gradients`]: ∂L/∂W_l and ∂L/∂b_l (and a normalisation's ∂L/∂γ and ∂L/∂β) of a
//!   dense [`Model`], from the [`scalar`] oracle
//!   (the tape's bits, computed without recording one).
//! - [`check_gradients`]: compares gradients computed elsewhere with those, entry by entry:
//!   an entry passes when |theirs − ref| ≤ atol·s + rtol·|ref|, s the layer's scale
//!   ([`LayerCheck::scale`]: each sample's gradient added in absolute value, so it shrinks with
//!   the gradients where they vanish).
//!
//! Every result serializes (serde) to the JSON contract of `docs/model-format.md`; `to_json`
//! prints it the way the command does (one layer per line, numbers in shortest round-trip form,
//! so they parse back to the same `f64`), and [`CheckReport`]'s `Display` is the command's table.
//!
//! **Which f64 is "the" gradient.** A chain's `grad` is the `f64` nearest the exact gradient
//! ([`Ext::to_f64`], one rounding). While every intermediate product stays in `f64`'s normal
//! range this is bit for bit the plain-`f64` closed form (and the tape); where the plain value
//! underflows or overflows, it is the value a perfect `f64` implementation would hold. `grad` is
//! `None` (JSON `null`) when that `f64` is ±∞ or is 0 while the exact value is not.
//!
//! **Which layer is wrong.** Backprop runs from the output down, and each layer's δ feeds every
//! layer below it, so one wrong backward step makes its own layer and every layer below it wrong.
//! [`CheckReport::first_wrong_layer`] is therefore the failing layer nearest the output — the
//! first one backprop reaches — which is where to look for the bug.
//!
//! ```
//! use report::model::{ClaimedGradients, Model};
//! use report::reference::{check_gradients, model_gradients, Tolerance};
//!
//! let model = Model::from_json(
//!     r#"{"layers": [{"weight": [[0.5, -0.25], [1, 2]], "bias": [0, 0.5], "activation": "tanh"},
//!                    {"weight": [[1, -1]], "activation": "sigmoid"}],
//!         "input": [[1, 2], [-1, 0.5]], "target": [[1], [0]]}"#,
//!     "model.json",
//! )?;
//! let reference = model_gradients(&model)?;
//!
//! // Right gradients pass…
//! let mut theirs = ClaimedGradients::from(&reference);
//! assert!(check_gradients(&model, &theirs, Tolerance::default())?.pass);
//!
//! // …and a wrong entry in layer 1 is found and located.
//! theirs.layers[0].weight_grad[1][0] *= 2.0;
//! let report = check_gradients(&model, &theirs, Tolerance::default())?;
//! assert!(!report.pass);
//! assert_eq!(report.first_wrong_layer, Some(1));
//! assert_eq!(report.layers[0].worst.entry, "weight_grad[1][0]");
//! println!("{report}"); // the table `report check` prints
//! # Ok::<(), report::Error>(())
//! ```

mod chain_parts;
pub use chain_parts::chain_from_parts;

use crate::error::Error;
use crate::model::{ClaimedGradients, ClaimedLayer, Model};
use crate::render::reference as render;
use scalar::chain::{Chain, Magnitudes};
use scalar::{Activation, Ext, Skip};
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// The chain.

/// A chain's loss, output and per-layer gradients (`report chain --format json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    /// L = (y − ŷ)² (JSON `null` if it overflows `f64`; the gradients are still exact).
    pub loss: f64,
    /// y = a_D.
    pub output: f64,
    /// `"identity"` when the chain's shortcut joins after f (a_d = f(z_d) + a_{d−s}); absent
    /// (JSON: no `skip` key) without a shortcut and for the pre-activation form, which is what
    /// output without the key has always meant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<&'static str>,
    /// Layer 1 (at the input) first.
    pub layers: Vec<ChainLayer>,
}

/// One layer of a [`ChainReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainLayer {
    /// d, from 1 at the input to D at the output.
    pub layer: usize,
    /// z_d.
    pub pre_activation: f64,
    /// u_d = a_{d−1} (u_1 = x).
    pub input: f64,
    /// ∂L/∂w_d correctly rounded to `f64`; `None` when that is ±∞, or 0 while the exact value is
    /// not.
    pub grad: Option<f64>,
    /// log10 |∂L/∂w_d| of the exact value; `None` only when the exact gradient is 0.
    pub log10_abs_grad: Option<f64>,
    /// The sign of the exact gradient: −1, 0 or 1.
    pub sign: i8,
    /// log10 of the article's bound 2|y−ŷ|·|u_d|·∏_{k≥d} sup|f′_k|·∏_{k>d}|w_k| on |∂L/∂w_d|;
    /// `None` when no bound applies (a chain with a shortcut) or the bound is exactly 0 (then so
    /// is the gradient).
    pub log10_bound: Option<f64>,
    /// The exact gradient (not serialized: JSON has `grad`, `sign` and `log10_abs_grad`).
    #[serde(skip)]
    pub exact_grad: Ext,
}

/// The gradients of a chain at input `x` and target `target`, exact beyond `f64`'s range.
///
/// # Errors
/// When the `f64` forward pass leaves `f64` (a pre-activation or the output is ±∞, e.g. weights
/// near 1e300 on an identity chain) or 2(y − ŷ) overflows: the report's `pre_activation`, `input`
/// and `loss` are the `f64` forward pass a user's code computes, so it must be finite. The message
/// names the first layer where it is not.
///
/// ```
/// use report::reference::chain_gradients;
/// use scalar::{Activation, chain::Chain};
/// // Sigmoid, w = 8, biases −8 then −4: every z is 0, σ′(0) = 1/4, so each layer doubles the
/// // gradient: with x = 1 and ŷ = 0, ∂L/∂w_d = 2^(D−d−3) exactly for d ≥ 2 (u_d = σ(0) = 1/2)
/// // and 2^(D−3) at layer 1 (u_1 = x = 1).
/// let depth = 1100;
/// let biases = std::iter::once(-8.0).chain(std::iter::repeat(-4.0)).take(depth).collect();
/// let chain = Chain::new(vec![8.0; depth], vec![Activation::Sigmoid; depth], Some(biases), None)?;
/// let report = chain_gradients(&chain, 1.0, 0.0)?;
/// assert_eq!(report.layers[depth - 1].grad, Some(0.125));
/// assert_eq!(report.layers[0].grad, None); // 2^1097 overflows f64…
/// let l = report.layers[0].log10_abs_grad.unwrap(); // …but its log10 is exact
/// assert!((l - 1097.0 * 2f64.log10()).abs() < 1e-12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn chain_gradients(chain: &Chain, x: f64, target: f64) -> Result<ChainReport, Error> {
    let trace = chain.forward(x);
    if let Some(d) = trace.pre_activation.iter().position(|z| !z.is_finite()) {
        return Err(Error::input(format!(
            "layer {}: the pre-activation z = {} overflows f64 in the forward pass; the chain's \
             report shows the f64 forward pass, so it needs one that stays finite",
            d + 1,
            trace.pre_activation[d]
        )));
    }
    if !trace.output.is_finite() {
        return Err(Error::input(format!(
            "layer {}: the output {} is not finite in f64, so the gradients are undefined",
            chain.depth(),
            trace.output
        )));
    }
    let dl_dy = 2.0 * (trace.output - target);
    if !dl_dy.is_finite() {
        return Err(Error::input(format!(
            "target: 2(y − target) overflows f64 (y = {:e}, target = {target:e})",
            trace.output
        )));
    }
    if let Some(d) = beyond_exact_range(chain, x, target) {
        return Err(Error::input(format!(
            "layer {d}: a value of the exact computation is beyond 2^±2^60 (|log10| > 3.4e17), \
             where Ext would round it to 0 or ∞; gradlab cannot give these gradients exactly"
        )));
    }
    let exact = chain.gradients_ext(x, target).weight;
    let magnitudes = Magnitudes::of(&exact);
    let bound = chain.bound(x, target);
    let layers = (0..chain.depth())
        .map(|idx| {
            let g = exact[idx];
            // An exact 0 is printed as 0.0, never −0.0: its sign carries no information.
            let rounded = if g.is_zero() { 0.0 } else { g.to_f64() };
            let representable = rounded.is_finite() && (rounded != 0.0 || g.is_zero());
            let log10 = magnitudes.log10_abs[idx];
            ChainLayer {
                layer: idx + 1,
                pre_activation: trace.pre_activation[idx],
                input: trace.input[idx],
                grad: representable.then_some(rounded),
                log10_abs_grad: log10.is_finite().then_some(log10),
                sign: magnitudes.sign[idx],
                log10_bound: bound.as_ref().map(|b| b[idx].log10_abs()).filter(|l| l.is_finite()),
                exact_grad: g,
            }
        })
        .collect::<Vec<_>>();
    if let Some(bad) = layers.iter().find(|l| !l.exact_grad.is_finite()) {
        // Ext's exponent cannot overflow and every factor is finite, so this is a broken
        // invariant; refuse rather than print a wrong number.
        return Err(Error::input(format!("layer {}: the exact gradient is not finite (an internal error)", bad.layer)));
    }
    let diff = trace.output - target;
    let skip = match (chain.shortcut(), chain.skip()) {
        (Some(_), Skip::Identity) => Some("identity"),
        (None, _) | (Some(_), Skip::PreActivation) => None,
    };
    Ok(ChainReport { loss: diff * diff, output: trace.output, skip, layers })
}

/// Ext's exponent saturates at ±2^62 (a value below 2^−2^62 becomes 0): a chain whose exact
/// computation comes near that would report an "exact 0" that is not one. This returns the first
/// layer (from the input) where a forward value, an activation derivative, a δ or a gradient is
/// beyond 2^±2^60, or where a smooth activation's value or derivative came out as 0 where it is
/// not 0 in exact arithmetic. While every factor stays within 2^±2^60 (and every parameter is
/// an `f64`, within 2^±1074), no product of two of them reaches 2^±2^62, so no value saturates.
fn beyond_exact_range(chain: &Chain, x: f64, target: f64) -> Option<usize> {
    const LIMIT: i64 = 1 << 60;
    let out = |v: Ext| !v.is_zero() && v.is_finite() && v.exponent().abs() > LIMIT || !v.is_finite();
    let trace = chain.forward_ext(x);
    let deltas = chain.gradients_ext(x, target);
    (0..chain.depth())
        .find(|&i| {
            let f = chain.activations()[i];
            let (z, a) =
                (trace.pre_activation[i], if i + 1 < chain.depth() { trace.input[i + 1] } else { trace.output });
            let derivative = f.derivative_ext(z);
            // Where each smooth activation is 0 in exact arithmetic: σ, softplus and their
            // derivatives never; tanh, GELU and SiLU at z = 0 only; tanh′ never; GELU′ and SiLU′
            // at one point each (≈ −0.75 and ≈ −1.28), so theirs at |z| > 2 underflowed. The
            // value is f(z) itself: with an identity skip, a = f(z) + a_{d−s} may be 0 exactly.
            let value = f.value_ext(z);
            let false_zero = match f {
                Activation::Sigmoid | Activation::Softplus => derivative.is_zero() || value.is_zero(),
                Activation::Tanh => derivative.is_zero() || value.is_zero() && !z.is_zero(),
                Activation::Gelu | Activation::Silu => {
                    derivative.is_zero() && z.to_f64().abs() > 2.0 || value.is_zero() && !z.is_zero()
                }
                Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => false,
            };
            false_zero || [z, a, derivative, deltas.bias[i], deltas.weight[i]].into_iter().any(out)
        })
        .map(|i| i + 1)
}

impl ChainReport {
    /// The JSON `report chain --format json` prints (one layer per line, no trailing newline).
    pub fn to_json(&self) -> String {
        render::layer_per_line_json(self)
    }

    /// The Markdown table `report chain` prints ([`crate::render::reference::chain_markdown`]).
    pub fn to_markdown(&self) -> String {
        render::chain_markdown(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Dense models.

/// The loss and gradients of a [`Model`] (`report grad`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelGradients {
    /// L.
    pub loss: f64,
    /// Layer 1 first.
    pub layers: Vec<LayerGradients>,
}

/// One layer of [`ModelGradients`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerGradients {
    /// ∂L/∂W_l\[j\]\[i\]: one row per output unit, one column per input (transposed, as the
    /// model's `weight`, for `"weight_layout": "in_out"`).
    pub weight_grad: Vec<Vec<f64>>,
    /// ∂L/∂b_l\[j\] (given whether or not the layer has a bias: it is ∂L/∂z summed over the batch).
    pub bias_grad: Vec<f64>,
    /// ∂L/∂γ_i of the layer's normalisation, one per input (given whether or not it has γ);
    /// absent (JSON: no key) for a layer without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_weight_grad: Option<Vec<f64>>,
    /// ∂L/∂β_i of the layer's normalisation, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_bias_grad: Option<Vec<f64>>,
}

/// The reference gradients of a model, from the [`scalar`] oracle (`Dense::backprop_over`: the
/// tape's bits without a tape, so memory for the parameters and one sample's forward pass).
///
/// # Errors
/// When the loss or a gradient is not finite in `f64` (the message names the first such entry).
pub fn model_gradients(model: &Model) -> Result<ModelGradients, Error> {
    check_forward_is_finite(model)?;
    let grads = model.net().backprop_over(model.input(), model.target(), model.loss(), model.denominator())?;
    let not_finite = |place: String, v: f64| {
        Error::input(format!(
            "{place}: the reference value {v} is not finite in f64 (the loss or the backward pass \
             overflows), so the gradients are not defined in f64; `gradlab diagnose` gives each \
             layer's gradient norms beyond f64's range"
        ))
    };
    if !grads.loss.is_finite() {
        return Err(not_finite("loss".into(), grads.loss));
    }
    for (idx, (w, b)) in grads.weight.iter().zip(&grads.bias).enumerate() {
        for (j, row) in w.iter().enumerate() {
            if let Some(i) = row.iter().position(|v| !v.is_finite()) {
                return Err(not_finite(format!("layer {} weight_grad row {j} column {i}", idx + 1), row[i]));
            }
        }
        if let Some(j) = b.iter().position(|v| !v.is_finite()) {
            return Err(not_finite(format!("layer {} bias_grad {j}", idx + 1), b[j]));
        }
        if let Some(norm) = &grads.norm[idx] {
            for (what, values) in [("norm_weight_grad", &norm.weight), ("norm_bias_grad", &norm.bias)] {
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(not_finite(format!("layer {} {what} {i}", idx + 1), values[i]));
                }
            }
        }
    }
    Ok(ModelGradients { loss: grads.loss, layers: layers_of(model, grads) })
}

/// The oracle's gradients as [`LayerGradients`], `weight_grad` in the file's layout (the shape of
/// its `weight`).
fn layers_of(model: &Model, grads: scalar::dense::DenseGradients) -> Vec<LayerGradients> {
    (grads.weight.into_iter().zip(grads.bias).zip(grads.norm))
        .map(|((weight_grad, bias_grad), norm)| LayerGradients {
            weight_grad: model.weight_layout().to_out_in(weight_grad),
            bias_grad,
            norm_weight_grad: norm.as_ref().map(|n| n.weight.clone()),
            norm_bias_grad: norm.map(|n| n.bias),
        })
        .collect()
}

/// Refuses a model whose `f64` forward pass leaves `f64` (a z_l, or an identity shortcut's sum
/// a_l = f(z_l) + a_{l−s}, that is ±∞ or NaN): gradients computed through it are not the
/// gradients of the model in `f64` (a sigmoid at z = ∞ would give an exact 0 where the model has
/// no defined value). The message names the first such value in `gradlab diagnose`'s order: the
/// lowest layer, its z before its sum, then the first sample and unit.
fn check_forward_is_finite(model: &Model) -> Result<(), Error> {
    // (layer, 0 for z or 1 for the sum, sample, unit, value): the smallest over the samples.
    let mut first: Option<(usize, u8, usize, usize, f64)> = None;
    for (b, x) in model.input().iter().enumerate() {
        let trace = model.net().forward_trace(x)?;
        let found = trace.z.iter().zip(&trace.a[1..]).enumerate().find_map(|(idx, (z, a))| {
            let at = |stage: u8, values: &[f64]| {
                values.iter().position(|v| !v.is_finite()).map(|j| (idx + 1, stage, b, j, values[j]))
            };
            at(0, z).or_else(|| at(1, a))
        });
        if let Some(f) = found {
            if first.is_none_or(|g| (f.0, f.1) < (g.0, g.1)) {
                first = Some(f);
            }
        }
    }
    let Some((l, stage, b, j, v)) = first else { return Ok(()) };
    Err(Error::input(if stage == 0 {
        format!(
            "layer {l}: the pre-activation z = {v:e} (sample {b}, unit {j}) is not finite: the forward \
             pass overflows f64 there, so the model has no f64 gradients (`gradlab diagnose` locates it \
             too)"
        )
    } else {
        format!(
            "layer {l}: the identity shortcut's sum a = f(z) + a_(l−s) = {v:e} (sample {b}, unit {j}) is \
             not finite: the forward pass overflows f64 there, so the model has no f64 gradients"
        )
    }))
}

impl ModelGradients {
    /// The JSON `report grad` prints (one layer per line, no trailing newline).
    pub fn to_json(&self) -> String {
        render::layer_per_line_json(self)
    }
}

impl From<&ModelGradients> for ClaimedGradients {
    fn from(g: &ModelGradients) -> ClaimedGradients {
        ClaimedGradients {
            loss: Some(g.loss),
            layers: g
                .layers
                .iter()
                .map(|l| ClaimedLayer {
                    weight_grad: l.weight_grad.clone(),
                    bias_grad: Some(l.bias_grad.clone()),
                    norm_weight_grad: l.norm_weight_grad.clone(),
                    norm_bias_grad: l.norm_bias_grad.clone(),
                })
                .collect(),
        }
    }
}

// Checks: `check.rs`; what a failing layer looks like, `convention.rs`.

mod check;
mod convention;

pub use check::*;
pub use convention::Convention;
