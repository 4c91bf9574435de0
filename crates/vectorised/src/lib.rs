//! # vectorised — the fast engine
//!
//! Batched, rayon-parallel gradients for single-neuron chains and dense networks, in `f64` and
//! `f32`. It computes its gradients independently of the `scalar` oracle and is property-tested
//! against it.
//!
//! A key design decision made in this crate is **determinism independent of the thread count**:
//! work is split into chunks of a fixed size, each chunk's floating-point reductions run in a fixed
//! order, and chunk results are combined in index order, so the same inputs give the same bits on
//! 1, 2 or 16 threads.

pub mod activation;
pub mod real;

pub use activation::Activation;
pub use real::Real;
