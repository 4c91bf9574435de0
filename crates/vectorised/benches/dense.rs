//! W2 / W3 (the peers' `mlp` workloads) through the dense engine, as GFLOP-equivalents per second:
//! criterion's `Throughput::Elements` is the nominal 6·B·N²·D flops of one gradient, so its
//! "elem/s" reads as FLOP/s. Inputs come from the seeded workload generator (`workload.rs`).
//!
//! `cargo bench -p vectorised --bench dense`; RAYON_NUM_THREADS=1 for the one-thread figures.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vectorised::Real;
use vectorised::dense::{Batch, Loss, Normalisation, Workspace, mlp_network};
use vectorised::workload::mlp_workload;

fn mlp<T: Real>(c: &mut Criterion, id: &str, batch: usize, width: usize, depth: usize, stats: bool) {
    let w = mlp_workload(batch, width, depth);
    let net = mlp_network::<T>(&w).unwrap();
    let x: Vec<T> = w.inputs.iter().map(|&v| T::from_f64(v)).collect();
    let t: Vec<T> = w.targets.iter().map(|&v| T::from_f64(v)).collect();
    let mut ws = Workspace::new();
    if !stats {
        ws.set_stats(None).unwrap();
    }
    let mut group = c.benchmark_group("dense");
    group.throughput(Throughput::Elements((6 * batch * width * width * depth) as u64));
    group.bench_function(id, |b| {
        b.iter(|| {
            let g = net
                .gradients(
                    Batch::new(&x, batch, width).unwrap(),
                    Batch::new(&t, batch, width).unwrap(),
                    Loss::SquaredError,
                    Normalisation::PerElement,
                    &mut ws,
                )
                .unwrap();
            black_box(g.loss);
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    mlp::<f64>(c, "W2-f64", 256, 256, 16, false);
    mlp::<f32>(c, "W2-f32", 256, 256, 16, false);
    mlp::<f64>(c, "W3-f64", 64, 32, 64, false);
    mlp::<f32>(c, "W3-f32", 64, 32, 64, false);
    mlp::<f64>(c, "W2-f64+stats", 256, 256, 16, true);
    mlp::<f64>(c, "W3-f64+stats", 64, 32, 64, true);
}

criterion_group!(dense, benches);
criterion_main!(dense);
