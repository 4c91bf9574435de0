//! What the report's section 2 costs: the default configuration's decay section (its
//! configurations' chains on the engine, the survival table on the oracle), computed a few times
//! in one process, each call's wall time printed. The second argument sets the chains per
//! configuration (`--decay-samples`; default: the default report's), the third the depth D
//! (`--max-depth`). Run it on one thread for a per-thread cost:
//!
//! ```text
//! RAYON_NUM_THREADS=1 taskset -c 0 cargo run --release -p report --example decay_cost -- 3
//! RAYON_NUM_THREADS=1 taskset -c 0 cargo run --release -p report --example decay_cost -- 1 200
//! RAYON_NUM_THREADS=1 taskset -c 0 cargo run --release -p report --example decay_cost -- 1 256 10000
//! ```

use report::sections::{Config, decay};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut config = Config::new(1, false);
    if let Some(chains) = args.next().and_then(|a| a.parse().ok()) {
        config.decay_samples = chains;
    }
    if let Some(depth) = args.next().and_then(|a| a.parse().ok()) {
        config.max_depth = depth;
    }
    let work = report::budget::estimate(&config, 1).1;
    for _ in 0..calls {
        let start = Instant::now();
        let d = decay::compute(&config);
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "section 2: {} configurations of {} chains of depth {} and the survival table, {work:.2e} chain layers: {seconds:.3} s ({:.0} ns per chain layer)",
            d.configs.len(),
            d.samples,
            d.max_depth,
            seconds * 1e9 / work as f64
        );
    }
}
