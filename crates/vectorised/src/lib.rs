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
pub mod chain;
pub mod dense;
pub mod error;
pub mod parallel;
pub mod real;
pub mod scaled;
pub mod simd_exp;
pub mod stats;
pub mod train;
pub mod workload;

pub use activation::Activation;
pub use chain::{ChainBatch, ChainGradients, ChainWorkspace, GradientLayout, Magnitudes};
pub use dense::{Batch, Dense, DenseLayer, DenseReal, Gradients, Loss, Normalisation, Workspace};
pub use error::Error;
pub use real::Real;
pub use scaled::Scaled;
pub use simd_exp::SimdReal;
pub use train::{Clip, Optimizer, StepReport, TrainConfig, Trainer};
