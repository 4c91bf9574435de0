//! What a diagnosis costs beside the plain gradient of the same network (`benches/diagnose.rs`'s
//! pair: the gradient without statistics, the diagnosis with its seed 2(Y − T) and ν = B·n),
//! calls alternated so that both see the same machine state (this host's speed drifts by tens
//! of percent within seconds, which two benchmarks run one after the other cannot separate from
//! the cost). Prints the median and the 10th percentile of each, in ms, and the ratio of the
//! medians and of each alternated pair's times.
//!
//! `cargo run --release -p vectorised --example diagnose_cost -- 64 1024 100 10` (batch, width,
//! depth, calls of each: the bench's network); `RAYON_NUM_THREADS=1` for one thread.

use vectorised::dense::{Batch, Loss, Normalisation, SeedAt, Workspace, mlp_network};
use vectorised::workload::mlp_workload;

fn main() {
    let numbers: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let &[batch, width, depth, calls] = &numbers[..] else {
        eprintln!("usage: diagnose_cost BATCH WIDTH DEPTH CALLS (e.g. 64 1024 100 10)");
        std::process::exit(2);
    };
    let w = mlp_workload(batch, width, depth);
    let net = mlp_network::<f64>(&w).expect("a valid workload network");
    let (x, t) = (&w.inputs, &w.targets);
    let mut plain = Workspace::new();
    plain.set_stats(None).expect("None is valid");
    let mut diag = Workspace::new();
    let nu = (batch * width) as f64;
    let mut call = |diagnose: bool| {
        let input = Batch::new(x, batch, width).expect("workload shape");
        if diagnose {
            let seed = |y: &[f64], s: &mut [f64]| {
                for ((sv, &yv), &tv) in s.iter_mut().zip(y).zip(t) {
                    *sv = 2.0 * (yv - tv);
                }
            };
            let d = net.diagnose(input, seed, SeedAt::Output, nu, &mut diag).expect("finite data");
            std::hint::black_box(d.layers[0].log10_weight_grad_norm);
        } else {
            let target = Batch::new(t, batch, width).expect("workload shape");
            let g = net
                .gradients(input, target, Loss::SquaredError, Normalisation::PerElement, &mut plain)
                .expect("finite data");
            std::hint::black_box(g.loss);
        }
    };
    // One warm-up call of each: workspaces sized, pages touched.
    call(false);
    call(true);
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..2 * calls {
        let start = std::time::Instant::now();
        call(i % 2 == 1);
        times[i % 2].push(start.elapsed().as_secs_f64() * 1e3);
    }
    let mut ratios: Vec<f64> = times[1].iter().zip(&times[0]).map(|(d, g)| d / g).collect();
    ratios.sort_by(f64::total_cmp);
    let mut medians = [0.0; 2];
    for ((name, t), m) in ["gradient", "diagnosis"].iter().zip(&mut times).zip(&mut medians) {
        t.sort_by(f64::total_cmp);
        *m = t[t.len() / 2];
        println!("{name}: median {:.1} ms, p10 {:.1} ms", *m, t[t.len() / 10]);
    }
    println!(
        "diagnosis / gradient: {:.3} (medians), pairs: median {:.3}, min {:.3}, max {:.3}",
        medians[1] / medians[0],
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
}
