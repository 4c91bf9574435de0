//! Section 2's sampled chains: drawn from their stream, run forward and backward on the engine's
//! extended pass ([`vectorised::ChainBatch`] with [`Magnitudes::ExtendedSignals`]: the oracle's
//! `Ext` operations in the oracle's order, so the oracle's bits) a block of chains at a time,
//! and each reduced to what the section keeps per chain (the measured depths' values and a few
//! per-chain numbers), so memory does not grow with D × samples. The reduction reads the block's
//! rows in the order the engine stores them, a layer of every chain at a time ([`reduce_block`]).
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

use super::super::{Config, Stream, engine_activation, engine_skip, stream_rng};
use super::{ChainSet, Setting, SkipForm};
use rayon::prelude::*;
use scalar::format::Fate;
use scalar::{Activation, Ext, FloatFormat, Skip};
use std::sync::Mutex;
use vectorised::{ChainBatch, ChainGradients, ChainWorkspace, GradientLayout, Scaled};

/// Chains per engine call: one of the engine's blocks, so a call is one task and the blocks run
/// in parallel here, each reduced as soon as it is computed (a block's [`Scaled`] values take
/// 48 bytes per chain layer, 6 MB at D = 1000).
pub(super) const BLOCK: usize = vectorised::chain::chain_chunk::<f64>();

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

/// One chain as drawn: its weights (the first D of the `max_depth` drawn), input and target.
struct Draw {
    weights: Vec<f64>,
    x: f64,
    target: f64,
}

impl Draw {
    /// Chain `index` of `stream`, folded to |w_d|, |x| for [`ChainSet::Live`].
    fn new(config: &Config, stream: Stream, index: usize, setting: &Setting) -> Draw {
        let mut rng = stream_rng(config.seed, stream, index as u64);
        let mut weights: Vec<f64> = (0..config.max_depth).map(|_| rng.normal()).collect();
        let mut x = rng.normal();
        let target = rng.uniform(0.0, 1.0);
        // The same draws for every depth: a shorter chain keeps the first of the D weights.
        weights.truncate(setting.chain_depth);
        if setting.chains == ChainSet::Live {
            weights.iter_mut().for_each(|w| *w = w.abs());
            x = x.abs();
        }
        Draw { weights, x, target }
    }
}

impl ChainSample {
    /// Chains 0 … `samples` − 1 of `stream`, measured at `depths` = (the measured depths, the
    /// reported ones); `collapse_level_log10` is log10 of the collapse level. Chain i's sample
    /// depends only on its own draw: the same on any number of threads.
    pub fn draw_all(
        config: &Config,
        stream: Stream,
        samples: usize,
        setting: &Setting,
        depths: (&[usize], &[usize]),
        collapse_level_log10: f64,
        buffers: &Buffers,
    ) -> Vec<ChainSample> {
        let blocks: Vec<Vec<ChainSample>> = (0..samples.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let chains = b * BLOCK..samples.min((b + 1) * BLOCK);
                let mut engine = buffers.take();
                let block =
                    Self::draw_block(config, stream, chains, setting, depths, collapse_level_log10, &mut engine);
                buffers.give_back(engine);
                block
            })
            .collect();
        blocks.into_iter().flatten().collect()
    }

    /// The chains `chains` (at most [`BLOCK`] of them) of `stream`, on the calling thread, with
    /// the engine's buffers `engine`.
    pub fn draw_block(
        config: &Config,
        stream: Stream,
        chains: std::ops::Range<usize>,
        setting: &Setting,
        depths: (&[usize], &[usize]),
        collapse_level_log10: f64,
        engine: &mut Engine,
    ) -> Vec<ChainSample> {
        let draws: Vec<Draw> = chains.map(|i| Draw::new(config, stream, i, setting)).collect();
        engine.run(&draws, setting);
        reduce_block(&draws, &engine.gradients, setting, depths, collapse_level_log10)
    }
}

/// What a chain's reduction carries from one layer to the next as it walks from the output down.
struct Running {
    /// Per format, the first layer (from the output) whose gradient rounds to 0 there.
    underflow: [Option<usize>; FloatFormat::ALL.len()],
    all_zero: bool,
    finite: bool,
    /// Whether every |u_j| so far (from the output down) is below the collapse level, and the
    /// lowest such layer.
    collapsing: bool,
    collapse_layer: Option<usize>,
    /// The non-zero gradients' count and their largest and smallest exponents.
    non_zero: usize,
    top: i64,
    bottom: i64,
    /// The article's bound: 2|y − ŷ|·∏_{k>d} sup|f′_k|·|w_k|, and its values at the reported
    /// depths (by position in the depths).
    tail: Ext,
    bound: Vec<f64>,
}

/// A block's samples from the engine's rows ([`GradientLayout::LayerMajor`]: row l holds layer
/// l + 1 of every chain of the block), reduced a row at a time, so every pass reads the rows in
/// the order they are stored. Each chain's numbers come from the same operations on the same
/// values as a walk along that chain alone would make:
///
/// * from the output down, one pass: the first underflow per format (as
///   `scalar::chain::Magnitudes::first_underflow` finds it), whether every gradient is 0 or
///   finite, the collapse layer, the extremes of the non-zero gradients' exponents, and the
///   article's bound (`scalar::chain::Chain::bound_from`'s products in its order);
/// * the spread's log10s, for the candidates within a binary place of those extremes;
/// * the log10s at the measured and reported depths;
/// * the homogeneity deviation, per chain (a few configurations only).
fn reduce_block(
    draws: &[Draw],
    g: &ChainGradients<f64>,
    setting: &Setting,
    (measured, depths): (&[usize], &[usize]),
    collapse_level_log10: f64,
) -> Vec<ChainSample> {
    let (n, d) = (draws.len(), setting.chain_depth);
    assert_eq!(g.layout, GradientLayout::LayerMajor, "the engine's rows in layer-major order");
    // Row l of a per-layer value: layer l + 1 of the block's chains.
    fn row(values: &[Scaled], n: usize, l: usize) -> &[Scaled] {
        &values[l * n..][..n]
    }
    // Rounding to 0 in a format needs |x| ≤ 2^(e_min − p), and m·2ᵉ with |m| ≥ 1/2 is above
    // that once e > e_min − p + 1 (0, ±∞ and NaN, with e = 0, are never an underflow either):
    // only the values below that go through `fate`.
    let beyond = FloatFormat::ALL.map(|f| f.min_exponent - i64::from(f.precision) + 1);
    // 2^(e−1) ≤ |u| < 2^e decides "below the level" without a log10 when e is half a binary
    // place or more from the level's log2 (log10_abs errs by ~10⁻¹⁶).
    let level_log2 = collapse_level_log10 * std::f64::consts::LOG2_10;
    let below = |u: Scaled| {
        let e = u.exponent() as f64;
        if u.is_zero() || e <= level_log2 - 0.5 {
            true
        } else if e - 1.0 >= level_log2 + 0.5 || !u.mantissa().is_finite() {
            false
        } else {
            u.log10_abs() < collapse_level_log10
        }
    };
    let with_bound = setting.shortcut.is_none();
    let sup = setting.activation.sup_derivative();
    let outputs: Vec<Ext> = g.output_scaled[..n].iter().map(|&y| ext(y)).collect();
    let mut running: Vec<Running> = draws
        .iter()
        .zip(&outputs)
        .map(|(draw, &output)| Running {
            underflow: [None; FloatFormat::ALL.len()],
            all_zero: true,
            finite: true,
            collapsing: true,
            collapse_layer: None,
            non_zero: 0,
            top: i64::MIN,
            bottom: i64::MAX,
            tail: Ext::from_f64(2.0) * (output - Ext::from_f64(draw.target)).abs(),
            bound: vec![f64::NAN; if with_bound { depths.len() } else { 0 }],
        })
        .collect();
    // The reported depths' positions by layer, from the output down.
    let mut bound_at: Vec<(usize, usize)> = depths.iter().enumerate().map(|(j, &k)| (d - k, j)).collect();
    bound_at.sort_unstable_by(|a, b| b.cmp(a));
    let mut next_bound = bound_at.iter().peekable();
    for l in (0..d).rev() {
        let layer = l + 1;
        let (weight, input) = (row(&g.weight_scaled, n, l), row(&g.layer_input_scaled, n, l));
        let mut bound_here = Vec::new();
        while let Some(&(_, j)) = next_bound.next_if(|&&(at, _)| at == l) {
            bound_here.push(j);
        }
        for (i, r) in running.iter_mut().enumerate() {
            let x = weight[i];
            for (f, format) in FloatFormat::ALL.iter().enumerate() {
                if r.underflow[f].is_none() && x.exponent() <= beyond[f] && format.fate(ext(x)) == Fate::Underflows {
                    r.underflow[f] = Some(d - layer + 1);
                }
            }
            r.all_zero &= x.is_zero();
            r.finite &= x.mantissa().is_finite();
            if !x.is_zero() {
                r.non_zero += 1;
                r.top = r.top.max(x.exponent());
                r.bottom = r.bottom.min(x.exponent());
            }
            if r.collapsing {
                if below(input[i]) {
                    r.collapse_layer = Some(layer);
                } else {
                    r.collapsing = false;
                }
            }
            if with_bound {
                let with_layer = r.tail * sup;
                for &j in &bound_here {
                    r.bound[j] = (with_layer * ext(input[i]).abs()).log10_abs();
                }
                r.tail = with_layer * draws[i].weights[l].abs();
            }
        }
    }
    // The spread: log10 of the largest and the smallest non-zero gradient, taken over the layers
    // within a binary place of each (a value two exponents away is a factor 2 away, 0.30 in
    // log10, far beyond log10_abs's error: it cannot be the extreme), the same numbers as over
    // every layer's log10.
    let mut extremes = vec![(f64::NEG_INFINITY, f64::INFINITY); n];
    for l in 0..d {
        for ((&x, r), (hi, lo)) in row(&g.weight_scaled, n, l).iter().zip(&running).zip(&mut extremes) {
            if x.is_zero() || (x.exponent() < r.top - 1 && x.exponent() > r.bottom + 1) {
                continue;
            }
            let log10 = x.log10_abs();
            if x.exponent() >= r.top - 1 {
                *hi = hi.max(log10);
            }
            if x.exponent() <= r.bottom + 1 {
                *lo = lo.min(log10);
            }
        }
    }
    // log10 |·| at depth k, straight from the engine's rows (`Scaled::log10_abs` is
    // `Ext::log10_abs`'s formula, so the oracle's bits), chain by chain.
    let columns = |values: &[Scaled], ks: &[usize]| -> Vec<Vec<f64>> {
        let mut out = vec![Vec::with_capacity(ks.len()); n];
        for &k in ks {
            for (column, x) in out.iter_mut().zip(row(values, n, d - k)) {
                column.push(x.log10_abs());
            }
        }
        out
    };
    let per_chain = running
        .into_iter()
        .zip(extremes)
        .zip(columns(&g.weight_scaled, measured))
        .zip(columns(&g.layer_output_scaled, measured))
        .zip(columns(&g.layer_input_scaled, depths));
    per_chain
        .enumerate()
        .map(|(i, ((((r, (hi, lo)), weight), backward), forward))| {
            let underflow = r.underflow.to_vec();
            if !r.finite {
                return ChainSample {
                    finite: false,
                    all_zero: r.all_zero,
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
            let output = outputs[i];
            let diff = output - Ext::from_f64(draws[i].target);
            ChainSample {
                finite: true,
                all_zero: r.all_zero,
                weight,
                backward,
                forward,
                bound: r.bound,
                loss_log10: (diff * diff).log10_abs(),
                collapse_layer: r.collapse_layer.unwrap_or(d + 1),
                layer_spread: (r.non_zero >= 2).then_some(hi - lo),
                homogeneity_deviation: positively_homogeneous(setting.activation, setting.shortcut).then(|| {
                    let weight_gradient = |l: usize| ext(g.weight_scaled[l * n + i]);
                    homogeneity_deviation(&draws[i].weights, weight_gradient, Ext::from_f64(2.0) * diff * output)
                }),
                underflow,
            }
        })
        .collect()
}

/// The engine's workspace and output for one block of chains, kept between blocks: a block's
/// buffers take about 10 MB at D = 1000, and allocating them afresh per block (the kernel
/// zeroing each new page) costs about as much as reducing the block's chains. `Default`: empty
/// buffers, grown on first use, the kernels at the CPU's best SIMD level.
#[derive(Default)]
pub struct Engine {
    workspace: ChainWorkspace<f64>,
    gradients: ChainGradients<f64>,
}

impl Engine {
    /// Runs one block of chains forward and backward on the extended pass.
    fn run(&mut self, draws: &[Draw], setting: &Setting) {
        let (n, d) = (draws.len(), setting.chain_depth);
        let skip = match setting.skip {
            Some(SkipForm::Identity) => Skip::Identity,
            Some(SkipForm::PreActivation) | None => Skip::PreActivation,
        };
        let layer_major: Vec<f64> = (0..d).flat_map(|l| draws.iter().map(move |c| c.weights[l])).collect();
        let mut batch = ChainBatch::new(n, layer_major, vec![engine_activation(setting.activation); d])
            .expect("finite N(0,1) weights")
            .with_skip(engine_skip(skip));
        if let Some(span) = setting.shortcut.filter(|&s| s <= d) {
            batch = batch.with_shortcut(span).expect("a span of at most the depth");
        }
        let inputs: Vec<f64> = draws.iter().map(|c| c.x).collect();
        let targets: Vec<f64> = draws.iter().map(|c| c.target).collect();
        let magnitudes = vectorised::Magnitudes::ExtendedSignals;
        batch
            .gradients_into(&inputs, &targets, magnitudes, &mut self.workspace, &mut self.gradients)
            .expect("finite inputs and targets of the right lengths");
    }
}

/// [`Engine`]s for the section's blocks, each taken by the block a thread is running and given
/// back after it: as many exist as blocks ever ran at once (the threads), reused by every
/// configuration.
#[derive(Default)]
pub struct Buffers(Mutex<Vec<Engine>>);

impl Buffers {
    fn take(&self) -> Engine {
        self.0.lock().ok().and_then(|mut free| free.pop()).unwrap_or_default()
    }

    fn give_back(&self, engine: Engine) {
        if let Ok(mut free) = self.0.lock() {
            free.push(engine);
        }
    }
}

/// The same number as an [`Ext`], exactly: m·2ᵉ with 0.5 ≤ |m| < 1 (or 0, ±∞, NaN with e = 0),
/// rebuilt as m times the power of two, whose product of mantissas (m·0.5) is exact.
fn ext(x: Scaled) -> Ext {
    Ext::from_f64(x.mantissa()) * Ext::pow2(x.exponent())
}

/// max_d |w_d·g_d − c| / |c| over the layers (`weight_gradient(l)` is g at layer l + 1; 0 when
/// every term equals c exactly, +∞ if c = 0 but a term is not), each term taken as
/// 10^(log10 |w_d·g_d − c| − log10 |c|).
///
/// Only the terms whose difference is within a binary place of the largest are raised to a power:
/// a difference two or more exponents below the largest is under half of it, so its log10 is at
/// least 0.30 below (log10 and the exponent's product err by far less) and its power of ten
/// smaller (powf errs by under an ulp): it cannot be the maximum. The same number as raising
/// every term. With a non-finite value (a finite chain gives none) every term is raised.
fn homogeneity_deviation(weights: &[f64], weight_gradient: impl Fn(usize) -> Ext, c: Ext) -> f64 {
    let differences: Vec<Ext> = weights.iter().enumerate().map(|(l, &w)| weight_gradient(l) * w - c).collect();
    let c_log10 = c.log10_abs();
    let term = |d: &Ext| {
        if d.is_zero() {
            0.0
        } else if c.is_zero() {
            f64::INFINITY
        } else {
            10f64.powf(d.log10_abs() - c_log10)
        }
    };
    let finite = c.mantissa().is_finite() && differences.iter().all(|d| d.mantissa().is_finite());
    let top = differences.iter().filter(|d| !d.is_zero()).map(|d| d.exponent()).max().unwrap_or(0);
    differences.iter().filter(|d| !finite || d.exponent() >= top - 1).map(term).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::super::{ACTIVATIONS, SHORTCUTS};
    use super::*;
    use scalar::chain::{Chain, Magnitudes};

    /// The sample as the oracle gives it: chain `index` of the stream as one `Chain`, forward and
    /// backward in `Ext` (`forward_ext`, `backward_ext`), its magnitudes and bound from the
    /// oracle's own functions.
    fn oracle_sample(
        config: &Config,
        stream: Stream,
        index: usize,
        setting: &Setting,
        depths: (&[usize], &[usize]),
    ) -> ChainSample {
        let (measured, depths) = depths;
        let draw = Draw::new(config, stream, index, setting);
        let d = setting.chain_depth;
        let skip = if setting.skip == Some(SkipForm::Identity) { Skip::Identity } else { Skip::PreActivation };
        let chain = Chain::new(draw.weights.clone(), vec![setting.activation; d], None, setting.shortcut)
            .unwrap()
            .with_skip(skip);
        let trace = chain.forward_ext(draw.x);
        let g = chain.backward_ext(&trace, draw.target);
        let m = Magnitudes::of(&g.weight);
        let at = |values: &[Ext], ks: &[usize]| -> Vec<f64> { ks.iter().map(|&k| values[d - k].log10_abs()).collect() };
        let diff = trace.output - Ext::from_f64(draw.target);
        let level = super::super::collapse_level_log10();
        let collapse = (1..=d).rev().take_while(|&l| trace.input[l - 1].log10_abs() < level).last();
        let finite: Vec<f64> = m.log10_abs.iter().copied().filter(|l| l.is_finite()).collect();
        let spread = (finite.len() >= 2).then(|| {
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - finite.iter().copied().fold(f64::INFINITY, f64::min)
        });
        ChainSample {
            finite: m.exact.iter().all(|g| g.is_finite()),
            all_zero: m.sign.iter().all(|&s| s == 0),
            weight: measured.iter().map(|&k| m.log10_abs[d - k]).collect(),
            backward: at(&g.layer_output, measured),
            forward: at(&trace.input, depths),
            bound: chain.bound_from(&trace, draw.target).map_or_else(Vec::new, |b| at(&b, depths)),
            loss_log10: (diff * diff).log10_abs(),
            collapse_layer: collapse.unwrap_or(d + 1),
            layer_spread: spread,
            homogeneity_deviation: positively_homogeneous(setting.activation, setting.shortcut).then(|| {
                homogeneity_deviation(&draw.weights, |l| g.weight[l], Ext::from_f64(2.0) * diff * trace.output)
            }),
            underflow: FloatFormat::ALL.iter().map(|&f| m.first_underflow(f).map(|layer| d - layer + 1)).collect(),
        }
    }

    /// The deviation by its definition: every term raised to its power of ten.
    fn homogeneity_by_definition(weights: &[f64], weight_gradient: impl Fn(usize) -> Ext, c: Ext) -> f64 {
        let term = |l: usize| {
            let difference = weight_gradient(l) * weights[l] - c;
            if difference.is_zero() {
                0.0
            } else if c.is_zero() {
                f64::INFINITY
            } else {
                10f64.powf(difference.log10_abs() - c.log10_abs())
            }
        };
        (0..weights.len()).map(term).fold(0.0, f64::max)
    }

    /// Raising only the terms near the largest difference gives the definition's bits: terms that
    /// cancel exactly, differences across binary places and far beyond f64's range, c = 0, and
    /// an infinite or NaN gradient.
    #[test]
    fn the_homogeneity_deviation_is_its_definition() {
        let mut rng = scalar::rng::Rng::new(11);
        for case in 0..200 {
            let n = 1 + case % 40;
            let weights: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let c = match case % 5 {
                0 => Ext::ZERO,
                1 => Ext::pow2(-3000) * rng.normal(),
                _ => Ext::from_f64(rng.normal()),
            };
            // g_l = c / w_l, off by a relative 2^−k (k up to 60) or exactly c / w_l (often
            // exact: the term cancels), sometimes scaled far away.
            let gradients: Vec<Ext> = weights
                .iter()
                .map(|&w| {
                    let exact = c * (1.0 / w);
                    match rng.next_u64() % 4 {
                        0 => exact,
                        1 => exact * (1.0 + (rng.normal() * 2f64.powi(-((rng.next_u64() % 60) as i32)))),
                        2 => exact * Ext::pow2((rng.next_u64() % 2000) as i64 - 1000),
                        _ if case % 50 == 7 => Ext::from_f64([f64::INFINITY, f64::NAN][case / 50 % 2]),
                        _ => Ext::from_f64(rng.normal()),
                    }
                })
                .collect();
            let fast = homogeneity_deviation(&weights, |l| gradients[l], c);
            let definition = homogeneity_by_definition(&weights, |l| gradients[l], c);
            assert_eq!(fast.to_bits(), definition.to_bits(), "case {case}");
        }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Every number a sample keeps, engine against oracle, bit for bit: every activation and
    /// shortcut of the section (both forms), the live chains, over two of the engine's blocks.
    #[test]
    fn engine_samples_have_the_oracles_bits() {
        let mut config = Config::new(5, true);
        config.max_depth = 40;
        let n = BLOCK + 3;
        let reported = super::super::reported_depths(config.max_depth);
        for (a, &activation) in ACTIVATIONS.iter().enumerate() {
            for (s, &shortcut) in SHORTCUTS.iter().enumerate() {
                let mut settings = vec![(shortcut.map(|_| SkipForm::PreActivation), ChainSet::All, config.max_depth)];
                if let Some(span) = shortcut {
                    settings.push((Some(SkipForm::Identity), ChainSet::All, config.max_depth / span * span));
                }
                if shortcut.is_none() {
                    settings.push((None, ChainSet::Live, config.max_depth));
                }
                for (skip, chains, chain_depth) in settings {
                    let setting = Setting { activation, shortcut, skip, chains, chain_depth, index: (a, s) };
                    let identity = shortcut.filter(|_| skip == Some(SkipForm::Identity));
                    let depths = if identity.is_some() {
                        super::super::identity_depths(&reported, chain_depth, shortcut.unwrap())
                    } else {
                        reported.clone()
                    };
                    let measured = super::super::curve::measured_depths(&depths, chain_depth, identity);
                    let stream = Stream::Decay { activation: a, shortcut: s };
                    let level = super::super::collapse_level_log10();
                    let engine = ChainSample::draw_all(
                        &config,
                        stream,
                        n,
                        &setting,
                        (&measured, &depths),
                        level,
                        &Buffers::default(),
                    );
                    assert_eq!(engine.len(), n);
                    for (i, e) in engine.iter().enumerate() {
                        let o = oracle_sample(&config, stream, i, &setting, (&measured, &depths));
                        let what = format!("{activation:?} {shortcut:?} {skip:?} {chains:?} chain {i}");
                        assert_eq!((e.finite, e.all_zero), (o.finite, o.all_zero), "{what}");
                        assert_eq!(bits(&e.weight), bits(&o.weight), "{what}: weight");
                        assert_eq!(bits(&e.backward), bits(&o.backward), "{what}: backward");
                        assert_eq!(bits(&e.forward), bits(&o.forward), "{what}: forward");
                        assert_eq!(bits(&e.bound), bits(&o.bound), "{what}: bound");
                        assert_eq!(e.loss_log10.to_bits(), o.loss_log10.to_bits(), "{what}: loss");
                        assert_eq!(e.collapse_layer, o.collapse_layer, "{what}: collapse");
                        assert_eq!(
                            e.layer_spread.map(f64::to_bits),
                            o.layer_spread.map(f64::to_bits),
                            "{what}: spread"
                        );
                        assert_eq!(
                            e.homogeneity_deviation.map(f64::to_bits),
                            o.homogeneity_deviation.map(f64::to_bits),
                            "{what}: homogeneity"
                        );
                        assert_eq!(e.underflow, o.underflow, "{what}: underflow");
                    }
                }
            }
        }
    }
}
