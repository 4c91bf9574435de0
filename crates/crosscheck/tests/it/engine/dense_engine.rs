//! The dense engine on its own: the same bits on 1, 2 and 7 threads, from outside the pool and
//! through a reused workspace; per-element normalisation; bad inputs and networks as errors.

use vectorised::dense::{
    Batch, Dense, DenseLayer, Gradients, Loss, Normalisation, PARALLEL_ROW_CHUNK, ROW_CHUNK, Workspace, flatten_rows,
};
use vectorised::{Activation, Error, Skip};

// ---------------------------------------------------------------- determinism across threads

/// A net wide enough (96) that every layer's products run in parallel blocks.
fn wide_net(batch: usize) -> (Dense<f64>, Vec<f64>, Vec<f64>) {
    let n = 96;
    let w = vectorised::workload::mlp_workload(batch, n, 3);
    let net = vectorised::dense::mlp_network::<f64>(&w).unwrap();
    (net, w.inputs, w.targets)
}

fn gradients_on(threads: usize, batch: usize) -> Gradients<f64> {
    let (net, x, t) = wide_net(batch);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut ws = Workspace::new();
        net.gradients(
            Batch::new(&x, batch, 96).unwrap(),
            Batch::new(&t, batch, 96).unwrap(),
            Loss::SquaredError,
            Normalisation::PerElement,
            &mut ws,
        )
        .unwrap()
        .clone()
    })
}

fn bits(g: &Gradients<f64>) -> Vec<u64> {
    std::iter::once(g.loss)
        .chain(g.weight.iter().flatten().copied())
        .chain(g.bias.iter().flatten().copied())
        .map(f64::to_bits)
        .collect()
}

#[test]
fn gradients_are_bit_identical_on_1_2_and_7_threads() {
    // Blocks of PARALLEL_ROW_CHUNK rows on 2 and 7 threads, of ROW_CHUNK on one: batches that
    // do and do not divide either.
    let p = PARALLEL_ROW_CHUNK;
    for batch in [1, p - 1, p, p + 1, ROW_CHUNK - 1, ROW_CHUNK, ROW_CHUNK + 1, 3 * ROW_CHUNK + 17] {
        let one = bits(&gradients_on(1, batch));
        assert_eq!(one, bits(&gradients_on(2, batch)), "batch {batch}, 2 threads");
        assert_eq!(one, bits(&gradients_on(7, batch)), "batch {batch}, 7 threads");
    }
}

/// Widths that alternate between layers whose weights are packed and products run in parallel
/// blocks (96 × 96 at batch 200), and layers that are neither (96 × 4, 4 × 96), under a sigmoid
/// top for cross-entropy (its Z is kept, so that layer runs on one thread): the packing of the
/// next layer's weights beside this layer's products, and of Δ beside Wᵀ in backward, give the
/// one-thread bits.
#[test]
fn mixed_widths_give_the_same_bits_on_1_2_and_7_threads() {
    let widths = [96, 96, 4, 96, 96, 96];
    let batch = 200;
    let value = |seed: usize, i: usize| ((seed * 7919 + i * 104_729) % 2001) as f64 / 1000.0 - 1.0;
    let layers: Vec<DenseLayer<f64>> = widths
        .windows(2)
        .enumerate()
        .map(|(l, w)| {
            let (n_in, n_out) = (w[0], w[1]);
            let scale = 1.0 / (n_in as f64).sqrt();
            let weight = (0..n_in * n_out).map(|i| value(l, i) * scale).collect();
            let bias = (l % 2 == 0).then(|| (0..n_out).map(|j| 0.1 * value(l + 50, j)).collect());
            let act = if l + 2 == widths.len() { Activation::Sigmoid } else { Activation::Tanh };
            DenseLayer::new(n_in, n_out, weight, bias, act).unwrap()
        })
        .collect();
    let net = Dense::new(layers, None).unwrap();
    let x: Vec<f64> = (0..batch * widths[0]).map(|i| value(99, i)).collect();
    let t: Vec<f64> = (0..batch * widths[widths.len() - 1]).map(|i| (value(98, i) + 1.0) / 2.0).collect();
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut ws = Workspace::new();
            let g = net.gradients(
                Batch::new(&x, batch, widths[0]).unwrap(),
                Batch::new(&t, batch, widths[widths.len() - 1]).unwrap(),
                Loss::BinaryCrossEntropy,
                Normalisation::PerSample,
                &mut ws,
            );
            bits(g.unwrap())
        })
    };
    let one = on(1);
    assert_eq!(one, on(2), "2 threads");
    assert_eq!(one, on(7), "7 threads");
}

/// From a thread outside every pool (as a program's main thread calls it), the passes run on a
/// worker of the global pool (when it has two threads or more): the same bits.
#[test]
fn a_call_from_outside_the_pool_gives_the_same_bits() {
    for batch in [ROW_CHUNK + 1, 3 * ROW_CHUNK + 17] {
        let (net, x, t) = wide_net(batch);
        let outside = std::thread::spawn(move || {
            let mut ws = Workspace::new();
            let g = net.gradients(
                Batch::new(&x, batch, 96).unwrap(),
                Batch::new(&t, batch, 96).unwrap(),
                Loss::SquaredError,
                Normalisation::PerElement,
                &mut ws,
            );
            bits(g.unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(outside, bits(&gradients_on(1, batch)), "batch {batch}");
    }
}

/// A workspace reused call after call (whose backward buffers trade places between layers of
/// equal width) gives a fresh workspace's bits, at several depths, with and without statistics.
#[test]
fn a_reused_workspace_gives_the_same_bits() {
    for depth in [3, 4, 7] {
        let w = vectorised::workload::mlp_workload(65, 96, depth);
        let net = vectorised::dense::mlp_network::<f64>(&w).unwrap();
        let run = |ws: &mut Workspace<f64>| {
            bits(
                net.gradients(
                    Batch::new(&w.inputs, 65, 96).unwrap(),
                    Batch::new(&w.targets, 65, 96).unwrap(),
                    Loss::SquaredError,
                    Normalisation::PerSample,
                    ws,
                )
                .unwrap(),
            )
        };
        let fresh = run(&mut Workspace::new());
        for stats in [None, Some(0.01)] {
            let mut ws = Workspace::new();
            ws.set_stats(stats).unwrap();
            for call in 0..3 {
                assert_eq!(run(&mut ws), fresh, "depth {depth}, statistics {stats:?}, call {call}");
            }
        }
    }
}

#[test]
fn per_element_normalisation_divides_by_the_output_width_too() {
    let (net, x, t) = wide_net(5);
    let mut ws = Workspace::new();
    let mut run = |norm| {
        net.gradients(Batch::new(&x, 5, 96).unwrap(), Batch::new(&t, 5, 96).unwrap(), Loss::SquaredError, norm, &mut ws)
            .unwrap()
            .clone()
    };
    let per_sample = run(Normalisation::PerSample);
    let per_element = run(Normalisation::PerElement);
    // (S/B)/96 and S/(96·B) differ by at most one rounding each.
    let rel = (per_sample.loss / 96.0 - per_element.loss).abs() / per_element.loss;
    assert!(rel < 4.0 * f64::EPSILON, "{rel}");
}

// ---------------------------------------------------------------- the boundary

fn tiny_net() -> Dense<f64> {
    Dense::new(vec![DenseLayer::new(2, 1, vec![1.0, 1.0], None, Activation::Tanh).unwrap()], None).unwrap()
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let net = tiny_net();
    let mut ws = Workspace::new();
    let x = [1.0, 2.0];
    let t = [0.5];
    let ok = |d: &'static [f64], r, c| Batch::new(d, r, c).unwrap();
    // An empty batch.
    assert!(matches!(
        net.gradients(ok(&[], 0, 2), ok(&[], 0, 1), Loss::SquaredError, Normalisation::PerSample, &mut ws),
        Err(Error::Invalid { .. })
    ));
    // A batch whose data is not rows × cols.
    assert!(matches!(Batch::new(&x[..], 1, 3), Err(Error::Shape { .. })));
    // Wrong widths.
    assert!(
        net.gradients(
            Batch::new(&x, 2, 1).unwrap(),
            Batch::new(&t, 1, 1).unwrap(),
            Loss::SquaredError,
            Normalisation::PerSample,
            &mut ws
        )
        .is_err()
    );
    // Ragged rows.
    assert!(matches!(flatten_rows("input", &[vec![1.0, 2.0], vec![3.0]], 2), Err(Error::Shape { .. })));
    // Non-finite input and target.
    let bad = [1.0, f64::NAN];
    assert_eq!(
        net.gradients(
            Batch::new(&bad, 1, 2).unwrap(),
            Batch::new(&t, 1, 1).unwrap(),
            Loss::SquaredError,
            Normalisation::PerSample,
            &mut ws
        )
        .unwrap_err(),
        Error::NonFinite { what: "input", index: 1 }
    );
    let inf = [f64::INFINITY];
    assert!(
        net.gradients(
            Batch::new(&x, 1, 2).unwrap(),
            Batch::new(&inf, 1, 1).unwrap(),
            Loss::SquaredError,
            Normalisation::PerSample,
            &mut ws
        )
        .is_err()
    );
    // Cross-entropy on a tanh output.
    assert!(matches!(
        net.gradients(
            Batch::new(&x, 1, 2).unwrap(),
            Batch::new(&t, 1, 1).unwrap(),
            Loss::BinaryCrossEntropy,
            Normalisation::PerSample,
            &mut ws
        ),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn bad_networks_are_errors_not_panics() {
    assert!(Dense::<f64>::new(vec![], None).is_err());
    assert!(DenseLayer::<f64>::new(0, 1, vec![], None, Activation::Relu).is_err());
    assert!(DenseLayer::new(2, 1, vec![1.0], None, Activation::Relu).is_err());
    assert!(DenseLayer::new(1, 1, vec![f64::NAN], None, Activation::Relu).is_err());
    assert!(DenseLayer::new(1, 2, vec![1.0, 1.0], Some(vec![0.0]), Activation::Relu).is_err());
    assert!(DenseLayer::new(1, 1, vec![1.0], None, Activation::LeakyRelu { slope: f64::INFINITY }).is_err());
    assert!(DenseLayer::from_out_in(&[vec![1.0, 2.0], vec![1.0]], None, Activation::Relu).is_err());
    let l1 = DenseLayer::new(2, 3, vec![0.0; 6], None, Activation::Relu).unwrap();
    let l2 = DenseLayer::new(2, 1, vec![0.0; 2], None, Activation::Relu).unwrap();
    assert!(matches!(Dense::new(vec![l1.clone(), l2], None), Err(Error::InLayer { layer: 2, .. })));
    assert!(Dense::new(vec![l1.clone()], Some(0)).is_err());
    assert!(Dense::new(vec![l1], Some(2)).is_err());
}

/// The wide net's layers under an identity shortcut of span 2 and of span 1 (every layer 96
/// wide, so every layer receives one; A_{l−s} added after f, G_l passed down before f′): the
/// gradients and the statistics have the same bits on 1, 2 and 7 threads.
#[test]
fn identity_shortcuts_give_the_same_bits_on_1_2_and_7_threads() {
    let batch = 3 * ROW_CHUNK + 17;
    let w = vectorised::workload::mlp_workload(batch, 96, 4);
    let plain = vectorised::dense::mlp_network::<f64>(&w).unwrap();
    // The gradients' bits and the statistics of `net`, on the calling thread's pool.
    let run = |net: &Dense<f64>| {
        let mut ws = Workspace::new();
        let g = net
            .gradients(
                Batch::new(&w.inputs, batch, 96).unwrap(),
                Batch::new(&w.targets, batch, 96).unwrap(),
                Loss::SquaredError,
                Normalisation::PerElement,
                &mut ws,
            )
            .unwrap()
            .clone();
        (bits(&g), format!("{:?}", ws.stats()))
    };
    for span in [1, 2] {
        let net = Dense::new(plain.layers().to_vec(), Some(span)).unwrap().with_skip(Skip::Identity);
        assert_eq!(net.shortcut_layers().len(), plain.layers().len() / span, "span {span}: every s-th layer");
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| run(&net))
        };
        let one = on(1);
        assert_eq!(one, on(2), "span {span}, 2 threads");
        assert_eq!(one, on(7), "span {span}, 7 threads");
        // And the form matters: the pre-activation network has other gradients.
        let pre = Dense::new(plain.layers().to_vec(), Some(span)).unwrap();
        assert_ne!(run(&pre).0, one.0, "span {span}");
    }
}
