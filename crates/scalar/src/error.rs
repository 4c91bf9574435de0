//! The crate's one error type: what was wrong with a caller's input, and where.

use std::fmt;

/// An input the oracle refuses, with where it was found.
///
/// Constructors validate their arguments and return this; kernels then trust the validated types.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A number that must be finite is NaN or infinite (`where_` names it, e.g. `"weight 3"`).
    NonFinite {
        /// Which value, e.g. `"layer 2 weight row 0 col 1"`.
        where_: String,
        /// The offending value.
        value: f64,
    },
    /// A length or count does not match what the rest of the input implies.
    Shape {
        /// What was measured, e.g. `"layer 2 bias"`.
        where_: String,
        /// The length the rest of the input implies.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// Any other invalid parameter (an empty network, a shortcut span of 0, an unknown name…).
    Invalid {
        /// Which parameter.
        where_: String,
        /// Why it is invalid.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(where_: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { where_: where_.into(), reason: reason.into() }
    }

    /// Returns `Err(NonFinite)` when `value` is NaN or infinite.
    pub fn check_finite(where_: impl FnOnce() -> String, value: f64) -> Result<f64, Self> {
        if value.is_finite() { Ok(value) } else { Err(Error::NonFinite { where_: where_(), value }) }
    }

    /// Returns `Err(Shape)` when `got != expected`.
    pub fn check_len(where_: impl FnOnce() -> String, expected: usize, got: usize) -> Result<(), Self> {
        if got == expected { Ok(()) } else { Err(Error::Shape { where_: where_(), expected, got }) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NonFinite { where_, value } => {
                write!(f, "{where_}: {value} is not a finite number")
            }
            Error::Shape { where_, expected, got } => {
                write!(f, "{where_}: expected length {expected}, got {got}")
            }
            Error::Invalid { where_, reason } => write!(f, "{where_}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
