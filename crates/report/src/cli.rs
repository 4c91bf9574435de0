//! The command line: `report` (the gradient-decay report) and its subcommands `chain`, `grad`
//! and `check` (reference gradients and gradient checks for networks described in JSON).

use crate::commands;
use crate::error::Error;
use crate::sections::{self, Config, OutputFormat};
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Shows, exactly, why a deep network stops training.
#[derive(Debug, Parser)]
#[command(name = "report", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, the gradient-decay report is written.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the report.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reference gradients of a single-neuron chain, layer by layer.
    Chain(commands::chain::Args),
    /// Reference gradients of a dense network described in a JSON model file.
    Grad(commands::grad::Args),
    /// Compare gradients computed elsewhere with the reference; exit 0 only if every layer passes.
    Check(commands::check::Args),
}

/// Options of the gradient-decay report.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Also write the report to this file (atomically: an existing file survives a failed run).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Markdown for people, JSON for programs.
    #[arg(long, value_enum, default_value_t = OutputFormat::Md)]
    pub format: OutputFormat,
    /// The seed of every random draw; the same seed gives the same bytes on any thread count.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Samples (networks or chains) per measured configuration.
    #[arg(long)]
    pub samples: Option<usize>,
    /// The deepest chain measured in the decay section.
    #[arg(long, value_name = "DEPTH")]
    pub max_depth: Option<usize>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// A small, fast configuration (for tests and a first look).
    #[arg(long)]
    pub quick: bool,
    /// Write SVG plots of the decay curves into this folder and link them from the markdown.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Refuse runs whose estimated memory exceeds this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = commands::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget_mib: u64,
    /// Refuse runs whose estimated time (measured rate, perfect scaling) exceeds this many minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = crate::limits::DEFAULT_TIME_BUDGET_MINUTES)]
    pub time_budget_minutes: u64,
}

impl ReportArgs {
    /// `--threads` is between 1 and 1024 when given.
    pub fn check_threads(&self) -> Result<(), Error> {
        match self.threads {
            Some(threads) if threads == 0 || threads > 1024 => {
                Err(Error::input(format!("--threads {threads}: must be between 1 and 1024")))
            }
            _ => Ok(()),
        }
    }
}

/// Parses `args` (program name first) and runs what they ask for.
pub fn run<I, T>(args: I) -> Result<ExitCode, Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // A usage error: clap's first line names the problem; its usage hint would make it
            // several lines, so point to --help instead. Exit 2 like every other bad input.
            let text = e.render().to_string();
            eprintln!("{} (see `report --help`)", text.lines().next().unwrap_or("error: invalid arguments"));
            return Ok(ExitCode::from(2));
        }
        Err(e) => {
            // --help and --version print and succeed.
            let _ = e.print();
            return Ok(ExitCode::SUCCESS);
        }
    };
    match cli.command {
        Some(Command::Chain(args)) => commands::chain::run(&args),
        Some(Command::Grad(args)) => commands::grad::run(&args),
        Some(Command::Check(args)) => commands::check::run(&args),
        None => {
            let config = Config::from_args(&cli.report)?;
            crate::limits::check(&config, &cli.report)?;
            sections::run(&config, &cli.report)
        }
    }
}
