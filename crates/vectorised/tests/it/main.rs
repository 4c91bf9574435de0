//! Integration tests of the fast engine, one module per subject.
mod chain;
mod dense;
mod robustness;
mod stats;
mod train;
