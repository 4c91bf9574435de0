//! The crate's one error type. Every variant renders as one line that says what was wrong and
//! where; the binary prints it and exits with code 2.

use std::fmt;
use std::path::PathBuf;

/// What went wrong, and where.
#[derive(Debug)]
pub enum Error {
    /// Bad input — a flag value, a file's content, a model — with where it was found.
    Input(String),
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What we were doing (`"read"`, `"write"`, …).
        action: &'static str,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A request whose memory or time would be absurd, refused before any work.
    TooLarge {
        /// What was requested.
        what: String,
        /// The estimated need, in bytes.
        estimate_bytes: u128,
        /// The budget it exceeds, in bytes.
        budget_bytes: u128,
    },
}

impl Error {
    /// Shorthand for [`Error::Input`].
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(message) => f.write_str(message),
            Error::Io { path, action, source } => write!(f, "cannot {action} {}: {source}", path.display()),
            Error::TooLarge { what, estimate_bytes, budget_bytes } => write!(
                f,
                "{what} would need about {} MiB, over the memory budget of {} MiB (raise it with --memory-budget-mib)",
                estimate_bytes.div_ceil(1 << 20),
                budget_bytes >> 20
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<scalar::Error> for Error {
    fn from(e: scalar::Error) -> Self {
        Error::Input(e.to_string())
    }
}
