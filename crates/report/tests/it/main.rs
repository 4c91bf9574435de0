//! The report crate's integration tests: one binary, one module per subject.

mod chain;
mod check;
mod claims;
mod classic;
mod cli_report;
mod cli_run;
mod conventions;
mod critical_depth;
mod criticality;
mod decay;
mod dense_init;
mod diagnose;
mod exploding;
mod figures;
mod golden;
mod grad;
mod html;
mod isometry;
mod meanfield;
mod model;
mod references;
mod remedies;
mod report;
mod robustness;
mod shortcuts;
mod symptoms;
