//! One sampled chain of section 2: drawn from its stream, run forward and backward once in
//! [`Ext`], and reduced to what the section keeps per chain (the reported depths' values and a
//! few per-chain numbers), so memory does not grow with D × samples.
//!
//! The chain's layer d sits at depth k = D − d + 1. Per chain:
//!
//! ```text
//! log10|∂L/∂w_d|, log10|∂L/∂a_d|                                 at the measured depths
//! log10|u_d|, log10 bound_d                                       at the reported depths
//! c      = min { d : |u_j| < 2^−14 for every j ≥ d }              (D + 1 if |u_D| ≥ 2^−14)
//! spread = max_d log10|∂L/∂w_d| − min_d log10|∂L/∂w_d|            over the non-zero layers
//! dev    = max_d |w_d·∂L/∂w_d − 2(y − ŷ)·y| / |2(y − ŷ)·y|         (positively homogeneous f)
//! ```

use super::super::{Config, Stream, stream_rng};
use super::{ChainSet, Setting, SkipForm};
use scalar::chain::{Chain, Magnitudes};
use scalar::{Activation, Ext, FloatFormat, Skip};

/// What one sampled chain contributes (log10 magnitudes; −∞ for an exact 0).
pub(super) struct ChainSample {
    /// Whether every gradient is finite (otherwise the chain is left out of the statistics).
    pub finite: bool,
    /// Whether ∂L/∂w_d is exactly 0 at every layer.
    pub all_zero: bool,
    /// log10 |∂L/∂w| at each measured depth (the reported ones and the curve's).
    pub weight: Vec<f64>,
    /// log10 |∂L/∂a| at each measured depth.
    pub backward: Vec<f64>,
    /// log10 |u| at each reported depth.
    pub forward: Vec<f64>,
    /// log10 of the article's bound at each reported depth (empty with a shortcut).
    pub bound: Vec<f64>,
    /// log10 L.
    pub loss_log10: f64,
    /// The layer c from which the forward signal stays below the collapse level (D + 1: never).
    pub collapse_layer: usize,
    /// The spread of log10 |∂L/∂w_d| over the non-zero layers (`None` with fewer than two).
    pub layer_spread: Option<f64>,
    /// The largest relative deviation of w_d·∂L/∂w_d from 2(y − ŷ)·y (positively homogeneous
    /// activations without shortcut; `None` otherwise).
    pub homogeneity_deviation: Option<f64>,
    /// Depth k of the first underflow per format (`None` when none).
    pub underflow: Vec<Option<usize>>,
}

/// Whether `f(z) = f′(z)·z` and the chain is bias-free without shortcut, so that
/// w_d·∂L/∂w_d = 2(y − ŷ)·y at every layer (docs/derivation.md §3a).
pub(super) fn positively_homogeneous(activation: Activation, shortcut: Option<usize>) -> bool {
    let homogeneous = match activation {
        Activation::Relu | Activation::LeakyRelu { .. } | Activation::Identity => true,
        Activation::Sigmoid | Activation::Tanh | Activation::Softplus | Activation::Gelu | Activation::Silu => false,
    };
    homogeneous && shortcut.is_none()
}

impl ChainSample {
    /// Chain `index` of `stream` (folded for [`ChainSet::Live`]), measured at `depths` = (the
    /// measured depths, the reported ones);
    /// `collapse_level_log10` is log10 of the collapse level.
    pub fn draw(
        config: &Config,
        stream: Stream,
        index: usize,
        setting: &Setting,
        (measured, depths): (&[usize], &[usize]),
        collapse_level_log10: f64,
    ) -> ChainSample {
        let mut rng = stream_rng(config.seed, stream, index as u64);
        let mut weights: Vec<f64> = (0..config.max_depth).map(|_| rng.normal()).collect();
        let mut x = rng.normal();
        let target = rng.uniform(0.0, 1.0);
        // The same draws for every depth: a shorter chain keeps the first of the D weights.
        let d = setting.chain_depth;
        weights.truncate(d);
        if setting.chains == ChainSet::Live {
            weights.iter_mut().for_each(|w| *w = w.abs());
            x = x.abs();
        }
        let skip = match setting.skip {
            Some(SkipForm::Identity) => Skip::Identity,
            Some(SkipForm::PreActivation) | None => Skip::PreActivation,
        };
        let chain = Chain::new(weights, vec![setting.activation; d], None, setting.shortcut.filter(|&s| s <= d))
            .expect("finite N(0,1) weights")
            .with_skip(skip);
        let trace = chain.forward_ext(x);
        let g = chain.backward_ext(&trace, target);
        let m = Magnitudes::of(&g.weight);
        let underflow = FloatFormat::ALL.iter().map(|&f| m.first_underflow(f).map(|layer| d - layer + 1)).collect();
        let all_zero = m.sign.iter().all(|&s| s == 0);
        if m.exact.iter().any(|g| !g.is_finite()) {
            return ChainSample {
                finite: false,
                all_zero,
                weight: Vec::new(),
                backward: Vec::new(),
                forward: Vec::new(),
                bound: Vec::new(),
                loss_log10: f64::NAN,
                collapse_layer: d + 1,
                layer_spread: None,
                homogeneity_deviation: None,
                underflow,
            };
        }
        let at = |values: &[Ext], ks: &[usize]| -> Vec<f64> { ks.iter().map(|&k| values[d - k].log10_abs()).collect() };
        let bound = chain.bound_from(&trace, target).map_or_else(Vec::new, |b| at(&b, depths));
        let diff = trace.output - Ext::from_f64(target);
        // The lowest layer from which every |u_j| is below the level: scan down from the output.
        let collapse_layer =
            (1..=d).rev().take_while(|&l| trace.input[l - 1].log10_abs() < collapse_level_log10).last();
        let non_zero = m.log10_abs.iter().copied().filter(|l| l.is_finite());
        let (lo, hi, count) =
            non_zero.fold((f64::INFINITY, f64::NEG_INFINITY, 0usize), |(lo, hi, n), l| (lo.min(l), hi.max(l), n + 1));
        ChainSample {
            finite: true,
            all_zero,
            weight: measured.iter().map(|&k| m.log10_abs[d - k]).collect(),
            backward: at(&g.layer_output, measured),
            forward: at(&trace.input, depths),
            bound,
            loss_log10: (diff * diff).log10_abs(),
            collapse_layer: collapse_layer.unwrap_or(d + 1),
            layer_spread: (count >= 2).then_some(hi - lo),
            homogeneity_deviation: positively_homogeneous(setting.activation, setting.shortcut)
                .then(|| homogeneity_deviation(&chain, &g.weight, Ext::from_f64(2.0) * diff * trace.output)),
            underflow,
        }
    }
}

/// max_d |w_d·g_d − c| / |c| (0 when every term equals c exactly, +∞ if c = 0 but a term is not).
fn homogeneity_deviation(chain: &Chain, weight_gradients: &[Ext], c: Ext) -> f64 {
    weight_gradients
        .iter()
        .zip(chain.weights())
        .map(|(&g, &w)| {
            let difference = g * w - c;
            if difference.is_zero() {
                0.0
            } else if c.is_zero() {
                f64::INFINITY
            } else {
                10f64.powf(difference.log10_abs() - c.log10_abs())
            }
        })
        .fold(0.0, f64::max)
}
