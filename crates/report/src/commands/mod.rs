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

/// `--out`: a file, or `-` (and no `--out`) for standard output.
fn out_file(out: Option<&Path>) -> Option<&Path> {
    out.filter(|p| p.as_os_str() != "-")
}

/// Writes `text` to `--out` atomically, or to standard output. A closed pipe (`| head`) is not
/// an error: the reader has what it wanted.
fn emit(text: &str, out: Option<&Path>) -> Result<(), Error> {
    match out_file(out) {
        Some(path) => crate::io::write_atomically(path, text.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                result => {
                    result.map_err(|source| Error::Io { path: "standard output".into(), action: "write", source })
                }
            }
        }
    }
}

/// The path that means standard input (`--model -`).
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where messages about `path` say it is.
fn source_name(path: &Path) -> String {
    if is_stdin(path) { STDIN.into() } else { path.display().to_string() }
}

/// What messages call standard input.
const STDIN: &str = "standard input";

/// Reads standard input whole, refusing more than the memory budget allows.
fn read_stdin(budget_mib: u64) -> Result<String, Error> {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(crate::budget::max_text_bytes(budget_mib))
        .read_to_string(&mut text)
        .map_err(|source| Error::Io { path: STDIN.into(), action: "read", source })?;
    crate::budget::check_text_size(STDIN, text.len(), budget_mib)?;
    Ok(text)
}

/// How the Markdown links the plots folder: relative to the `--out` file's folder when the plots
/// are inside it (`docs/plots` from `docs/report.md` is `plots`), otherwise as given.
pub(super) fn plot_link(dir: &Path, out: Option<&Path>) -> String {
    let base = out.and_then(Path::parent).filter(|p| !p.as_os_str().is_empty());
    let relative = base.and_then(|b| dir.strip_prefix(b).ok()).unwrap_or(dir);
    relative.to_string_lossy().replace('\\', "/")
}
