//! W1 throughput: S = 4096 sigmoid chains of depth 256, all S·D weight gradients per call,
//! from the peers' seeded generator (`vectorised::workload`), in f64 and f32; plus the
//! vectorisable `exp` alone; and the extended-range pass (`Magnitudes::Extended`,
//! `Magnitudes::ExtendedSignals`) on S = 2048 chains of depth 1000, the decay section's scale.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vectorised::math::exp::{exp_slice, sigmoid_slice};
use vectorised::workload::chain_workload;
use vectorised::{Activation, ChainBatch, ChainGradients, ChainWorkspace, GradientLayout, Magnitudes, Real, Simd};

const S: usize = 4096;
const D: usize = 256;

fn w1<T: Real>(c: &mut Criterion) {
    let data = chain_workload(S, D);
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let batch = ChainBatch::from_chain_major(S, &cast(&data.weights), vec![Activation::Sigmoid; D]).unwrap();
    let (x, t) = (cast(&data.inputs), cast(&data.targets));
    let mut ws = ChainWorkspace::new();
    let mut group = c.benchmark_group(format!("w1_chain_{}", T::NAME));
    group.throughput(Throughput::Elements((S * D) as u64));
    // Gradients written block-major (the engine's layout, as `gradlab-peer` asks for) and
    // `[layer][chain]`: the difference is the cost of the layer-major writes.
    for (name, layout) in [("blocks", GradientLayout::Blocks), ("layers", GradientLayout::LayerMajor)] {
        let mut out = ChainGradients::with_layout(layout);
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            group.bench_function(BenchmarkId::new(format!("{name}_threads"), threads), |b| {
                pool.install(|| {
                    b.iter(|| {
                        batch.gradients_into(&x, &t, Magnitudes::Plain, &mut ws, &mut out).unwrap();
                        black_box(&out.weight);
                    })
                })
            });
        }
    }
    group.finish();
}

fn exp<T: Real>(c: &mut Criterion) {
    let n = 1 << 16;
    let x: Vec<T> =
        (0..n).map(|i| T::from_f64(-50.0 + 100.0 * vectorised::workload::uniform_at(7, i as u64))).collect();
    let mut out = vec![T::ZERO; n];
    let mut group = c.benchmark_group(format!("exp_{}", T::NAME));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("vectorisable", |b| b.iter(|| exp_slice(Simd::detect(), black_box(&x), &mut out)));
    group.bench_function("libm", |b| {
        b.iter(|| {
            for (o, &v) in out.iter_mut().zip(black_box(&x)) {
                *o = v.exp();
            }
        })
    });
    group.finish();
}

/// The sigmoid kernel alone (value and derivative in place), L1-resident: the compute ceiling of
/// a sigmoid layer without any memory traffic.
fn sigmoid<T: Real>(c: &mut Criterion) {
    let n = 1024;
    let z: Vec<T> = (0..n).map(|i| T::from_f64(-8.0 + 16.0 * vectorised::workload::uniform_at(8, i as u64))).collect();
    let mut zy = z.clone();
    let mut dy = vec![T::ZERO; n];
    let mut group = c.benchmark_group(format!("sigmoid_{}", T::NAME));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("in_place_l1", |b| {
        b.iter(|| {
            zy.copy_from_slice(&z);
            sigmoid_slice(Simd::detect(), black_box(&mut zy), &mut dy)
        })
    });
    group.finish();
}

/// The extended-range pass: S·D chain-layers per call, one thread, sigmoid (f and f′ from libm
/// per lane) and leaky ReLU (piecewise linear: the lanes' arithmetic alone).
fn extended(c: &mut Criterion) {
    const S_EXT: usize = 2048;
    const D_EXT: usize = 1000;
    let data = chain_workload(S_EXT, D_EXT);
    let mut group = c.benchmark_group("extended_chain_f64");
    group.throughput(Throughput::Elements((S_EXT * D_EXT) as u64));
    group.sample_size(10);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for activation in [Activation::Sigmoid, Activation::LeakyRelu { slope: 0.01 }] {
        let batch = ChainBatch::from_chain_major(S_EXT, &data.weights, vec![activation; D_EXT]).unwrap();
        let mut ws = ChainWorkspace::new();
        let mut out = ChainGradients::with_layout(GradientLayout::Blocks);
        for (name, magnitudes) in [("extended", Magnitudes::Extended), ("signals", Magnitudes::ExtendedSignals)] {
            group.bench_function(BenchmarkId::new(name, activation.name()), |b| {
                pool.install(|| {
                    b.iter(|| {
                        batch.gradients_into(&data.inputs, &data.targets, magnitudes, &mut ws, &mut out).unwrap();
                        black_box(&out.weight_scaled);
                    })
                })
            });
        }
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    extended(c);
    w1::<f64>(c);
    w1::<f32>(c);
    exp::<f64>(c);
    exp::<f32>(c);
    sigmoid::<f64>(c);
    sigmoid::<f32>(c);
}

criterion_group!(chain, benches);
criterion_main!(chain);
