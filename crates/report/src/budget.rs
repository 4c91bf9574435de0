//! The budgets every run is checked against before any work: a request is sized first, and one
//! whose memory or time would be absurd is refused with the estimate, instead of being killed by
//! the operating system (or abandoned by its user) hours later. Every budget constant, estimate
//! and check lives here; the commands only pass their flags in.
//!
//! **Memory** (`--memory-budget-mib`, default [`DEFAULT_MEMORY_BUDGET_MIB`] for every command):
//!
//! ```text
//! report chain   depth · CHAIN_BYTES_PER_LAYER                       (before any list is expanded)
//! report grad    file bytes · BYTES_PER_FILE_BYTE, then the model's reference gradients
//!                (Model::reference_bytes_estimate: per parameter, per unit, per output)
//! report check   the same for the model, and file bytes · BYTES_PER_FILE_BYTE for their gradients
//! report         threads · max_depth · (CHAIN_BYTES_PER_LAYER + block · ENGINE_BYTES_PER_CHAIN_LAYER)
//!                + decay_samples · BYTES_PER_SAMPLE + configs · BYTES_PER_CONFIG
//!                                 (one configuration's samples are held at a time)
//!                + OTHER_SECTIONS_BYTES (…_QUICK)  (the sections that run beside the decay section)
//!                + seeds · BYTES_PER_CLASSIC_RUN   (section 6's runs of one configuration)
//!                all × 5/4                         (ALLOCATOR_MARGIN: what freed memory costs)
//! ```
//!
//! **Time** (`--time-budget-minutes`, default [`DEFAULT_TIME_BUDGET_MINUTES`], the default report
//! only). The flags scale the decay section's work and section 6's training: for each of its [`DECAY_CONFIGS`]
//! configurations (activations × shortcut spans, the live ReLU chains, and the identity-skip rows)
//! it differentiates `--decay-samples` chains of depth `--max-depth` (s·⌊max_depth/s⌋ for an
//! identity skip of span s) on the engine's extended pass, a block of chains per worker thread at
//! a time, and reduces each chain to its sample; its survival table differentiates chains on the
//! oracle, `chains` of each depth 1…`D_s` ([`survival::CHAINS`] and [`survival::MAX_DEPTH`],
//! fewer under `--quick`). Section 6 trains [`classic::CONFIGS`] small networks
//! `seeds` = ⌈`--samples`/2⌉ times each, for `epochs` epochs. So
//!
//! ```text
//! decay    = decay_samples · Σ_configs depth                  chain layers, on the engine
//! survival = chains · D_s·(D_s + 1)/2                         chain layers, on the oracle
//! classic  = classic::CONFIGS · seeds · epochs                training epochs
//! time     ≈ (decay / decay_rate + survival / survival_rate + classic / classic_rate) / threads
//! ```
//!
//! The rates come from [`measure_rates`]: a few milliseconds of each kind of work, on one thread
//! of this machine, before the run (the decay section's own per-chain path,
//! [`Probe`], an oracle chain with its bound, and [`classic::probe`]'s training). Dividing
//! by every thread assumes perfect scaling, so the time estimate is a lower bound, and a run
//! refused for time would certainly have taken longer.
//!
//! Not counted, so the estimate stays a lower bound: the work of the dense networks, which no
//! flag scales — section 3's networks per row ([`dense_init::NETS`](crate::sections::dense_init::NETS)),
//! its sigmoid rows, its networks on and off the critical line with depth and its Jacobian spectra,
//! section 4's sweep and its [`NETWORKS`](crate::sections::exploding::NETWORKS) networks per gain
//! (each differentiated in f64 and f32, then at the depths its bisection probes, a number that
//! depends on the draw) and section 5's training runs. Counting them would need another rate
//! (dense products, not chains) and a copy of each section's probing logic.

use crate::error::Error;
use crate::model::Model;
use crate::sections::classic;
use crate::sections::decay::curve::CURVE_POINTS;
use crate::sections::decay::{ACTIVATIONS, IDENTITY_SKIP_SPANS, Probe, SHORTCUTS, survival};
use crate::sections::{Config, Stream, stream_rng};
use scalar::Activation;
use scalar::chain::Chain;
use std::path::Path;
use std::time::{Duration, Instant};

/// The default of `--memory-budget-mib`: 4 GiB, a sixth of the development machine.
pub const DEFAULT_MEMORY_BUDGET_MIB: u64 = 4096;

/// The default time budget of a run, in minutes: the default run takes seconds.
pub const DEFAULT_TIME_BUDGET_MINUTES: u64 = 60;

/// Bytes per layer of a chain, generously: the parsed lists (weight, bias, activation: 40), the
/// forward trace (16), the exact gradients and deltas (32), the magnitudes (25), the bound (16),
/// the report row (~100) and its JSON or Markdown text (~250), rounded up.
pub const CHAIN_BYTES_PER_LAYER: u128 = 512;

/// Bytes per layer of each chain of the decay section's engine block, generously: the drawn
/// weight and its two copies in the batch (24), the plain gradient (8), the extended gradient,
/// forward signal and backward factor (48), the engine's rows (16) and the reduction's
/// per-layer `log10` and `Ext` values (24), rounded up.
pub const ENGINE_BYTES_PER_CHAIN_LAYER: u128 = 128;

/// Bytes kept per sampled chain of the configuration being measured, until the percentiles are
/// taken: two log10 values (weight gradient, backward factor) per measured depth (≤ 64 reported
/// depths and the curve's [`CURVE_POINTS`] + 1 layers) and two (forward signal, bound) per
/// reported depth, twice (per chain, then depth by depth), and the underflow depths, generously.
pub const BYTES_PER_SAMPLE: u128 = 2 * ((64 + CURVE_POINTS as u128 + 1) * 2 + 64 * 2) * 8 + 64;

/// Bytes kept per configuration once measured: its rows (≤ 64, ~100 bytes each) and its curve
/// (five numbers per point), generously.
pub const BYTES_PER_CONFIG: u128 = 64 * 128 + (64 + CURVE_POINTS as u128 + 1) * 5 * 8;

/// What the report's other sections hold while the decay section runs beside them (every section
/// is a task of one pool), which no flag but `--quick` scales: the peak resident memory of
/// `gradlab --decay-samples 1 --max-depth 2`, the decay section reduced to nothing, rounded up to
/// a multiple of 16 MiB.
pub const OTHER_SECTIONS_BYTES: u128 = 96 << 20;

/// [`OTHER_SECTIONS_BYTES`] under `--quick` (`gradlab --quick --decay-samples 1 --max-depth 2`).
pub const OTHER_SECTIONS_BYTES_QUICK: u128 = 16 << 20;

/// Bytes per seed of section 6's configuration being trained, generously: a run's loss curve
/// (`CURVE_POINTS` + 1 values), its other numbers, and their sorted copies for the medians.
pub const BYTES_PER_CLASSIC_RUN: u128 = 1024;

/// The report's estimate times this: the allocator keeps a thread's freed memory in that thread's
/// arena, so with several threads the resident peak exceeds the bytes live at once (the decay
/// section alone with 20,000 chains peaks about a tenth higher on two threads than on one).
pub const ALLOCATOR_MARGIN: (u128, u128) = (5, 4);

/// Bytes of memory per byte of a JSON file, at most: the text itself, and each number takes at
/// least 2 characters (`0,`) for its 8 bytes, each row at least 3 (`[0]`) for its 24-byte `Vec`.
pub const BYTES_PER_FILE_BYTE: u128 = 9;

/// Depth of the chains [`measure_rates`] differentiates.
const RATE_PROBE_DEPTH: usize = 256;

/// Chains per call of the decay section's probe: 32 of depth 256 take a few milliseconds.
const RATE_PROBE_CHAINS: usize = 32;

/// How long [`measure_rates`] measures each kind of work, at least.
const RATE_PROBE_TIME: Duration = Duration::from_millis(10);

/// A budget in MiB, in bytes.
fn mib_to_bytes(mib: u64) -> u128 {
    u128::from(mib) << 20
}

/// Refuses `what` when its estimated bytes exceed the budget of `budget_mib` MiB.
fn check_memory(what: impl FnOnce() -> String, estimate_bytes: u128, budget_mib: u64) -> Result<(), Error> {
    let budget_bytes = mib_to_bytes(budget_mib);
    if estimate_bytes > budget_bytes {
        return Err(Error::TooLarge { what: what(), estimate_bytes, budget_bytes });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The subcommands.

/// `report chain`: refuses a chain of `depth` layers over the budget, before any list is expanded.
pub fn check_chain_depth(depth: u128, budget_mib: u64) -> Result<(), Error> {
    // Saturating: `--depth` and `VALUE*COUNT` accept counts up to 2^128 − 1.
    check_memory(|| format!("a chain of depth {depth}"), depth.saturating_mul(CHAIN_BYTES_PER_LAYER), budget_mib)
}

/// Refuses, before reading it, a JSON file whose parsed form could exceed the memory budget.
pub fn check_file_size(path: &Path, budget_mib: u64) -> Result<(), Error> {
    let len =
        std::fs::metadata(path).map_err(|source| Error::Io { path: path.to_path_buf(), action: "read", source })?;
    let what = || format!("reading {} ({} bytes)", path.display(), len.len());
    check_memory(what, u128::from(len.len()) * BYTES_PER_FILE_BYTE, budget_mib)
}

/// Reads the text of the file at `path`, refusing one whose parsed form could exceed the memory
/// budget: by its size before reading it, and while reading it, since a device or a pipe
/// (`/dev/zero`, `<(…)`) has no size to look at first and could fill the memory.
pub fn read_file(path: &Path, budget_mib: u64) -> Result<String, Error> {
    use std::io::Read;
    check_file_size(path, budget_mib)?;
    let io = |source| Error::Io { path: path.to_path_buf(), action: "read", source };
    let mut text = String::new();
    let limit = max_text_bytes(budget_mib);
    std::fs::File::open(path).and_then(|file| file.take(limit).read_to_string(&mut text)).map_err(io)?;
    if text.len() as u64 >= limit {
        let what = || format!("reading {} (at least {} bytes)", path.display(), text.len());
        check_memory(what, text.len() as u128 * BYTES_PER_FILE_BYTE, budget_mib)?;
    }
    Ok(text)
}

/// Refuses text already read (from standard input, which has no size to look at first) whose
/// parsed form could exceed the memory budget; `what` names where it came from.
pub fn check_text_size(what: &str, len: usize, budget_mib: u64) -> Result<(), Error> {
    check_memory(|| format!("reading {what} ({len} bytes)"), len as u128 * BYTES_PER_FILE_BYTE, budget_mib)
}

/// The most bytes worth reading from standard input under the memory budget (one more is
/// enough to know it is too much).
pub fn max_text_bytes(budget_mib: u64) -> u64 {
    u64::try_from((u128::from(budget_mib) << 20) / BYTES_PER_FILE_BYTE).unwrap_or(u64::MAX).saturating_add(1)
}

/// What is computed for a model: its reference gradients (`grad`), or those and a check's scales
/// (`check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelWork {
    /// [`Model::reference_bytes_estimate`].
    Gradients,
    /// [`Model::check_bytes_estimate`].
    Check,
}

/// Refuses a model (read from `path`) whose reference gradients (and, for a check, its scales)
/// would exceed the memory budget.
pub fn check_model(model: &Model, path: &Path, work: ModelWork, budget_mib: u64) -> Result<(), Error> {
    let (what, estimate) = match work {
        ModelWork::Gradients => ("the reference gradients", model.reference_bytes_estimate()),
        ModelWork::Check => ("the reference gradients and the check's scales", model.check_bytes_estimate()),
    };
    let what = || {
        format!(
            "{what} of {} ({} parameters, {})",
            path.display(),
            model.n_parameters(),
            crate::model::count(model.batch(), "sample")
        )
    };
    check_memory(what, estimate, budget_mib)
}

// ---------------------------------------------------------------------------------------------
// The default report.

/// Work per second on one thread, for each kind of work the flags scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// The decay section's configurations' chains, in chain layers: drawn, run on the engine a
    /// block at a time, reduced.
    pub decay: f64,
    /// The survival table's chains, on the oracle, in chain layers.
    pub survival: f64,
    /// Section 6's training, in epochs (of one run).
    pub classic: f64,
}

/// Each kind of work the flags scale, timed on one thread for about 10 ms: one block of
/// sigmoid chains of N(0, 1) weights through the decay section's own path ([`Probe`]), an
/// oracle sigmoid chain's `Ext` magnitudes and bound, and one net of each of section 6's
/// configurations trained as it trains them ([`classic::probe`]).
pub fn measure_rates() -> Rates {
    let timed = |work: &mut dyn FnMut() -> u128| {
        // One call first, untimed: the engine's buffers grow once, as in a run.
        work();
        let start = Instant::now();
        let mut done = 0;
        while start.elapsed() < RATE_PROBE_TIME {
            done += work();
        }
        done as f64 / start.elapsed().as_secs_f64()
    };
    let mut probe = Probe::new(RATE_PROBE_CHAINS, RATE_PROBE_DEPTH);
    let decay = timed(&mut || probe.run() as u128);
    let mut rng = stream_rng(0, Stream::RateProbe, 0);
    let weights: Vec<f64> = (0..RATE_PROBE_DEPTH).map(|_| rng.normal()).collect();
    let chain =
        Chain::new(weights, vec![Activation::Sigmoid; RATE_PROBE_DEPTH], None, None).expect("finite N(0,1) weights");
    let survival = timed(&mut || {
        std::hint::black_box((chain.magnitudes(0.5, 0.25), chain.bound(0.5, 0.25)));
        RATE_PROBE_DEPTH as u128
    });
    // The default run's epochs, so that a run's fixed costs (its net drawn, its final loss judged
    // by the oracle) weigh per epoch as they do there.
    let epochs = Config::new(0, false).epochs;
    let classic = timed(&mut || classic::probe(epochs));
    Rates { decay, survival, classic }
}

/// The decay section's configurations: every activation with every shortcut span, the live
/// ReLU chains beside the ReLU chains without shortcut, and the identity-skip rows.
pub const DECAY_CONFIGS: usize = ACTIVATIONS.len() * SHORTCUTS.len() + 1 + IDENTITY_SKIP_SPANS.len();

/// The chain layers of the decay section's configurations: `decay_samples` chains each, of depth
/// `max_depth`, or s·⌊max_depth/s⌋ for an identity skip of span s.
pub fn decay_configs_work(config: &Config) -> u128 {
    let depth = config.max_depth as u128;
    let identity: u128 = IDENTITY_SKIP_SPANS.iter().map(|&s| (config.max_depth / s * s) as u128).sum();
    let full_depth = (DECAY_CONFIGS - IDENTITY_SKIP_SPANS.len()) as u128;
    config.decay_samples as u128 * (full_depth * depth + identity)
}

/// The chain layers of the decay section's survival table: `chains` chains of each depth 1…D_s.
pub fn survival_work(config: &Config) -> u128 {
    let (chains, max_depth) = if config.quick {
        (survival::QUICK_CHAINS, survival::QUICK_MAX_DEPTH)
    } else {
        (survival::CHAINS, survival::MAX_DEPTH)
    };
    (chains * max_depth * (max_depth + 1) / 2) as u128
}

/// The estimated need of a report run: (bytes, chain-layer evaluations). Each thread holds one
/// engine block of chains (and one oracle chain) at a time; the samples of one configuration are
/// kept until its percentiles are taken, and so are section 6's runs of one configuration; the
/// other sections hold what they hold beside them.
pub fn estimate(config: &Config, threads: usize) -> (u128, u128) {
    let configs = DECAY_CONFIGS as u128;
    let (samples, depth) = (config.decay_samples as u128, config.max_depth as u128);
    let per_thread = depth * (CHAIN_BYTES_PER_LAYER + ENGINE_BLOCK as u128 * ENGINE_BYTES_PER_CHAIN_LAYER);
    let others = if config.quick { OTHER_SECTIONS_BYTES_QUICK } else { OTHER_SECTIONS_BYTES };
    let classic_runs = classic::seeds(config) as u128 * BYTES_PER_CLASSIC_RUN;
    let live =
        threads as u128 * per_thread + samples * BYTES_PER_SAMPLE + configs * BYTES_PER_CONFIG + classic_runs + others;
    let bytes = live * ALLOCATOR_MARGIN.0 / ALLOCATOR_MARGIN.1;
    (bytes, decay_configs_work(config) + survival_work(config))
}

/// The chains of one engine block in the decay section.
const ENGINE_BLOCK: usize = vectorised::chain::chain_chunk::<f64>();

/// The estimated seconds of a report run's decay section and section 6 on `threads` threads at
/// `rates` (perfect scaling: a lower bound).
pub fn estimated_seconds(config: &Config, threads: usize, rates: Rates) -> f64 {
    let per_thread = |work: u128, rate: f64| work as f64 / (rate * threads as f64);
    per_thread(decay_configs_work(config), rates.decay)
        + per_thread(survival_work(config), rates.survival)
        + per_thread(classic::training_epochs(config), rates.classic)
}

/// The budgets of a report run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBudget {
    /// `--memory-budget-mib`.
    pub memory_mib: u64,
    /// `--time-budget-minutes`.
    pub time_minutes: u64,
}

impl Default for ReportBudget {
    fn default() -> Self {
        ReportBudget { memory_mib: DEFAULT_MEMORY_BUDGET_MIB, time_minutes: DEFAULT_TIME_BUDGET_MINUTES }
    }
}

/// Refuses a report run on `threads` threads over the memory or the time budget, with the
/// estimate (at the rates measured by [`measure_rates`]).
pub fn check_report(config: &Config, threads: usize, budget: ReportBudget) -> Result<(), Error> {
    check_report_with_rates(config, threads, budget, measure_rates())
}

/// [`check_report`] with given single-thread rates (chain layers per second).
pub fn check_report_with_rates(
    config: &Config,
    threads: usize,
    budget: ReportBudget,
    rates: Rates,
) -> Result<(), Error> {
    let (bytes, work) = estimate(config, threads);
    let what = || {
        format!(
            "the report with --samples {} --decay-samples {} --max-depth {} on {threads} threads",
            config.samples, config.decay_samples, config.max_depth
        )
    };
    check_memory(what, bytes, budget.memory_mib)?;
    let seconds = estimated_seconds(config, threads, rates);
    if seconds > budget.time_minutes as f64 * 60.0 {
        return Err(Error::input(format!(
            "{} would differentiate about {work:.1e} chain layers and train {:.1e} epochs: at least \
             {} at the {:.2e} (decay section) and {:.2e} (survival table) layers/s and {:.2e} \
             (section 6) epochs/s measured on one thread here, over the time budget of {} min; \
             lower --samples, --decay-samples or --max-depth, or raise --time-budget-minutes",
            what(),
            classic::training_epochs(config) as f64,
            human_duration(seconds),
            rates.decay,
            rates.survival,
            rates.classic,
            budget.time_minutes
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
