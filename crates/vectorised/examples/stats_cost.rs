//! What the statistics cost: one network (or batch of chains), two workspaces (statistics off
//! and on), calls alternated so that both see the same machine state (this host's speed drifts
//! by tens of percent within seconds, which sequential benchmarks cannot separate from the cost).
//!
//! `cargo run --release -p vectorised --example stats_cost -- 64 32 64` (batch, width, depth of
//! a dense network: W3; `256 256 16` is W2), or `-- chain 4096 256` (chains, depth: W1);
//! `RAYON_NUM_THREADS=1` for one thread. Prints the median and the 10th percentile of 200 calls
//! each, in ms.

use vectorised::dense::{Batch, Loss, Normalisation, Workspace, mlp_network};
use vectorised::workload::{chain_workload, mlp_workload};
use vectorised::{Activation, ChainBatch, ChainGradients, ChainWorkspace, Magnitudes};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    match (args.first().map(String::as_str), &numbers[..]) {
        (Some("chain"), &[n_chains, depth]) => chains(n_chains, depth),
        (_, &[batch, width, depth]) if args.len() == 3 => dense(batch, width, depth),
        _ => {
            eprintln!(
                "usage: stats_cost BATCH WIDTH DEPTH (e.g. 64 32 64) | stats_cost chain CHAINS DEPTH (e.g. 4096 256)"
            );
            std::process::exit(2);
        }
    }
}

fn dense(batch: usize, width: usize, depth: usize) {
    let w = mlp_workload(batch, width, depth);
    let net = mlp_network::<f64>(&w).expect("a valid workload network");
    let mut off = Workspace::new();
    off.set_stats(None).expect("None is valid");
    let mut on = Workspace::new();
    alternate(|stats| {
        let ws = if stats { &mut on } else { &mut off };
        let input = Batch::new(&w.inputs, batch, width).expect("workload shape");
        let target = Batch::new(&w.targets, batch, width).expect("workload shape");
        let g = net.gradients(input, target, Loss::SquaredError, Normalisation::PerElement, ws).expect("finite data");
        std::hint::black_box(g.loss);
    });
}

fn chains(n_chains: usize, depth: usize) {
    let w = chain_workload(n_chains, depth);
    let batch = ChainBatch::from_chain_major(n_chains, &w.weights, vec![Activation::Sigmoid; depth])
        .expect("a valid workload batch");
    let mut off = (ChainWorkspace::new(), ChainGradients::default());
    let mut on = (ChainWorkspace::new(), ChainGradients::default());
    on.0.set_stats(Some(vectorised::stats::DEFAULT_SATURATION_THRESHOLD)).expect("a valid threshold");
    alternate(|stats| {
        let (ws, out) = if stats { &mut on } else { &mut off };
        batch.gradients_into(&w.inputs, &w.targets, Magnitudes::Plain, ws, out).expect("finite data");
        std::hint::black_box(&out.weight);
    });
}

/// Calls `call(false)` and `call(true)` alternately, 200 times each, and prints their times.
fn alternate(mut call: impl FnMut(bool)) {
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..400 {
        let start = std::time::Instant::now();
        call(i % 2 == 1);
        times[i % 2].push(start.elapsed().as_secs_f64() * 1e3);
    }
    for (name, t) in ["statistics off", "statistics on"].iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        println!("{name}: median {:.3} ms, p10 {:.3} ms", t[t.len() / 2], t[t.len() / 10]);
    }
}
