//! The forum user's network, written the way people write it by hand: logistic units, squared
//! error, full-batch gradient descent, backprop as three loops — with switches for the classic
//! bugs, so the report can reproduce each one and show what catches it.
//!
//! Network: widths n_0 = 2 (inputs), n_1…n_H (hidden), n_{H+1} = 1 (output); every unit is
//! `a = σ(Σ_i W[j][i]·a_prev[i] + b[j])`. Loss L = (1/B)·Σ_b (y_b − t_b)².
//!
//! Backprop (correct): δ_out = (2/B)·(y − t)·σ′(z_out); δ_l = (W_{l+1}ᵀ·δ_{l+1}) ⊙ σ′(z_l);
//! ∂L/∂W_l = δ_l·a_{l−1}ᵀ, ∂L/∂b_l = δ_l, summed over the batch, with σ′(z) = a(1 − a).

use scalar::Activation;
use scalar::dense::{Dense, DenseLayer, Loss};
use scalar::rng::Rng;
use serde::Serialize;

/// A classic backprop bug, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Bug {
    /// The correct code.
    None,
    /// The hidden deltas omit the factor σ′(z).
    MissingSigmoidPrime,
    /// The data loader hands the network zeros instead of the inputs.
    InputsAsZeros,
    /// No bias unit anywhere.
    NoBias,
    /// Every weight starts at the same value.
    EqualInit,
}

impl Bug {
    /// The bugs the report reproduces, in order.
    pub const ALL: [Bug; 4] = [Bug::MissingSigmoidPrime, Bug::InputsAsZeros, Bug::NoBias, Bug::EqualInit];

    /// The input the code with this bug computes with, for the real input `x`.
    pub fn input_seen(self, x: [f64; 2]) -> [f64; 2] {
        if self == Bug::InputsAsZeros { [0.0, 0.0] } else { x }
    }
}

/// One parameter of a [`Net`] (layers 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `W[row][col]` of `layer`.
    Weight {
        /// The layer, 1-based.
        layer: usize,
        /// The unit (row).
        row: usize,
        /// The input (column).
        col: usize,
    },
    /// `b[unit]` of `layer`.
    Bias {
        /// The layer, 1-based.
        layer: usize,
        /// The unit.
        unit: usize,
    },
}

/// Weights `w[l][j][i]` and biases `b[l][j]` of a network of logistic units.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    /// Per layer, one row per unit.
    pub w: Vec<Vec<Vec<f64>>>,
    /// Per layer, one per unit (kept at 0 and never updated without bias).
    pub b: Vec<Vec<f64>>,
    /// Whether the biases are parameters.
    pub bias: bool,
}

impl Net {
    /// A network with `hidden` layers of `width` units; weights and biases from U(−1, 1), or
    /// every weight 0.5 for [`Bug::EqualInit`].
    pub fn init(hidden: usize, width: usize, bias: bool, bug: Bug, rng: &mut Rng) -> Net {
        let widths: Vec<usize> = std::iter::once(2).chain(std::iter::repeat_n(width, hidden)).chain([1]).collect();
        let draw = |rng: &mut Rng| if bug == Bug::EqualInit { 0.5 } else { rng.uniform(-1.0, 1.0) };
        let w =
            widths.windows(2).map(|p| (0..p[1]).map(|_| (0..p[0]).map(|_| draw(rng)).collect()).collect()).collect();
        let b = widths[1..].iter().map(|&n| (0..n).map(|_| if bias { draw(rng) } else { 0.0 }).collect()).collect();
        Net { w, b, bias }
    }

    /// The parameters as one vector: every weight (layer, row, column order), then the biases.
    pub fn flatten(&self) -> Vec<f64> {
        let mut p: Vec<f64> = self.w.iter().flatten().flatten().copied().collect();
        if self.bias {
            p.extend(self.b.iter().flatten());
        }
        p
    }

    /// The inverse of [`Net::flatten`].
    pub fn unflatten(&self, p: &[f64]) -> Net {
        let mut it = p.iter().copied();
        let mut next = || it.next().expect("as many parameters as flatten gives");
        let w = self.w.iter().map(|l| l.iter().map(|row| row.iter().map(|_| next()).collect()).collect()).collect();
        let b = if self.bias {
            self.b.iter().map(|l| l.iter().map(|_| next()).collect()).collect()
        } else {
            self.b.clone()
        };
        Net { w, b, bias: self.bias }
    }

    /// Where parameter `index` of [`Net::flatten`] sits (`None` past the last one).
    pub fn param(&self, index: usize) -> Option<Param> {
        let mut k = index;
        for (l, layer) in self.w.iter().enumerate() {
            let n = layer.len() * layer[0].len();
            if k < n {
                return Some(Param::Weight { layer: l + 1, row: k / layer[0].len(), col: k % layer[0].len() });
            }
            k -= n;
        }
        for (l, layer) in self.b.iter().enumerate() {
            if k < layer.len() {
                return Some(Param::Bias { layer: l + 1, unit: k });
            }
            k -= layer.len();
        }
        None
    }

    /// The same network on the oracle's tape (for gradient checking against it).
    pub fn to_oracle(&self) -> Dense {
        let layers = self
            .w
            .iter()
            .zip(&self.b)
            .map(|(w, b)| DenseLayer {
                weight: w.clone(),
                bias: self.bias.then(|| b.clone()),
                activation: Activation::Sigmoid,
            })
            .collect();
        Dense::new(layers, None).expect("a well-formed network")
    }

    /// Fills `a[l]` with a_l for one input (a_0 = x).
    fn forward(&self, x: &[f64], a: &mut [Vec<f64>]) {
        a[0].clear();
        a[0].extend_from_slice(x);
        for (l, (w, b)) in self.w.iter().zip(&self.b).enumerate() {
            let (prev, next) = a.split_at_mut(l + 1);
            next[0].clear();
            next[0].extend(
                w.iter()
                    .zip(b)
                    .map(|(row, &bj)| sigmoid(row.iter().zip(&prev[l]).map(|(wi, ai)| wi * ai).sum::<f64>() + bj)),
            );
        }
    }

    /// L and ∂L/∂parameters (flattened as [`Net::flatten`]) by hand-written backprop, with `bug`.
    pub fn backprop(&self, xs: &[[f64; 2]], ts: &[f64], bug: Bug) -> (f64, Vec<f64>) {
        let mut scratch = Scratch::default();
        let loss = self.backprop_into(xs, ts, bug, &mut scratch);
        (loss, scratch.grads)
    }

    /// [`Net::backprop`] into reusable buffers: returns L, leaves the gradient in `scratch.grads`.
    pub fn backprop_into(&self, xs: &[[f64; 2]], ts: &[f64], bug: Bug, scratch: &mut Scratch) -> f64 {
        let batch = xs.len() as f64;
        let n_weights: usize = self.w.iter().map(|l| l.len() * l[0].len()).sum();
        let n_biases: usize = self.b.iter().map(Vec::len).sum();
        let Scratch { a, delta, back, grads } = scratch;
        grads.clear();
        grads.resize(n_weights + n_biases, 0.0);
        a.resize(self.w.len() + 1, Vec::new());
        let mut loss = 0.0;
        for (x, &t) in xs.iter().zip(ts) {
            let input = bug.input_seen(*x);
            self.forward(&input, a);
            let y = a[a.len() - 1][0];
            loss += (y - t) * (y - t) / batch;
            delta.clear();
            delta.push(2.0 * (y - t) / batch * y * (1.0 - y));
            // Offsets of layer l's weights and biases in the flattened gradient, from the end.
            let (mut w_at, mut b_at) = (n_weights, n_weights + n_biases);
            for l in (0..self.w.len()).rev() {
                let n_in = a[l].len();
                w_at -= delta.len() * n_in;
                b_at -= delta.len();
                for (j, &dj) in delta.iter().enumerate() {
                    for (i, &ai) in a[l].iter().enumerate() {
                        grads[w_at + j * n_in + i] += dj * ai;
                    }
                    grads[b_at + j] += dj;
                }
                if l > 0 {
                    back.clear();
                    back.extend((0..n_in).map(|i| {
                        let sum: f64 = delta.iter().enumerate().map(|(j, dj)| self.w[l][j][i] * dj).sum();
                        if bug == Bug::MissingSigmoidPrime { sum } else { sum * a[l][i] * (1.0 - a[l][i]) }
                    }));
                    std::mem::swap(delta, back);
                }
            }
        }
        if !self.bias {
            grads.truncate(n_weights);
        }
        loss
    }

    /// One step of gradient descent, p ← p − η·∂L/∂p (gradients flattened as [`Net::flatten`]).
    pub fn step(&mut self, grads: &[f64], learning_rate: f64) {
        let mut g = grads.iter();
        let mut next = || g.next().expect("as many gradients as parameters");
        for w in self.w.iter_mut().flatten().flatten() {
            *w -= learning_rate * next();
        }
        if self.bias {
            for b in self.b.iter_mut().flatten() {
                *b -= learning_rate * next();
            }
        }
    }
}

/// Buffers reused across [`Net::backprop_into`] calls.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    a: Vec<Vec<f64>>,
    delta: Vec<f64>,
    back: Vec<f64>,
    /// The gradient of the last call, flattened as [`Net::flatten`].
    pub grads: Vec<f64>,
}

/// The oracle's loss of `net` on the real data: the reference a gradient check compares with.
pub fn oracle_loss(net: &Net, xs: &[[f64; 2]], ts: &[f64]) -> f64 {
    let input: Vec<Vec<f64>> = xs.iter().map(|x| x.to_vec()).collect();
    let target: Vec<Vec<f64>> = ts.iter().map(|&t| vec![t]).collect();
    net.to_oracle().gradients(&input, &target, Loss::SquaredError).expect("valid batch").loss
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}
