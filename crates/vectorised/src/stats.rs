//! Per-layer gradient statistics gathered during the backward pass of [`crate::dense`].
//!
//! For layer l (1-based) of a batch of B samples, with G = ∂L/∂W_l and g = ∂L/∂a_l (the
//! back-propagated gradient at the layer's output, one value per sample and unit):
//!
//! ```text
//! norm = √(Σ v²),   mean_abs = (1/n)·Σ |v|,   max_abs = max |v|          (v over G, or over g)
//! saturated = #{(b, j) : |f′(z_bj)| < θ·sup|f′|} / (B·n_l)              (θ = 1e−3 by default)
//! dead      = #{j : f′(z_bj) = 0 for every sample b} / n_l               (relu layers; else 0)
//! ```
//!
//! θ is relative to sup|f′| (1/4 for sigmoid, 1 for tanh, relu, softplus and identity,
//! max(1, |α|) for leaky relu), so "saturated" means "passes back less than a thousandth of what
//! this activation can pass back at best". A relu unit with f′ = 0 counts as saturated too; a dead
//! unit is one that passes nothing back for the whole batch.
//!
//! Under binary cross-entropy the last layer's g is ∂L/∂z_L (the loss is defined on the logits).
//!
//! Determinism: every sum runs over samples in index order and units in index order, in `f64`,
//! after the engine's gradients are final (so the statistics never change a gradient's bits), and
//! the first non-finite value is the first in a fixed scan order: forward values layer by layer
//! upwards, then gradients in the order backward produces them (layer L down to 1, g before G).

use crate::activation::Activation;
use crate::real::Real;

/// Norm, mean |v| and max |v| of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// √(Σ v²).
    pub norm: f64,
    /// (1/n)·Σ |v| (0 for an empty set).
    pub mean_abs: f64,
    /// max |v| (0 for an empty set).
    pub max_abs: f64,
}

impl Summary {
    /// The summary of `values`, in `f64`.
    ///
    /// The sums run in a fixed order that does not depend on threads: element i goes to lane
    /// i mod 8, and the eight lane sums are added 0…7 at the end (eight independent chains,
    /// so the loop vectorises).
    pub fn of<T: Real>(values: &[T]) -> Summary {
        const LANES: usize = 8;
        let (mut sq, mut abs, mut max) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
        let mut chunks = values.chunks_exact(LANES);
        for chunk in &mut chunks {
            for l in 0..LANES {
                let a = chunk[l].to_f64().abs();
                sq[l] += a * a;
                abs[l] += a;
                max[l] = if a > max[l] || a.is_nan() { a } else { max[l] };
            }
        }
        for (l, v) in chunks.remainder().iter().enumerate() {
            let a = v.to_f64().abs();
            sq[l] += a * a;
            abs[l] += a;
            max[l] = if a > max[l] || a.is_nan() { a } else { max[l] };
        }
        let sum = |x: [f64; LANES]| x.iter().fold(0.0, |s, &v| s + v);
        let max = max.iter().fold(0.0f64, |m, &v| if v > m || v.is_nan() { v } else { m });
        Summary {
            norm: sum(sq).sqrt(),
            mean_abs: if values.is_empty() { 0.0 } else { sum(abs) / values.len() as f64 },
            max_abs: max,
        }
    }

    /// This summary with every value divided by `nu` (a positive normalisation).
    pub fn divided_by(self, nu: f64) -> Summary {
        Summary { norm: self.norm / nu, mean_abs: self.mean_abs / nu, max_abs: self.max_abs / nu }
    }
}

/// Where a non-finite value first appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In a forward value a_l (or z_l).
    Forward,
    /// In a back-propagated gradient ∂L/∂a_l.
    ActivationGradient,
    /// In a weight gradient ∂L/∂W_l.
    WeightGradient,
}

/// The first non-finite value (see the module docs for the scan order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFinite {
    /// The layer, 1-based.
    pub layer: usize,
    /// The unit: the output unit j for forward values and ∂L/∂a, the flat index i·n_out + j for
    /// ∂L/∂W.
    pub unit: usize,
    /// The sample, for forward values and ∂L/∂a.
    pub sample: Option<usize>,
    /// Forward or backward.
    pub stage: Stage,
}

/// One layer's statistics (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerStats {
    /// Of ∂L/∂W_l.
    pub weight: Summary,
    /// Of ∂L/∂a_l over the batch.
    pub activation: Summary,
    /// The fraction of (sample, unit) pairs with |f′(z)| < θ·sup|f′|.
    pub saturated_fraction: f64,
    /// The number of relu units with f′ = 0 for every sample.
    pub dead_units: usize,
    /// `dead_units / n_l`.
    pub dead_fraction: f64,
}

/// Every layer's statistics and the first non-finite value, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GradientStats {
    /// Index l − 1 holds layer l.
    pub layers: Vec<LayerStats>,
    /// The first NaN or ±∞ met (forward values first).
    pub first_non_finite: Option<NonFinite>,
}

/// θ, the default saturation threshold relative to sup|f′|.
pub const DEFAULT_SATURATION_THRESHOLD: f64 = 1e-3;

/// sup over z of |f′(z)|.
pub fn sup_derivative(act: Activation) -> f64 {
    match act {
        Activation::Sigmoid => 0.25,
        Activation::Tanh | Activation::Relu | Activation::Softplus | Activation::Identity => 1.0,
        Activation::LeakyRelu { slope } => slope.abs().max(1.0),
    }
}

/// (saturated count, dead units) of one layer's derivative matrix `d` (B × n, row-major).
///
/// `dead` must hold n flags; it is overwritten.
pub(crate) fn saturation<T: Real>(
    act: Activation,
    d: &[T],
    n: usize,
    threshold: f64,
    dead: &mut Vec<bool>,
) -> (usize, usize) {
    let limit = threshold * sup_derivative(act);
    let mut saturated = 0usize;
    dead.clear();
    dead.resize(n, true);
    let limit_t = T::from_f64(limit);
    for row in d.chunks_exact(n) {
        let mut count = 0u32;
        for (flag, &v) in dead.iter_mut().zip(row) {
            count += u32::from(v.abs() < limit_t);
            *flag &= v == T::ZERO;
        }
        saturated += count as usize;
    }
    let dead_units =
        if matches!(act, Activation::Relu) && !d.is_empty() { dead.iter().filter(|&&f| f).count() } else { 0 };
    (saturated, dead_units)
}

/// The flat index of the first NaN or ±∞ in `values`, if any.
pub(crate) fn first_non_finite<T: Real>(values: &[T]) -> Option<usize> {
    // v·0 is 0 exactly when v is finite: a vectorisable pass (eight chains) in the common case.
    let mut probe = [T::ZERO; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for l in 0..8 {
            probe[l] += chunk[l] * T::ZERO;
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        probe[l] += v * T::ZERO;
    }
    if probe.iter().all(|&p| p == T::ZERO) { None } else { values.iter().position(|v| !v.is_finite()) }
}
