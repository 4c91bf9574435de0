//! Section 7's figure: for each symptom, the runs showing it split by outcome — a symptom that
//! shows as often in runs that succeed says little about a failing one.

use super::super::figure::{BarChart, BarRow, Segment};
use crate::render::prose;
use crate::sections::symptoms::Symptom;

/// The file name of section 7's figure.
pub const SYMPTOMS_PLOT: &str = "symptoms.svg";

/// The title of section 7's figure (also the Markdown's alt text).
pub const SYMPTOMS_TITLE: &str = "Symptoms: the runs showing each, by outcome";

/// One bar per symptom: the runs showing it, as shares that succeeded, failed, or were not
/// trained (section 4's networks); its label says how many of the runs checked show it. A
/// symptom no run shows keeps its label above an empty track.
pub fn symptoms_figure(symptoms: &[Symptom]) -> BarChart {
    let rows = symptoms
        .iter()
        .map(|s| {
            let o = s.outcomes();
            let name = prose::symptom_name(s.kind);
            let label = if s.runs == 0 {
                format!("{name}: none of {} runs checked", s.checked)
            } else {
                format!("{name}: {} of {} runs checked", s.runs, s.checked)
            };
            BarRow { label, values: [o.succeeded, o.failed, o.not_trained].map(|n| n as f64).to_vec() }
        })
        .collect();
    BarChart {
        title: SYMPTOMS_TITLE.to_string(),
        subtitle: "each bar is the runs showing the symptom (sections 4–6), split by how they ended".to_string(),
        axis: "share of the runs showing the symptom".to_string(),
        // Blue, red and grey: the palette's first, second and eighth colours.
        segments: vec![
            Segment::new("succeeded (trained)", 0),
            Segment::new("failed (trained)", 1),
            Segment::new("not trained (section 4's networks)", 7),
        ],
        rows,
    }
}
