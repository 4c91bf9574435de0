//! `report check` (being written).

use crate::error::Error;
use std::process::ExitCode;

/// The arguments of `report check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `report check`.
pub fn run(_args: &Args) -> Result<ExitCode, Error> {
    Err(Error::input("report check is not implemented yet"))
}
