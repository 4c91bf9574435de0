//! Section 7 — the symptom checklist, evaluated on the runs of sections 4–6: each symptom with the
//! rule that detects it and the runs that show it.

use super::classic::Classic;
use super::exploding::Exploding;
use super::remedies::Remedies;
use serde::Serialize;

/// Loss within this relative distance of where it started counts as stuck.
pub const STUCK_BAND: f64 = 0.01;
/// At least this many >5% rises of the loss count as jumping.
pub const JUMPS: usize = 5;
/// ‖W‖ growing by at least this factor over training.
pub const GROWTH: f64 = 10.0;
/// ‖W‖ shrinking below this share of its start.
pub const SHRINK: f64 = 0.1;
/// The first layer moving less than this share of the last layer's movement.
pub const FIRST_LAST_MOVE: f64 = 0.01;

/// One symptom and the runs that show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Symptom {
    /// The symptom as people describe it.
    pub symptom: String,
    /// The rule used to detect it.
    pub rule: String,
    /// Runs checked.
    pub checked: usize,
    /// The runs that show it.
    pub shown_by: Vec<String>,
}

/// Evaluates the checklist.
pub fn compute(exploding: &Exploding, remedies: &Remedies, classic: &Classic) -> Vec<Symptom> {
    let runs: Vec<(String, &super::remedies::RunTrace)> = remedies
        .rows
        .iter()
        .flat_map(|row| row.runs.iter().map(move |r| (format!("{} (seed {})", row.name, r.seed), r)))
        .collect();
    let select = |pred: &dyn Fn(&super::remedies::RunTrace) -> bool| -> Vec<String> {
        runs.iter().filter(|(_, r)| pred(r)).map(|(name, _)| name.clone()).collect()
    };
    let mut stuck = select(&|r| (r.final_loss - r.initial_loss).abs() <= STUCK_BAND * r.initial_loss);
    stuck.extend(classic.runs.iter().filter(|c| c.stuck_share >= 0.5).map(|c| {
        format!(
            "classic {} with {} hidden layers, bias {}: {:.0}% of seeds",
            c.task,
            c.hidden_layers,
            if c.bias { "yes" } else { "no" },
            100.0 * c.stuck_share
        )
    }));
    let mut non_finite: Vec<String> = exploding
        .sweep
        .iter()
        .flat_map(|row| {
            [("f32", &row.f32), ("f64", &row.f64)].into_iter().filter_map(move |(format, loc)| {
                loc.as_ref().map(|l| format!("gain {} in {format}: layer {} ({})", row.gain, l.layer, l.stage))
            })
        })
        .collect();
    non_finite.extend(select(&|r| r.refused.is_some()));
    let every_layer_above_1 = exploding.clipping.raw.iter().all(|&g| g > 1.0);
    vec![
        Symptom {
            symptom: "loss stuck".into(),
            rule: format!(
                "final loss within {:.0}% of the initial loss; or, in section 6, half the seeds still on the constant predictor's plateau",
                100.0 * STUCK_BAND
            ),
            checked: runs.len() + classic.runs.len(),
            shown_by: stuck,
        },
        Symptom {
            symptom: "loss jumping".into(),
            rule: format!("at least {JUMPS} steps where the loss rose by more than 5%"),
            checked: runs.len(),
            shown_by: select(&|r| r.loss_jumps >= JUMPS),
        },
        Symptom {
            symptom: "loss NaN (or ±∞)".into(),
            rule: "a non-finite value met by the engine (section 4), or a training step refused for one".into(),
            checked: runs.len() + 2 * exploding.sweep.len(),
            shown_by: non_finite,
        },
        Symptom {
            symptom: "weights growing exponentially".into(),
            rule: format!("‖W‖ at the end ≥ {GROWTH}× its start"),
            checked: runs.len(),
            shown_by: select(&|r| r.weight_growth >= GROWTH),
        },
        Symptom {
            symptom: "gradients above 1 in every layer".into(),
            rule: "‖∂L/∂W_l‖ > 1 for every layer l".into(),
            checked: 1,
            shown_by: if every_layer_above_1 {
                vec![format!(
                    "section 4's clipping example (gain {}, {} layers)",
                    exploding.clipping.gain, exploding.clipping.depth
                )]
            } else {
                Vec::new()
            },
        },
        Symptom {
            symptom: "weights near the output change far more than near the input".into(),
            rule: format!("Σ‖ΔW_1‖ < {}·Σ‖ΔW_L‖ over training", FIRST_LAST_MOVE),
            checked: runs.len(),
            shown_by: select(&|r| r.first_last_update_ratio.is_some_and(|x| x < FIRST_LAST_MOVE)),
        },
        Symptom {
            symptom: "weights shrinking to 0".into(),
            rule: format!("‖W‖ at the end < {SHRINK}× its start"),
            checked: runs.len(),
            shown_by: select(&|r| r.weight_growth < SHRINK),
        },
    ]
}
