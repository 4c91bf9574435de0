//! `report chain` (being written).

use crate::error::Error;
use std::process::ExitCode;

/// The arguments of `report chain`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `report chain`.
pub fn run(_args: &Args) -> Result<ExitCode, Error> {
    Err(Error::input("report chain is not implemented yet"))
}
