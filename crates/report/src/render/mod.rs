//! Pure rendering: report data in, text out. No arithmetic beyond layout, no I/O; every number
//! goes through [`crate::numfmt`].

pub mod citations;
mod critical_depth;
mod criticality;
mod dense_init;
pub mod diagnose;
mod exploding;
pub mod figure;
pub mod html;
mod isometry;
pub mod labels;
mod markdown;
pub mod prose;
pub mod reference;
mod remedies;
mod shortcuts;
pub mod svg;

pub use markdown::{Detail, markdown, markdown_with};

use crate::sections::Report;

/// The report as one pretty-printed JSON document (numbers print as shortest round-trip; −∞
/// log10 values of exact zeros print as `null`).
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("report data always serializes");
    text.push('\n');
    text
}
