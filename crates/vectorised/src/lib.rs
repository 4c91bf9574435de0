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
//!
//! # Example
//!
//! Chains of single sigmoid neurons, with the gradient of the layer nearest the input beyond
//! `f64`'s range, and a dense network with its per-layer statistics:
//!
//! ```
//! use vectorised::{Activation, Batch, ChainBatch, Dense, DenseLayer, Loss, Magnitudes, Normalisation, Workspace};
//!
//! // Two chains of depth 600, every weight 1 (weights are layer-major: w[l·S + s]).
//! let chains = ChainBatch::new(2, vec![1.0; 2 * 600], vec![Activation::Sigmoid; 600])?;
//! let g = chains.gradients(&[1.0, -1.0], &[0.0, 0.0], Magnitudes::Extended)?;
//! assert_eq!(g.weight_at(0, 0), 0.0); // layer 1 of chain 0 underflows f64 …
//! let exact = g.weight_scaled[g.index(0, 0)]; // … but not its log-domain twin:
//! assert!(exact.log10_abs() < -350.0 && exact.signum() > 0.0);
//!
//! // x1 AND x2 through 2 → 2 → 1 sigmoid units (W is n_in × n_out, row-major).
//! let net = Dense::new(
//!     vec![
//!         DenseLayer::new(2, 2, vec![0.5, -0.5, 0.25, 0.75], Some(vec![0.0, 0.1]), Activation::Sigmoid)?,
//!         DenseLayer::new(2, 1, vec![1.0, -1.0], None, Activation::Sigmoid)?,
//!     ],
//!     None,
//! )?;
//! let (x, t) = ([0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]);
//! let mut ws = Workspace::new(); // keep it: warm calls allocate nothing
//! let (x, t) = (Batch::new(&x, 4, 2)?, Batch::new(&t, 4, 1)?);
//! let g = net.gradients(x, t, Loss::SquaredError, Normalisation::PerSample, &mut ws)?;
//! assert_eq!((g.weight[0].len(), g.weight[1].len()), (4, 2));
//! let stats = ws.stats().expect("gathered unless switched off");
//! assert!(stats.first_non_finite.is_none() && stats.layers[0].weight.norm > 0.0);
//! # Ok::<(), vectorised::Error>(())
//! ```

pub mod activation;
pub mod chain;
pub mod dense;
pub mod error;
mod gemm;
#[doc(hidden)]
pub mod instruments;
pub mod math;
pub mod parallel;
pub mod real;
pub mod simd;
pub mod skip;
pub mod stats;
pub mod train;
#[cfg(feature = "workload")]
pub mod workload;

pub use activation::Activation;
pub use chain::scaled::{self, Scaled};
pub use chain::{ChainBatch, ChainGradients, ChainWorkspace, GradientLayout, Magnitudes};
pub use dense::{Batch, Dense, DenseLayer, Gradients, Loss, Normalisation, Workspace};
pub use error::Error;
pub use real::Real;
pub use simd::Simd;
pub use skip::Skip;
pub use train::{Clip, DecayForm, Optimizer, StepReport, TrainConfig, Trainer};
