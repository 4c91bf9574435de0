//! Per-layer gradient statistics of the dense and chain engines: what they count, where they
//! find the first non-finite value, and that they are deterministic.

use vectorised::dense::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};
use vectorised::stats::{DEFAULT_SATURATION_THRESHOLD, GradientStats, NonFinite, Stage, Summary, sup_derivative};
use vectorised::workload::{normal, uniform};
use vectorised::{Activation, ChainBatch, ChainGradients, ChainWorkspace, Magnitudes, Real, Skip};

fn run(net: &Dense<f64>, x: &[f64], t: &[f64], batch: usize) -> (GradientStats, Vec<Vec<f64>>) {
    let mut ws = Workspace::new();
    let g = net
        .gradients(
            Batch::new(x, batch, net.input_width()).unwrap(),
            Batch::new(t, batch, net.output_width()).unwrap(),
            Loss::SquaredError,
            Normalisation::PerSample,
            &mut ws,
        )
        .unwrap()
        .weight
        .clone();
    (ws.stats().unwrap().clone(), g)
}

#[test]
fn summary_is_norm_mean_and_max_of_absolute_values() {
    let s = Summary::of(&[3.0f64, -4.0, 0.0, 0.0]);
    assert_eq!(s, Summary { norm: 5.0, mean_abs: 1.75, max_abs: 4.0 });
    assert_eq!(Summary::of::<f64>(&[]), Summary::default());
}

#[test]
fn a_relu_unit_negative_for_every_sample_is_dead_and_the_others_are_not() {
    // Unit 0 gets −x − 1 < 0 for x ≥ 0: dead. Unit 1 gets x + 1 > 0: alive.
    let l1 = DenseLayer::new(1, 2, vec![-1.0, 1.0], Some(vec![-1.0, 1.0]), Activation::Relu).unwrap();
    let l2 = DenseLayer::new(2, 1, vec![1.0, 1.0], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1, l2], None).unwrap();
    let (stats, _) = run(&net, &[0.0, 0.5, 2.0], &[0.0, 0.0, 0.0], 3);
    assert_eq!(stats.layers[0].dead_units, 1);
    assert_eq!(stats.layers[0].dead_fraction, 0.5);
    // Every (sample, unit 0) pair has f′ = 0 < θ: 3 of 6 pairs are saturated.
    assert_eq!(stats.layers[0].saturated_fraction, 0.5);
    // An identity layer never saturates and has no dead units.
    assert_eq!(stats.layers[1].dead_units, 0);
    assert_eq!(stats.layers[1].saturated_fraction, 0.0);
    assert_eq!(stats.first_non_finite, None);
}

#[test]
fn saturated_sigmoid_units_are_counted_relative_to_sup_derivative() {
    // z = 20·x: σ′(20) ≈ 2e−9 < 1e−3·(1/4), σ′(0) = 1/4 is not saturated.
    let l1 = DenseLayer::new(1, 1, vec![20.0], None, Activation::Sigmoid).unwrap();
    let net = Dense::new(vec![l1], None).unwrap();
    let (stats, _) = run(&net, &[1.0, 0.0, -1.0, 0.0], &[0.0; 4], 4);
    assert_eq!(stats.layers[0].saturated_fraction, 0.5);
    assert_eq!(sup_derivative(Activation::Sigmoid), 0.25);
}

#[test]
fn weight_statistics_summarise_the_returned_gradients() {
    let l1 = DenseLayer::new(2, 3, vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.75], Some(vec![0.1, 0.2, 0.3]), Activation::Tanh)
        .unwrap();
    let l2 = DenseLayer::new(3, 1, vec![1.0, -2.0, 0.5], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1, l2], None).unwrap();
    let (stats, g) = run(&net, &[0.3, -0.7, 1.1, 0.2], &[0.5, -0.5], 2);
    // Computed here the plain way (these values are far from under- and overflow, where the
    // engine's scaled sums reduce to the same sums in another grouping).
    for (l, (st, gw)) in stats.layers.iter().zip(&g).enumerate() {
        let norm = gw.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mean_abs = gw.iter().map(|v| v.abs()).sum::<f64>() / gw.len() as f64;
        let max_abs = gw.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(max_abs > 0.0, "layer {l}: a case with gradients");
        assert!(relative_difference(st.weight.norm, norm) <= SUM_ORDER_TOL, "layer {l}: {:?} vs {norm}", st.weight);
        assert!(relative_difference(st.weight.mean_abs, mean_abs) <= SUM_ORDER_TOL, "layer {l}: {:?}", st.weight);
        assert_eq!(st.weight.max_abs, max_abs, "layer {l}");
    }
}

/// Sums of the same few values in another order or grouping: a few roundings of ε apart.
const SUM_ORDER_TOL: f64 = 8.0 * f64::EPSILON;

fn relative_difference(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn the_first_non_finite_forward_value_is_located() {
    // 1e200·1e200 overflows in layer 2's pre-activation for sample 1, unit 0.
    let l1 = DenseLayer::new(1, 1, vec![1e200], None, Activation::Identity).unwrap();
    let l2 = DenseLayer::new(1, 2, vec![1e200, 0.0], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1, l2], None).unwrap();
    let (stats, _) = run(&net, &[0.0, 1.0], &[0.0; 4], 2);
    let nf = stats.first_non_finite.unwrap();
    assert_eq!((nf.layer, nf.unit, nf.sample, nf.stage), (2, 0, Some(1), Stage::Forward));
}

/// An identity shortcut's sum overflows where neither of its terms does: a_1 = f(z_1) + a_0 =
/// 1e308 + 1e308 for sample 1, so layer 1 holds the first non-finite value (not layer 2, whose
/// z = w·∞ is the first a scan of the pre-activations alone would meet).
#[test]
fn an_overflow_in_an_identity_shortcuts_sum_is_located_at_its_layer() {
    let l1 = DenseLayer::new(1, 1, vec![1.0], None, Activation::Identity).unwrap();
    let l2 = DenseLayer::new(1, 1, vec![1.0], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1, l2], Some(1)).unwrap().with_skip(Skip::Identity);
    let (stats, _) = run(&net, &[1.0, 1e308], &[0.0; 2], 2);
    let nf = stats.first_non_finite.unwrap();
    assert_eq!((nf.layer, nf.unit, nf.sample, nf.stage), (1, 0, Some(1), Stage::ShortcutSum));
    // Within a layer the pre-activations are scanned first: sample 0's sum overflows (unit 0,
    // 1e308 + 1e308) and sample 1's z does (unit 1, 1e300·1e10); z's is the first.
    let l1 = DenseLayer::new(2, 2, vec![1.0, 0.0, 0.0, 1e300], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1], Some(1)).unwrap().with_skip(Skip::Identity);
    let (stats, _) = run(&net, &[1e308, 0.0, 0.0, 1e10], &[0.0; 4], 2);
    let nf = stats.first_non_finite.unwrap();
    assert_eq!((nf.layer, nf.unit, nf.sample, nf.stage), (1, 1, Some(1), Stage::Forward));
}

#[test]
fn a_non_finite_gradient_is_located_in_backward_order() {
    // Forward stays finite (y = 1e308·x), but ∂L/∂y = 2(y − t) overflows to +∞.
    let l1 = DenseLayer::new(1, 1, vec![1e308], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1], None).unwrap();
    let (stats, _) = run(&net, &[1.0], &[-1e308], 1);
    let nf = stats.first_non_finite.unwrap();
    assert_eq!((nf.layer, nf.stage), (1, Stage::ActivationGradient));
}

/// `f()` on pools of 1, 2 and 7 threads, checked to be the same each time (compare `Debug`
/// text for the bits of floats); returns it.
fn same_on_1_2_and_7_threads<R: PartialEq + std::fmt::Debug + Send>(f: impl Fn() -> R + Sync) -> R {
    let on = |threads: usize| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(&f);
    let one = on(1);
    for threads in [2, 7] {
        assert_eq!(on(threads), one, "{threads} threads against 1");
    }
    one
}

#[test]
fn statistics_are_bit_identical_on_1_2_and_7_threads() {
    let w = vectorised::workload::mlp_workload(65, 96, 3);
    let net = vectorised::dense::mlp_network::<f64>(&w).unwrap();
    same_on_1_2_and_7_threads(|| format!("{:?}", run(&net, &w.inputs, &w.targets, 65).0));
}

/// Sample 150 of 200 (the third block of rows) overflows first, sample 199 too: the first
/// non-finite value is sample 150's, on any number of threads (the layer runs in parallel blocks).
#[test]
fn the_first_non_finite_forward_value_is_located_across_parallel_blocks() {
    let (n, batch) = (96, 200);
    let mut w1 = vec![0.0; n * n];
    w1[..n].fill(1e200); // input unit 0 → every output unit
    let l1 = DenseLayer::new(n, n, w1, None, Activation::Identity).unwrap();
    let l2 = DenseLayer::new(n, 1, vec![1.0; n], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1, l2], None).unwrap();
    let mut x = vec![0.0; batch * n];
    x[150 * n] = 1e200;
    x[199 * n] = 1e200;
    let nf = same_on_1_2_and_7_threads(|| run(&net, &x, &vec![0.0; batch], batch).0.first_non_finite).unwrap();
    assert_eq!((nf.layer, nf.unit, nf.sample, nf.stage), (1, 0, Some(150), Stage::Forward));
}

/// G_1 = Δ_2·W_2ᵀ overflows in unit 1 only (W_2 = [1e−300, 1e300]) while the forward pass and
/// G_2 (≈ 1e300) stay finite: located in layer 1's ∂L/∂a, unit 1, sample 0 (the statistics summarise G_1
/// in the same pass that turns it into Δ_1).
#[test]
fn a_non_finite_hidden_gradient_is_located_by_unit_and_sample() {
    let l1 = DenseLayer::new(1, 2, vec![1.0, 1.0], None, Activation::Tanh).unwrap();
    let l2 = DenseLayer::new(2, 1, vec![1e-300, 1e300], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1, l2], None).unwrap();
    let (stats, _) = run(&net, &[0.5, 0.25], &[0.0, 0.0], 2);
    let nf = stats.first_non_finite.unwrap();
    assert_eq!((nf.layer, nf.unit, nf.sample, nf.stage), (1, 1, Some(0), Stage::ActivationGradient));
    // G_2 ≈ 1e300 (one value per sample) is finite, and so is its norm, although a plain Σv²
    // would overflow: between max |g| and √2·max |g|.
    let g2 = stats.layers[1].activation;
    assert!(g2.max_abs > 1e299 && g2.max_abs <= g2.norm && g2.norm <= 2f64.sqrt() * g2.max_abs, "{g2:?}");
    assert!(stats.layers[0].activation.max_abs.is_infinite());
}

// ---- chains ----

/// A batch of chains and its inputs and targets, with the statistics' reference computed
/// independently (one chain at a time, the oracle's activations, in `f64`).
struct ChainCase {
    acts: Vec<Activation>,
    n_chains: usize,
    /// Layer-major, `[l·S + s]`.
    weights: Vec<f64>,
    biases: Option<Vec<f64>>,
    span: Option<usize>,
    /// Where the shortcut joins.
    skip: Skip,
    inputs: Vec<f64>,
    targets: Vec<f64>,
}

impl ChainCase {
    /// Every activation, cycled over the layers; random weights of scale 1.5.
    fn mixed(n_chains: usize, n_layers: usize, biased: bool, span: Option<usize>, seed: u64) -> ChainCase {
        let kinds = [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::Softplus,
            Activation::Identity,
            Activation::LeakyRelu { slope: 0.1 },
        ];
        let acts = (0..n_layers).map(|l| kinds[(l + seed as usize) % kinds.len()]).collect();
        let size = n_chains * n_layers;
        ChainCase {
            acts,
            n_chains,
            weights: normal(seed, size).iter().map(|w| 1.5 * w).collect(),
            biases: biased.then(|| uniform(seed + 1, size).iter().map(|b| b - 0.5).collect()),
            span,
            skip: Skip::PreActivation,
            inputs: normal(seed + 2, n_chains),
            targets: uniform(seed + 3, n_chains),
        }
    }

    /// The same case with its shortcut joining in `skip`'s form.
    fn with_skip(self, skip: Skip) -> ChainCase {
        ChainCase { skip, ..self }
    }

    fn batch<T: Real>(&self) -> ChainBatch<T> {
        let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        let mut batch = ChainBatch::new(self.n_chains, cast(&self.weights), self.acts.clone()).unwrap();
        if let Some(b) = &self.biases {
            batch = batch.with_biases(cast(b)).unwrap();
        }
        if let Some(span) = self.span {
            batch = batch.with_shortcut(span).unwrap().with_skip(self.skip);
        }
        batch
    }

    /// Gradients, and statistics when `threshold` is given.
    fn run<T: Real>(&self, threshold: Option<f64>) -> (ChainGradients<T>, Option<GradientStats>) {
        let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
        let mut ws = ChainWorkspace::new();
        ws.set_stats(threshold).unwrap();
        let mut out = ChainGradients::default();
        self.batch::<T>()
            .gradients_into(&cast(&self.inputs), &cast(&self.targets), Magnitudes::Plain, &mut ws, &mut out)
            .unwrap();
        (out, ws.stats().cloned())
    }

    /// Per layer l (index l − 1), over the chains: ∂L/∂a_l and f′(z_l), by the equations of
    /// `vectorised::chain`'s module docs, one chain at a time.
    fn reference(&self) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let (s, d) = (self.n_chains, self.acts.len());
        let mut grad_a = vec![vec![0.0; s]; d];
        let mut deriv = vec![vec![0.0; s]; d];
        for c in 0..s {
            let w = |layer: usize| self.weights[(layer - 1) * s + c];
            let into = |layer: usize| self.span.filter(|&span| layer.is_multiple_of(span));
            let identity = self.skip == Skip::Identity;
            let mut a = vec![self.inputs[c]];
            for layer in 1..=d {
                let f = super::to_oracle(self.acts[layer - 1]);
                let b = self.biases.as_ref().map_or(0.0, |b| b[(layer - 1) * s + c]);
                let skipped = into(layer).map_or(0.0, |span| a[layer - span]);
                let z = w(layer) * a[layer - 1] + b + if identity { 0.0 } else { skipped };
                deriv[layer - 1][c] = f.derivative(z);
                a.push(f.value(z) + if identity { skipped } else { 0.0 });
            }
            let mut delta = vec![0.0; d + 1]; // δ_l at index l
            for layer in (1..=d).rev() {
                let g = if layer == d {
                    2.0 * (a[d] - self.targets[c])
                } else {
                    // δ_{l+s}, or ∂L/∂a_{l+s} for the identity skip (already in grad_a).
                    let joined = |span: usize| if identity { grad_a[layer + span - 1][c] } else { delta[layer + span] };
                    let skip = into(layer).filter(|&span| layer + span <= d).map_or(0.0, joined);
                    delta[layer + 1] * w(layer + 1) + skip
                };
                grad_a[layer - 1][c] = g;
                delta[layer] = deriv[layer - 1][c] * g;
            }
        }
        (grad_a, deriv)
    }
}

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// `a` within `rel` of `b` (relative to |b|), or both equal.
fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * b.abs()
}

/// Gathering statistics leaves every gradient's bits as they are, in `f64` and `f32`, with and
/// without biases and shortcuts, over batches of one block and of several (the last partial).
#[test]
fn chain_statistics_leave_the_gradients_bits_unchanged() {
    fn check<T: Real>(case: &ChainCase) {
        let (plain, none) = case.run::<T>(None);
        let (with, stats) = case.run::<T>(Some(DEFAULT_SATURATION_THRESHOLD));
        assert!(none.is_none() && stats.is_some());
        assert_eq!(bits(&plain.weight), bits(&with.weight));
        assert_eq!(bits(&plain.bias), bits(&with.bias));
        assert_eq!(bits(&plain.input), bits(&with.input));
        assert_eq!(bits(&plain.loss), bits(&with.loss));
    }
    for (n_chains, biased, span) in [(1, false, None), (300, true, None), (300, false, Some(2)), (517, true, Some(3))] {
        for skip in [Skip::PreActivation, Skip::Identity] {
            let case = ChainCase::mixed(n_chains, 9, biased, span, n_chains as u64).with_skip(skip);
            check::<f64>(&case);
            check::<f32>(&case);
        }
    }
}

/// Checks `case`'s statistics against its S values of ∂L/∂w_l per layer (the returned
/// gradients) and of ∂L/∂a_l and f′(z_l) (from an independent computation, one chain at a
/// time): counts exactly, the maxima of ∂L/∂w exactly, their sums to rounding (the engine adds
/// block by block), ∂L/∂a's summaries within `activation_tol` (relative: the two computations
/// round differently). Returns whether any unit was saturated and whether any was dead.
fn check_chain_statistics(case: &ChainCase, activation_tol: f64) -> (bool, bool) {
    let (out, stats) = case.run::<f64>(Some(DEFAULT_SATURATION_THRESHOLD));
    let stats = stats.unwrap();
    let (grad_a, deriv) = case.reference();
    let s = case.n_chains;
    assert_eq!(stats.layers.len(), case.acts.len());
    assert_eq!(stats.first_non_finite, None);
    let (mut saturated_seen, mut dead_seen) = (false, false);
    for (l, st) in stats.layers.iter().enumerate() {
        let want_w = Summary::of(&out.weight[l * s..][..s]);
        assert!(close(st.weight.norm, want_w.norm, 1e-14), "layer {}: {:?} vs {want_w:?}", l + 1, st.weight);
        assert!(close(st.weight.mean_abs, want_w.mean_abs, 1e-14), "layer {}", l + 1);
        assert_eq!(st.weight.max_abs, want_w.max_abs, "layer {}", l + 1);
        let want_a = Summary::of(&grad_a[l]);
        for (got, want) in [
            (st.activation.norm, want_a.norm),
            (st.activation.mean_abs, want_a.mean_abs),
            (st.activation.max_abs, want_a.max_abs),
        ] {
            assert!(close(got, want, activation_tol), "layer {}: {:?} vs {want_a:?}", l + 1, st.activation);
        }
        let act = case.acts[l];
        let limit = DEFAULT_SATURATION_THRESHOLD * sup_derivative(act);
        let saturated = deriv[l].iter().filter(|v| v.abs() < limit).count();
        assert_eq!(st.saturated_fraction, saturated as f64 / s as f64, "layer {} ({act:?})", l + 1);
        let dead = if act == Activation::Relu { deriv[l].iter().filter(|&&v| v == 0.0).count() } else { 0 };
        assert_eq!((st.dead_units, st.dead_fraction), (dead, dead as f64 / s as f64), "layer {}", l + 1);
        saturated_seen |= saturated > 0;
        dead_seen |= dead > 0;
    }
    (saturated_seen, dead_seen)
}

/// Each layer's statistics summarise its S chains (see [`check_chain_statistics`]), in cases
/// that exercise both counts (a relu chain with z < 0 is dead and saturated).
#[test]
fn chain_statistics_summarise_each_layer_over_the_chains() {
    for (biased, span, seed) in [(false, None, 11), (true, Some(2), 12), (true, Some(3), 13)] {
        for skip in [Skip::PreActivation, Skip::Identity] {
            let case = ChainCase::mixed(300, 12, biased, span, seed).with_skip(skip);
            let (saturated_seen, dead_seen) = check_chain_statistics(&case, 1e-10);
            assert!(saturated_seen && dead_seen);
        }
    }
}

proptest::proptest! {
    /// The same over random batches: 1–400 chains (one block to four, the last partial),
    /// depth 1–12, every activation, with and without biases and shortcuts. ∂L/∂a's tolerance
    /// is wide (1e−6) because a random chain may cancel in δ_{l+1}·w_{l+1} + δ_{l+s}, where the
    /// two computations' last-bit differences grow; a wrong row (δ for ∂L/∂a, a missing
    /// shortcut term) is off by far more.
    #[test]
    fn chain_statistics_match_an_independent_computation(
        n_chains in 1usize..400,
        depth in 1usize..=12,
        biased in proptest::bool::ANY,
        span in proptest::option::of(1usize..=4),
        identity in proptest::bool::ANY,
        seed in 0u64..100_000,
    ) {
        let skip = if identity { Skip::Identity } else { Skip::PreActivation };
        let case = ChainCase::mixed(n_chains, depth, biased, span.filter(|&s| s <= depth), seed).with_skip(skip);
        check_chain_statistics(&case, 1e-6);
    }
}

/// The same statistics, to the bit, on 1, 2 and 7 threads (blocks combine in block order).
#[test]
fn chain_statistics_are_bit_identical_on_1_2_and_7_threads() {
    for skip in [Skip::PreActivation, Skip::Identity] {
        let case = ChainCase::mixed(517, 10, true, Some(2), 21).with_skip(skip);
        same_on_1_2_and_7_threads(|| {
            let (_, s64) = case.run::<f64>(Some(DEFAULT_SATURATION_THRESHOLD));
            let (_, s32) = case.run::<f32>(Some(DEFAULT_SATURATION_THRESHOLD));
            format!("{s64:?} {s32:?}")
        });
    }
}

/// Identity chains of depth 3 whose x = 1e200 and w_2 = 1e200 overflow a_2 in chains 150 and 299
/// (the second and third blocks of 128): chain 150's is the first non-finite value, on any
/// number of threads; with the overflow in a_3 of chain 20 as well, chain 150's a_2 still
/// comes first (forward values are scanned layer by layer).
#[test]
fn chain_statistics_locate_the_first_non_finite_forward_value_across_blocks() {
    let (s, d) = (300, 3);
    for extra in [false, true] {
        let mut case = ChainCase::mixed(s, d, false, None, 31);
        case.acts = vec![Activation::Identity; d];
        case.weights = vec![1.0; s * d];
        case.inputs = vec![0.0; s];
        for c in [150, 299] {
            case.inputs[c] = 1e200;
            case.weights[s + c] = 1e200;
        }
        if extra {
            case.inputs[20] = 1e160;
            case.weights[s + 20] = 1e100;
            case.weights[2 * s + 20] = 1e100;
        }
        let first = same_on_1_2_and_7_threads(|| {
            case.run::<f64>(Some(DEFAULT_SATURATION_THRESHOLD)).1.unwrap().first_non_finite
        });
        let want = NonFinite { layer: 2, unit: 150, sample: None, stage: Stage::Forward };
        assert_eq!(first, Some(want), "extra {extra}");
    }
}

/// Forward finite, backward not, in identity chains of depth 2. Chain 200 (block 1): y = 1e308,
/// t = −1e308, so ∂L/∂a_2 = 2(y − t) = +∞. Chain 7 (block 0): x = 1e300, w_1 = 1e−300,
/// w_2 = 1e10, so every value is finite up to ∂L/∂a_1 = 2e20, and ∂L/∂w_1 = 2e20·x = +∞.
/// Backward order puts layer 2 first, so chain 200's is found although chain 7's index is
/// smaller; without it, chain 7's is found as a weight gradient.
#[test]
fn chain_statistics_locate_a_non_finite_gradient_in_backward_order() {
    let (s, d) = (300, 2);
    let mut case = ChainCase::mixed(s, d, false, None, 41);
    case.acts = vec![Activation::Identity; d];
    case.weights = vec![1.0; s * d];
    case.inputs = vec![0.5; s];
    case.targets = vec![0.0; s];
    (case.inputs[200], case.targets[200]) = (1e308, -1e308);
    (case.inputs[7], case.weights[7], case.weights[s + 7]) = (1e300, 1e-300, 1e10);
    let first = |case: &ChainCase| {
        same_on_1_2_and_7_threads(|| case.run::<f64>(Some(DEFAULT_SATURATION_THRESHOLD)).1.unwrap().first_non_finite)
    };
    let want = NonFinite { layer: 2, unit: 200, sample: None, stage: Stage::ActivationGradient };
    assert_eq!(first(&case), Some(want));
    (case.inputs[200], case.targets[200]) = (0.5, 0.0);
    let want = NonFinite { layer: 1, unit: 7, sample: None, stage: Stage::WeightGradient };
    assert_eq!(first(&case), Some(want));
}

/// Statistics are off unless asked for; a threshold that is NaN, infinite or negative is refused.
#[test]
fn chain_statistics_are_off_by_default_and_refuse_a_bad_threshold() {
    let mut ws = ChainWorkspace::<f64>::new();
    assert!(ws.stats().is_none());
    for bad in [f64::NAN, f64::INFINITY, -1e-3] {
        let e = ws.set_stats(Some(bad)).unwrap_err().to_string();
        assert!(e.contains("saturation threshold"), "{e}");
    }
    ws.set_stats(Some(0.0)).unwrap();
    let case = ChainCase::mixed(3, 2, false, None, 51);
    case.batch::<f64>()
        .gradients_into(&case.inputs, &case.targets, Magnitudes::Plain, &mut ws, &mut Default::default())
        .unwrap();
    assert_eq!(ws.stats().unwrap().layers.len(), 2);
}

/// With an identity shortcut the statistics of ∂L/∂a summarise G_l, which the shortcut carries
/// past f′: the hand-worked net of `dense.rs` (2 → 2 → 2, identity then ReLU, span 1, B = 2) has
/// ∂L/∂a_1 = G_1/B = (1, 3/4), (−1/4, −1/8): mean |·| 17/32, max 1 (G_1 = G_2 + Δ_2·W_2; passing
/// Δ_2 down instead would give (1, 1/4), (0, 0), mean 5/16). The pre-activation form of the
/// same layers is another network, with another summary.
#[test]
fn identity_shortcut_statistics_summarise_the_gradient_it_carries() {
    let l1 = DenseLayer::new(2, 2, vec![0.5, -1.0, 0.25, 0.75], Some(vec![0.125, 0.0]), Activation::Identity).unwrap();
    let l2 = DenseLayer::new(2, 2, vec![1.0, 0.25, 0.5, -2.0], None, Activation::Relu).unwrap();
    let (x, t) = ([1.0, 2.0, -1.0, 0.5], [5.0, 2.0, -1.0, 2.0]);
    let net = Dense::new(vec![l1, l2], Some(1)).unwrap();
    let (identity, _) = run(&net.clone().with_skip(Skip::Identity), &x, &t, 2);
    assert_eq!((identity.layers[0].activation.mean_abs, identity.layers[0].activation.max_abs), (17.0 / 32.0, 1.0));
    let (pre, _) = run(&net, &x, &t, 2);
    assert_ne!(pre.layers[0].activation.mean_abs, 17.0 / 32.0);
}
