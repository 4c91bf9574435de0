//! The report crate's integration tests: one binary, one module per subject.

mod chain;
mod check;
mod classic;
mod cli_report;
mod cli_run;
mod conventions;
mod decay;
mod dense_init;
mod exploding;
mod golden;
mod grad;
mod html;
mod meanfield;
mod model;
mod references;
mod remedies;
mod report;
mod robustness;
mod shortcuts;
mod symptoms;
