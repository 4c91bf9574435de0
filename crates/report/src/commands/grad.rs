//! `report grad` (being written).

use crate::error::Error;
use std::process::ExitCode;

/// The arguments of `report grad`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `report grad`.
pub fn run(_args: &Args) -> Result<ExitCode, Error> {
    Err(Error::input("report grad is not implemented yet"))
}
