//! Integration tests of the oracle, one module per subject.
mod activation;
mod chain;
mod chain_skip;
mod dense;
mod dense_backprop;
mod dense_losses;
mod dense_norm;
mod erf;
mod ext;
mod format;
mod gradcheck;
mod init;
mod rng;
mod robustness;
mod tape;
