//! [`Error`]: the one error type of the fast engine, saying what went wrong and where.
//!
//! Every public entry point checks its arguments at the boundary (lengths, finiteness, sizes) and
//! returns one of these; the kernels behind it then trust the validated types.

use std::fmt;

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A length or size does not match what the other arguments imply.
    Shape {
        /// The argument or quantity, e.g. `"chain weights"`.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// A NaN or ±∞ where a finite number is required.
    NonFinite {
        /// The argument, e.g. `"chain inputs"`.
        what: &'static str,
        /// The flat index of the first offending element in that argument.
        index: usize,
    },
    /// An argument that is out of its domain for another reason (depth 0, shortcut span 0, …).
    Invalid {
        /// The argument.
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The thread pool a caller asked for could not be built.
    ThreadPool(String),
    /// An error in one layer of a dense network.
    InLayer {
        /// The layer, 1-based.
        layer: usize,
        /// What is wrong with it.
        error: Box<Error>,
    },
}

impl Error {
    /// `Err(Shape)` unless `got == expected`.
    pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), Error> {
        if got == expected { Ok(()) } else { Err(Error::Shape { what, expected, got }) }
    }

    /// `Err(NonFinite)` at the first element of `values` that is NaN or ±∞.
    pub(crate) fn check_finite<T: crate::Real>(what: &'static str, values: &[T]) -> Result<(), Error> {
        match values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(index) => Err(Error::NonFinite { what, index }),
        }
    }

    /// An [`Error::Invalid`].
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid { what, reason: reason.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { what, expected, got } => write!(f, "{what}: expected length {expected}, got {got}"),
            Error::NonFinite { what, index } => {
                write!(f, "{what}: element {index} is not finite")
            }
            Error::Invalid { what, reason } => write!(f, "{what}: {reason}"),
            Error::ThreadPool(msg) => write!(f, "thread pool: {msg}"),
            Error::InLayer { layer, error } => write!(f, "layer {layer}: {error}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rayon::ThreadPoolBuildError> for Error {
    fn from(e: rayon::ThreadPoolBuildError) -> Error {
        Error::ThreadPool(e.to_string())
    }
}
