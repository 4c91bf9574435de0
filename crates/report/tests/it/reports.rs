//! The two reports the tests read, each computed once for the whole test binary: the default one
//! (seed 1: the bytes of `docs/report.md`) and the quick one (seed 1). A module that checks a
//! section of either reads it here, from the report itself, rather than computing the section
//! again (the default report is the binary's slowest computation).

use report::sections::{self, Config, Report};
use std::sync::OnceLock;

/// `sections::compute(&Config::new(1, false))`, computed once.
pub(crate) fn default_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| sections::compute(&Config::new(1, false)))
}

/// `sections::compute(&Config::new(1, true))`, computed once.
pub(crate) fn quick_report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| sections::compute(&Config::new(1, true)))
}
