//! crosscheck's integration tests: one binary, one module per subject.

mod fuzz_seeds;
