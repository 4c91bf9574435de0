//! The oracle's throughput: `Tape::backward` over a chain of 10⁶ nodes, the whole tape path of a
//! 200,000-layer sigmoid chain (≈ 10⁶ nodes), and the chain's closed forms in `f64` and `Ext` at
//! depth 100,000. Weights are seeded draws from U[0.5, 1.5). And a dense network's gradients on
//! the tape and by `Dense::backprop_over` (the tape's bits without the tape), per multiply-add.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scalar::chain::Chain;
use scalar::dense::{Dense, DenseLayer, Loss};
use scalar::rng::Rng;
use scalar::{Activation, Tape};
use std::hint::black_box;

const SEED: u64 = 2024;
/// Nodes on the tape that `backward_1e6_nodes` sweeps.
const BACKWARD_NODES: usize = 1_000_000;
/// Layers of the chain differentiated end to end through the tape.
const TAPE_LAYERS: usize = 200_000;
/// Layers of the chain differentiated by the closed forms.
const CLOSED_FORM_LAYERS: usize = 100_000;

fn seeded_weights(n: usize) -> Vec<f64> {
    let mut rng = Rng::new(SEED);
    (0..n).map(|_| rng.uniform(0.5, 1.5)).collect()
}

/// `Tape::backward` alone, on a tape recorded once the way `Chain::gradients_tape` records a
/// sigmoid chain: x; w_d, b_d, w_d·u_d, + b_d, σ(z_d) per layer; ŷ, −ŷ, y + (−ŷ), (·)². That is
/// 5D + 5 nodes, exactly 10⁶ for D = 199,999. (A chain a ← tanh(w·a) was tried first: with these
/// weights its values sink into the subnormals, and the sweep then times the CPU's subnormal
/// penalty rather than the tape.)
fn backward(c: &mut Criterion) {
    let depth = (BACKWARD_NODES - 5) / 5;
    let weights = seeded_weights(depth);
    let tape = Tape::with_capacity(BACKWARD_NODES);
    let x = tape.var(1.0);
    let mut a = x;
    for &w in &weights {
        let (w, b) = (tape.var(w), tape.var(0.0));
        a = (w * a + b).activate(Activation::Sigmoid);
    }
    let loss = (a - 0.0).square();
    assert_eq!(tape.len(), BACKWARD_NODES);

    let mut group = c.benchmark_group("tape");
    group.throughput(Throughput::Elements(BACKWARD_NODES as u64));
    group.bench_function("backward_1e6_nodes", |b| b.iter(|| black_box(tape.backward(black_box(loss)).wrt(x))));
    group.finish();
}

/// `Chain::gradients_tape`: recording 5D + 5 nodes (x; w_d, b_d, w_d·u_d, + b_d, σ(z_d) per
/// layer; ŷ, −ŷ, y + (−ŷ), (·)²), one backward, and reading the 2D + 1 gradients.
fn chain_tape(c: &mut Criterion) {
    let chain = Chain::uniform(Activation::Sigmoid, seeded_weights(TAPE_LAYERS)).unwrap();
    let nodes = 5 * TAPE_LAYERS + 5;
    let mut group = c.benchmark_group("chain_sigmoid_200000_layers");
    group.sample_size(10);
    group.throughput(Throughput::Elements(nodes as u64));
    group.bench_function("gradients_tape", |b| b.iter(|| black_box(chain.gradients_tape(black_box(1.0), 0.0)).input));
    group.finish();
}

/// The closed form δ_d = f′(z_d)·δ_{d+1}·w_{d+1} in `f64` and in `Ext`, per layer.
fn closed_forms(c: &mut Criterion) {
    let chain = Chain::uniform(Activation::Sigmoid, seeded_weights(CLOSED_FORM_LAYERS)).unwrap();
    let mut group = c.benchmark_group("chain_sigmoid_100000_layers");
    group.throughput(Throughput::Elements(CLOSED_FORM_LAYERS as u64));
    group.bench_function("gradients_closed_form", |b| {
        b.iter(|| black_box(chain.gradients_closed_form(black_box(1.0), 0.0)).input)
    });
    group.bench_function("gradients_ext", |b| b.iter(|| black_box(chain.gradients_ext(black_box(1.0), 0.0)).input));
    group.finish();
}

/// A 64 → 128 → 128 → 10 tanh network (no biases beyond the tape's zeros) on a batch of 32 under
/// the cross-entropy, weights from U[−1/8, 1/8): the tape (about 2 nodes per multiply-add per
/// sample) against `backprop_over`, same bits.
fn dense(c: &mut Criterion) {
    let widths = [64, 128, 128, 10];
    let mut rng = Rng::new(SEED);
    let layers = widths
        .windows(2)
        .map(|w| DenseLayer {
            weight: (0..w[1]).map(|_| (0..w[0]).map(|_| rng.uniform(-0.125, 0.125)).collect()).collect(),
            bias: None,
            activation: Activation::Tanh,
        })
        .collect();
    let net = Dense::new(layers, None).unwrap();
    let batch = 32;
    let input: Vec<Vec<f64>> = (0..batch).map(|_| (0..widths[0]).map(|_| rng.uniform(-1.0, 1.0)).collect()).collect();
    let target: Vec<Vec<f64>> =
        (0..batch).map(|b| (0..widths[3]).map(|j| if j == b % widths[3] { 1.0 } else { 0.0 }).collect()).collect();
    let multiply_adds: usize = widths.windows(2).map(|w| w[0] * w[1]).sum::<usize>() * batch;
    let mut group = c.benchmark_group("dense_64_128_128_10_batch_32");
    group.sample_size(20);
    group.throughput(Throughput::Elements(multiply_adds as u64));
    let loss = Loss::CrossEntropy;
    group.bench_function("gradients_over_tape", |b| {
        b.iter(|| black_box(net.gradients_over(black_box(&input), &target, loss, 32.0).unwrap().loss))
    });
    group.bench_function("backprop_over", |b| {
        b.iter(|| black_box(net.backprop_over(black_box(&input), &target, loss, 32.0).unwrap().loss))
    });
    group.finish();
}

criterion_group!(tape, backward, chain_tape, closed_forms, dense);
criterion_main!(tape);
