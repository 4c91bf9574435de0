//! What the binary runs: the gradient-decay report (`report`, [`report`]) and the subcommands
//! that check other people's backprop (`chain`, `grad` and `check`).
//!
//! Each takes its parsed flags, refuses bad input with a located one-line message (the binary
//! exits with 2), checks the request against its budget ([`crate::budget`]), computes (with
//! [`crate::sections`] or [`crate::reference`]), renders and writes. The file formats and output
//! contracts of the subcommands are documented in `docs/model-format.md`.

pub mod chain;
pub mod check;
pub mod diagnose;
pub mod grad;
pub mod report;

use crate::error::Error;
use std::io::Write;
use std::path::Path;

/// `--format`: Markdown for people, JSON for programs, or one self-contained web page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Markdown tables.
    Md,
    /// One JSON document.
    Json,
    /// One HTML page with its figures and styles inline (nothing is fetched).
    Html,
}

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
