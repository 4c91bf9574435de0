//! The subcommands that check other people's backprop: `chain`, `grad` and `check`.
//!
//! Each parses its flags, refuses bad input with a located one-line message (the binary exits
//! with 2), computes with [`crate::reference`] and prints what it returns. The file formats and
//! output contracts are documented in `docs/model-format.md`.

pub mod chain;
pub mod check;
pub mod grad;

use crate::error::Error;
use std::io::Write;
use std::path::Path;

/// The default of `--memory-budget-mib`: 4 GiB, a sixth of the development machine.
pub const DEFAULT_MEMORY_BUDGET_MIB: u64 = 4096;

/// A finite number given on the command line.
fn parse_number(place: &str, text: &str) -> Result<f64, Error> {
    let v: f64 = text.trim().parse().map_err(|_| Error::input(format!("{place}: {text:?} is not a number")))?;
    if v.is_finite() { Ok(v) } else { Err(Error::input(format!("{place}: {text} is not a finite number"))) }
}

/// Writes `text` to `out` atomically, or to standard output.
fn emit(text: &str, out: Option<&Path>) -> Result<(), Error> {
    match out {
        Some(path) => crate::io::write_atomically(path, text.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(|source| Error::Io {
                path: "standard output".into(),
                action: "write",
                source,
            })
        }
    }
}
