//! `gradlab-peer`: gradlab's fast engine speaking the peer benchmark protocol.
//!
//! `gradlab-peer KIND DTYPE key=value… reps=R warmup=W target=T`, with KIND `chain` (W1) or
//! `mlp` (W2/W3) and DTYPE `f64` or `f32`. The workload data come from gradlab's own copy of the
//! harness's generator (`vectorised::workload`). Threads: rayon's global pool, sized by
//! `RAYON_NUM_THREADS` (default: one per CPU).

mod chain;
mod mlp;
mod protocol;

use protocol::{Args, skip};

fn main() {
    if let Err(e) = run() {
        eprintln!("gradlab-peer: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = Args::from_env()?;
    protocol::say(format_args!("info threads={} impl=gradlab-vectorised", rayon::current_num_threads()));
    match (args.kind.as_str(), args.dtype.as_str()) {
        ("chain", "f64") => chain::run::<f64>(&args),
        ("chain", "f32") => chain::run::<f32>(&args),
        ("mlp", "f64") => mlp::run::<f64>(&args),
        ("mlp", "f32") => mlp::run::<f32>(&args),
        (kind, dtype) => skip(&format!("{kind}/{dtype} not implemented")),
    }
}
