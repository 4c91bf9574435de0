//! The report's sections: each computes plain data from the engines; rendering is elsewhere.

use crate::cli::ReportArgs;
use crate::error::Error;
use std::process::ExitCode;

/// The report's output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Markdown tables.
    Md,
    /// One JSON document.
    Json,
}

/// What to compute: validated from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The seed of every random draw.
    pub seed: u64,
    /// Samples per measured configuration.
    pub samples: usize,
    /// The deepest chain in the decay section.
    pub max_depth: usize,
    /// Worker threads, if set.
    pub threads: Option<usize>,
    /// Whether this is the small configuration.
    pub quick: bool,
}

impl Config {
    /// Validates the command line's report options.
    pub fn from_args(args: &ReportArgs) -> Result<Config, Error> {
        let _ = args;
        Err(Error::input("the report is being written"))
    }
}

/// Computes and writes the report.
pub fn run(config: &Config, args: &ReportArgs) -> Result<ExitCode, Error> {
    let _ = (config, args);
    Err(Error::input("the report is being written"))
}
