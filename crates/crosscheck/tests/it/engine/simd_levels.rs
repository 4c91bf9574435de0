//! Every kernel at every SIMD level this CPU has gives the portable level's bits: the chain
//! sweeps (forward, backward, backward with statistics; `f64` and `f32`), the dense passes
//! (products, activations, Δ = G ⊙ f′, bias sums, the loss normalisation, with and without
//! statistics), `exp`, the sigmoid and tanh, the norms and summaries, and the matrix product.
//! Each level is chosen through the workspace (or the kernel's `simd` argument), so one process
//! checks them all whatever `GRADLAB_SIMD` says.

use super::chain::{bits, seeded_case};
use vectorised::dense::{Batch, Dense, DenseLayer, Loss, Normalisation, Workspace};
use vectorised::instruments::{ALayout, BOp, Init, Product, Scratch, gemm_at};
use vectorised::math::exp::{exp_slice, sigmoid_slice};
use vectorised::stats::{GradientStats, Summary};
use vectorised::workload::normal;
use vectorised::{Activation, ChainBatch, ChainWorkspace, Magnitudes, Real, Simd, Skip};

/// Runs `run` at the portable level and at every other level the CPU has, and asserts that each
/// gives the portable level's value (`what` names the case in a failure).
fn assert_every_level_agrees<V: PartialEq + std::fmt::Debug>(what: &str, mut run: impl FnMut(Simd) -> V) {
    let want = run(Simd::Portable);
    for simd in Simd::available() {
        assert_eq!(run(simd), want, "{what}: {} differs from portable", simd.name());
    }
}

/// A summary's numbers as bits (NaN compares equal to itself).
fn summary_bits(s: &Summary) -> [u64; 3] {
    [s.norm, s.mean_abs, s.max_abs].map(f64::to_bits)
}

/// Every number of a statistics report as bits, with the counts and the first non-finite value.
fn stats_bits(stats: &GradientStats) -> Vec<String> {
    stats
        .layers
        .iter()
        .map(|l| {
            format!(
                "{:?} {:?} {} {} {}",
                summary_bits(&l.weight),
                summary_bits(&l.activation),
                l.saturated_fraction.to_bits(),
                l.dead_units,
                l.dead_fraction.to_bits()
            )
        })
        .chain(std::iter::once(format!("{:?}", stats.first_non_finite)))
        .collect()
}

// ---------------------------------------------------------------- chains

/// One chain batch's every output at `simd`, with statistics (the stats sweep) or without (the
/// plain backward sweep).
fn chain_bits<T: Real>(batch: &ChainBatch<T>, inputs: &[T], targets: &[T], simd: Simd, stats: bool) -> Vec<String> {
    let mut ws = ChainWorkspace::new();
    ws.set_simd(simd);
    ws.set_stats(stats.then_some(1e-3)).unwrap();
    let mut out = Default::default();
    batch.gradients_into(inputs, targets, Magnitudes::Plain, &mut ws, &mut out).unwrap();
    let mut all = vec![
        format!("{:?}", bits(&out.weight)),
        format!("{:?}", bits(&out.bias)),
        format!("{:?}", bits(&out.input)),
        format!("{:?}", bits(&out.loss)),
        format!("{:?}", bits(&out.output)),
    ];
    all.extend(ws.stats().map(stats_bits).unwrap_or_default());
    all
}

fn chain_kernels_agree<T: Real>() {
    let mixed = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.125 },
        Activation::Softplus,
        Activation::Identity,
    ];
    // Two whole blocks and a partial one, in both types.
    let n = 2 * vectorised::chain::chain_chunk::<T>() + 37;
    for acts in [vec![Activation::Sigmoid; 12], (0..12).map(|l| mixed[l % 6]).collect()] {
        for (biased, shortcut, skip) in
            [(false, None, Skip::PreActivation), (true, Some(3), Skip::PreActivation), (true, Some(3), Skip::Identity)]
        {
            let mut case = seeded_case::<T>(n, acts.clone(), biased, shortcut);
            case.batch = case.batch.with_skip(skip);
            for stats in [false, true] {
                let what =
                    format!("{} chains {acts:?} biased {biased} shortcut {shortcut:?} {skip:?} stats {stats}", T::NAME);
                assert_every_level_agrees(&what, |simd| {
                    chain_bits(&case.batch, &case.inputs, &case.targets, simd, stats)
                });
            }
        }
    }
    // Identity layers with weights of 10³⁰⁰ (f64) or 10³⁰ (f32): the values overflow, so the
    // statistics search for the first non-finite value.
    let d = 16;
    let huge = T::from_f64(if T::NAME == "f32" { 1e30 } else { 1e300 });
    let weights: Vec<T> = normal(9, n * d).into_iter().map(|w| T::from_f64(w) * huge).collect();
    let batch = ChainBatch::new(n, weights, vec![Activation::Identity; d]).unwrap();
    let (inputs, targets) = (vec![T::ONE; n], vec![T::ZERO; n]);
    assert_every_level_agrees(&format!("{} overflowing chains", T::NAME), |simd| {
        chain_bits(&batch, &inputs, &targets, simd, true)
    });
    let found = chain_bits(&batch, &inputs, &targets, Simd::Portable, true);
    assert_ne!(found.last().map(String::as_str), Some("None"), "{}: the case has a non-finite value to find", T::NAME);
}

#[test]
fn chain_kernels_give_the_same_bits_at_every_simd_level_f64() {
    chain_kernels_agree::<f64>();
}

#[test]
fn chain_kernels_give_the_same_bits_at_every_simd_level_f32() {
    chain_kernels_agree::<f32>();
}

// ---------------------------------------------------------------- dense networks

/// A seeded network of the given widths, one activation per layer, with biases.
fn dense_net<T: Real>(widths: &[usize], acts: &[Activation], shortcut: Option<usize>) -> Dense<T> {
    let layers = widths
        .windows(2)
        .zip(acts)
        .enumerate()
        .map(|(l, (w, &act))| {
            let (n_in, n_out) = (w[0], w[1]);
            let scale = 1.5 / (n_in as f64).sqrt();
            let weight = normal(300 + l as u64, n_in * n_out).into_iter().map(|v| T::from_f64(v * scale)).collect();
            let bias = normal(400 + l as u64, n_out).into_iter().map(|v| T::from_f64(0.1 * v)).collect();
            DenseLayer::new(n_in, n_out, weight, Some(bias), act).unwrap()
        })
        .collect();
    Dense::new(layers, shortcut).unwrap()
}

/// Every gradient, the loss and (when gathered) the statistics of one call at `simd`.
fn dense_bits<T: Real>(
    net: &Dense<T>,
    batch: usize,
    loss: Loss,
    normalisation: Normalisation,
    stats: bool,
    simd: Simd,
) -> Vec<String> {
    let (n_in, n_out) = (net.input_width(), net.output_width());
    let x: Vec<T> = normal(500, batch * n_in).into_iter().map(T::from_f64).collect();
    let t: Vec<T> = match loss {
        Loss::BinaryCrossEntropy => (0..batch * n_out).map(|i| T::from_f64((i % 2) as f64)).collect(),
        _ => normal(501, batch * n_out).into_iter().map(T::from_f64).collect(),
    };
    let mut ws = Workspace::new();
    ws.set_simd(simd);
    if !stats {
        ws.set_stats(None).unwrap();
    }
    let g = net
        .gradients(
            Batch::new(&x, batch, n_in).unwrap(),
            Batch::new(&t, batch, n_out).unwrap(),
            loss,
            normalisation,
            &mut ws,
        )
        .unwrap();
    let mut all = vec![format!("{}", g.loss.to_f64().to_bits())];
    all.extend(g.weight.iter().chain(&g.bias).map(|v| format!("{:?}", bits(v))));
    all.extend(ws.stats().map(stats_bits).unwrap_or_default());
    all
}

fn dense_kernels_agree<T: Real>() {
    use Activation::*;
    let leaky = LeakyRelu { slope: 0.125 };
    // Small layers (run in order on the calling thread, partial tiles) and wide ones (run in
    // parallel blocks, packed operands), every activation, a shortcut, every loss.
    let nets: Vec<(&str, Dense<T>, usize)> = vec![
        ("small", dense_net(&[5, 7, 6, 3], &[Tanh, Relu, Sigmoid], None), 13),
        ("mixed", dense_net(&[9, 9, 9, 9, 9, 4], &[leaky, Softplus, Identity, Tanh, Sigmoid], Some(2)), 16),
        (
            "mixed, identity skip",
            dense_net(&[9, 9, 9, 9, 9, 4], &[leaky, Softplus, Identity, Tanh, Sigmoid], Some(2))
                .with_skip(Skip::Identity),
            16,
        ),
        ("wide", dense_net(&[96, 96, 96, 8], &[Tanh, Relu, Sigmoid], None), 64),
        ("mlp", vectorised::dense::mlp_network(&vectorised::workload::mlp_workload(64, 32, 3)).unwrap(), 64),
    ];
    for (name, net, batch) in &nets {
        let sigmoid_out = net.layers().last().unwrap().activation() == Sigmoid;
        for loss in [Loss::SquaredError, Loss::Linear, Loss::BinaryCrossEntropy] {
            if loss == Loss::BinaryCrossEntropy && !sigmoid_out {
                continue;
            }
            for normalisation in [Normalisation::PerSample, Normalisation::PerElement] {
                for stats in [true, false] {
                    let what = format!("{} {name} {loss:?} {normalisation:?} stats {stats}", T::NAME);
                    assert_every_level_agrees(&what, |simd| dense_bits(net, *batch, loss, normalisation, stats, simd));
                }
            }
        }
    }
}

#[test]
fn dense_kernels_give_the_same_bits_at_every_simd_level_f64() {
    dense_kernels_agree::<f64>();
}

#[test]
fn dense_kernels_give_the_same_bits_at_every_simd_level_f32() {
    dense_kernels_agree::<f32>();
}

// ---------------------------------------------------------------- elementary functions, norms

/// Arguments over every branch of `exp` and the sigmoid: the edges, both signs, underflow and
/// overflow, subnormal results, NaN and ±∞, and a sweep; a length that is no multiple of a vector.
fn arguments<T: Real>() -> Vec<T> {
    [0.0, -0.0, 1e-310, -1e-30, 0.5, -0.5, 37.0, -37.0, 88.5, -87.5, -103.5, 709.5, -745.0, 800.0, -800.0]
        .into_iter()
        .chain([f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
        .chain((0..1001).map(|i| (i as f64 - 500.0) * 0.0731))
        .map(T::from_f64)
        .collect()
}

fn elementary_functions_agree<T: Real>() {
    let x = arguments::<T>();
    assert_every_level_agrees(&format!("{} exp", T::NAME), |simd| {
        let mut out = vec![T::ZERO; x.len()];
        exp_slice(simd, &x, &mut out);
        bits(&out)
    });
    assert_every_level_agrees(&format!("{} sigmoid", T::NAME), |simd| {
        let (mut value, mut slope) = (x.clone(), vec![T::ZERO; x.len()]);
        sigmoid_slice(simd, &mut value, &mut slope);
        (bits(&value), bits(&slope))
    });
    // tanh runs inside the dense engine's activation kernel: one layer from a single input 1
    // (so z = w exactly, the finite arguments), under squared error against 0, whose weight
    // gradients 2·tanh(z)·tanh′(z) hold both the values and the slopes.
    let finite: Vec<T> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let net = Dense::new(vec![DenseLayer::new(1, finite.len(), finite.clone(), None, Activation::Tanh).unwrap()], None)
        .unwrap();
    assert_every_level_agrees(&format!("{} tanh", T::NAME), |simd| {
        let mut ws = Workspace::new();
        ws.set_simd(simd);
        let (one, t) = ([T::ONE], vec![T::ZERO; finite.len()]);
        let g = net
            .gradients(
                Batch::new(&one, 1, 1).unwrap(),
                Batch::new(&t, 1, finite.len()).unwrap(),
                Loss::SquaredError,
                Normalisation::PerSample,
                &mut ws,
            )
            .unwrap();
        bits(&g.weight[0])
    });
}

#[test]
fn exp_sigmoid_and_tanh_give_the_same_bits_at_every_simd_level() {
    elementary_functions_agree::<f64>();
    elementary_functions_agree::<f32>();
}

#[test]
fn summaries_give_the_same_bits_at_every_simd_level() {
    // Every magnitude class of Blue's sums (tiny, middle, huge), zeros, and lengths around the
    // groups of 32 values; then NaN and ±∞.
    let base: Vec<f64> =
        normal(600, 1000).into_iter().enumerate().map(|(i, v)| v * [1e-300, 1.0, 1e300, 0.0, 1e-160][i % 5]).collect();
    for len in [0, 1, 31, 32, 33, 64, 999, 1000] {
        let v = &base[..len];
        let f32s: Vec<f32> = v.iter().map(|&x| (x * 1e-280).clamp(-1e30, 1e30) as f32).collect();
        assert_every_level_agrees(&format!("summary of {len} f64"), |simd| summary_bits(&Summary::of_at(simd, v)));
        assert_every_level_agrees(&format!("summary of {len} f32"), |simd| summary_bits(&Summary::of_at(simd, &f32s)));
    }
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut v = base.clone();
        v[517] = bad;
        assert_every_level_agrees(&format!("summary with {bad}"), |simd| summary_bits(&Summary::of_at(simd, &v)));
    }
}

// ---------------------------------------------------------------- the matrix product

fn products_agree<T: Real>() {
    let mut scratch = Scratch::default();
    for (m, n, k) in [(1, 1, 1), (7, 15, 3), (8, 32, 5), (9, 17, 33), (20, 70, 300)] {
        let a: Vec<T> = normal(700, m * k).into_iter().map(T::from_f64).collect();
        let b: Vec<T> = normal(701, k * n).into_iter().map(T::from_f64).collect();
        let bias: Vec<T> = normal(702, n).into_iter().map(T::from_f64).collect();
        for a_layout in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
            for init in [Init::Zero, Init::Bias(&bias[..])] {
                let what = format!("{} {m}x{n}x{k} {a_layout:?} {init:?}", T::NAME);
                assert_every_level_agrees(&what, |simd| {
                    let mut c = vec![T::from_f64(f64::NAN); m * n];
                    let product = Product { m, n, k, a: &a, a_layout, b: BOp::Rows(&b, n), c: &mut c, ldc: n, init };
                    gemm_at(simd, product, &mut scratch);
                    bits(&c)
                });
            }
        }
    }
}

#[test]
fn the_matrix_product_gives_the_same_bits_at_every_simd_level() {
    products_agree::<f64>();
    products_agree::<f32>();
}
