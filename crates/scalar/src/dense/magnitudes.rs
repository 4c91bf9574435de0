//! Per-layer gradient magnitudes of a dense network beyond `f64`'s range: the oracle for
//! `vectorised`'s diagnosis.
//!
//! The forward pass is the tape's, in `f64` (the same operations in the same order, without the
//! tape); backward runs sample by sample in [`Ext`], so no gradient underflows or overflows:
//!
//! ```text
//! g_L = the seed (∂S/∂a_L, or ∂S/∂z_L: then δ_L = g_L)
//! δ_l = g_l ⊙ f′_l(z_l)        g_{l−1}[i] = Σ_j W_l[j][i]·δ_l[j]     (shortcuts as in the module above)
//! ∂S/∂W_l[j][i] = Σ_b δ_l[b][j]·a_{l−1}[b][i]      ∂S/∂b_l[j] = Σ_b δ_l[b][j]
//! log10 ‖∂L/∂W_l‖ = ½·log10 Σ (∂S/∂W_l)² − log10 ν                       (and so for b and δ)
//! ```
//!
//! A layer normalisation ([`super::LayerNorm`]) passes adjoints back by the textbook formula in
//! `Ext` (`LayerNorm::input_adjoint_ext`): of the Linear output, between δ_l (whose norm is the
//! layer's ‖∂L/∂z_l‖) and the layer's weights; of the input, between the product's Σ_j W·δ and
//! g_{l−1}, the weights' gradients then reading the normalised input. Its parameters' gradients,
//! ∂S/∂γ_i = Σ_b ḡ_i·x̂_i and ∂S/∂β_i = Σ_b ḡ_i with ḡ the adjoint of its output y, are summed in
//! `Ext` too.

use super::{Dense, NormAt};
use crate::error::Error;
use crate::ext::Ext;
use crate::skip::Skip;

/// Where the seed enters (see [`Dense::magnitudes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedAt {
    /// ∂S/∂a_L: it passes through the last layer's f′.
    Output,
    /// ∂S/∂z_L.
    Logit,
}

/// One layer's magnitudes: log10 norms (−∞ for an exact 0) and forward summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerMagnitudes {
    /// log10 ‖∂L/∂W_l‖.
    pub log10_weight_grad_norm: f64,
    /// log10 ‖∂L/∂b_l‖.
    pub log10_bias_grad_norm: f64,
    /// log10 ‖∂L/∂z_l‖ over the batch.
    pub log10_delta_norm: f64,
    /// √(mean a_l²) over the batch and units.
    pub activation_rms: f64,
    /// mean f′_l(z_l)² over the batch and units.
    pub mean_square_derivative: f64,
    /// The layer's normalisation's, where it has one.
    pub norm: Option<NormMagnitudes>,
}

/// The log10 gradient norms of a layer normalisation's parameters (−∞ for an exact 0), whether or
/// not the file gives them (γ = 1 and β = 0 then, as [`super::NormGradients`] has them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormMagnitudes {
    /// log10 ‖∂L/∂γ‖.
    pub log10_weight_grad_norm: f64,
    /// log10 ‖∂L/∂β‖.
    pub log10_bias_grad_norm: f64,
}

/// One sample's forward pass ([`Dense::forward_trace`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// z_l at index l − 1.
    pub z: Vec<Vec<f64>>,
    /// a_l at index l (a_0, the input, at index 0).
    pub a: Vec<Vec<f64>>,
    /// The output y of layer l's [`super::LayerNorm`] at index l − 1, where it has one: its
    /// normalised input (what its product reads), or its normalised Linear output (z before the
    /// shortcut joins).
    pub normed: Vec<Option<Vec<f64>>>,
    /// Layer l's Linear output W_l·u + b_l at index l − 1, where a normalisation of it follows
    /// ([`super::NormAt::PreActivation`]).
    pub linear: Vec<Option<Vec<f64>>>,
}

impl Dense {
    /// The outputs a_L of a batch, in plain `f64` (the tape's operations).
    pub fn outputs(&self, input: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, Error> {
        self.check_rows("input", input, self.input_width())?;
        Ok(input.iter().map(|x| self.trace(x).a.pop().expect("at least one layer")).collect())
    }

    /// One sample's forward pass in plain `f64`, the tape's operations in its order: every z_l and
    /// a_l. A value that overflows stays ±∞ (or NaN), for the caller to locate.
    ///
    /// Refused: an input of the wrong width or not finite.
    pub fn forward_trace(&self, x: &[f64]) -> Result<Trace, Error> {
        self.check_rows("input", &[x.to_vec()], self.input_width())?;
        Ok(self.trace(x))
    }

    /// Every layer's [`LayerMagnitudes`] for `input`, backward from `seed` (one row per sample,
    /// as wide as the output; ∂S/∂a_L or ∂S/∂z_L as `at` says), gradients divided by `nu`.
    ///
    /// Refused: the checks of [`Dense::gradients`] on the input, a seed of the wrong shape or not
    /// finite, `nu` not positive and finite.
    pub fn magnitudes(
        &self,
        input: &[Vec<f64>],
        seed: &[Vec<f64>],
        at: SeedAt,
        nu: f64,
    ) -> Result<Vec<LayerMagnitudes>, Error> {
        self.check_rows("input", input, self.input_width())?;
        self.check_rows("seed", seed, self.output_width())?;
        Error::check_len(|| "seed rows (samples)".into(), input.len(), seed.len())?;
        if !(nu.is_finite() && nu > 0.0) {
            return Err(Error::invalid("nu", "must be positive and finite"));
        }
        let widths = self.widths();
        let n_layers = self.layers.len();
        let mut grad_w: Vec<Vec<Vec<Ext>>> =
            self.layers.iter().map(|l| vec![vec![Ext::ZERO; l.weight[0].len()]; l.weight.len()]).collect();
        let mut grad_b: Vec<Vec<Ext>> = widths[1..].iter().map(|&n| vec![Ext::ZERO; n]).collect();
        let mut delta_sq = vec![Ext::ZERO; n_layers];
        // Each normalisation's (∂S/∂γ, ∂S/∂β).
        let mut grad_norm = super::per_norm_parameter(self, Ext::ZERO);
        let mut a_sq = vec![0.0; n_layers];
        let mut d_sq = vec![0.0; n_layers];
        for (x, s) in input.iter().zip(seed) {
            let trace = self.trace(x);
            for idx in 0..n_layers {
                let f = self.layers[idx].activation;
                a_sq[idx] += trace.a[idx + 1].iter().map(|v| v * v).sum::<f64>();
                d_sq[idx] += trace.z[idx].iter().map(|&z| f.derivative(z).powi(2)).sum::<f64>();
            }
            // g[k]: ∂S/∂a_k for k = 1…L (index 0 unused: the input needs none).
            let mut g: Vec<Vec<Ext>> = widths.iter().map(|&n| vec![Ext::ZERO; n]).collect();
            g[n_layers] = s.iter().map(|&v| Ext::from_f64(v)).collect();
            for l in (1..=n_layers).rev() {
                let layer = &self.layers[l - 1];
                let from = self.shortcut_from(l);
                if let (Some(k), Skip::Identity) = (from, self.skip) {
                    let upper = g[l].clone();
                    for (gk, gl) in g[k].iter_mut().zip(upper) {
                        *gk = *gk + gl;
                    }
                }
                let delta: Vec<Ext> = if l == n_layers && at == SeedAt::Logit {
                    g[l].clone()
                } else {
                    g[l].iter().zip(&trace.z[l - 1]).map(|(&gv, &z)| gv * layer.activation.derivative(z)).collect()
                };
                if let (Some(k), Skip::PreActivation) = (from, self.skip) {
                    for (gk, &dj) in g[k].iter_mut().zip(&delta) {
                        *gk = *gk + dj;
                    }
                }
                delta_sq[l - 1] = delta.iter().fold(delta_sq[l - 1], |acc, &dj| acc + dj * dj);
                let norm = self.norms[l - 1].as_ref();
                // Through a normalisation of the Linear output: δ becomes the Linear output's.
                let delta = match (norm, &trace.linear[l - 1], &mut grad_norm[l - 1]) {
                    (Some(n), Some(h), Some((g_gamma, g_beta))) if n.at == NormAt::PreActivation => {
                        let normed = n.forward(h);
                        n.parameter_adjoints_ext(&normed, &delta, g_gamma, g_beta);
                        n.input_adjoint_ext(&normed, &delta)
                    }
                    _ => delta,
                };
                // What the weights read: the normalised input, where the layer normalises it.
                let u = match norm {
                    Some(n) if n.at == NormAt::Input => trace.normed[l - 1].as_ref().expect("traced with its norm"),
                    _ => &trace.a[l - 1],
                };
                for (j, &dj) in delta.iter().enumerate() {
                    grad_b[l - 1][j] = grad_b[l - 1][j] + dj;
                    for (i, &ui) in u.iter().enumerate() {
                        grad_w[l - 1][j][i] = grad_w[l - 1][j][i] + dj * ui;
                    }
                }
                let g_u: Vec<Ext> = (0..u.len())
                    .map(|i| delta.iter().enumerate().fold(Ext::ZERO, |sum, (j, &dj)| sum + dj * layer.weight[j][i]))
                    .collect();
                let g_u = match (norm, &mut grad_norm[l - 1]) {
                    (Some(n), Some((g_gamma, g_beta))) if n.at == NormAt::Input => {
                        let normed = n.forward(&trace.a[l - 1]);
                        n.parameter_adjoints_ext(&normed, &g_u, g_gamma, g_beta);
                        n.input_adjoint_ext(&normed, &g_u)
                    }
                    _ => g_u,
                };
                for (gi, gu) in g[l - 1].iter_mut().zip(g_u) {
                    *gi = *gi + gu;
                }
            }
        }
        let log10_norm = |sum_sq: Ext| 0.5 * sum_sq.log10_abs() - nu.log10();
        let sum_sq = |values: &mut dyn Iterator<Item = &Ext>| values.fold(Ext::ZERO, |acc, &v| acc + v * v);
        let elements = input.len() as f64;
        Ok((0..n_layers)
            .map(|idx| LayerMagnitudes {
                log10_weight_grad_norm: log10_norm(sum_sq(&mut grad_w[idx].iter().flatten())),
                log10_bias_grad_norm: log10_norm(sum_sq(&mut grad_b[idx].iter())),
                log10_delta_norm: log10_norm(delta_sq[idx]),
                activation_rms: (a_sq[idx] / (elements * widths[idx + 1] as f64)).sqrt(),
                mean_square_derivative: d_sq[idx] / (elements * widths[idx + 1] as f64),
                norm: grad_norm[idx].as_ref().map(|(g_gamma, g_beta)| NormMagnitudes {
                    log10_weight_grad_norm: log10_norm(sum_sq(&mut g_gamma.iter())),
                    log10_bias_grad_norm: log10_norm(sum_sq(&mut g_beta.iter())),
                }),
            })
            .collect())
    }

    /// One sample's forward pass in `f64`, in the tape's order: the input's normalisation (where
    /// the layer has one, [`super::LayerNorm`]), Σ_i W[j][i]·a[i] left to right, the Linear
    /// output's normalisation (where the layer has that one),
    /// then + b[j] (+ 0 without biases), then the pre-activation shortcut; a = f(z) (+ the
    /// identity shortcut).
    pub(super) fn trace(&self, x: &[f64]) -> Trace {
        let mut trace = Trace { z: Vec::new(), a: vec![x.to_vec()], normed: Vec::new(), linear: Vec::new() };
        for (idx, layer) in self.layers.iter().enumerate() {
            let l = idx + 1;
            let from = self.shortcut_from(l);
            let norm = self.norms[idx].as_ref();
            let input_norm = norm.filter(|n| n.at == NormAt::Input).map(|n| n.forward(&trace.a[l - 1]).y);
            let prev = input_norm.as_ref().unwrap_or(&trace.a[l - 1]);
            let h: Vec<f64> = layer
                .weight
                .iter()
                .enumerate()
                .map(|(j, row)| {
                    let mut terms = row.iter().zip(prev).map(|(&w, &u)| w * u);
                    let first = terms.next().expect("a validated layer has at least one input");
                    terms.fold(first, |acc, t| acc + t) + layer.bias.as_ref().map_or(0.0, |b| b[j])
                })
                .collect();
            let (z, normed, linear) = match norm {
                Some(n) if n.at == NormAt::PreActivation => {
                    let y = n.forward(&h).y;
                    (y.clone(), Some(y), Some(h))
                }
                _ => (h, input_norm, None),
            };
            let z: Vec<f64> = match (from, self.skip) {
                (Some(k), Skip::PreActivation) => z.iter().zip(&trace.a[k]).map(|(&v, &s)| v + s).collect(),
                _ => z,
            };
            trace.normed.push(normed);
            trace.linear.push(linear);
            let a = z
                .iter()
                .enumerate()
                .map(|(j, &v)| {
                    let fz = layer.activation.value(v);
                    match (from, self.skip) {
                        (Some(k), Skip::Identity) => trace.a[k][j] + fz,
                        _ => fz,
                    }
                })
                .collect();
            trace.z.push(z);
            trace.a.push(a);
        }
        trace
    }
}
