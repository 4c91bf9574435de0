//! The command line of `gradlab`: without a subcommand the gradient-decay report, and the
//! subcommands `chain`, `grad` and `check` (reference gradients and gradient checks for networks
//! described in JSON). Parsing only: each command's flags and what it does live in [`commands`];
//! a new command is one more variant of [`Command`] and one more arm in [`run`].
//!
//! Conventions shared by every command: usage errors are clap's (the missing argument named,
//! "did you mean", the possible values), exit 2; every other error is one line naming what and
//! where, exit 2 (`check`'s FAIL is 1). Numeric flags take negative numbers as values, so
//! `--rtol -1` is refused as a value, not as an unknown flag. `--out FILE` writes the output to
//! FILE atomically instead of standard output (`--out -`, or no `--out`: standard output), and
//! `--model -` reads the model from standard input.

use crate::commands;
use crate::error::Error;
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

/// Shows, exactly, why a deep network stops training.
#[derive(Debug, Parser)]
#[command(name = "gradlab", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, the gradient-decay report is written.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the report.
    #[command(flatten)]
    pub report: commands::report::Args,
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
    /// Diagnose a network described in a JSON model file: per-layer norms and one verdict.
    Diagnose(commands::diagnose::Args),
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
            // A usage error, as clap writes it (the problem, a suggestion, the usage line).
            let _ = e.print();
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
        Some(Command::Diagnose(args)) => commands::diagnose::run(&args),
        None => commands::report::run(&cli.report),
    }
}
