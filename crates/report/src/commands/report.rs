//! `report` without a subcommand: the gradient-decay report. This is the program's driver: it
//! validates the flags into a [`Config`], checks the run against its budget ([`crate::budget`]),
//! computes the sections ([`crate::sections`]) on a pool of `--threads` threads with a progress bar,
//! renders them ([`crate::render`]: Markdown or JSON, SVG plots) and writes the text to `--out`
//! (or standard output) and the plots to `--plots`, every file atomically ([`crate::io`]). The
//! progress bar appears only once a run has taken a second.

use super::OutputFormat;
use crate::budget::{self, ReportBudget};
use crate::error::Error;
use crate::render;
use crate::sections::{self, Config};
use std::path::PathBuf;
use std::process::ExitCode;

/// The largest accepted `--samples`.
pub const MAX_SAMPLES: usize = 100_000;
/// The largest accepted `--max-depth`.
pub const MAX_DEPTH: usize = 1_000_000;

/// Options of the gradient-decay report.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the report to this file (atomically: an existing file survives a failed run) instead
    /// of standard output (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Markdown for people, JSON for programs.
    #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
    pub format: OutputFormat,
    /// The seed of every random draw; the same seed gives the same bytes on any thread count.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1)]
    pub seed: u64,
    /// Samples (networks or chains) per measured configuration.
    #[arg(long, allow_negative_numbers = true)]
    pub samples: Option<usize>,
    /// Chains per configuration in the decay section (default: 10 × `--samples`, at most
    /// 100000): more give smoother percentiles at every layer, for a section time in proportion.
    #[arg(long, value_name = "CHAINS", allow_negative_numbers = true)]
    pub decay_samples: Option<usize>,
    /// The deepest chain measured in the decay section.
    #[arg(long, value_name = "DEPTH", allow_negative_numbers = true)]
    pub max_depth: Option<usize>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// A small, fast configuration (for tests and a first look).
    #[arg(long)]
    pub quick: bool,
    /// Write the SVG figures into this folder and show them in the markdown (`--format html` holds them inline).
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Refuse runs whose estimated memory exceeds this many MiB.
    #[arg(long, value_name = "MIB", allow_negative_numbers = true, default_value_t = budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
    /// Refuse runs whose estimated time (measured rate, perfect scaling) exceeds this many minutes.
    #[arg(long, value_name = "MINUTES", allow_negative_numbers = true, default_value_t = budget::DEFAULT_TIME_BUDGET_MINUTES)]
    pub time_budget_minutes: u64,
}

impl Args {
    /// The configuration the flags ask for, validated.
    pub fn config(&self) -> Result<Config, Error> {
        let mut config = Config::new(self.seed, self.quick);
        if let Some(samples) = self.samples {
            if samples == 0 || samples > MAX_SAMPLES {
                return Err(Error::input(format!("--samples {samples}: must be between 1 and {MAX_SAMPLES}")));
            }
            config.samples = samples;
            config.decay_samples = (sections::DECAY_SAMPLES_PER_SAMPLE * samples).min(MAX_SAMPLES);
        }
        if let Some(chains) = self.decay_samples {
            if chains == 0 || chains > MAX_SAMPLES {
                return Err(Error::input(format!("--decay-samples {chains}: must be between 1 and {MAX_SAMPLES}")));
            }
            config.decay_samples = chains;
        }
        if let Some(depth) = self.max_depth {
            if depth == 0 || depth > MAX_DEPTH {
                return Err(Error::input(format!("--max-depth {depth}: must be between 1 and {MAX_DEPTH}")));
            }
            config.max_depth = depth;
        }
        Ok(config)
    }

    /// `--threads` (between 1 and 1024 when given), or every core.
    pub fn threads(&self) -> Result<usize, Error> {
        match self.threads {
            Some(threads) if threads == 0 || threads > 1024 => {
                Err(Error::input(format!("--threads {threads}: must be between 1 and 1024")))
            }
            Some(threads) => Ok(threads),
            None => Ok(std::thread::available_parallelism().map_or(1, usize::from)),
        }
    }

    /// `--memory-budget-mib` and `--time-budget-minutes`.
    pub fn budget(&self) -> ReportBudget {
        ReportBudget { memory_mib: self.memory_budget_mib, time_minutes: self.time_budget_minutes }
    }
}

/// Runs `report`: validates, checks the budget, computes on `--threads` threads and writes the
/// report to stdout (and `--out`), the plots to `--plots`.
pub fn run(args: &Args) -> Result<ExitCode, Error> {
    let config = args.config()?;
    let threads = args.threads()?;
    budget::check_report(&config, threads, args.budget())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::input(format!("cannot start {} threads: {e}", args.threads.unwrap_or(0))))?;
    // A progress bar on stderr, drawn only when stderr is a terminal (indicatif hides it otherwise)
    // and only once the run has taken PROGRESS_DELAY: a sub-second run draws nothing.
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(sections::SECTIONS.len() as u64),
        indicatif::ProgressDrawTarget::hidden(),
    )
    .with_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"));
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let report = std::thread::scope(|scope| {
        let shown = bar.clone();
        scope.spawn(move || {
            if finished.recv_timeout(PROGRESS_DELAY) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.tick();
            }
        });
        let report = pool.install(|| {
            sections::compute_with_progress(&config, |section| {
                bar.set_message(format!("done: {}", render::labels::section(section)));
                bar.inc(1);
            })
        });
        let _ = done.send(()); // the waiting thread may have shown the bar and ended already
        report
    });
    bar.finish_and_clear();
    let figures = render::svg::figures(&report);
    let plot_link = match &args.plots {
        None => None,
        Some(dir) => {
            crate::io::ensure_dir(dir)?;
            for (name, svg) in &figures {
                crate::io::write_atomically(&dir.join(name), svg.as_bytes())?;
            }
            Some(super::plot_link(dir, super::out_file(args.out.as_deref())))
        }
    };
    let text = match args.format {
        OutputFormat::Md => render::markdown(&report, plot_link.as_deref()),
        OutputFormat::Json => render::json(&report),
        // The page holds its figures: the Markdown refers to them by file name only.
        OutputFormat::Html => {
            render::html::page(&render::markdown_with(&report, Some("plots"), render::Detail::Full), &figures)
        }
    };
    super::emit(&text, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// How long a run goes before its progress bar is drawn.
const PROGRESS_DELAY: std::time::Duration = std::time::Duration::from_secs(1);
