//! # report — what gradlab shows people
//!
//! `cargo run -p report` writes the gradient-decay report: exact tables of how gradients vanish or
//! explode with depth, why, and what helps, measured on the engines and set beside what theory
//! predicts. Its subcommands answer "is my backprop wrong?" for code written in any language:
//! `chain` and `grad` print reference gradients, `check` compares someone's gradients with them.
//!
//! A key design decision made in this crate is that **computing and rendering are separate**: the
//! sections compute plain data ([`sections`]), and pure functions turn it into Markdown, JSON or
//! SVG ([`render`]) with every number formatted in one place ([`numfmt`]). Rendering does no
//! arithmetic and no I/O, so snapshot tests see exactly what a person reads.
//!
//! The binary and its command line sit behind the `cli` feature (on by default). With
//! `default-features = false` the crate is a library without `clap` or `indicatif`: the model
//! format ([`model`]), reference gradients and gradient checks ([`reference`](mod@reference)), the budgets
//! ([`budget`]), the sections and their rendering.

pub mod budget;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod commands;
pub mod diagnosis;
pub mod error;
pub mod io;
pub mod model;
pub mod numfmt;
pub mod reference;
pub mod render;
pub mod sections;

pub use error::Error;

/// The README's Rust examples, compiled and run by `cargo test` (as doctests of this crate,
/// which depends on both engines).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;
