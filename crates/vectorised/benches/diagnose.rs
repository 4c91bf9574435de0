//! The diagnosis (`Dense::diagnose`: backward rescaled by powers of two per sample and layer,
//! per-layer norms beyond `f64`'s range) beside the plain gradient of the same network — 100
//! layers of width 1024, a batch of 64, on 2 threads — as nominal FLOP/s (6·B·N²·D per call, as
//! in `benches/dense.rs`): the target is a diagnosis costing at most 1.2× the gradient. Beside
//! them the diagnosis of the same network with every Linear output normalised (`LayerNorm` at
//! `PreActivation`): what the normalisations' forward rows, backward rows and γ and β sums add.
//!
//! `cargo bench -p vectorised --bench diagnose` (about 1.6 GB: the weights and the plain
//! gradient's ∂L/∂W for every layer).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vectorised::dense::{Batch, LayerNorm, Loss, NormAt, Normalisation, SeedAt, Workspace, mlp_network};
use vectorised::workload::mlp_workload;

const BATCH: usize = 64;
const WIDTH: usize = 1024;
const DEPTH: usize = 100;
const THREADS: usize = 2;

fn benches(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().unwrap();
    let w = mlp_workload(BATCH, WIDTH, DEPTH);
    let net = mlp_network::<f64>(&w).unwrap();
    let (x, t) = (&w.inputs, &w.targets);
    let mut ws = Workspace::new();
    ws.set_stats(None).unwrap();
    let mut group = c.benchmark_group("diagnose");
    group.sample_size(10);
    group.throughput(Throughput::Elements((6 * BATCH * WIDTH * WIDTH * DEPTH) as u64));
    group.bench_function("gradient", |b| {
        b.iter(|| {
            pool.install(|| {
                let input = Batch::new(x, BATCH, WIDTH).unwrap();
                let target = Batch::new(t, BATCH, WIDTH).unwrap();
                let g = net.gradients(input, target, Loss::SquaredError, Normalisation::PerElement, &mut ws).unwrap();
                black_box(g.loss);
            })
        })
    });
    let norm = LayerNorm::new(None, None, 1e-5, NormAt::PreActivation).unwrap();
    let normed = net.clone().with_norms(vec![Some(norm); DEPTH]).unwrap();
    for (name, net) in [("diagnosis", &net), ("diagnosis_normalised", &normed)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                pool.install(|| {
                    let input = Batch::new(x, BATCH, WIDTH).unwrap();
                    let seed = |y: &[f64], s: &mut [f64]| {
                        for ((sv, &yv), &tv) in s.iter_mut().zip(y).zip(t) {
                            *sv = 2.0 * (yv - tv);
                        }
                    };
                    let nu = (BATCH * WIDTH) as f64;
                    let d = net.diagnose(input, seed, SeedAt::Output, nu, &mut ws).unwrap();
                    black_box(d.layers[0].log10_weight_grad_norm);
                })
            })
        });
    }
    group.finish();
}

criterion_group!(diagnose, benches);
criterion_main!(diagnose);
