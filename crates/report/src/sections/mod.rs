//! The report's sections: each computes plain data from the engines; [`crate::render`] turns the
//! data into text.
//!
//! Every random draw comes from [`stream_rng`]`(seed, stream, index)` with a named [`Stream`]: one
//! independent stream per section, configuration and sample, so the results do not depend on the
//! order in which threads pick up work — the same seed gives the same bytes on any thread count.

pub mod classic;
pub mod decay;
pub mod dense_init;
pub mod exploding;
pub mod handwritten;
pub mod meanfield;
pub mod remedies;
pub mod stats;
pub mod streams;
pub mod symptoms;
pub mod worked;

use crate::cli::ReportArgs;
use crate::error::Error;
use crate::render;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
pub use streams::{Stream, stream_rng};

/// The report's output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Markdown tables.
    Md,
    /// One JSON document.
    Json,
}

/// What to compute: validated from the command line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The seed of every random draw.
    pub seed: u64,
    /// Samples per measured configuration.
    pub samples: usize,
    /// The deepest chain in the decay section.
    pub max_depth: usize,
    /// Training epochs per run in the classic section.
    pub epochs: usize,
    /// Whether this is the small configuration.
    pub quick: bool,
}

/// The largest accepted `--samples`.
pub const MAX_SAMPLES: usize = 100_000;
/// The largest accepted `--max-depth`.
pub const MAX_DEPTH: usize = 1_000_000;

impl Config {
    /// The default configuration (`quick` for the small one).
    pub fn new(seed: u64, quick: bool) -> Config {
        if quick {
            Config { seed, samples: 24, max_depth: 64, epochs: 300, quick }
        } else {
            Config { seed, samples: 200, max_depth: 1000, epochs: 2000, quick }
        }
    }

    /// Validates the command line's report options.
    pub fn from_args(args: &ReportArgs) -> Result<Config, Error> {
        let mut config = Config::new(args.seed, args.quick);
        if let Some(samples) = args.samples {
            if samples == 0 || samples > MAX_SAMPLES {
                return Err(Error::input(format!("--samples {samples}: must be between 1 and {MAX_SAMPLES}")));
            }
            config.samples = samples;
        }
        if let Some(depth) = args.max_depth {
            if depth == 0 || depth > MAX_DEPTH {
                return Err(Error::input(format!("--max-depth {depth}: must be between 1 and {MAX_DEPTH}")));
            }
            config.max_depth = depth;
        }
        Ok(config)
    }
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// How it was computed.
    pub config: Config,
    /// Section 1.
    pub worked: worked::WorkedChain,
    /// Section 2.
    pub decay: decay::Decay,
    /// Section 3.
    pub dense_init: dense_init::DenseInit,
    /// Section 4.
    pub exploding: exploding::Exploding,
    /// Section 5.
    pub remedies: remedies::Remedies,
    /// Section 6.
    pub classic: classic::Classic,
    /// Section 7.
    pub symptoms: Vec<symptoms::Symptom>,
}

/// Computes every section (in the current rayon pool).
pub fn compute(config: &Config) -> Report {
    compute_with_progress(config, |_| {})
}

/// The sections, in order, as [`compute_with_progress`] announces them.
pub const SECTIONS: [&str; 6] = [
    "worked chain",
    "decay per depth",
    "dense networks and initialisation",
    "exploding gradients",
    "remedies",
    "classic AND/XOR",
];

/// [`compute`], calling `started(name)` as each of [`SECTIONS`] begins.
pub fn compute_with_progress(config: &Config, started: impl Fn(&str)) -> Report {
    started(SECTIONS[0]);
    let worked = worked::compute();
    started(SECTIONS[1]);
    let decay = decay::compute(config);
    started(SECTIONS[2]);
    let dense_init = dense_init::compute(config);
    started(SECTIONS[3]);
    let exploding = exploding::compute(config);
    started(SECTIONS[4]);
    let remedies = remedies::compute(config);
    started(SECTIONS[5]);
    let classic = classic::compute(config);
    let symptoms = symptoms::compute(&exploding, &remedies, &classic);
    Report { config: config.clone(), worked, decay, dense_init, exploding, remedies, classic, symptoms }
}

/// The vectorised engine's name for an activation of the oracle's.
pub fn engine_activation(f: scalar::Activation) -> vectorised::Activation {
    match f {
        scalar::Activation::Sigmoid => vectorised::Activation::Sigmoid,
        scalar::Activation::Tanh => vectorised::Activation::Tanh,
        scalar::Activation::Relu => vectorised::Activation::Relu,
        scalar::Activation::LeakyRelu { slope } => vectorised::Activation::LeakyRelu { slope },
        scalar::Activation::Softplus => vectorised::Activation::Softplus,
        scalar::Activation::Identity => vectorised::Activation::Identity,
    }
}

/// How the Markdown links the plots folder: relative to the `--out` file's folder when the plots
/// are inside it (`docs/plots` from `docs/report.md` is `plots`), otherwise as given.
fn plot_link(dir: &std::path::Path, out: Option<&std::path::Path>) -> String {
    let base = out.and_then(std::path::Path::parent).filter(|p| !p.as_os_str().is_empty());
    let relative = base.and_then(|b| dir.strip_prefix(b).ok()).unwrap_or(dir);
    relative.to_string_lossy().replace('\\', "/")
}

/// Computes the report on `--threads` threads and writes it to stdout (and `--out`).
pub fn run(config: &Config, args: &ReportArgs) -> Result<ExitCode, Error> {
    args.check_threads()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Error::input(format!("cannot start {} threads: {e}", args.threads.unwrap_or(0))))?;
    // A progress bar on stderr, drawn only when stderr is a terminal (indicatif hides it otherwise).
    let bar = indicatif::ProgressBar::new(SECTIONS.len() as u64)
        .with_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"));
    let report = pool.install(|| {
        compute_with_progress(config, |name| {
            bar.set_message(name.to_string());
            bar.inc(1);
        })
    });
    bar.finish_and_clear();
    let plot_link = match &args.plots {
        None => None,
        Some(dir) => {
            crate::io::ensure_dir(dir)?;
            for (name, svg) in render::svg::decay_plots(&report.decay) {
                crate::io::write_atomically(&dir.join(name), svg.as_bytes())?;
            }
            Some(plot_link(dir, args.out.as_deref()))
        }
    };
    let text = match args.format {
        OutputFormat::Md => render::markdown(&report, plot_link.as_deref()),
        OutputFormat::Json => render::json(&report),
    };
    if let Some(out) = &args.out {
        crate::io::write_atomically(out, text.as_bytes())?;
    }
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`report | head`) is not an error worth a message.
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    Ok(ExitCode::SUCCESS)
}
