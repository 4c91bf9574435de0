//! The [`Trainer`]: one step is gradients, refusal of non-finite values, clipping, decay and the
//! update, with its [`StepReport`].

use super::clip::clip_with_norm;
use super::*;
use crate::math::norm::norm_of_groups;

/// One parameter group (a layer's weights or its biases) and everything the update touches.
pub(super) struct Group<'a, T> {
    param: &'a mut [T],
    grad: &'a mut [T],
    /// Velocity, or Adam's m (empty for plain SGD).
    state1: &'a mut [T],
    /// Adam's v (empty otherwise).
    state2: &'a mut [T],
    /// The decay, if this group is decayed.
    decay: Option<GroupDecay<T>>,
}

/// A decayed group's decay, its constant rounded to `T` once per step.
#[derive(Debug, Clone, Copy)]
pub(super) enum GroupDecay<T> {
    /// λ: the optimizer sees g + λ·w.
    Coupled(T),
    /// 1 − ηλ: the optimizer steps from w·(1 − ηλ) with g.
    Decoupled(T),
}

impl<T: Real> Group<'_, T> {
    /// The first index whose new parameter or state would be non-finite, computing without writing.
    fn first_non_finite(&self, rule: Rule<T>) -> Option<usize> {
        (0..self.param.len()).find(|&i| {
            let (w, s1, s2) = self.new_values(rule, i);
            !(w.is_finite() && s1.is_finite() && s2.is_finite())
        })
    }

    /// Writes the new parameters, state and applied gradient; ΔW (new − old) into `delta` if given.
    fn commit(&mut self, rule: Rule<T>, mut delta: Option<&mut [T]>) {
        for i in 0..self.param.len() {
            let (w, s1, s2) = self.new_values(rule, i);
            self.grad[i] = self.effective_gradient(i);
            if let Some(d) = delta.as_deref_mut() {
                d[i] = w - self.param[i];
            }
            self.param[i] = w;
            if let Some(s) = self.state1.get_mut(i) {
                *s = s1;
            }
            if let Some(s) = self.state2.get_mut(i) {
                *s = s2;
            }
        }
    }

    /// g + λ·w under coupled decay, else g.
    #[inline(always)]
    fn effective_gradient(&self, i: usize) -> T {
        match self.decay {
            Some(GroupDecay::Coupled(lambda)) => self.grad[i] + lambda * self.param[i],
            Some(GroupDecay::Decoupled(_)) | None => self.grad[i],
        }
    }

    /// The weight the optimizer steps from: w·(1 − ηλ) under decoupled decay, else w.
    #[inline(always)]
    fn decayed_param(&self, i: usize) -> T {
        match self.decay {
            Some(GroupDecay::Decoupled(keep)) => self.param[i] * keep,
            Some(GroupDecay::Coupled(_)) | None => self.param[i],
        }
    }

    #[inline(always)]
    fn new_values(&self, rule: Rule<T>, i: usize) -> (T, T, T) {
        let s1 = self.state1.get(i).copied().unwrap_or(T::ZERO);
        let s2 = self.state2.get(i).copied().unwrap_or(T::ZERO);
        rule.apply(self.decayed_param(i), self.effective_gradient(i), s1, s2)
    }
}

/// A layer's shape as the trainer saw it: (n_in, n_out, has_bias).
pub(super) type Shape = (usize, usize, bool);

/// Trains a [`Dense`] network of a fixed shape, step by step, keeping the optimizer state and the
/// engine's [`Workspace`] between steps (once warm, a step allocates only its report).
#[derive(Debug)]
pub struct Trainer<T> {
    config: TrainConfig,
    shapes: Vec<Shape>,
    ws: Workspace<T>,
    /// The engine's gradient, then clipped and decayed: what the last update used.
    grads: Gradients<T>,
    /// Velocity, or Adam's m, per layer: (weights, biases).
    state1: Vec<(Vec<T>, Vec<T>)>,
    /// Adam's v per layer.
    state2: Vec<(Vec<T>, Vec<T>)>,
    /// ΔW per layer of the last applied step.
    delta: Vec<Vec<T>>,
    steps: u64,
    /// β₁ᵗ and β₂ᵗ after `steps` steps, running products in `f64`.
    beta_powers: (f64, f64),
}

impl<T: Real> Trainer<T> {
    /// A trainer for networks shaped like `net`, with fresh optimizer state (zeros).
    ///
    /// Refused: any hyper-parameter out of range ([`TrainConfig::validate`]), a network with a
    /// normalisation (the trainer updates weights and biases, not γ and β).
    pub fn new(net: &Dense<T>, config: TrainConfig) -> Result<Self, Error> {
        config.validate::<T>()?;
        refuse_norms(net)?;
        let shapes: Vec<Shape> = net.layers().iter().map(|l| (l.n_in(), l.n_out(), l.bias().is_some())).collect();
        let sized = |active: bool| -> Vec<(Vec<T>, Vec<T>)> {
            shapes
                .iter()
                .map(|&(n_in, n_out, has_bias)| {
                    let n_w = if active { n_in * n_out } else { 0 };
                    let n_b = if active && has_bias { n_out } else { 0 };
                    (vec![T::ZERO; n_w], vec![T::ZERO; n_b])
                })
                .collect()
        };
        let (keep1, keep2) = match config.optimizer {
            Optimizer::Sgd { momentum } => (momentum > 0.0, false),
            Optimizer::Adam { .. } => (true, true),
        };
        let grads = Gradients {
            loss: T::ZERO,
            weight: shapes.iter().map(|&(i, o, _)| vec![T::ZERO; i * o]).collect(),
            bias: shapes.iter().map(|&(_, o, b)| vec![T::ZERO; if b { o } else { 0 }]).collect(),
            norm_weight: Vec::new(),
            norm_bias: Vec::new(),
        };
        Ok(Trainer {
            config,
            state1: sized(keep1),
            state2: sized(keep2),
            delta: shapes.iter().map(|&(i, o, _)| vec![T::ZERO; i * o]).collect(),
            shapes,
            ws: Workspace::new(),
            grads,
            steps: 0,
            beta_powers: (1.0, 1.0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The number of steps applied so far (refused steps do not count).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The gradient the last applied update used: the engine's, clipped, plus λ·w where decayed
    /// in the coupled form (decoupled decay leaves it alone).
    /// Layers without biases hold an empty bias gradient. After a refused step it holds the
    /// engine's gradient, clipped if the step got that far, without decay.
    pub fn applied_gradient(&self) -> &Gradients<T> {
        &self.grads
    }

    /// The engine's workspace (activations and statistics of the last step).
    pub fn workspace(&self) -> &Workspace<T> {
        &self.ws
    }

    /// Sets the saturation threshold θ of the engine's statistics (statistics are always
    /// gathered: the trainer locates non-finite values with them).
    ///
    /// Refused: θ not finite or negative.
    pub fn set_saturation_threshold(&mut self, threshold: f64) -> Result<(), Error> {
        self.ws.set_stats(Some(threshold))
    }

    /// Forgets the optimizer state (velocity, moments, step count) as if freshly built.
    pub fn reset(&mut self) {
        for (w, b) in self.state1.iter_mut().chain(&mut self.state2) {
            w.fill(T::ZERO);
            b.fill(T::ZERO);
        }
        self.steps = 0;
        self.beta_powers = (1.0, 1.0);
    }

    /// One training step on a batch (see the [module docs](crate::train)).
    ///
    /// `Err` (nothing changed): a network shaped differently from the one the trainer was built
    /// for, and whatever [`Dense::gradients`] refuses (empty batch, wrong widths, non-finite
    /// inputs or targets, cross-entropy without a sigmoid output). A NaN or ±∞ that arises
    /// inside the step is not an `Err`: the step is refused, the weights and optimizer state are
    /// untouched, and [`StepReport::refused`] says where.
    pub fn step(&mut self, net: &mut Dense<T>, input: Batch<'_, T>, target: Batch<'_, T>) -> Result<StepReport, Error> {
        self.check_shape(net)?;
        let cfg = self.config;
        net.gradients(input, target, cfg.loss, cfg.normalisation, &mut self.ws)?;
        let engine = self.ws.gradients();
        let stats = self.ws.stats().expect("the trainer's workspace always gathers statistics").clone();
        let loss = engine.loss.to_f64();
        self.grads.loss = engine.loss;
        for (l, &(_, _, has_bias)) in self.shapes.iter().enumerate() {
            self.grads.weight[l].copy_from_slice(&engine.weight[l]);
            if has_bias {
                self.grads.bias[l].copy_from_slice(&engine.bias[l]);
            }
        }
        let penalty = self.penalty(net);
        let before = global_norm(&self.grads);
        let mut report = StepReport {
            step: self.steps,
            loss,
            penalty,
            grad_norm_before_clip: before,
            grad_norm_after_clip: before,
            clipped: false,
            stats,
            update_norm: vec![0.0; self.shapes.len()],
            weight_norm: net.layers().iter().map(|l| norm(l.weight())).collect(),
            refused: None,
        };
        report.refused = report.stats.first_non_finite.map(Refusal::Network).or_else(|| {
            if before.is_finite() { (!loss.is_finite()).then_some(Refusal::Loss) } else { Some(self.locate_gradient()) }
        });
        if report.refused.is_some() {
            return Ok(report);
        }
        let clip = clip_with_norm(&mut self.grads, cfg.clip, before);
        report.grad_norm_after_clip = clip.norm_after;
        report.clipped = clip.clipped;

        let rule = self.rule();
        if let Some(refusal) = self.check_update(net, rule) {
            report.refused = Some(refusal);
            return Ok(report);
        }
        self.commit_update(net, rule);
        self.steps += 1;
        if let Optimizer::Adam { beta1, beta2, .. } = cfg.optimizer {
            self.beta_powers = (self.beta_powers.0 * beta1, self.beta_powers.1 * beta2);
        }
        for (l, layer) in net.layers().iter().enumerate() {
            report.update_norm[l] = norm(&self.delta[l]);
            report.weight_norm[l] = norm(layer.weight());
        }
        Ok(report)
    }

    fn check_shape(&self, net: &Dense<T>) -> Result<(), Error> {
        refuse_norms(net)?;
        Error::check_len("network layers", self.shapes.len(), net.layers().len())?;
        for (idx, (layer, &(n_in, n_out, has_bias))) in net.layers().iter().zip(&self.shapes).enumerate() {
            let in_layer = |error| Error::InLayer { layer: idx + 1, error: Box::new(error) };
            Error::check_len("layer inputs", n_in, layer.n_in()).map_err(in_layer)?;
            Error::check_len("layer units", n_out, layer.n_out()).map_err(in_layer)?;
            if has_bias != layer.bias().is_some() {
                return Err(in_layer(Error::invalid("layer bias", "present in one network and not the other")));
            }
        }
        Ok(())
    }

    /// (λ/2)·Σ ‖W_l‖² (and ‖b_l‖² if decayed) at the current weights.
    fn penalty(&self, net: &Dense<T>) -> f64 {
        let lambda = self.config.weight_decay;
        if lambda == 0.0 {
            return 0.0;
        }
        let with_bias = self.config.decay_biases;
        let groups = net.layers().iter().flat_map(|l| [Some(l.weight()), l.bias().filter(|_| with_bias)]).flatten();
        let n = norm_of_groups(groups);
        0.5 * lambda * n * n
    }

    /// The first non-finite entry of the copied gradient (backward order: layer L down to 1,
    /// weights then biases); the engine's statistics have already scanned weights.
    fn locate_gradient(&self) -> Refusal {
        for l in (0..self.shapes.len()).rev() {
            if let Some(index) = self.grads.weight[l].iter().position(|v| !v.is_finite()) {
                return Refusal::Gradient { layer: l + 1, bias: false, index };
            }
            if let Some(index) = self.grads.bias[l].iter().position(|v| !v.is_finite()) {
                return Refusal::Gradient { layer: l + 1, bias: true, index };
            }
        }
        Refusal::GradientNormOverflow
    }

    /// This step's rule, with Adam's bias corrections for t = steps + 1.
    fn rule(&self) -> Rule<T> {
        let eta = T::from_f64(self.config.learning_rate);
        match self.config.optimizer {
            Optimizer::Sgd { momentum: 0.0 } => Rule::Sgd { eta },
            Optimizer::Sgd { momentum } => Rule::Momentum { eta, mu: T::from_f64(momentum) },
            Optimizer::Adam { beta1, beta2, epsilon } => Rule::Adam {
                eta,
                beta1: T::from_f64(beta1),
                one_minus_beta1: T::from_f64(1.0 - beta1),
                beta2: T::from_f64(beta2),
                one_minus_beta2: T::from_f64(1.0 - beta2),
                correction1: T::from_f64(1.0 - self.beta_powers.0 * beta1),
                correction2: T::from_f64(1.0 - self.beta_powers.1 * beta2),
                epsilon: T::from_f64(epsilon),
            },
        }
    }

    /// Calls `f(layer_idx, is_bias, group)` for every parameter group, layer 1 to L, weights
    /// first; stops at the first `Some`.
    fn with_groups<R>(
        &mut self,
        net: &mut Dense<T>,
        mut f: impl FnMut(usize, bool, Group<'_, T>, Option<&mut [T]>) -> Option<R>,
    ) -> Option<R> {
        let lambda = self.config.weight_decay;
        let decay = (lambda != 0.0).then(|| match self.config.decay_form {
            DecayForm::Coupled => GroupDecay::Coupled(T::from_f64(lambda)),
            DecayForm::Decoupled => GroupDecay::Decoupled(T::from_f64(1.0 - self.config.learning_rate * lambda)),
        });
        let decay_bias = if self.config.decay_biases { decay } else { None };
        let layers = net.layers_mut().iter_mut();
        let per_layer = layers.zip(&mut self.grads.weight).zip(&mut self.grads.bias).zip(&mut self.state1);
        for (idx, ((((layer, gw), gb), (s1w, s1b)), (s2w, s2b))) in per_layer.zip(&mut self.state2).enumerate() {
            let weights = Group { param: layer.weight_mut(), grad: gw, state1: s1w, state2: s2w, decay };
            if let Some(r) = f(idx, false, weights, Some(&mut self.delta[idx])) {
                return Some(r);
            }
            if let Some(bias) = layer.bias_mut() {
                let biases = Group { param: bias, grad: gb, state1: s1b, state2: s2b, decay: decay_bias };
                if let Some(r) = f(idx, true, biases, None) {
                    return Some(r);
                }
            }
        }
        None
    }

    fn check_update(&mut self, net: &mut Dense<T>, rule: Rule<T>) -> Option<Refusal> {
        self.with_groups(net, |idx, bias, group, _| {
            group.first_non_finite(rule).map(|index| Refusal::Update { layer: idx + 1, bias, index })
        })
    }

    fn commit_update(&mut self, net: &mut Dense<T>, rule: Rule<T>) {
        self.with_groups(net, |_, _, mut group, delta| -> Option<()> {
            group.commit(rule, delta);
            None
        });
    }
}

/// A normalised network is refused: the trainer would leave its γ and β where they are.
fn refuse_norms<T: Real>(net: &Dense<T>) -> Result<(), Error> {
    if net.normalises() {
        return Err(Error::invalid(
            "network",
            "it normalises a layer, and the trainer updates weights and biases, not γ and β",
        ));
    }
    Ok(())
}
