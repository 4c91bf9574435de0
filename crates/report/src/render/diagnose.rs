//! What `diagnose` prints: the verdict, its evidence and remedy in words, the per-layer table, the
//! figure of the per-layer norms, and the JSON contract (`docs/model-format.md`).

use crate::diagnosis::{DiagnosisReport, LayerRow, NonFiniteAt, SATURATION_THRESHOLD, Verdict};
use crate::numfmt::{log10, percent, sig};
use crate::render::figure::{Axis, Figure, Mark, Series};
use scalar::Skip;
use serde_json::{Value, json};
use std::fmt::Write;

/// The figure's file name (the Markdown links it; the HTML page inlines it).
pub const FIGURE_FILE: &str = "diagnose-norms.svg";

/// The diagnosis as Markdown: verdict, evidence, remedy, table, figure link.
pub fn markdown(r: &DiagnosisReport, figure_link: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Diagnosis\n");
    let from = r.from_layer.map_or(String::new(), |l| format!(", from layer {l}"));
    let _ = writeln!(s, "**Verdict: `{}`**{from}.\n", r.verdict.id());
    let _ = writeln!(s, "{}\n", evidence(r));
    let _ = writeln!(s, "Remedy: {}\n", remedy(r));
    // A normalised network's table has its normalisations' γ and β beside the weights and biases.
    let (norm_head, norm_rule) =
        if r.normalised { (" log10 ‖∂L/∂γ‖ | log10 ‖∂L/∂β‖ |", "---:|---:|") } else { ("", "") };
    let _ = writeln!(
        s,
        "| layer | f | log10 ‖∂L/∂W‖ | log10 ‖∂L/∂b‖ |{norm_head} log10 ‖∂L/∂z‖ | RMS a | saturated | dead | gain | predicted gain |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|{norm_rule}---:|---:|---:|---:|---:|---:|");
    for row in &r.layers {
        let norm_cells = match (r.normalised, row.norm) {
            (false, _) => String::new(),
            (true, None) => " — | — |".into(),
            (true, Some(n)) => {
                format!(" {} | {} |", log_cell(n.log10_weight_grad_norm), log_cell(n.log10_bias_grad_norm))
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |{norm_cells} {} | {} | {} | {} | {} | {} |",
            row.layer,
            row.activation,
            log_cell(row.log10_weight_grad_norm),
            log_cell(row.log10_bias_grad_norm),
            log_cell(row.log10_delta_norm),
            if row.activation_rms.is_finite() { sig(row.activation_rms, 3) } else { "overflowed".into() },
            percent(row.saturated_fraction),
            percent(row.dead_fraction),
            row.log10_gain.map_or("—".into(), gain_text),
            row.predicted_gain.map_or("—".into(), |g| sig(g, 3)),
        );
    }
    let _ = writeln!(
        s,
        "\nNorms over the batch of {} (L = the loss, `{}`); log10 values are exact for the f64 forward pass \
         even beyond f64's range. Saturated: |f′(z)| < {} of sup|f′|. Gain: ‖∂L/∂z_(l−1)‖/‖∂L/∂z_l‖; predicted: \
         √(σ²_w·E[f′_(l−1)(z)²]) with σ²_w = fan-in × mean(W_l²) (the variance of zero-mean weights), which ignores the seed — a seed that depends on \
         the weights, as squared error's 2(y − t) does, skews the top layers' measured gains. \
         A relu's f′ = 0 counts as saturated in the table; the `saturated` verdict judges relu layers by `dead` instead. \
         A — is a layer below a non-finite value, the first layer, or a zero norm.{}\n",
        r.batch,
        r.loss,
        sig(SATURATION_THRESHOLD, 1),
        if r.normalised {
            " γ and β are a layer normalisation's scale and shift (1 and 0 where the file leaves them out), \
             — for a layer without one. A layer with a `norm` has no predicted gain (mean field has no \
             normalisation)."
        } else {
            ""
        },
    );
    if let Some(link) = figure_link.filter(|_| figure(r).has_data()) {
        let _ = writeln!(s, "![per-layer gradient norms]({link})");
    }
    s
}

fn log_cell(v: Option<f64>) -> String {
    v.map_or("— (not computed)".into(), |l| log10(l, 2))
}

/// A gain from its log10: plain where f64 holds it.
fn gain_text(l: f64) -> String {
    if l.abs() < 300.0 { sig(10f64.powf(l), 3) } else { format!("10^{}", log10(l, 1)) }
}

fn non_finite_text(nf: &NonFiniteAt) -> String {
    let sample = nf.sample.map_or(String::new(), |b| format!(", sample {b}"));
    let pass = match (nf.forward, nf.shortcut_sum) {
        (true, true) => "forward pass (an identity shortcut's sum f(z) + a, both terms finite)",
        (true, false) => "forward pass (z)",
        (false, _) => "backward pass (∂L/∂z)",
    };
    format!("the first non-finite value is in the {pass}, layer {}, unit {}{sample}", nf.layer, nf.unit)
}

/// The measurement behind the verdict, in words.
pub fn evidence(r: &DiagnosisReport) -> String {
    let e = r.evidence;
    match (r.verdict, e) {
        (Verdict::NonFinite, _) => {
            format!("Evidence: {}.", r.non_finite.as_ref().map_or("a non-finite value".into(), non_finite_text))
        }
        (Verdict::ForwardCollapse, Some(e)) => format!(
            "Evidence: layer {}'s input has RMS {} of the input batch's (RMS {}); at or below {} it carries no signal.",
            e.layer,
            sig(e.value, 3),
            sig(r.input_rms, 3),
            sig(e.threshold, 1)
        ),
        (Verdict::Dead, Some(e)) => format!(
            "Evidence: {} of layer {}'s units pass nothing back for the whole batch (threshold {}).",
            percent(e.value),
            e.layer,
            percent(e.threshold)
        ),
        (Verdict::Saturated, Some(e)) => format!(
            "Evidence: {} of layer {}'s (sample, unit) pairs are saturated (threshold {}).",
            percent(e.value),
            e.layer,
            percent(e.threshold)
        ),
        (Verdict::Exploding | Verdict::Vanishing, Some(e)) => format!(
            "Evidence: ‖∂L/∂z‖ at layer {} is {} decades {} the top layer's (threshold {} decades).",
            e.layer,
            sig(e.value.abs(), 3),
            if e.value > 0.0 { "above" } else { "below" },
            sig(e.threshold.abs(), 2)
        ),
        _ => "Evidence: no criterion of `docs/model-format.md` holds.".into(),
    }
}

/// The remedy the measurements support, in words.
pub fn remedy(r: &DiagnosisReport) -> String {
    let g = r.mean_predicted_gain.map_or("not measured (one layer)".into(), |g| sig(g, 3));
    match r.verdict {
        Verdict::NonFinite => "scale the weights (or the input) down: values overflow where located above.".into(),
        Verdict::ForwardCollapse => {
            "check the input batch (all zero?) and the weights' scale feeding the collapsed layer.".into()
        }
        Verdict::Dead => {
            "lower-magnitude negative biases, He initialisation, or leaky_relu, so units stay active for some samples."
                .into()
        }
        Verdict::Saturated => {
            format!(
                "shrink the weights' scale (σ²_w) so that |z| stays where f′ is large; the mean predicted gain per layer is {g}."
            )
        }
        Verdict::Exploding => format!(
            "the mean-field gain per layer is {g} (> 1 makes ‖∂L/∂z‖ grow downwards): lower σ²_w to 1/E[f′²] per layer (He for relu, σ²_w = 1 for tanh)."
        ),
        Verdict::Vanishing => {
            // Shortcuts as a remedy, by what the network has: none, some joining before f (whose
            // path to a_{l−s} still goes through f′(z_l)), or some joining after it already.
            let shortcuts = match r.shortcut {
                None => " — or add shortcuts",
                Some(Skip::PreActivation) => {
                    " — or join the shortcuts after f (\"skip\": \"identity\"): before f, ∂a_l/∂a_(l−s) = f′(z_l), after it 1"
                }
                Some(Skip::Identity) => "",
            };
            format!(
                "the mean-field gain per layer is {g} (< 1 makes ‖∂L/∂z‖ fall downwards): raise σ²_w to 1/E[f′²] per layer — for a sigmoid network switch to relu with He initialisation (σ²_w = 2), or tanh at σ²_w = 1{shortcuts}."
            )
        }
        Verdict::Healthy => format!("none needed; the mean predicted gain per layer is {g}."),
    }
}

/// The JSON contract: `verdict`, `from_layer`, `layers[...]`, `non_finite`, and more.
pub fn json(r: &DiagnosisReport) -> String {
    let num = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from);
    let layers: Vec<Value> = r
        .layers
        .iter()
        .map(|row: &LayerRow| {
            json!({
                "layer": row.layer,
                "activation": row.activation,
                "log10_weight_grad_norm": num(row.log10_weight_grad_norm),
                "log10_bias_grad_norm": num(row.log10_bias_grad_norm),
                "log10_delta_norm": num(row.log10_delta_norm),
                "log10_norm_weight_grad_norm": num(row.norm.and_then(|n| n.log10_weight_grad_norm)),
                "log10_norm_bias_grad_norm": num(row.norm.and_then(|n| n.log10_bias_grad_norm)),
                "activation_rms": num(Some(row.activation_rms)),
                "saturated_fraction": row.saturated_fraction,
                "dead_fraction": row.dead_fraction,
                "gain": num(row.log10_gain.map(|l| 10f64.powf(l))),
                "log10_gain": num(row.log10_gain),
                "predicted_gain": num(row.predicted_gain),
            })
        })
        .collect();
    let non_finite = r.non_finite.map_or(Value::Null, |nf| {
        json!({
            "pass": if nf.forward { "forward" } else { "backward" },
            "layer": nf.layer,
            "unit": nf.unit,
            "sample": nf.sample,
        })
    });
    let value = json!({
        "verdict": r.verdict.id(),
        "from_layer": r.from_layer,
        "evidence": evidence(r),
        "remedy": remedy(r),
        "saturation_threshold": SATURATION_THRESHOLD,
        "loss": r.loss,
        "batch": r.batch,
        "layers": layers,
        "non_finite": non_finite,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("plain JSON values serialize");
    text.push('\n');
    text
}

/// log10 of ‖∂L/∂W_l‖ and ‖∂L/∂z_l‖ against the layer (exact zeros and uncomputed values leave gaps).
pub fn figure(r: &DiagnosisReport) -> Figure {
    let points = |f: &dyn Fn(&LayerRow) -> Option<f64>| -> Vec<(f64, f64)> {
        r.layers.iter().filter_map(|row| f(row).filter(|v| v.is_finite()).map(|v| (row.layer as f64, v))).collect()
    };
    Figure {
        title: format!("Per-layer gradient norms — verdict: {}", r.verdict.id()),
        subtitle: format!("batch of {}, loss {}; exact beyond f64's range", r.batch, r.loss),
        x: Axis::linear("layer"),
        y: Axis::linear("log10 norm"),
        series: vec![
            Series::new("log10 ‖∂L/∂W_l‖", Mark::Line, 0, points(&|row| row.log10_weight_grad_norm)),
            Series::new("log10 ‖∂L/∂z_l‖", Mark::Dashed, 1, points(&|row| row.log10_delta_norm)),
        ],
        rules: Vec::new(),
    }
}
