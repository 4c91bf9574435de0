//! Per-layer gradient statistics of the dense engine: what they count, where they find the first
//! non-finite value, and that they are deterministic.

use vectorised::Activation;
use vectorised::dense::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};
use vectorised::stats::{GradientStats, Stage, Summary, sup_derivative};

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
    for (st, gw) in stats.layers.iter().zip(&g) {
        assert_eq!(st.weight, Summary::of(gw));
    }
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

#[test]
fn a_non_finite_gradient_is_located_in_backward_order() {
    // Forward stays finite (y = 1e308·x), but ∂L/∂y = 2(y − t) overflows to +∞.
    let l1 = DenseLayer::new(1, 1, vec![1e308], None, Activation::Identity).unwrap();
    let net = Dense::new(vec![l1], None).unwrap();
    let (stats, _) = run(&net, &[1.0], &[-1e308], 1);
    let nf = stats.first_non_finite.unwrap();
    assert_eq!((nf.layer, nf.stage), (1, Stage::ActivationGradient));
}

#[test]
fn statistics_are_bit_identical_on_1_2_and_7_threads() {
    let w = vectorised::workload::mlp_workload(65, 96, 3);
    let net = vectorised::dense::mlp_network::<f64>(&w).unwrap();
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| format!("{:?}", run(&net, &w.inputs, &w.targets, 65).0))
    };
    let one = on(1);
    assert_eq!(one, on(2));
    assert_eq!(one, on(7));
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
    for threads in [1, 2, 7] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (stats, _) = pool.install(|| run(&net, &x, &vec![0.0; batch], batch));
        let nf = stats.first_non_finite.unwrap();
        assert_eq!((nf.layer, nf.unit, nf.sample, nf.stage), (1, 0, Some(150), Stage::Forward), "{threads} threads");
    }
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
    // G_2 ≈ 1e300 is finite although its Σv² overflows (a false alarm the search must survive).
    assert!(stats.layers[1].activation.max_abs.is_finite() && !stats.layers[1].activation.norm.is_finite());
    assert!(stats.layers[0].activation.max_abs.is_infinite());
}
