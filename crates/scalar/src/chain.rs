//! The single-neuron chain: the article's model, its exact gradients and the bound on them.
//!
//! Layer d = 1…D (layer 1 at the input) has one neuron with weight w_d, optional bias b_d and
//! activation f_d. With a shortcut of span s, the neuron at every layer m = s, 2s, 3s, … also
//! receives the output of the neuron s layers below it, in one of two forms ([`Skip`]). The
//! pre-activation form ([`Skip::PreActivation`], the default and the form gradlab had first) adds
//! it before f:
//!
//! ```text
//! a_0 = x,   u_d = a_{d−1},   z_d = w_d·u_d + b_d (+ a_{d−s} when s | d),   a_d = f_d(z_d)
//! y = a_D,   L = (y − ŷ)²
//! ```
//!
//! Backward, with δ_d = ∂L/∂z_d ([`Chain::gradients_closed_form`]):
//!
//! ```text
//! δ_D = 2(y − ŷ)·f′_D(z_D)
//! δ_d = f′_d(z_d)·(δ_{d+1}·w_{d+1} + [s | d, d + s ≤ D]·δ_{d+s})
//! ∂L/∂w_d = δ_d·u_d,   ∂L/∂b_d = δ_d,   ∂L/∂x = δ_1·w_1 + [s ≤ D]·δ_s
//! ∂L/∂a_D = 2(y − ŷ),   ∂L/∂a_d = δ_{d+1}·w_{d+1} + [s | d, d + s ≤ D]·δ_{d+s}   (d < D)
//! ```
//!
//! The identity form ([`Skip::Identity`]) adds it after f, so ∂a_{d+s}/∂a_d = 1 instead of
//! f′_{d+s}(z_{d+s})·1: the skipped path bypasses f′, and the recursion carries ∂L/∂a_{d+s} where
//! the pre-activation form carries δ_{d+s} (docs/derivation.md §5a):
//!
//! ```text
//! z_d = w_d·u_d + b_d,   a_d = f_d(z_d) (+ a_{d−s} when s | d)
//! ∂L/∂a_d = δ_{d+1}·w_{d+1} + [s | d, d + s ≤ D]·∂L/∂a_{d+s}   (d < D),   δ_d = f′_d(z_d)·∂L/∂a_d
//! ∂L/∂x = δ_1·w_1 + [s ≤ D]·∂L/∂a_s
//! ```
//!
//! ∂L/∂a_d, the gradient with respect to layer d's output, is the **backward factor**: what the
//! backward recursion has made of the seed 2(y − ŷ) by the time it reaches layer d. The weight
//! gradient multiplies it by the layer's own f′_d(z_d) and by the forward signal u_d, so the two
//! can trend differently with depth.
//!
//! Without a shortcut this unrolls to ∂L/∂w_d = 2(y−ŷ)·u_d·f′_d(z_d)·∏_{k>d} w_k·f′_k(z_k), and
//! since |f′_k| ≤ sup|f′_k| the article's bound follows ([`Chain::bound`]):
//!
//! ```text
//! |∂L/∂w_d| ≤ 2|y−ŷ|·|u_d|·∏_{k≥d} sup|f′_k|·∏_{k>d} |w_k|
//! ```
//!
//! For sigmoid, sup|σ′| = 1/4, so the gradient at layer d shrinks at least like (1/4)^(D−d+1)·∏|w|:
//! it vanishes unless |w| > 4 — and where |w_k·σ′(z_k)| > 1 layer after layer, it explodes.
//!
//! [`Chain::gradients_ext`] repeats the closed form in [`Ext`] arithmetic, whose exponent does
//! not overflow, so the sign and log10 |∂L/∂w_d| ([`Magnitudes`]) stay exact where the `f64` value
//! underflows to 0 or overflows to ∞ (a sigmoid chain of depth 100,000 has gradients near
//! 10^−60,000).

use crate::activation::Activation;
use crate::error::Error;
use crate::ext::Ext;
use crate::format::{Fate, FloatFormat};
use crate::skip::Skip;
use crate::tape::Tape;

/// A validated single-neuron chain (see the [module docs](self) for the model).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    weights: Vec<f64>,
    activations: Vec<Activation>,
    biases: Option<Vec<f64>>,
    shortcut: Option<usize>,
    skip: Skip,
}

/// The forward pass, layer by layer (index d − 1 holds layer d).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// z_d, the pre-activation of layer d.
    pub pre_activation: Vec<f64>,
    /// u_d = a_{d−1}, the input of layer d (u_1 = x).
    pub input: Vec<f64>,
    /// y = a_D.
    pub output: f64,
}

/// The forward pass in [`Ext`] arithmetic: the same bits as [`Trace`] wherever `f64` stays in
/// its normal range, and exact where activations underflow or overflow `f64` (a ReLU chain whose
/// activations shrink to 10^−400 still has non-zero gradients).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtTrace {
    /// z_d.
    pub pre_activation: Vec<Ext>,
    /// u_d = a_{d−1}.
    pub input: Vec<Ext>,
    /// y = a_D.
    pub output: Ext,
}

/// Gradients of L = (y − ŷ)² in `f64` (index d − 1 holds layer d).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainGradients {
    /// L.
    pub loss: f64,
    /// y.
    pub output: f64,
    /// ∂L/∂w_d.
    pub weight: Vec<f64>,
    /// ∂L/∂b_d (computed whether or not the chain has biases: it is δ_d).
    pub bias: Vec<f64>,
    /// ∂L/∂a_d, the gradient with respect to layer d's output (the backward factor).
    pub layer_output: Vec<f64>,
    /// ∂L/∂x.
    pub input: f64,
}

/// The same gradients in [`Ext`]: exact to rounding whatever their magnitude.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtGradients {
    /// ∂L/∂w_d.
    pub weight: Vec<Ext>,
    /// ∂L/∂b_d = δ_d.
    pub bias: Vec<Ext>,
    /// ∂L/∂a_d, the gradient with respect to layer d's output (the backward factor).
    pub layer_output: Vec<Ext>,
    /// ∂L/∂x.
    pub input: Ext,
}

impl Chain {
    /// A chain with weight `weights[d−1]` and activation `activations[d−1]` at layer d, optional
    /// biases, and an optional shortcut span s (1 ≤ s ≤ D; the article uses 2 or 3).
    ///
    /// Refused: an empty chain, lengths that disagree, a non-finite weight, bias or leaky slope.
    pub fn new(
        weights: Vec<f64>,
        activations: Vec<Activation>,
        biases: Option<Vec<f64>>,
        shortcut: Option<usize>,
    ) -> Result<Chain, Error> {
        let depth = weights.len();
        if depth == 0 {
            return Err(Error::invalid("chain", "depth must be at least 1"));
        }
        Error::check_len(|| "chain activations".into(), depth, activations.len())?;
        for (i, &w) in weights.iter().enumerate() {
            Error::check_finite(|| format!("chain layer {} weight", i + 1), w)?;
        }
        for (i, &f) in activations.iter().enumerate() {
            if let Activation::LeakyRelu { slope } = f {
                Error::check_finite(|| format!("chain layer {} leaky_relu slope", i + 1), slope)?;
            }
        }
        if let Some(b) = &biases {
            Error::check_len(|| "chain biases".into(), depth, b.len())?;
            for (i, &v) in b.iter().enumerate() {
                Error::check_finite(|| format!("chain layer {} bias", i + 1), v)?;
            }
        }
        if let Some(s) = shortcut {
            if s == 0 || s > depth {
                return Err(Error::invalid(
                    "chain shortcut",
                    format!("span {s} must be between 1 and the depth {depth}"),
                ));
            }
        }
        Ok(Chain { weights, activations, biases, shortcut, skip: Skip::PreActivation })
    }

    /// The same chain with its shortcut joining in `skip`'s form (a chain from [`Chain::new`]
    /// uses [`Skip::PreActivation`]). Without a shortcut the form changes nothing.
    pub fn with_skip(self, skip: Skip) -> Chain {
        Chain { skip, ..self }
    }

    /// A chain of `weights.len()` layers that all use `activation`, without biases or shortcut.
    pub fn uniform(activation: Activation, weights: Vec<f64>) -> Result<Chain, Error> {
        let depth = weights.len();
        Chain::new(weights, vec![activation; depth], None, None)
    }

    /// D, the number of layers.
    pub fn depth(&self) -> usize {
        self.weights.len()
    }

    /// w_1…w_D.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// f_1…f_D.
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// b_1…b_D, if the chain has biases.
    pub fn biases(&self) -> Option<&[f64]> {
        self.biases.as_deref()
    }

    /// The shortcut span s, if any.
    pub fn shortcut(&self) -> Option<usize> {
        self.shortcut
    }

    /// Where the shortcut joins: before f ([`Skip::PreActivation`]) or after it.
    pub fn skip(&self) -> Skip {
        self.skip
    }

    fn bias(&self, layer_idx: usize) -> f64 {
        self.biases.as_ref().map_or(0.0, |b| b[layer_idx])
    }

    /// Whether layer d (1-based) receives a shortcut from layer d − s.
    pub fn has_shortcut_into(&self, layer: usize) -> bool {
        self.shortcut.is_some_and(|s| layer.is_multiple_of(s))
    }

    /// d − s, the layer whose output a shortcut feeds into layer d, if one does.
    fn shortcut_from(&self, layer: usize) -> Option<usize> {
        self.shortcut.filter(|&s| layer.is_multiple_of(s)).map(|s| layer - s)
    }

    /// The forward pass from input x.
    pub fn forward(&self, x: f64) -> Trace {
        let (pre_activation, mut a) = self.forward_in(x, |f, z| f.value(z), |v| v);
        let output = a.pop().expect("depth ≥ 1");
        Trace { pre_activation, input: a, output }
    }

    /// The forward pass in [`Ext`] arithmetic (exact beyond `f64`'s range).
    pub fn forward_ext(&self, x: f64) -> ExtTrace {
        let (pre_activation, mut a) = self.forward_in(Ext::from_f64(x), |f, z| f.value_ext(z), Ext::from_f64);
        let output = a.pop().expect("depth ≥ 1");
        ExtTrace { pre_activation, input: a, output }
    }

    /// z_1…z_D and a_0…a_D in any number type `T` (`f64` or [`Ext`]), written once.
    fn forward_in<T>(&self, x: T, value: impl Fn(Activation, T) -> T, lift: impl Fn(f64) -> T) -> (Vec<T>, Vec<T>)
    where
        T: Copy + std::ops::Mul<Output = T> + std::ops::Add<Output = T>,
    {
        let depth = self.depth();
        let mut a = Vec::with_capacity(depth + 1); // a_0 … a_D
        a.push(x);
        let mut pre_activation = Vec::with_capacity(depth);
        for d in 1..=depth {
            let mut z = lift(self.weights[d - 1]) * a[d - 1] + lift(self.bias(d - 1));
            let from = self.shortcut_from(d);
            if let (Some(from), Skip::PreActivation) = (from, self.skip) {
                z = z + a[from];
            }
            pre_activation.push(z);
            let mut out = value(self.activations[d - 1], z);
            if let (Some(from), Skip::Identity) = (from, self.skip) {
                out = out + a[from];
            }
            a.push(out);
        }
        (pre_activation, a)
    }

    /// L = (y − ŷ)² for input x and target ŷ.
    pub fn loss(&self, x: f64, target: f64) -> f64 {
        let diff = self.forward(x).output - target;
        diff * diff
    }

    /// Gradients by recording the chain on a [`Tape`] and running [`Tape::backward`].
    pub fn gradients_tape(&self, x: f64, target: f64) -> ChainGradients {
        let depth = self.depth();
        let tape = Tape::with_capacity(8 * depth + 4);
        let input = tape.var(x);
        let weights: Vec<_> = self.weights.iter().map(|&w| tape.var(w)).collect();
        let biases: Vec<_> = (0..depth).map(|i| tape.var(self.bias(i))).collect();
        let mut a = vec![input];
        for d in 1..=depth {
            let mut z = weights[d - 1] * a[d - 1] + biases[d - 1];
            let from = self.shortcut_from(d);
            if let (Some(from), Skip::PreActivation) = (from, self.skip) {
                z = z + a[from];
            }
            let mut out = z.activate(self.activations[d - 1]);
            if let (Some(from), Skip::Identity) = (from, self.skip) {
                out = out + a[from];
            }
            a.push(out);
        }
        let output = a[depth];
        let loss = (output - target).square();
        let grads = tape.backward(loss);
        ChainGradients {
            loss: loss.value(),
            output: output.value(),
            weight: grads.wrt_all(&weights),
            bias: grads.wrt_all(&biases),
            layer_output: grads.wrt_all(&a[1..]),
            input: grads.wrt(input),
        }
    }

    /// Gradients by the closed form of the [module docs](self), in `f64`.
    pub fn gradients_closed_form(&self, x: f64, target: f64) -> ChainGradients {
        let trace = self.forward(x);
        let diff = trace.output - target;
        let Backward { delta, layer_output, input } =
            self.deltas(&trace.pre_activation, 2.0 * diff, |f, z| f.derivative(z), |v| v);
        ChainGradients {
            loss: diff * diff,
            output: trace.output,
            weight: delta.iter().zip(&trace.input).map(|(&dz, &u)| dz * u).collect(),
            bias: delta,
            layer_output,
            input,
        }
    }

    /// Gradients by the closed form in [`Ext`] arithmetic, forward and backward: the same
    /// operations as [`Chain::gradients_closed_form`] (so the same bits wherever `f64` stays in
    /// its normal range), with an exponent that neither underflows nor overflows.
    pub fn gradients_ext(&self, x: f64, target: f64) -> ExtGradients {
        self.backward_ext(&self.forward_ext(x), target)
    }

    /// The backward half of [`Chain::gradients_ext`], from a forward pass `trace` (of
    /// [`Chain::forward_ext`]) the caller keeps: for callers that need u_d as well as the
    /// gradients, without a second forward pass.
    pub fn backward_ext(&self, trace: &ExtTrace, target: f64) -> ExtGradients {
        let seed = Ext::from_f64(2.0) * (trace.output - Ext::from_f64(target));
        let Backward { delta, layer_output, input } =
            self.deltas(&trace.pre_activation, seed, |f, z| f.derivative_ext(z), Ext::from_f64);
        ExtGradients {
            weight: delta.iter().zip(&trace.input).map(|(&dz, &u)| dz * u).collect(),
            bias: delta,
            layer_output,
            input,
        }
    }

    /// δ_d = ∂L/∂z_d and ∂L/∂a_d for every layer, and ∂L/∂x, in any number type `T` (`f64` or
    /// [`Ext`]): the recurrence of the module docs, written once.
    fn deltas<Z: Copy, T>(
        &self,
        pre_activation: &[Z],
        dl_dy: T,
        derivative: impl Fn(Activation, Z) -> T,
        lift: impl Fn(f64) -> T,
    ) -> Backward<T>
    where
        T: Copy + std::ops::Mul<Output = T> + std::ops::Add<Output = T>,
    {
        let depth = self.depth();
        // delta[k] and layer_output[k] hold layer D − k while they are filled from the output down.
        let mut delta: Vec<T> = Vec::with_capacity(depth);
        let mut layer_output: Vec<T> = Vec::with_capacity(depth);
        let mut dl_da = dl_dy; // ∂L/∂a_D
        for d in (1..=depth).rev() {
            layer_output.push(dl_da);
            let dz = derivative(self.activations[d - 1], pre_activation[d - 1]) * dl_da;
            delta.push(dz);
            // ∂L/∂a_{d−1} = δ_d·w_d, plus, when the shortcut leaves a_{d−1}, δ_{d−1+s}
            // (pre-activation) or ∂L/∂a_{d−1+s} (identity: the path bypasses f′).
            let mut next = dz * lift(self.weights[d - 1]);
            if let Some(s) = self.shortcut {
                let from = d - 1; // a_{d−1} feeds layer d − 1 + s when s | (d − 1 + s)
                if from.is_multiple_of(s) && from + s <= depth {
                    let joined = depth - (from + s);
                    next = next
                        + match self.skip {
                            Skip::PreActivation => delta[joined],
                            Skip::Identity => layer_output[joined],
                        };
                }
            }
            dl_da = next;
        }
        delta.reverse();
        layer_output.reverse();
        Backward { delta, layer_output, input: dl_da }
    }

    /// The article's bound on |∂L/∂w_d| per layer, in [`Ext`] (it underflows as the gradient
    /// does): 2|y−ŷ|·|u_d|·∏_{k≥d} sup|f′_k|·∏_{k>d}|w_k|. `None` for a chain with a shortcut,
    /// where the extra paths make it inapplicable.
    pub fn bound(&self, x: f64, target: f64) -> Option<Vec<Ext>> {
        self.bound_from(&self.forward_ext(x), target)
    }

    /// [`Chain::bound`] from a forward pass `trace` (of [`Chain::forward_ext`]) the caller keeps.
    pub fn bound_from(&self, trace: &ExtTrace, target: f64) -> Option<Vec<Ext>> {
        if self.shortcut.is_some() {
            return None;
        }
        let depth = self.depth();
        let mut bound = vec![Ext::ZERO; depth];
        // tail = 2|y−ŷ|·∏_{k>d} sup|f′_k|·|w_k|, built from the output down.
        let mut tail = Ext::from_f64(2.0) * (trace.output - Ext::from_f64(target)).abs();
        for d in (1..=depth).rev() {
            let with_layer = tail * self.activations[d - 1].sup_derivative();
            bound[d - 1] = with_layer * trace.input[d - 1].abs();
            tail = with_layer * self.weights[d - 1].abs();
        }
        Some(bound)
    }

    /// Sign, log10 |∂L/∂w_d| and where the exact gradients leave each float format.
    pub fn magnitudes(&self, x: f64, target: f64) -> Magnitudes {
        Magnitudes::of(&self.gradients_ext(x, target).weight)
    }
}

/// What [`Chain::deltas`] computes, layer d at index d − 1.
struct Backward<T> {
    /// δ_d = ∂L/∂z_d.
    delta: Vec<T>,
    /// ∂L/∂a_d.
    layer_output: Vec<T>,
    /// ∂L/∂x = ∂L/∂a_0.
    input: T,
}

/// Sign and log10 magnitude of each layer's gradient (index d − 1 holds layer d), exact beyond
/// `f64`'s range.
#[derive(Debug, Clone, PartialEq)]
pub struct Magnitudes {
    /// The exact gradients.
    pub exact: Vec<Ext>,
    /// −1, 0 or 1 per layer.
    pub sign: Vec<i8>,
    /// log10 |∂L/∂w_d| (−∞ only where the exact gradient is 0).
    pub log10_abs: Vec<f64>,
}

impl Magnitudes {
    /// Summarises exact gradients (layer d at index d − 1).
    pub fn of(exact: &[Ext]) -> Magnitudes {
        Magnitudes {
            exact: exact.to_vec(),
            sign: exact.iter().map(|g| g.signum() as i8).collect(),
            log10_abs: exact.iter().map(|g| g.log10_abs()).collect(),
        }
    }

    /// Counting from the output (layer D) down, the first layer d whose non-zero gradient rounds
    /// to 0 in `format`. `None` if none does.
    pub fn first_underflow(&self, format: FloatFormat) -> Option<usize> {
        self.first_from_output(format, Fate::Underflows)
    }

    /// Counting from the output down, the first layer whose gradient rounds to ±∞ in `format`.
    pub fn first_overflow(&self, format: FloatFormat) -> Option<usize> {
        self.first_from_output(format, Fate::Overflows)
    }

    fn first_from_output(&self, format: FloatFormat, fate: Fate) -> Option<usize> {
        (1..=self.exact.len()).rev().find(|&d| format.fate(self.exact[d - 1]) == fate)
    }
}
