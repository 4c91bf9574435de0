//! Resource limits of the default run (`report`): the request is sized before any work, and one
//! whose memory or time would be absurd is refused with the estimate, instead of being killed by
//! the operating system (or abandoned by its user) hours later.
//!
//! The decay section dominates both: for each of its configurations (activations × shortcut
//! spans) it differentiates `--samples` chains of depth `--max-depth` in [`scalar::Ext`]
//! arithmetic, one chain per worker thread at a time, so
//!
//! ```text
//! memory ≈ threads · max_depth · CHAIN_BYTES_PER_LAYER + configs · samples · ROW_BYTES_PER_SAMPLE
//! work   = configs · samples · max_depth   chain-layer evaluations
//! time   ≈ work / (threads · rate)         rate measured here, on one thread, before the run
//! ```
//!
//! Memory is compared with `--memory-budget-mib` (default
//! [`DEFAULT_MEMORY_BUDGET_MIB`](crate::commands::DEFAULT_MEMORY_BUDGET_MIB), like the
//! subcommands); time with `--time-budget-minutes` (default [`DEFAULT_TIME_BUDGET_MINUTES`]).
//! The rate comes from [`measure_rate`]: a few milliseconds of the decay section's own work on
//! this machine. Dividing by every thread assumes perfect scaling, so the time estimate is a
//! lower bound, and a run refused for time would certainly have taken longer.

use crate::cli::ReportArgs;
use crate::commands::chain::CHAIN_BYTES_PER_LAYER;
use crate::error::Error;
use crate::sections::Config;
use crate::sections::decay::{ACTIVATIONS, SHORTCUTS};
use scalar::Activation;
use scalar::chain::Chain;
use std::time::{Duration, Instant};

/// Bytes kept per sampled chain and configuration until the percentiles are taken: three log10
/// values (p10, median, p90 inputs) and a bound per reported depth (≤ 64 depths) and the
/// underflow depths, generously.
pub const ROW_BYTES_PER_SAMPLE: u128 = 64 * 4 * 8 + 64;

/// The default time budget of a run, in minutes: the default run takes seconds.
pub const DEFAULT_TIME_BUDGET_MINUTES: u64 = 60;

/// Depth of the chain [`measure_rate`] differentiates.
const RATE_PROBE_DEPTH: usize = 256;

/// How long [`measure_rate`] measures, at least.
const RATE_PROBE_TIME: Duration = Duration::from_millis(10);

/// Chain layers per second that one thread differentiates the way the decay section does: a
/// sigmoid chain of N(0, 1) weights, its `Ext` magnitudes and its bound, timed for about 10 ms.
pub fn measure_rate() -> f64 {
    let mut rng = crate::sections::stream_rng(0, crate::sections::Stream::RateProbe, 0);
    let weights: Vec<f64> = (0..RATE_PROBE_DEPTH).map(|_| rng.normal()).collect();
    let chain =
        Chain::new(weights, vec![Activation::Sigmoid; RATE_PROBE_DEPTH], None, None).expect("finite N(0,1) weights");
    let start = Instant::now();
    let mut layers = 0u64;
    while start.elapsed() < RATE_PROBE_TIME {
        std::hint::black_box((chain.magnitudes(0.5, 0.25), chain.bound(0.5, 0.25)));
        layers += RATE_PROBE_DEPTH as u64;
    }
    layers as f64 / start.elapsed().as_secs_f64()
}

/// The estimated need of a run: (bytes, chain-layer evaluations).
pub fn estimate(config: &Config, threads: usize) -> (u128, u128) {
    let configs = (ACTIVATIONS.len() * SHORTCUTS.len()) as u128;
    let (samples, depth) = (config.samples as u128, config.max_depth as u128);
    let bytes = threads as u128 * depth * CHAIN_BYTES_PER_LAYER + configs * samples * ROW_BYTES_PER_SAMPLE;
    (bytes, configs * samples * depth)
}

/// Refuses a run over the memory budget or the time budget, with the estimate.
pub fn check(config: &Config, args: &ReportArgs) -> Result<(), Error> {
    check_with_rate(config, args, measure_rate())
}

/// [`check`] with a given single-thread rate (chain layers per second).
pub fn check_with_rate(config: &Config, args: &ReportArgs, rate: f64) -> Result<(), Error> {
    args.check_threads()?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let (bytes, work) = estimate(config, threads);
    let budget = u128::from(args.memory_budget_mib) << 20;
    let what = || {
        format!("the report with --samples {} --max-depth {} on {threads} threads", config.samples, config.max_depth)
    };
    if bytes > budget {
        return Err(Error::TooLarge { what: what(), estimate_bytes: bytes, budget_bytes: budget });
    }
    let seconds = work as f64 / (rate * threads as f64);
    if seconds > args.time_budget_minutes as f64 * 60.0 {
        return Err(Error::input(format!(
            "{} would differentiate about {work:.1e} chain layers: at least {} at the {:.2e} layers/s \
             measured on one thread here, over the time budget of {} min; lower --samples or \
             --max-depth, or raise --time-budget-minutes",
            what(),
            human_duration(seconds),
            rate,
            args.time_budget_minutes
        )));
    }
    Ok(())
}

/// "12 s", "40 min", "3.5 h", "12 days".
fn human_duration(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 2.0 * 3600.0 => format!("{:.0} min", s / 60.0),
        s if s < 2.0 * 86400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.0} days", s / 86400.0),
    }
}
