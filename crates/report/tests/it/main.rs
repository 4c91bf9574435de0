//! The report crate's integration tests: one binary, one module per subject.

mod cli_report;
mod report;
