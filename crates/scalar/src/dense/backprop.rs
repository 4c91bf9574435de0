//! [`Dense::backprop_over`]: the tape's gradients of a dense network, bit for bit, without the
//! tape.
//!
//! The tape keeps a node for every operation of every sample (2 per multiply-add), so its memory
//! grows as B·P for P parameters: a 3-million-parameter network on a batch of 32 needs about
//! 20 GB. This module runs the same backward layer by layer, one sample at a time, keeping only
//! the gradients (P numbers) and one sample's forward pass; the memory is P plus the widths.
//!
//! Same bits, because it performs the tape's floating-point operations in the tape's order. The
//! tape's sweep ([`crate::tape`]) gives every node an adjoint that starts at 0.0 and receives `+=`
//! from the node's consumers in the reverse of their creation order. So:
//!
//! * samples run last to first, since a weight's adjoint receives one product per sample, the
//!   last sample's first: ∂S/∂W_l[j][i] = ((0 + δ_{B−1}[j]·a_{B−1}[i]) + …) + δ_0[j]·a_0[i];
//! * within a sample, layers run top to bottom and units last to first, each unit's shortcut
//!   before its products (the unit's nodes were made products first), so that ∂S/∂a[i] receives
//!   its terms in the tape's order, whatever the span s;
//! * the identity shortcut's sums f(z) + a_{l−s} come after every z of their layer on the tape,
//!   so they pass their adjoint down before the layer's products do;
//! * the loss's terms are differentiated with the tape's primitives and constants:
//!   (y − t)² by `powi` (1.0·(2·(y − t))), t·y as `t·y` (1.0·t), −t·y through a negation
//!   (−1.0·t), softplus through `activate` (1.0·σ), the cross-entropy's log-sum-exp through its
//!   sum, `ln` and `exp` nodes.
//!
//! The forward pass is [`Dense::forward_trace`]'s, which is the tape's. The loss is the sum of
//! the terms in the tape's order (samples first to last, outputs in order), divided once.
//! A property test in `tests/it/dense_backprop.rs` compares every bit with the tape.
//!
//! The sweep is written once over the tape's [`Adjoint`]: with `f64` it is the gradient; with
//! [`Tracked`] each adjoint also carries the estimate of its rounding error
//! ([`Dense::backprop_error_scales_over`], the bits of [`Dense::error_scales_over`]). Where the
//! tape has a node that receives one term through a factor ±1 (a sum's operand, `0 + x`), the
//! sweep passes its consumer's adjoint on unchanged, as the tape's rule does to the bit.

use super::{Dense, DenseGradients, Loss, NormAt, NormGradients};
use crate::activation::Activation;
use crate::error::Error;
use crate::skip::Skip;
use crate::tape::{Adjoint, Factor, Tracked};

impl Dense {
    /// [`Dense::gradients_over`]'s result, bit for bit (the same operations in the same order),
    /// without recording a tape: memory for the gradients and one sample's forward pass, instead
    /// of a node per operation of every sample. What the CLI's reference gradients run on.
    ///
    /// Refused: what [`Dense::gradients_over`] refuses.
    pub fn backprop_over(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
    ) -> Result<DenseGradients, Error> {
        self.sweep_over::<f64>(input, target, loss, denominator, &[])
    }

    /// [`Dense::backprop_over`] with the activation's derivative taken from the other side of its
    /// kink ([`Activation::other_side_derivative`]) at each of `branches`: the gradients code
    /// computes whose z rounded to the other sign there (or whose f′(0) is the other side's).
    /// The forward pass is unchanged (at a kink f is continuous). `report check` tries these
    /// where z is within the rounding of 0.
    ///
    /// Refused: what [`Dense::gradients_over`] refuses, and a branch outside the batch or the
    /// network, or at a layer whose activation has no kink.
    pub fn backprop_with_branches(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
        branches: &[OtherBranch],
    ) -> Result<DenseGradients, Error> {
        self.check_branches(input.len(), branches)?;
        self.sweep_over::<f64>(input, target, loss, denominator, branches)
    }

    /// [`Dense::backprop_error_scales_over`] with `branches` as [`Dense::backprop_with_branches`]
    /// takes them: the rounding error a correct backward pass makes where it took those branches.
    ///
    /// Refused: what [`Dense::backprop_with_branches`] refuses.
    pub fn backprop_error_scales_with_branches(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
        branches: &[OtherBranch],
    ) -> Result<DenseGradients, Error> {
        self.check_branches(input.len(), branches)?;
        self.sweep_over::<Tracked>(input, target, loss, denominator, branches)
    }

    /// Refuses a branch outside a batch of `samples` or the network, or at a layer whose
    /// activation has no kink.
    fn check_branches(&self, samples: usize, branches: &[OtherBranch]) -> Result<(), Error> {
        let widths = self.widths();
        for o in branches {
            let place = || format!("branch (sample {}, layer {}, unit {})", o.sample, o.layer, o.unit);
            if o.sample >= samples || o.layer == 0 || o.layer > self.layers.len() || o.unit >= widths[o.layer] {
                return Err(Error::invalid(place(), "outside the batch or the network"));
            }
            let f = self.layers[o.layer - 1].activation;
            if f.other_side_derivative(0.0).is_none() {
                return Err(Error::invalid(place(), format!("{} has no kink", f.name())));
            }
        }
        Ok(())
    }

    /// [`Dense::error_scales_over`]'s result, bit for bit, without recording a tape (memory for
    /// the parameters, as [`Dense::backprop_over`]): what `report check`'s scales run on.
    ///
    /// Refused: what [`Dense::gradients_over`] refuses.
    pub fn backprop_error_scales_over(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
    ) -> Result<DenseGradients, Error> {
        self.sweep_over::<Tracked>(input, target, loss, denominator, &[])
    }

    fn sweep_over<A: Adjoint>(
        &self,
        input: &[Vec<f64>],
        target: &[Vec<f64>],
        loss: Loss,
        denominator: f64,
        branches: &[OtherBranch],
    ) -> Result<DenseGradients, Error> {
        self.check_batch(input, target, loss, denominator)?;
        let widths = self.widths();
        let n_layers = self.layers.len();
        let mut weight: Vec<Vec<Vec<A>>> =
            self.layers.iter().map(|l| vec![vec![A::ZERO; l.weight[0].len()]; l.weight.len()]).collect();
        let mut bias: Vec<Vec<A>> = widths[1..].iter().map(|&n| vec![A::ZERO; n]).collect();
        let mut output = vec![Vec::new(); input.len()];
        let mut terms = vec![Vec::new(); input.len()];
        // ga[k]: the adjoint of a_k's nodes (k = 1…L; a_0's, the input's, are not needed).
        let mut ga: Vec<Vec<A>> = widths.iter().map(|&n| vec![A::ZERO; n]).collect();
        let mut gz: Vec<A> = Vec::new();
        // Each normalisation's (γ, β) adjoints.
        let mut norm = super::per_norm_parameter(self, A::ZERO);
        // The adjoint of a normalised input y, which the layer's products read instead of a_{l−1};
        // and of a Linear output that a normalisation reads.
        let mut g_normed: Vec<A> = Vec::new();
        let mut g_linear: Vec<A> = Vec::new();
        for b in (0..input.len()).rev() {
            let trace = self.trace(&input[b]);
            let y = &trace.a[n_layers];
            let z_last = &trace.z[n_layers - 1];
            for g in &mut ga {
                g.fill(A::ZERO);
            }
            // The loss's nodes were made after the sample's forward pass: differentiated first.
            let (sample_terms, z_seed) = loss_adjoints(loss, y, z_last, &target[b], &mut ga[n_layers]);
            terms[b] = sample_terms;
            output[b] = y.clone();
            for l in (1..=n_layers).rev() {
                let layer = &self.layers[l - 1];
                let from = self.shortcut_from(l);
                let (lower, upper) = ga.split_at_mut(l);
                let g_a = &upper[0];
                // The identity shortcut's sums, made after every z of the layer: a_{l−s} and f(z)
                // receive ∂S/∂a_l (f(z)'s adjoint is then ∂S/∂a_l itself, read below as g_a).
                if let (Some(k), Skip::Identity) = (from, self.skip) {
                    for (gk, &g) in lower[k].iter_mut().zip(g_a) {
                        gk.receive(g, Factor::One);
                    }
                }
                // δ = the adjoint of z: the loss's own terms at a logit (binary cross-entropy) or
                // nothing, then ∂S/∂f(z)·f′(z).
                gz.clear();
                let f = layer.activation;
                gz.extend(g_a.iter().zip(&trace.z[l - 1]).enumerate().map(|(j, (&g, &z))| {
                    let mut delta = if l == n_layers { z_seed.as_ref().map_or(A::ZERO, |s| s[j]) } else { A::ZERO };
                    let other = |o: &OtherBranch| (o.sample, o.layer, o.unit) == (b, l, j);
                    let derivative = match f.other_side_derivative(z) {
                        Some(d) if branches.iter().any(other) => d,
                        _ => f.derivative(z),
                    };
                    delta.receive(g, Factor::Times(derivative));
                    delta
                }));
                let layer_norm = self.norms[l - 1].as_ref();
                let normed = layer_norm.filter(|n| n.at == NormAt::Input).map(|n| n.forward(&trace.a[l - 1]));
                let a_in = normed.as_ref().map_or(&trace.a[l - 1], |n| &n.y);
                g_normed.clear();
                g_normed.resize(a_in.len(), A::ZERO);
                // A normalisation of the Linear output: its nodes were made after every unit's
                // products and before the shortcut's sums, so the sums go first, then its sweep
                // turns z's adjoint into the Linear output's.
                let joined_first = match layer_norm.filter(|n| n.at == NormAt::PreActivation) {
                    Some(n) => {
                        if let (Some(k), Skip::PreActivation) = (from, self.skip) {
                            for j in (0..gz.len()).rev() {
                                lower[k][j].receive(gz[j], Factor::One);
                            }
                        }
                        let linear = trace.linear[l - 1].as_ref().expect("traced where a normalisation reads it");
                        let (g_gamma, g_beta) = norm[l - 1].as_mut().expect("made for every normalised layer");
                        g_linear.clear();
                        g_linear.resize(gz.len(), A::ZERO);
                        n.backward(&n.forward(linear), &gz, g_gamma, g_beta, &mut g_linear);
                        std::mem::swap(&mut gz, &mut g_linear);
                        true
                    }
                    None => false,
                };
                for j in (0..gz.len()).rev() {
                    let delta = gz[j];
                    // The shortcut's sum is made after the unit's products (and its bias), so it
                    // is differentiated before them.
                    if let (Some(k), Skip::PreActivation, false) = (from, self.skip, joined_first) {
                        lower[k][j].receive(delta, Factor::One);
                    }
                    bias[l - 1][j].receive(delta, Factor::One);
                    let row = &layer.weight[j];
                    let grad_row = &mut weight[l - 1][j];
                    let g_in = if normed.is_some() { &mut g_normed } else { &mut lower[l - 1] };
                    for i in (0..row.len()).rev() {
                        grad_row[i].receive(delta, Factor::Times(a_in[i]));
                        g_in[i].receive(delta, Factor::Times(row[i]));
                    }
                }
                // The normalisation's nodes were made before the layer's products: a_{l−1}
                // receives its adjoint after theirs (and after every later shortcut's).
                if let (Some(n), Some(normed), Some((g_gamma, g_beta))) = (layer_norm, &normed, &mut norm[l - 1]) {
                    n.backward(normed, &g_normed, g_gamma, g_beta, &mut lower[l - 1]);
                }
            }
        }
        let mut sum: Option<f64> = None;
        for term in terms.iter().flatten() {
            sum = Some(sum.map_or(*term, |s| s + term));
        }
        let sum = sum.expect("a validated batch has at least one sample and one output");
        let report = |values: &[A]| values.iter().map(|&v| v.report() / denominator).collect::<Vec<f64>>();
        Ok(DenseGradients {
            loss: sum / denominator,
            output,
            weight: weight.iter().map(|w| w.iter().map(|row| report(row)).collect()).collect(),
            bias: bias.iter().map(|b| report(b)).collect(),
            norm: (norm.iter())
                .map(|n| {
                    n.as_ref().map(|(g_gamma, g_beta)| NormGradients { weight: report(g_gamma), bias: report(g_beta) })
                })
                .collect(),
        })
    }
}

/// A place where [`Dense::backprop_with_branches`] takes the activation's derivative from the
/// other side of its kink: sample (0-based), layer (1-based) and unit (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherBranch {
    /// The sample, 0-based.
    pub sample: usize,
    /// The layer, 1-based.
    pub layer: usize,
    /// The unit, 0-based.
    pub unit: usize,
}

/// One sample's loss terms (their values, in the tape's order) and their adjoints, in the tape's
/// operations: ∂S/∂y added into `g_y`, and for binary cross-entropy (whose terms read the logit z)
/// the adjoint z receives from them. Each term's node has the sum's adjoint, 1 (exact).
fn loss_adjoints<A: Adjoint>(loss: Loss, y: &[f64], z: &[f64], t: &[f64], g_y: &mut [A]) -> (Vec<f64>, Option<Vec<A>>) {
    let softplus = Activation::Softplus;
    // A negated product's node: −(1) = −1, through the negation.
    let negated = || {
        let mut product = A::ZERO;
        product.receive(A::ONE, Factor::MinusOne);
        product
    };
    match loss {
        Loss::SquaredError => {
            let terms = y.iter().zip(t).map(|(&y, &t)| (y + -t).powi(2)).collect();
            for ((g, &y), &t) in g_y.iter_mut().zip(y).zip(t) {
                // (y − t)'s node receives 1·(2·(y − t)); y receives it through the sum y + (−t).
                let mut diff = A::ZERO;
                diff.receive(A::ONE, Factor::Times(2.0 * (y + -t).powi(1)));
                g.receive(diff, Factor::One);
            }
            (terms, None)
        }
        Loss::Linear => {
            let terms = y.iter().zip(t).map(|(&y, &t)| t * y).collect();
            for (g, &t) in g_y.iter_mut().zip(t) {
                g.receive(A::ONE, Factor::Times(t));
            }
            (terms, None)
        }
        Loss::BceWithLogits => {
            let terms = y.iter().zip(t).map(|(&y, &t)| softplus.value(y) + -(t * y)).collect();
            for ((g, &y), &t) in g_y.iter_mut().zip(y).zip(t) {
                g.receive(negated(), Factor::Times(t));
                g.receive(A::ONE, Factor::Times(softplus.derivative(y)));
            }
            (terms, None)
        }
        Loss::BinaryCrossEntropy => {
            let terms = z.iter().zip(t).map(|(&z, &t)| softplus.value(z) + -(t * z)).collect();
            let seed = (z.iter().zip(t))
                .map(|(&z, &t)| {
                    let mut seed = A::ZERO;
                    seed.receive(negated(), Factor::Times(t));
                    seed.receive(A::ONE, Factor::Times(softplus.derivative(z)));
                    seed
                })
                .collect();
            (terms, Some(seed))
        }
        Loss::CrossEntropy => {
            // lse = ln(Σ_j e^{y_j + (−m)}) + m, made before the terms lse·t_j + (−(t_j·y_j)).
            let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = y.iter().map(|&v| (v + -m).exp()).collect();
            let sum = exps[1..].iter().fold(exps[0], |acc, &e| acc + e);
            let lse = sum.ln() + m;
            let terms = y.iter().zip(t).map(|(&y, &t)| lse * t + -(t * y)).collect();
            // The terms, last first: y_j receives −1·t_j, then lse 1·t_j.
            let mut g_lse = A::ZERO;
            for (g, &t) in g_y.iter_mut().zip(t).rev() {
                g.receive(negated(), Factor::Times(t));
                g_lse.receive(A::ONE, Factor::Times(t));
            }
            // Then lse's nodes: ln's argument (the exponentials' sum, whose operands pass it on)
            // receives lse's adjoint / Σ, and each difference y_j − m its exponential's adjoint
            // times e^{y_j − m}, which y_j receives.
            let mut g_sum = A::ZERO;
            g_sum.receive(g_lse, Factor::Over(sum));
            for (g, &e) in g_y.iter_mut().zip(&exps).rev() {
                let mut difference = A::ZERO;
                difference.receive(g_sum, Factor::Times(e));
                g.receive(difference, Factor::One);
            }
            (terms, None)
        }
    }
}
