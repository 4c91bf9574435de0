//! Dense networks built from scalar nodes: the oracle for the vectorised engine.
//!
//! Layer l = 1…L maps a_{l−1} (width n_{l−1}) to a_l (width n_l), with a_0 the input:
//!
//! ```text
//! z_l[j] = Σ_i W_l[j][i]·a_{l−1}[i] + b_l[j]  (+ a_{l−s}[j]: Skip::PreActivation)
//! a_l[j] = f_l(z_l[j])                          (+ a_{l−s}[j]: Skip::Identity)
//! ```
//!
//! `W_l[j][i]` has one row per output unit j and one column per input i. The shortcut of span s is
//! the chain's rule between layers of equal width: layer l receives a_{l−s} when s | l and
//! n_{l−s} = n_l; where the widths differ, that layer has none ([`Dense::shortcut_layers`] lists
//! where it applies). [`Dense::with_shortcut_layers`] names the receiving layers instead, for
//! networks whose blocks do not start at the input (a stem layer, then blocks; a head after
//! them). Where it joins is the network's [`Skip`] ([`Dense::with_skip`]; by default
//! the pre-activation, gradlab's first form): added to z, it reaches a_l through f′; added to a_l,
//! ∂a_l/∂a_{l−s} = 1 whatever f′ is.
//!
//! A layer may normalise ([`Dense::with_norms`], [`LayerNorm`]) its input ([`NormAt::Input`]: a
//! pre-norm block's normalisation, or a last one before the head), and its product then reads
//! LN(a_{l−1}) in place of a_{l−1}; or its Linear output ([`NormAt::PreActivation`]:
//! `Linear → LayerNorm → activation`), and then z_l = LN(W_l·u + b_l) before the shortcut joins.
//! A shortcut carries a_{l−s} itself either way.
//!
//! Losses over a batch of B samples with outputs y = a_L and targets t:
//!
//! ```text
//! SquaredError:        L = (1/B)·Σ_b Σ_j (y_bj − t_bj)²
//! BinaryCrossEntropy:  L = (1/B)·Σ_b Σ_j [softplus(z_bj) − t_bj·z_bj]      (z = the last layer's
//!                      pre-activation, which must be a sigmoid layer; this equals
//!                      −[t·ln σ(z) + (1−t)·ln(1 − σ(z))] without its cancellation)
//! Linear:              L = (1/B)·Σ_b Σ_j t_bj·y_bj      (∂L/∂y = t/B: back-propagates the seed t,
//!                      whatever the network outputs)
//! BceWithLogits:       L = (1/B)·Σ_b Σ_j [softplus(y_bj) − t_bj·y_bj]       (y the logits, any
//!                      output layer: PyTorch's BCEWithLogitsLoss with reduction "sum", over B)
//! CrossEntropy:        L = (1/B)·Σ_b [(Σ_j t_bj)·lse(y_b) − Σ_j t_bj·y_bj]  (softmax over the
//!                      outputs; lse(y) = m + ln Σ_j e^{y_j − m} with m = max_j y_j, so no e^y
//!                      overflows; for a one-hot t this is −ln softmax(y_b)[class])
//! ```
//!
//! [`Dense::gradients`] divides the batch's sum by B; [`Dense::gradients_over`] divides it by any
//! denominator (1 for a "sum" reduction, B·n for PyTorch's "mean" of a per-element loss).
//!
//! Binary cross-entropy is refused when the last layer receives an identity shortcut: its output
//! a_{L−s} + σ(z) is then no probability, and the loss is written in terms of z.
//!
//! The tape differentiates S = B·L (the plain sum) and each gradient is divided by B once at the
//! end, so where every operation of S is exact (dyadic inputs, + and × only) every gradient is
//! correctly rounded.

use crate::activation::Activation;
use crate::error::Error;
use crate::skip::Skip;
use crate::tape::{Gradients, Tape, Var};

mod backprop;
mod forward_error;
mod magnitudes;
mod norm;
pub use backprop::OtherBranch;
pub use magnitudes::{LayerMagnitudes, NormMagnitudes, SeedAt, Trace};
pub use norm::{LayerNorm, NormAt, NormGradients, NormKind};

/// One dense layer: `weight[j][i]` from input i to output unit j.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseLayer {
    /// One row per output unit, one column per input.
    pub weight: Vec<Vec<f64>>,
    /// One per output unit, if the layer has biases.
    pub bias: Option<Vec<f64>>,
    /// f_l.
    pub activation: Activation,
}

/// A validated dense network (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    layers: Vec<DenseLayer>,
    shortcut: Option<usize>,
    /// The layers that receive the shortcut when they were named ([`Dense::with_shortcut_layers`]),
    /// in increasing order; `None`: every s-th layer of equal width.
    joins: Option<Vec<usize>>,
    skip: Skip,
    /// Each layer's normalisation ([`Dense::with_norms`]), one per layer.
    norms: Vec<Option<LayerNorm>>,
}

/// The loss a network is trained on (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// (1/B)·Σ (y − t)².
    SquaredError,
    /// (1/B)·Σ [softplus(z) − t·z] on a sigmoid output layer.
    BinaryCrossEntropy,
    /// (1/B)·Σ t·y: its gradient back-propagates the seed t, whatever the network outputs.
    Linear,
    /// (1/B)·Σ [softplus(y) − t·y]: binary cross-entropy on logits y (any output layer).
    BceWithLogits,
    /// (1/B)·Σ_b [(Σ_j t_bj)·lse(y_b) − Σ_j t_bj·y_bj]: cross-entropy of softmax(y) against t.
    CrossEntropy,
}

/// The loss and its gradient with respect to every weight and bias.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseGradients {
    /// L.
    pub loss: f64,
    /// The network's outputs, one row per sample.
    pub output: Vec<Vec<f64>>,
    /// `∂L/∂W_l[j][i]`, per layer.
    pub weight: Vec<Vec<Vec<f64>>>,
    /// `∂L/∂b_l[j]`, per layer (computed whether or not the layer has biases).
    pub bias: Vec<Vec<f64>>,
    /// ∂L/∂γ and ∂L/∂β of each layer's normalisation, for the layers that have one.
    pub norm: Vec<Option<NormGradients>>,
}

impl Dense {
    /// Validates and builds a network.
    ///
    /// Refused: no layers, a layer with no units or no inputs, ragged weight rows, a layer whose
    /// input width is not the previous layer's output width, a bias of the wrong length,
    /// non-finite weights, biases or slopes, a shortcut span of 0 or beyond the depth.
    pub fn new(layers: Vec<DenseLayer>, shortcut: Option<usize>) -> Result<Dense, Error> {
        if layers.is_empty() {
            return Err(Error::invalid("network", "it has no layers"));
        }
        let mut width_in = layers[0].weight.first().map_or(0, Vec::len);
        for (idx, layer) in layers.iter().enumerate() {
            let l = idx + 1;
            if layer.weight.is_empty() {
                return Err(Error::invalid(format!("layer {l} weight"), "it has no rows (output units)"));
            }
            if width_in == 0 {
                return Err(Error::invalid(format!("layer {l} weight"), "it has no columns (inputs)"));
            }
            for (j, row) in layer.weight.iter().enumerate() {
                Error::check_len(|| format!("layer {l} weight row {j}"), width_in, row.len())?;
                for (i, &w) in row.iter().enumerate() {
                    Error::check_finite(|| format!("layer {l} weight row {j} column {i}"), w)?;
                }
            }
            if let Some(b) = &layer.bias {
                Error::check_len(|| format!("layer {l} bias"), layer.weight.len(), b.len())?;
                for (j, &v) in b.iter().enumerate() {
                    Error::check_finite(|| format!("layer {l} bias {j}"), v)?;
                }
            }
            if let Activation::LeakyRelu { slope } = layer.activation {
                Error::check_finite(|| format!("layer {l} leaky_relu slope"), slope)?;
            }
            width_in = layer.weight.len();
        }
        if let Some(s) = shortcut {
            if s == 0 || s > layers.len() {
                return Err(Error::invalid(
                    "shortcut",
                    format!("span {s} must be between 1 and the number of layers {}", layers.len()),
                ));
            }
        }
        let norms = vec![None; layers.len()];
        Ok(Dense { layers, shortcut, joins: None, skip: Skip::default(), norms })
    }

    /// The same network with its shortcut received by `layers` (1-based, increasing) alone, each
    /// from a_{l−s}, instead of by every s-th layer: a residual MLP with a stem layer before its
    /// blocks of two joins layers 3, 5, … (`[3, 5]`), which no span alone says.
    ///
    /// Refused: no shortcut span, a layer below s or beyond the depth, layers out of increasing
    /// order or repeated, and a layer whose width is not a_{l−s}'s (a named layer is meant to
    /// receive it, so it is not skipped as the span's rule skips one).
    pub fn with_shortcut_layers(self, layers: Vec<usize>) -> Result<Dense, Error> {
        let Some(s) = self.shortcut else {
            return Err(Error::invalid("shortcut layers", "they need a shortcut span"));
        };
        let widths = self.widths();
        for (k, &l) in layers.iter().enumerate() {
            let place = || format!("shortcut layer {l}");
            if l < s || l > self.layers.len() {
                return Err(Error::invalid(
                    place(),
                    format!("it must be between the span {s} and the number of layers {}", self.layers.len()),
                ));
            }
            if k > 0 && layers[k - 1] >= l {
                return Err(Error::invalid(
                    place(),
                    format!("it follows layer {}: list them in increasing order, once each", layers[k - 1]),
                ));
            }
            if widths[l - s] != widths[l] {
                return Err(Error::invalid(
                    place(),
                    format!("it has width {} but a_{} has width {}", widths[l], l - s, widths[l - s]),
                ));
            }
        }
        Ok(Dense { joins: Some(layers), ..self })
    }

    /// The same network with layer l normalised by `norms[l − 1]` where it is `Some`
    /// ([`LayerNorm`]: its input, or its Linear output, as the norm's [`NormAt`] says). A
    /// shortcut still carries a_{l−s} itself, not a normalisation.
    ///
    /// Refused: another number of entries than layers, γ or β of another length than the values
    /// normalised (the layer's input width, or its own) or not finite, ε not finite and positive.
    pub fn with_norms(self, norms: Vec<Option<LayerNorm>>) -> Result<Dense, Error> {
        Error::check_len(|| "norms (one per layer)".into(), self.layers.len(), norms.len())?;
        let widths = self.widths();
        for (idx, norm) in norms.iter().enumerate() {
            if let Some(norm) = norm {
                norm.check(idx + 1, norm_width(norm, &widths, idx + 1))?;
            }
        }
        Ok(Dense { norms, ..self })
    }

    /// Each layer's normalisation, if any (one entry per layer).
    pub fn norms(&self) -> &[Option<LayerNorm>] {
        &self.norms
    }

    /// The same network with its shortcut joining as `skip` says ([`Skip::PreActivation`] unless
    /// set). Without a shortcut it changes nothing.
    pub fn with_skip(self, skip: Skip) -> Dense {
        Dense { skip, ..self }
    }

    /// Where the shortcut joins.
    pub fn skip(&self) -> Skip {
        self.skip
    }

    /// The layers.
    pub fn layers(&self) -> &[DenseLayer] {
        &self.layers
    }

    /// The shortcut span, if any.
    pub fn shortcut(&self) -> Option<usize> {
        self.shortcut
    }

    /// n_0, the width of the input.
    pub fn input_width(&self) -> usize {
        self.layers[0].weight[0].len()
    }

    /// n_L, the width of the output.
    pub fn output_width(&self) -> usize {
        self.layers[self.layers.len() - 1].weight.len()
    }

    /// n_0, n_1, …, n_L.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.input_width()).chain(self.layers.iter().map(|l| l.weight.len())).collect()
    }

    /// The layers l (1-based) that receive a shortcut from a_{l−s}: those named by
    /// [`Dense::with_shortcut_layers`], or else those with s | l and equal widths.
    pub fn shortcut_layers(&self) -> Vec<usize> {
        (1..=self.layers.len()).filter(|&l| self.shortcut_from(l).is_some()).collect()
    }

    /// Whether the shortcut's layers were named ([`Dense::with_shortcut_layers`]) rather than
    /// taken from the span's rule.
    pub fn names_shortcut_layers(&self) -> bool {
        self.joins.is_some()
    }

    /// The outputs for a batch of inputs (one row per sample).
    pub fn forward(&self, input: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, Error> {
        self.check_rows("input", input, self.input_width())?;
        let tape = Tape::new();
        let params = Params::record(&tape, self);
        Ok(input.iter().map(|x| self.record_sample(&tape, &params, x).0.iter().map(|v| v.value()).collect()).collect())
    }

    /// The loss and every gradient for a batch (one row per sample in `input` and `target`).
    pub fn gradients(&self, input: &[Vec<f64>], target: &[Vec<f64>], loss: Loss) -> Result<DenseGradients, Error> {
        self.gradients_over(input, target, loss, input.len() as f64)
    }

    /// [`Dense::gradients`] with the batch's sum S = Σ_b Σ_j ℓ_bj divided by `denominator`
    /// instead of B: L = S / denominator, and every gradient is the tape's ∂S/∂θ divided once.
    /// The denominator must be finite and positive.
    pub fn gradients_over(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
    ) -> Result<DenseGradients, Error> {
        self.check_batch(input, target, loss, denominator)?;
        Ok(self.tape_gradients(input, target, loss, denominator, Tape::backward))
    }

    /// For each parameter, [`Tape::backward_error_scales`]' estimate of the rounding error of its
    /// gradient, in units of the unit roundoff, divided by `denominator`: a correct backward pass
    /// in precision u gets ∂L/∂θ to within about u times it. Where the pass's sums cancel (Wᵀδ
    /// whose terms nearly cancel, a cross-entropy seed (Σt)·softmax − t with soft targets) it is
    /// far larger than the gradient. `loss` and `output` are `gradients_over`'s.
    ///
    /// Memory is a tape of the whole batch, as for `gradients_over`;
    /// [`Dense::backprop_error_scales_over`] gives the same bits without it.
    pub fn error_scales_over(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
    ) -> Result<DenseGradients, Error> {
        self.check_batch(input, target, loss, denominator)?;
        Ok(self.tape_gradients(input, target, loss, denominator, Tape::backward_error_scales))
    }

    /// Records the batch's loss on a tape and reads every parameter's adjoint from `sweep`. The
    /// batch is validated.
    fn tape_gradients(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
        sweep: for<'t> fn(&'t Tape, Var<'t>) -> Gradients,
    ) -> DenseGradients {
        let tape = Tape::new();
        let params = Params::record(&tape, self);
        let mut sum: Option<Var<'_>> = None;
        let mut output = Vec::with_capacity(input.len());
        for (x, t) in input.iter().zip(target) {
            let (y, z) = self.record_sample(&tape, &params, x);
            // lse(y) for the cross-entropy, with m = max_j y_j a constant: lse(y) = m + ln Σ e^{y−m}
            // holds for any m, so its gradient (softmax(y)) is right while no e^{y−m} exceeds 1.
            let lse = (loss == Loss::CrossEntropy).then(|| {
                let m = y.iter().map(|v| v.value()).fold(f64::NEG_INFINITY, f64::max);
                let mut exps = y.iter().map(|&v| (v - m).exp());
                let first = exps.next().expect("a validated layer has at least one unit");
                (exps.fold(first, |acc, e| acc + e).ln()) + m
            });
            for j in 0..y.len() {
                let term = match loss {
                    Loss::SquaredError => (y[j] - t[j]).square(),
                    Loss::BinaryCrossEntropy => z[j].activate(Activation::Softplus) - t[j] * z[j],
                    Loss::Linear => t[j] * y[j],
                    Loss::BceWithLogits => y[j].activate(Activation::Softplus) - t[j] * y[j],
                    Loss::CrossEntropy => lse.expect("computed for the cross-entropy") * t[j] - t[j] * y[j],
                };
                sum = Some(sum.map_or(term, |s| s + term));
            }
            output.push(y.iter().map(|v| v.value()).collect());
        }
        let sum = sum.expect("a validated batch has at least one sample and one output");
        let grads = sweep(&tape, sum);
        let batch = denominator;
        DenseGradients {
            loss: sum.value() / batch,
            output,
            weight: params
                .weight
                .iter()
                .map(|layer| layer.iter().map(|row| row.iter().map(|&w| grads.wrt(w) / batch).collect()).collect())
                .collect(),
            bias: params.bias.iter().map(|layer| layer.iter().map(|&b| grads.wrt(b) / batch).collect()).collect(),
            norm: params
                .norm
                .iter()
                .map(|norm| {
                    norm.as_ref().map(|(gamma, beta)| NormGradients {
                        weight: gamma.iter().map(|&g| grads.wrt(g) / batch).collect(),
                        bias: beta.iter().map(|&b| grads.wrt(b) / batch).collect(),
                    })
                })
                .collect(),
        }
    }

    /// Refuses what [`Dense::gradients_over`] refuses: a batch of the wrong shape or not finite, a
    /// denominator not finite and positive, a loss the output layer cannot take.
    fn check_batch(&self, input: &[Vec<f64>], target: &[Vec<f64>], loss: Loss, denominator: f64) -> Result<(), Error> {
        // The batch first: an empty one is what makes `gradients`' denominator B zero.
        self.check_rows("input", input, self.input_width())?;
        self.check_rows("target", target, self.output_width())?;
        Error::check_len(|| "target rows (samples)".into(), input.len(), target.len())?;
        if !(denominator.is_finite() && denominator > 0.0) {
            return Err(Error::invalid("denominator", format!("{denominator} is not a finite number > 0")));
        }
        let last = self.layers[self.layers.len() - 1].activation;
        if loss == Loss::BinaryCrossEntropy && last != Activation::Sigmoid {
            return Err(Error::invalid(
                "loss",
                format!("binary cross-entropy needs a sigmoid output layer, not {}", last.name()),
            ));
        }
        if loss == Loss::BinaryCrossEntropy
            && self.skip == Skip::Identity
            && self.shortcut_from(self.layers.len()).is_some()
        {
            return Err(Error::invalid(
                "loss",
                "binary cross-entropy needs the sigmoid's output, and an identity shortcut adds to the last layer's",
            ));
        }
        Ok(())
    }

    /// The index l − s of the activation layer l (1-based) receives through its shortcut.
    fn shortcut_from(&self, l: usize) -> Option<usize> {
        // n_k without building `widths()`: this runs per layer and sample, so O(1), not O(L).
        let width = |k: usize| if k == 0 { self.input_width() } else { self.layers[k - 1].weight.len() };
        let joins = |s: usize| match &self.joins {
            Some(joins) => joins.binary_search(&l).is_ok(),
            None => l.is_multiple_of(s) && width(l - s) == width(l),
        };
        self.shortcut.filter(|&s| joins(s)).map(|s| l - s)
    }

    /// Records one sample's forward pass; returns the last layer's outputs and pre-activations.
    fn record_sample<'t>(&self, tape: &'t Tape, params: &Params<'t>, x: &[f64]) -> (Vec<Var<'t>>, Vec<Var<'t>>) {
        let mut a: Vec<Vec<Var<'t>>> = vec![x.iter().map(|&v| tape.var(v)).collect()];
        let mut z_last = Vec::new();
        for (idx, layer) in self.layers.iter().enumerate() {
            let l = idx + 1;
            let shortcut_from = self.shortcut_from(l);
            let (into_z, into_a) = match self.skip {
                Skip::PreActivation => (shortcut_from, None),
                Skip::Identity => (None, shortcut_from),
            };
            let norm = self.norms[idx].as_ref().zip(params.norm[idx].as_ref());
            let normed = match norm {
                Some((n, (gamma, beta))) if n.at == NormAt::Input => Some(n.record(tape, gamma, beta, &a[l - 1])),
                _ => None,
            };
            let prev = normed.as_ref().unwrap_or(&a[l - 1]);
            let linear = (params.weight[idx].iter().zip(&params.bias[idx])).map(|(row, &bias)| {
                // Σ_i W[j][i]·a[i], summed left to right, then + b[j].
                let mut terms = row.iter().zip(prev).map(|(&w, &u)| w * u);
                let first = terms.next().expect("a validated layer has at least one input");
                terms.fold(first, |acc, t| acc + t) + bias
            });
            // Then (+ the shortcut), unit by unit; or, with a normalisation of the Linear output,
            // the whole normalisation first.
            let z: Vec<Var<'t>> = match norm {
                Some((n, (gamma, beta))) if n.at == NormAt::PreActivation => {
                    let h: Vec<Var<'t>> = linear.collect();
                    let y = n.record(tape, gamma, beta, &h);
                    y.iter().enumerate().map(|(j, &v)| into_z.map_or(v, |from| v + a[from][j])).collect()
                }
                _ => linear.enumerate().map(|(j, acc)| into_z.map_or(acc, |from| acc + a[from][j])).collect(),
            };
            // f(z[j]), then (identity skip) + a_{l−s}[j].
            let out = z.iter().enumerate().map(|(j, v)| {
                let fz = v.activate(layer.activation);
                into_a.map_or(fz, |from| a[from][j] + fz)
            });
            a.push(out.collect());
            z_last = z;
        }
        (a.pop().expect("at least one layer"), z_last)
    }

    fn check_rows(&self, what: &str, rows: &[Vec<f64>], width: usize) -> Result<(), Error> {
        if rows.is_empty() {
            return Err(Error::invalid(what, "the batch is empty"));
        }
        for (b, row) in rows.iter().enumerate() {
            Error::check_len(|| format!("{what} row {b}"), width, row.len())?;
            for (i, &v) in row.iter().enumerate() {
                Error::check_finite(|| format!("{what} row {b} column {i}"), v)?;
            }
        }
        Ok(())
    }
}

/// The number of values layer l's `norm` normalises: its input's width, or its own.
pub(crate) fn norm_width(norm: &LayerNorm, widths: &[usize], l: usize) -> usize {
    norm.width(widths[l - 1], widths[l])
}

/// Per layer, a (γ, β) pair of `zero`s as wide as what its normalisation normalises, or `None`
/// where it has none: where the sweeps sum those parameters' gradients.
pub(crate) fn per_norm_parameter<T: Clone>(dense: &Dense, zero: T) -> Vec<Option<(Vec<T>, Vec<T>)>> {
    let widths = dense.widths();
    (dense.norms.iter().enumerate())
        .map(|(idx, norm)| {
            norm.as_ref().map(|norm| {
                let n = norm_width(norm, &widths, idx + 1);
                (vec![zero.clone(); n], vec![zero.clone(); n])
            })
        })
        .collect()
}

/// Every weight and bias (and each normalisation's γ and β) recorded once as a leaf, shared by
/// all samples of a batch.
struct Params<'t> {
    weight: Vec<Vec<Vec<Var<'t>>>>,
    bias: Vec<Vec<Var<'t>>>,
    norm: Vec<Option<(Vec<Var<'t>>, Vec<Var<'t>>)>>,
}

impl<'t> Params<'t> {
    fn record(tape: &'t Tape, net: &Dense) -> Params<'t> {
        let widths = net.widths();
        Params {
            weight: net
                .layers
                .iter()
                .map(|layer| layer.weight.iter().map(|row| row.iter().map(|&w| tape.var(w)).collect()).collect())
                .collect(),
            bias: net
                .layers
                .iter()
                .map(|layer| match &layer.bias {
                    Some(b) => b.iter().map(|&v| tape.var(v)).collect(),
                    None => (0..layer.weight.len()).map(|_| tape.var(0.0)).collect(),
                })
                .collect(),
            norm: net
                .norms
                .iter()
                .enumerate()
                .map(|(idx, norm)| {
                    norm.as_ref().map(|norm| {
                        let width = norm_width(norm, &widths, idx + 1);
                        let leaves = |values: &Option<Vec<f64>>, absent: f64| -> Vec<Var<'t>> {
                            (0..width).map(|i| tape.var(values.as_ref().map_or(absent, |v| v[i]))).collect()
                        };
                        (leaves(&norm.weight, 1.0), leaves(&norm.bias, 0.0))
                    })
                })
                .collect(),
        }
    }
}
