//! # scalar — the oracle
//!
//! A small, dependency-free, scalar reverse-mode automatic differentiation engine over `f64`, and
//! the models gradlab studies built on it: the single-neuron chain of the classic "why does my
//! network not train" question, and dense networks.
//!
//! A key design decision made in this crate is that **it is slow and plainly correct on purpose**.
//! Every other gradlab crate (the vectorised engine, the report) is checked against it, so it has
//! no dependencies, no `unsafe`, no SIMD and no cleverness: one tape of nodes in creation order,
//! one reverse sweep, one rule per primitive. Where `f64` cannot hold a result (gradients of deep
//! chains underflow below 1e−308), [`Ext`] carries the same arithmetic with an unbounded exponent.
//!
//! Modules:
//! - [`activation`]: activations with value, exact derivative and sup |f′|.
//! - [`tape`]: the reverse-mode tape ([`Tape`], [`Var`], [`Gradients`]).
//! - [`ext`]: [`Ext`], an `f64` mantissa with an `i64` binary exponent, for magnitudes beyond `f64`.
//! - [`mod@format`]: f16, bf16, f32, f64 and where an exact value underflows or overflows each.
//! - [`chain`]: the single-neuron chain, its closed-form gradient, the article's bound and the
//!   log-domain magnitudes.
//! - [`dense`]: dense networks built from scalar nodes — the oracle for `vectorised`.
//! - [`gradcheck`]: finite-difference gradient checking and the Taylor-remainder test.
//! - [`rng`] and [`init`]: a documented seeded PRNG and the usual initialisation schemes.
#![forbid(unsafe_code)]

pub mod activation;
pub mod chain;
pub mod dense;
pub mod erf;
pub mod error;
pub mod ext;
pub mod format;
pub mod gradcheck;
pub mod init;
pub mod rng;
pub mod skip;
pub mod tape;

pub use activation::Activation;
pub use error::Error;
pub use ext::Ext;
pub use format::{Fate, FloatFormat};
pub use skip::Skip;
pub use tape::{Gradients, Tape, Var};
