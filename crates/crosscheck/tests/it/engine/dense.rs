//! The dense engine against the `scalar` oracle: bits wherever
//! [`crosscheck::exactness`] vouches for them (property tests, and shortcuts of every span),
//! normwise tolerances elsewhere; both shortcut forms ([`Skip`]) drawn in every property. The
//! hand-derived cases are `dense_hand.rs`; the engine on its own is `dense_engine.rs`.

use crosscheck::exactness::{DyadicLayer, DyadicNet, FractionBits, MAX_EXACT_BITS};
use proptest::prelude::*;
use scalar::dense as oracle;
use vectorised::Activation;
use vectorised::dense::{Batch, Dense, DenseLayer, Gradients, Loss, Normalisation, Workspace, flatten_rows};
use vectorised::{Real, Skip};

/// One layer in the oracle's terms: `[out][in]` weights, optional bias, activation.
pub(super) type LayerCase = (Vec<Vec<f64>>, Option<Vec<f64>>, Activation);

/// A network in the oracle's terms: per layer `[out][in]` weights, optional bias, activation.
#[derive(Debug, Clone)]
pub(super) struct NetCase {
    pub(super) n_input: usize,
    pub(super) layers: Vec<LayerCase>,
    pub(super) shortcut: Option<usize>,
    /// The layers that receive the shortcut, when named (`with_shortcut_layers`).
    pub(super) joins: Option<Vec<usize>>,
    pub(super) skip: Skip,
    pub(super) input: Vec<Vec<f64>>,
    pub(super) target: Vec<Vec<f64>>,
    pub(super) loss: Loss,
}

impl NetCase {
    /// The network as the oracle's `Dense`.
    pub(super) fn oracle_net(&self) -> oracle::Dense {
        let layers = self
            .layers
            .iter()
            .map(|(w, b, a)| oracle::DenseLayer {
                weight: w.clone(),
                bias: b.clone(),
                activation: super::to_oracle(*a),
            })
            .collect();
        let net = oracle::Dense::new(layers, self.shortcut).unwrap().with_skip(super::to_oracle_skip(self.skip));
        match &self.joins {
            Some(joins) => net.with_shortcut_layers(joins.clone()).unwrap(),
            None => net,
        }
    }

    /// The same case with the shortcut's layers named when `mask` is given: those of the layers
    /// that may receive it (equal width, s or more up; not binary cross-entropy's output with
    /// the identity skip, which is refused) whose bit in `mask` is set.
    pub(super) fn named(self, mask: Option<u64>) -> NetCase {
        let (Some(s), Some(mask)) = (self.shortcut, mask) else { return self };
        let depth = self.layers.len();
        let width = |l: usize| if l == 0 { self.n_input } else { self.layers[l - 1].0.len() };
        let refused = |l: usize| l == depth && self.loss == Loss::BinaryCrossEntropy && self.skip == Skip::Identity;
        let joins = (s..=depth).filter(|&l| width(l - s) == width(l) && !refused(l) && mask >> (l % 64) & 1 == 1);
        NetCase { joins: Some(joins.collect()), ..self }
    }

    pub(super) fn oracle(&self) -> oracle::DenseGradients {
        self.oracle_net().gradients(&self.input, &self.target, super::to_oracle_loss(self.loss)).unwrap()
    }

    /// Per layer, the largest entry of the gradient's absolute-value bound: the backward pass run
    /// on |W|, |f′(z)| and |a| from a seed that bounds the loss's (|y| + |t| + 1 per output,
    /// doubled, over B), with the shortcut's paths added. Every term of every sum an exact gradient
    /// entry is made of is at most its entry here, so rounding errors (of the engine, of the
    /// oracle, and of y − t in the seed) are a multiple of ε of it, whatever cancels: the scale
    /// at which two computations of the same gradient can be compared. Computed in plain `f64`
    /// (a scale, not a reference).
    fn absolute_scales(&self) -> Vec<f64> {
        let depth = self.layers.len();
        let widths: Vec<usize> = std::iter::once(self.n_input).chain(self.layers.iter().map(|l| l.0.len())).collect();
        // The layers that receive a shortcut, as the oracle has them, and where it comes from.
        let joined = self.oracle_net().shortcut_layers();
        let from = |l: usize| self.shortcut.filter(|_| joined.contains(&l)).map(|s| l - s);
        let batch = self.input.len();
        // a[l][b], z[l][b] (layer l = 1 … depth at index l; a[0] is the input).
        let mut a = vec![self.input.clone()];
        let mut z = vec![Vec::new()];
        for l in 1..=depth {
            let (w, bias, f) = &self.layers[l - 1];
            let (mut zl, mut al) = (Vec::new(), Vec::new());
            for b in 0..batch {
                let mut zb: Vec<f64> = w
                    .iter()
                    .enumerate()
                    .map(|(j, row)| {
                        row.iter().zip(&a[l - 1][b]).map(|(w, u)| w * u).sum::<f64>()
                            + bias.as_ref().map_or(0.0, |c| c[j])
                    })
                    .collect();
                if let (Some(k), Skip::PreActivation) = (from(l), self.skip) {
                    zb.iter_mut().zip(&a[k][b]).for_each(|(z, u)| *z += u);
                }
                let mut ab: Vec<f64> = zb.iter().map(|&v| f.value(v)).collect();
                if let (Some(k), Skip::Identity) = (from(l), self.skip) {
                    ab.iter_mut().zip(&a[k][b]).for_each(|(a, u)| *a += u);
                }
                zl.push(zb);
                al.push(ab);
            }
            z.push(zl);
            a.push(al);
        }
        // ḡ[l][b]: the bound on ∂L/∂a_l; δ̄ = |f′(z_l)|·ḡ_l. Binary cross-entropy's seed
        // (y − t)/(y(1 − y)) meets the sigmoid's f′ = y(1 − y): its bound is on ∂L/∂z_L. The
        // others' seeds (2(y − t), σ(y) − t, softmax(y) − t, over B) are at most the bound.
        let seed_on_z = self.loss == Loss::BinaryCrossEntropy;
        let mut g_bar: Vec<Vec<Vec<f64>>> = widths.iter().map(|&n| vec![vec![0.0; n]; batch]).collect();
        for b in 0..batch {
            for (j, g) in g_bar[depth][b].iter_mut().enumerate() {
                *g = 2.0 * (a[depth][b][j].abs() + self.target[b][j].abs() + 1.0) / batch as f64;
            }
        }
        let mut scales = vec![0.0; depth];
        for l in (1..=depth).rev() {
            let (w, _, f) = &self.layers[l - 1];
            let delta: Vec<Vec<f64>> = (0..batch)
                .map(|b| {
                    let f1 = |j: usize| if l == depth && seed_on_z { 1.0 } else { f.derivative(z[l][b][j]).abs() };
                    g_bar[l][b].iter().enumerate().map(|(j, g)| f1(j) * g).collect()
                })
                .collect();
            let (d, a) = (&delta, &a[l - 1]);
            let bias = (0..widths[l]).map(|j| d.iter().map(|d| d[j]).sum::<f64>());
            let weight = (0..widths[l]).flat_map(|j| {
                (0..widths[l - 1]).map(move |i| d.iter().zip(a).map(|(d, u)| d[j] * u[i].abs()).sum::<f64>())
            });
            scales[l - 1] = bias.chain(weight).fold(0.0, f64::max);
            for b in 0..batch {
                for i in 0..widths[l - 1] {
                    g_bar[l - 1][b][i] += (0..widths[l]).map(|j| w[j][i].abs() * delta[b][j]).sum::<f64>();
                }
                if let Some(k) = from(l) {
                    let through = match self.skip {
                        Skip::PreActivation => delta[b].clone(),
                        Skip::Identity => g_bar[l][b].clone(),
                    };
                    g_bar[k][b].iter_mut().zip(&through).for_each(|(g, t)| *g += t);
                }
            }
        }
        scales
    }

    pub(super) fn fast<T: Real>(&self, ws: &mut Workspace<T>) -> Gradients<T> {
        let cast = |rows: &[Vec<f64>]| -> Vec<Vec<T>> {
            rows.iter().map(|r| r.iter().map(|&v| T::from_f64(v)).collect()).collect()
        };
        let layers = self
            .layers
            .iter()
            .map(|(w, b, a)| {
                let bias = b.as_ref().map(|b| b.iter().map(|&v| T::from_f64(v)).collect());
                DenseLayer::from_out_in(&cast(w), bias, *a).unwrap()
            })
            .collect();
        let mut net = Dense::new(layers, self.shortcut).unwrap().with_skip(self.skip);
        if let Some(joins) = &self.joins {
            net = net.with_shortcut_layers(joins).unwrap();
        }
        let n_out = net.output_width();
        let x = flatten_rows("input", &cast(&self.input), self.n_input).unwrap();
        let t = flatten_rows("target", &cast(&self.target), n_out).unwrap();
        let b = self.input.len();
        net.gradients(
            Batch::new(&x, b, self.n_input).unwrap(),
            Batch::new(&t, b, n_out).unwrap(),
            self.loss,
            Normalisation::PerSample,
            ws,
        )
        .unwrap()
        .clone()
    }
}

/// The oracle's `[out][in]` weight gradient of layer `l` in the fast engine's `[in][out]` order.
fn oracle_weight_in_out(g: &oracle::DenseGradients, l: usize) -> Vec<f64> {
    let rows = &g.weight[l];
    let (n_out, n_in) = (rows.len(), rows[0].len());
    let mut out = vec![0.0; n_in * n_out];
    for (j, row) in rows.iter().enumerate() {
        for (i, &v) in row.iter().enumerate() {
            out[i * n_out + j] = v;
        }
    }
    out
}

// ---------------------------------------------------------------- exact domain: bit-identical

/// Values k/16 with |k| ≤ 16.
fn sixteenths() -> impl Strategy<Value = f64> {
    (-16i32..=16).prop_map(|k| k as f64 / 16.0)
}

/// Weights in {−1, −½, 0, ½, 1}.
fn halves() -> impl Strategy<Value = f64> {
    (-2i32..=2).prop_map(|k| k as f64 / 2.0)
}

fn exact_activation_strategy() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Relu),
        Just(Activation::Identity),
        Just(Activation::LeakyRelu { slope: 0.25 }),
        Just(Activation::LeakyRelu { slope: 0.5 }),
    ]
}

/// The one exactness bound ([`crosscheck::exactness`]) for a case of this file: inputs, biases
/// and targets are sixteenths in [−1, 1], weights halves, leaky slopes ¼ or ½, and the loss is a
/// mean over the batch. At most [`MAX_EXACT_BITS`] means every operation of the loss and its
/// gradient is exact in `f64`, in any summation order. The bound holds for either [`Skip`] (see
/// `crosscheck::exactness`), so the case's form is not an input.
fn exact_bits(case: &NetCase) -> f64 {
    let layers: Vec<DyadicLayer> =
        case.layers.iter().map(|(w, b, a)| (w.clone(), b.clone(), super::to_oracle(*a))).collect();
    let fractions = FractionBits { value: 4.0, weight: 1.0, slope: 2.0, mean_over_batch: true };
    DyadicNet {
        n_input: case.n_input,
        layers: &layers,
        shortcut: case.shortcut,
        joins: case.joins.as_deref(),
        batch: case.input.len(),
        fractions,
    }
    .exact_bits()
}

/// Both shortcut forms, equally often.
fn skip_strategy() -> impl Strategy<Value = Skip> {
    prop_oneof![Just(Skip::PreActivation), Just(Skip::Identity)]
}

/// Exact cases, the shortcut's layers named in half of those with a shortcut.
fn exact_case_strategy() -> impl Strategy<Value = NetCase> {
    (exact_cases(), proptest::option::of(any::<u64>())).prop_map(|(case, mask)| case.named(mask))
}

fn exact_cases() -> impl Strategy<Value = NetCase> {
    (
        1usize..=8,
        proptest::collection::vec((1usize..=8, exact_activation_strategy(), any::<bool>()), 1..=12),
        prop_oneof![Just(None), (1usize..=4).prop_map(Some)],
        prop_oneof![Just(1usize), Just(2), Just(4), Just(8)],
        skip_strategy(),
    )
        .prop_flat_map(|(n_input, shape, shortcut, batch, skip)| {
            let mut fan_in = n_input;
            let layers: Vec<_> = shape
                .iter()
                .map(|&(width, act, has_bias)| {
                    let w = proptest::collection::vec(proptest::collection::vec(halves(), fan_in), width);
                    fan_in = width;
                    let b = if has_bias {
                        proptest::collection::vec(sixteenths(), width).prop_map(Some).boxed()
                    } else {
                        Just(None).boxed()
                    };
                    (w, b, Just(act))
                })
                .collect();
            let n_out = fan_in;
            let shortcut = shortcut.filter(|&s| s <= shape.len());
            (
                Just(n_input),
                layers,
                Just(shortcut),
                proptest::collection::vec(proptest::collection::vec(sixteenths(), n_input), batch),
                proptest::collection::vec(proptest::collection::vec(sixteenths(), n_out), batch),
                Just(skip),
            )
        })
        .prop_map(|(n_input, mut layers, shortcut, input, mut target, skip)| {
            // Keep the deepest prefix whose every operation is provably exact (see exact_bits).
            loop {
                let n_out = layers.last().map_or(0, |(w, _, _)| w.len());
                let case = NetCase {
                    n_input,
                    layers: layers.clone(),
                    shortcut: shortcut.filter(|&s| s <= layers.len()),
                    joins: None,
                    skip,
                    input: input.clone(),
                    target: target.iter().map(|r| r[..n_out.min(r.len())].to_vec()).collect(),
                    loss: Loss::SquaredError,
                };
                if layers.len() == 1 || exact_bits(&case) <= MAX_EXACT_BITS {
                    let n = case.layers.last().unwrap().0.len();
                    target = case.target.clone();
                    debug_assert!(target.iter().all(|r| r.len() == n));
                    return case;
                }
                layers.pop();
                // Re-derive the target width from the new last layer: pad with sixteenths the
                // strategy drew for the old one (targets only need the right width).
                let n_new = layers.last().unwrap().0.len();
                target = input.iter().map(|x| (0..n_new).map(|j| x[j % x.len()]).collect()).collect();
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Dyadic inputs, relu/leaky/identity, squared error: every operation is exact (checked by
    /// `exact_bits`), so any summation order gives the oracle's bits — with statistics (G kept
    /// whole for its summary) and without (a product may store Δ = G ⊙ D at once, except where
    /// an identity shortcut needs G).
    #[test]
    fn exact_domain_gradients_are_bit_identical_to_scalar(case in exact_case_strategy(), stats in any::<bool>()) {
        prop_assume!(exact_bits(&case) <= MAX_EXACT_BITS);
        let want = case.oracle();
        let mut ws = Workspace::new();
        ws.set_stats(stats.then_some(0.01)).unwrap();
        let got = case.fast::<f64>(&mut ws);
        prop_assert_eq!(got.loss.to_bits(), want.loss.to_bits());
        for l in 0..case.layers.len() {
            let w = oracle_weight_in_out(&want, l);
            prop_assert_eq!(
                got.weight[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                w.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "weight gradient of layer {}", l + 1
            );
            prop_assert_eq!(
                got.bias[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.bias[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "bias gradient of layer {}", l + 1
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The same cases under the linear loss Σ t·y: its seed T and sum need no more bits than
    /// squared error's 2(y − t) and Σ (y − t)² (|t| ≤ 1 ≤ 2(m_L + 1), and t·y has fewer
    /// fractional bits than (y − t)²), so the same bound vouches for bit-identical gradients.
    #[test]
    fn exact_domain_linear_loss_gradients_are_bit_identical_to_scalar(case in exact_case_strategy()) {
        prop_assume!(exact_bits(&case) <= MAX_EXACT_BITS);
        let case = NetCase { loss: Loss::Linear, ..case };
        let want = case.oracle();
        let got = case.fast::<f64>(&mut Workspace::new());
        prop_assert_eq!(got.loss.to_bits(), want.loss.to_bits());
        for l in 0..case.layers.len() {
            let w = oracle_weight_in_out(&want, l);
            prop_assert_eq!(
                got.weight[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                w.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "weight gradient of layer {}", l + 1
            );
            prop_assert_eq!(
                got.bias[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.bias[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "bias gradient of layer {}", l + 1
            );
        }
    }
}

// ---------------------------------------------------------------- general domain: tolerances

/// f64, normwise per layer: |fast − oracle| ≤ TOL·max_layer|oracle| + TINY. The two engines
/// round differently (an FMA chain against separately rounded products; the vectorised tanh is
/// within a few ulps of libm's), and an error of a few ulps in one term of a sum is a few ulps of
/// the sum's largest term, not of the sum: where terms cancel, only a normwise bound holds.
/// Through ≤ 12 layers of ≤ 8-term sums, with |w| ≤ 1.5: 1e−12 passed 3,000 cases, 1e−13
/// did not; the constant keeps a factor 10 of margin. Where a layer's sums cancel, its largest
/// entry is no scale for their rounding (a case of CI failed at 1e−11 of it): the layer's scale is
/// then its absolute-value bound ([`NetCase::absolute_scales`]), of which each error is a
/// multiple of ε.
const F64_NORMWISE_TOL: f64 = 1e-11;
/// f32 against the f64 oracle, normwise over the whole network (the largest gradient entry of
/// any layer), on activations without a kink (see `smooth_activation_strategy`): f32's unit
/// roundoff is 6e−8 and inputs and weights are themselves rounded to f32; where a layer's
/// gradients are small differences of larger back-propagated terms, that layer's own largest
/// entry is no scale for f32's error (per layer, 1e−4 failed on a shrunk 12-layer case).
/// Network-wide with near-zero-loss cases set aside: 1e−4 still failed on random 12-layer
/// cases (errors ~1.6e−4 of the largest entry); 1e−3 passed 4,000 cases and the regressions.
const F32_NORMWISE_TOL: f64 = 1e-3;
/// The f32 comparison needs L ≥ this·(1 + max y²) (see `f32_gradients_agree_with_scalar_normwise`).
const F32_MIN_LOSS_RATIO: f64 = 1e-3;
/// Below this a gradient entry is compared absolutely (underflow of tiny products in f32).
const TINY: f64 = 1e-30;

/// Activations without a kink: at a relu's z ≈ 0, f32 and f64 may round z to opposite signs and
/// take different branches, which changes a gradient by O(1) — no tolerance covers that.
fn smooth_activation_strategy() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Softplus),
        Just(Activation::Identity),
        Just(Activation::Gelu),
        Just(Activation::Silu),
    ]
}

pub(super) fn general_case_strategy() -> impl Strategy<Value = NetCase> {
    case_strategy(super::any_activation(0.5).boxed())
}

pub(super) fn smooth_case_strategy() -> impl Strategy<Value = NetCase> {
    case_strategy(smooth_activation_strategy().boxed())
}

/// Cases of `activation`s, the shortcut's layers named in half of those with a shortcut.
fn case_strategy(activation: BoxedStrategy<Activation>) -> impl Strategy<Value = NetCase> {
    (cases(activation), proptest::option::of(any::<u64>())).prop_map(|(case, mask)| case.named(mask))
}

fn cases(activation: BoxedStrategy<Activation>) -> impl Strategy<Value = NetCase> {
    (
        1usize..=8,
        proptest::collection::vec((1usize..=8, activation, any::<bool>()), 1..=12),
        prop_oneof![Just(None), (1usize..=4).prop_map(Some)],
        1usize..=9,
        prop_oneof![
            Just(Loss::SquaredError),
            Just(Loss::BinaryCrossEntropy),
            Just(Loss::BceWithLogits),
            Just(Loss::CrossEntropy)
        ],
        skip_strategy(),
    )
        .prop_flat_map(|(n_input, mut shape, shortcut, batch, loss, skip)| {
            if loss == Loss::BinaryCrossEntropy {
                shape.last_mut().unwrap().1 = Activation::Sigmoid;
            }
            let mut fan_in = n_input;
            let layers: Vec<_> = shape
                .iter()
                .map(|&(width, act, has_bias)| {
                    let w = proptest::collection::vec(proptest::collection::vec(-1.5f64..1.5, fan_in), width);
                    fan_in = width;
                    let b = if has_bias {
                        proptest::collection::vec(-1.0f64..1.0, width).prop_map(Some).boxed()
                    } else {
                        Just(None).boxed()
                    };
                    (w, b, Just(act))
                })
                .collect();
            let n_out = fan_in;
            let shortcut = shortcut.filter(|&s| s <= shape.len());
            let probability = matches!(loss, Loss::BinaryCrossEntropy | Loss::BceWithLogits | Loss::CrossEntropy);
            let target = if probability { (0.0f64..1.0).boxed() } else { (-2.0f64..2.0).boxed() };
            (
                Just(n_input),
                layers,
                Just(shortcut),
                proptest::collection::vec(proptest::collection::vec(-2.0f64..2.0, n_input), batch),
                proptest::collection::vec(proptest::collection::vec(target, n_out), batch),
                Just(loss),
                Just(skip),
            )
        })
        .prop_map(|(n_input, layers, shortcut, input, target, loss, skip)| {
            // Cross-entropy is refused with an identity shortcut into its sigmoid output layer
            // (`identity_shortcut_into_cross_entropy_is_refused_by_both`).
            let into_top = shortcut.is_some_and(|s| {
                let depth = layers.len();
                let width = |l: usize| if l == 0 { n_input } else { layers[l - 1].0.len() };
                depth.is_multiple_of(s) && width(depth - s) == width(depth)
            });
            let skip = if loss == Loss::BinaryCrossEntropy && into_top { Skip::PreActivation } else { skip };
            NetCase { n_input, layers, shortcut, joins: None, skip, input, target, loss }
        })
}

/// Checks `got` against the oracle layer by layer with a normwise tolerance.
fn assert_close<T: Real>(
    case: &NetCase,
    got: &Gradients<T>,
    want: &oracle::DenseGradients,
    tol: f64,
) -> Result<(), TestCaseError> {
    assert_close_scoped(case, got, want, tol, false)
}

/// As [`assert_close`], with every layer scaled by the network's largest gradient entry.
fn assert_close_network<T: Real>(
    case: &NetCase,
    got: &Gradients<T>,
    want: &oracle::DenseGradients,
    tol: f64,
) -> Result<(), TestCaseError> {
    assert_close_scoped(case, got, want, tol, true)
}

fn assert_close_scoped<T: Real>(
    case: &NetCase,
    got: &Gradients<T>,
    want: &oracle::DenseGradients,
    tol: f64,
    network_scope: bool,
) -> Result<(), TestCaseError> {
    let close = |a: f64, b: f64, scale: f64| (a - b).abs() <= tol * scale + TINY;
    let layer_max = |l: usize| want.weight[l].iter().flatten().chain(&want.bias[l]).fold(0.0f64, |m, v| m.max(v.abs()));
    let network_max = (0..case.layers.len()).map(layer_max).fold(0.0, f64::max);
    let absolute = case.absolute_scales();
    // The loss is compared normwise in the outputs: an error ε·max|y| in each output moves
    // Σ(y − t)²/B by about 2·√L·ε·max|y| (Cauchy–Schwarz), however small L is.
    let max_y = want.output.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let n_outputs = want.output.iter().map(Vec::len).sum::<usize>() as f64;
    let loss_scale = want.loss.abs() + 2.0 * (want.loss.abs() * n_outputs).sqrt() * (1.0 + max_y);
    prop_assert!(close(got.loss.to_f64(), want.loss, loss_scale), "loss {} vs {}", got.loss.to_f64(), want.loss);
    for (l, &absolute) in absolute.iter().enumerate() {
        let w = oracle_weight_in_out(want, l);
        // A layer's own largest entry, or, where its sums cancel, the absolute-value bound's.
        let scale = if network_scope { network_max } else { layer_max(l).max(absolute) };
        for (i, (&g, &o)) in got.weight[l].iter().zip(&w).enumerate() {
            prop_assert!(close(g.to_f64(), o, scale), "layer {} weight {}: {} vs {}", l + 1, i, g.to_f64(), o);
        }
        for (j, (&g, &o)) in got.bias[l].iter().zip(&want.bias[l]).enumerate() {
            prop_assert!(close(g.to_f64(), o, scale), "layer {} bias {}: {} vs {}", l + 1, j, g.to_f64(), o);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn f64_gradients_agree_with_scalar_normwise(case in general_case_strategy()) {
        let want = case.oracle();
        let got = case.fast::<f64>(&mut Workspace::new());
        assert_close(&case, &got, &want, F64_NORMWISE_TOL)?;
    }

    /// The absolute-value bound is one: no gradient entry of the oracle exceeds it (a bound
    /// below the gradient would make the scale it sets too tight, and say its derivation is wrong).
    #[test]
    fn the_absolute_value_bound_bounds_every_gradient_entry(case in general_case_strategy()) {
        let want = case.oracle();
        for (l, bound) in case.absolute_scales().into_iter().enumerate() {
            let entries = want.weight[l].iter().flatten().chain(&want.bias[l]);
            for &g in entries {
                prop_assert!(g.abs() <= bound * (1.0 + 1e-12), "layer {}: |{g}| above the bound {bound}", l + 1);
            }
        }
    }

    #[test]
    fn f32_gradients_agree_with_scalar_normwise(case in smooth_case_strategy()) {
        let want = case.oracle();
        let got = case.fast::<f32>(&mut Workspace::new());
        // Where outputs nearly equal their targets, the seed 2(y − t) is a difference of nearly
        // equal f32 numbers whose relative error is unbounded: no scale of the gradients covers
        // it. Such cases are set aside (the f64 test above keeps them).
        let max_y = want.output.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        prop_assume!(want.loss >= F32_MIN_LOSS_RATIO * (1.0 + max_y * max_y));
        assert_close_network(&case, &got, &want, F32_NORMWISE_TOL)?;
    }
}

/// Networks of one width with a shortcut of every span 1…8, in both forms (8 layers, dyadic
/// values, exact activations) give the oracle's bits, through one workspace reused from span to span and
/// back: backward keeps span + 1 buffers for G and passes them down, and a shortcut's Δ must
/// land in a buffer that is still G_{l−s} when layer l − s is reached.
#[test]
fn shortcuts_of_every_span_give_the_oracles_bits_through_one_workspace() {
    let (width, depth, batch) = (2, 8, 4); // B a power of two: the loss's 1/B is exact
    let acts = [Activation::Identity, Activation::Relu, Activation::Identity];
    let layers: Vec<LayerCase> = (0..depth)
        .map(|l| {
            let w = (0..width)
                .map(|o| (0..width).map(|i| ((o * 7 + i * 3 + l) % 3) as f64 / 2.0 - 0.5).collect())
                .collect();
            let b = (l % 2 == 0).then(|| (0..width).map(|o| ((o + l) % 3) as f64 / 16.0).collect());
            (w, b, acts[l % 3])
        })
        .collect();
    let rows = |seed: usize| -> Vec<Vec<f64>> {
        (0..batch).map(|b| (0..width).map(|i| ((b * 5 + i * 3 + seed) % 9) as f64 / 8.0 - 0.5).collect()).collect()
    };
    // With statistics G_l is kept whole for its summary; without, a product may store
    // Δ_{l−1} = G_{l−1} ⊙ D_{l−1} at once — except where layer l − 1's identity shortcut needs G.
    for stats in [Some(0.01), None] {
        every_span_through_one_workspace(&layers, &rows(1), &rows(4), stats);
    }
}

fn every_span_through_one_workspace(layers: &[LayerCase], input: &[Vec<f64>], target: &[Vec<f64>], stats: Option<f64>) {
    let (width, depth) = (input[0].len(), layers.len());
    let mut ws = Workspace::new();
    ws.set_stats(stats).unwrap();
    let spans = (1..=depth).chain([3, 1, 8, 2]);
    let forms = spans.clone().map(|s| (s, Skip::PreActivation)).chain(spans.map(|s| (s, Skip::Identity)));
    // Each span with its rule's layers, then with layers named off the rule (every layer from s
    // up but each third: blocks that start above the input, joins s − 1 layers apart).
    let named = |span: usize| Some((span..=depth).filter(|l| !(l + span).is_multiple_of(3)).collect::<Vec<_>>());
    for ((span, skip), joins) in forms.flat_map(|form| [(form, None), (form, named(form.0))]) {
        let case = NetCase {
            n_input: width,
            layers: layers.to_vec(),
            shortcut: Some(span),
            joins: joins.clone(),
            skip,
            input: input.to_vec(),
            target: target.to_vec(),
            loss: Loss::SquaredError,
        };
        assert!(
            exact_bits(&case) <= MAX_EXACT_BITS,
            "span {span}, {skip:?}, {joins:?}: the case must be exact ({} bits)",
            exact_bits(&case)
        );
        let (want, got) = (case.oracle(), case.fast::<f64>(&mut ws));
        for l in 0..depth {
            let w: Vec<u64> = oracle_weight_in_out(&want, l).iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got.weight[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                w,
                "span {span}, {skip:?}, {joins:?}, statistics {stats:?}, layer {}",
                l + 1
            );
            let b: Vec<u64> = want.bias[l].iter().map(|v| v.to_bits()).collect();
            assert_eq!(
                got.bias[l].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b,
                "span {span}, {skip:?}, {joins:?}, layer {}",
                l + 1
            );
        }
    }
}
