//! crosscheck's integration tests: one binary, one module per subject.

mod engine;
mod fuzz_seeds;
