//! Resource limits of the default run (`report`): the request is sized before any work, and one
//! whose memory or work would be absurd is refused with the estimate, instead of being killed by
//! the operating system hours later.
//!
//! The decay section dominates both: for each of its configurations (activations × shortcut
//! spans) it differentiates `--samples` chains of depth `--max-depth` in [`scalar::Ext`]
//! arithmetic, one chain per worker thread at a time, so
//!
//! ```text
//! memory ≈ threads · max_depth · CHAIN_BYTES_PER_LAYER + configs · samples · ROW_BYTES_PER_SAMPLE
//! work   = configs · samples · max_depth   chain-layer evaluations
//! ```
//!
//! Memory is compared with `--memory-budget-mib` (default
//! [`DEFAULT_MEMORY_BUDGET_MIB`](crate::commands::DEFAULT_MEMORY_BUDGET_MIB), like the
//! subcommands); work with [`MAX_CHAIN_LAYERS`].

use crate::cli::ReportArgs;
use crate::commands::chain::CHAIN_BYTES_PER_LAYER;
use crate::error::Error;
use crate::sections::Config;
use crate::sections::decay::{ACTIVATIONS, SHORTCUTS};

/// Bytes kept per sampled chain and configuration until the percentiles are taken: three log10
/// values (p10, median, p90 inputs) and a bound per reported depth (≤ 64 depths) and the
/// underflow depths, generously.
pub const ROW_BYTES_PER_SAMPLE: u128 = 64 * 4 * 8 + 64;

/// The most chain-layer evaluations a run may ask for: 10⁴ times the default run's
/// (15 configurations × 200 samples × depth 1000 = 3·10⁶), far beyond anything a person waits
/// for, and far below what `--samples 100000 --max-depth 1000000` would need (1.5·10¹²).
pub const MAX_CHAIN_LAYERS: u128 = 30_000_000_000;

/// The estimated need of a run: (bytes, chain-layer evaluations).
pub fn estimate(config: &Config, threads: usize) -> (u128, u128) {
    let configs = (ACTIVATIONS.len() * SHORTCUTS.len()) as u128;
    let (samples, depth) = (config.samples as u128, config.max_depth as u128);
    let bytes = threads as u128 * depth * CHAIN_BYTES_PER_LAYER + configs * samples * ROW_BYTES_PER_SAMPLE;
    (bytes, configs * samples * depth)
}

/// Refuses a run over the memory budget or [`MAX_CHAIN_LAYERS`], with the estimate.
pub fn check(config: &Config, args: &ReportArgs) -> Result<(), Error> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let (bytes, work) = estimate(config, threads);
    let budget = u128::from(args.memory_budget_mib) << 20;
    let what = || {
        format!("the report with --samples {} --max-depth {} on {threads} threads", config.samples, config.max_depth)
    };
    if bytes > budget {
        return Err(Error::TooLarge { what: what(), estimate_bytes: bytes, budget_bytes: budget });
    }
    if work > MAX_CHAIN_LAYERS {
        return Err(Error::input(format!(
            "{} would evaluate about {work:.1e} chain layers, over the limit of {MAX_CHAIN_LAYERS:.0e} \
             (10⁴ times the default run); lower --samples or --max-depth",
            what()
        )));
    }
    Ok(())
}
