//! What the dense engine's statistics cost: one network, two workspaces (statistics off and on),
//! calls alternated so that both see the same machine state (this host's speed drifts by tens
//! of percent within seconds, which sequential benchmarks cannot separate from the cost).
//!
//! `cargo run --release -p vectorised --example stats_cost -- 64 32 64` (batch, width, depth:
//! W3; `256 256 16` is W2); `RAYON_NUM_THREADS=1` for one thread. Prints the median and the
//! 10th percentile of 200 calls each, in ms.

use vectorised::dense::{Batch, Loss, Normalisation, Workspace, mlp_network};
use vectorised::workload::mlp_workload;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let [batch, width, depth] = args[..] else {
        eprintln!("usage: stats_cost BATCH WIDTH DEPTH (e.g. 64 32 64)");
        std::process::exit(2);
    };
    let w = mlp_workload(batch, width, depth);
    let net = mlp_network::<f64>(&w).expect("a valid workload network");
    let mut off = Workspace::new();
    off.set_stats(None).expect("None is valid");
    let mut on = Workspace::new();
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..400 {
        let ws = if i % 2 == 0 { &mut off } else { &mut on };
        let start = std::time::Instant::now();
        let input = Batch::new(&w.inputs, batch, width).expect("workload shape");
        let target = Batch::new(&w.targets, batch, width).expect("workload shape");
        let g = net.gradients(input, target, Loss::SquaredError, Normalisation::PerElement, ws).expect("finite data");
        std::hint::black_box(g.loss);
        times[i % 2].push(start.elapsed().as_secs_f64() * 1e3);
    }
    for (name, t) in ["statistics off", "statistics on"].iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        println!("{name}: median {:.3} ms, p10 {:.3} ms", t[t.len() / 2], t[t.len() / 10]);
    }
}
