//! What `report chain`, `report check` and `report grad` print: the chain's table, the check's
//! table and verdict, and the JSON style of their results (serde_json's compact form with one
//! layer per line). Pure: data from [`crate::reference`] in, text out; every number through
//! [`numfmt`].

use crate::model::Model;
use crate::numfmt;
use crate::reference::{ChainReport, CheckReport};
use serde::Serialize;
use std::fmt;
use std::io;

/// What `grad`, `check` and `diagnose` warn of on standard error, one line each (after
/// `warning: FILE: `): a model that the format expresses, and whose gradients are computed as
/// it is, but that is rarely the one meant.
pub fn model_warnings(model: &Model) -> Vec<String> {
    let double_sigmoid = model.sigmoid_under_logits_loss().map(|layer| {
        format!(
            "layer {layer}: a sigmoid output under bce_with_logits, which applies its own sigmoid: the network \
             applies it twice (a common bug: the loss then changes little and training slows); use the loss \
             \"bce\", or make layer {layer} \"identity\""
        )
    });
    double_sigmoid.into_iter().collect()
}

/// The Markdown table `report chain` prints: the output and loss, then one row per layer.
pub fn chain_markdown(report: &ChainReport) -> String {
    // (y − ŷ)² can overflow f64 while y and the exact gradients are fine: say so, never `inf`.
    let loss = if report.loss.is_finite() { numfmt::sig(report.loss, 6) } else { "overflows f64".into() };
    let mut out = format!("output y = {}, loss L = {loss}\n\n", numfmt::sig(report.output, 6));
    if report.skip.is_some() {
        out.push_str(
            "The shortcut joins after f (the identity skip): a_d = f(z_d) + a_{d−s} at d = s, 2s, …, \
             so its path bypasses f′.\n\n",
        );
    }
    out.push_str(
        "| layer | z | u = a_{d−1} | ∂L/∂w (exact) | as f64 | log10 \\|∂L/∂w\\| | \
         log10 bound |\n|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for l in &report.layers {
        let as_f64 = match l.grad {
            Some(g) => numfmt::sci(g, 4),
            None if l.exact_grad.to_f64().is_infinite() => "overflows".into(),
            None => "underflows".into(),
        };
        let bound = l.log10_bound.map_or_else(|| "—".into(), |b| numfmt::log10(b, 3));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            l.layer,
            numfmt::sig(l.pre_activation, 4),
            numfmt::sig(l.input, 4),
            numfmt::ext(l.exact_grad, 4),
            as_f64,
            numfmt::log10(l.log10_abs_grad.unwrap_or(f64::NEG_INFINITY), 3),
            bound
        ));
    }
    out
}

/// The table `report check` prints: the tolerance, one row per layer, the loss, and the verdict
/// naming the first wrong layer in backprop order (no trailing newline).
pub fn check_markdown(report: &CheckReport) -> String {
    CheckTable(report).to_string()
}

/// [`check_markdown`] as a `Display`.
struct CheckTable<'a>(&'a CheckReport);

impl fmt::Display for CheckTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let floor = if self.0.floor > 0.0 {
            format!(
                " + floor, with floor = {} (below it a gradient underflows in their precision),",
                numfmt::sci(self.0.floor, 2)
            )
        } else {
            ",".into()
        };
        writeln!(
            f,
            "An entry passes when |theirs − ref| ≤ atol·s + rtol·|ref|{floor} with atol = {} and rtol = {}; s \
             is its layer's scale, the size of the rounding error a correct backward pass makes in the layer \
             (per unit roundoff: the terms its sums add, however much they cancel), so the tolerance shrinks \
             with the gradients where they vanish.",
            numfmt::sci(self.0.atol, 2),
            numfmt::sci(self.0.rtol, 2)
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| layer | entries | scale s | failed | max abs error | max rel error | worst entry | theirs | reference | verdict |"
        )?;
        writeln!(f, "|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")?;
        for l in &self.0.layers {
            // Infinite when an entry of theirs is not finite (said below the table), or when an
            // entry whose reference is 0 differs.
            let (abs, rel) = if l.non_finite > 0 {
                ("∞ (theirs)".into(), "∞ (theirs)".into())
            } else if l.max_rel_error.is_infinite() {
                (numfmt::sci(l.max_abs_error, 2), "∞ (reference 0)".into())
            } else {
                (numfmt::sci(l.max_abs_error, 2), numfmt::sci(l.max_rel_error, 2))
            };
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | `{}` | {} | {} | {} |",
                l.layer,
                l.entries,
                numfmt::sci(l.scale, 2),
                l.failed,
                abs,
                rel,
                l.worst.entry,
                theirs(l.worst.theirs),
                numfmt::sci(l.worst.reference, 6),
                match (l.pass, l.transposed) {
                    (true, _) => "pass",
                    (false, true) => "FAIL (transposed)",
                    (false, false) => "FAIL",
                }
            )?;
        }
        writeln!(f)?;
        for l in &self.0.layers {
            if l.non_finite > 0 {
                writeln!(
                    f,
                    "Layer {}: {} of their entries {} not finite (NaN or ±∞), the first at `{}` — \
                     the backward pass overflowed or divided by 0 there, or read a value that had.",
                    l.layer,
                    l.non_finite,
                    if l.non_finite == 1 { "is" } else { "are" },
                    l.worst.entry
                )?;
                writeln!(f)?;
            }
            if let Some(c) = &l.convention {
                let shape = if c.transposed { "the transpose of the reference" } else { "the reference" };
                let ratio = c.ratio.as_ref().map_or_else(String::new, |r| format!(" (= {r})"));
                let reading = if self.0.conventions_only {
                    "looks like a loss-reduction / sign / layout convention, not a backward bug."
                } else {
                    "a convention would change every layer alike, and the others are not so, so \
                     this factor comes from a backward step (see the verdict below)."
                };
                writeln!(
                    f,
                    "Layer {}: their gradients are {}{ratio} × {shape}: {reading}",
                    l.layer,
                    numfmt::sig(c.factor, 6),
                )?;
                writeln!(f)?;
            }
        }
        if let Some(loss) = &self.0.loss {
            let abs_error =
                if loss.abs_error.is_finite() { numfmt::sci(loss.abs_error, 2) } else { "not finite".into() };
            writeln!(
                f,
                "Loss: theirs {}, reference {}, abs error {}: {}.",
                theirs(loss.theirs),
                numfmt::sci(loss.reference, 6),
                abs_error,
                if loss.pass {
                    "pass"
                } else {
                    "FAIL — the forward pass or the loss differs, and every gradient may inherit it"
                }
            )?;
            writeln!(f)?;
        }
        if !self.0.other_branches.is_empty() {
            const LISTED: usize = 8;
            let places: Vec<String> = (self.0.other_branches.iter().take(LISTED))
                .map(|o| {
                    format!(
                        "sample {}, layer {}, unit {} (z = {}, band {})",
                        o.sample,
                        o.layer,
                        o.unit,
                        numfmt::sci(o.z, 2),
                        numfmt::sci(o.band, 2)
                    )
                })
                .collect();
            let more = self.0.other_branches.len().saturating_sub(LISTED);
            let more = if more > 0 { format!("; and {more} more (JSON `other_branches`)") } else { String::new() };
            writeln!(
                f,
                "Kinks: their code took the other branch of the activation's kink at {} whose z is within the \
                 rounding of 0 (|z| ≤ {}·u·E(z), E the forward pass's estimated rounding error, u their \
                 precision's unit roundoff), where a correct backward pass may take either derivative; the \
                 reference takes it there too: {}{more}.",
                crate::model::count(self.0.other_branches.len(), "unit"),
                crate::reference::KINK_BAND,
                places.join("; ")
            )?;
            writeln!(f)?;
        }
        match self.0.first_wrong_layer {
            None if self.0.pass => write!(f, "PASS: every layer matches the reference."),
            None => write!(f, "FAIL: the loss differs; every layer's gradients pass."),
            Some(_) if self.0.conventions_only => write!(
                f,
                "FAIL: every layer is the reference times the same factor, or its transpose \
                 (above): look at the loss's reduction, the sign and the weight layout before the \
                 backward pass."
            ),
            Some(l) => {
                let failing: Vec<String> =
                    (self.0.layers.iter().rev()).filter(|c| !c.pass).map(|c| c.layer.to_string()).collect();
                write!(
                    f,
                    "FAIL: layer {l} is the first wrong layer in backprop order (from the output; \
                     failing: {}). The layers below it inherit its error: look for the bug in \
                     layer {l}'s backward step.",
                    failing.join(", ")
                )
            }
        }
    }
}

/// One of their values: a number, or NaN and ±∞ spelled as their file has them (located by the
/// row and entry beside it).
fn theirs(x: f64) -> String {
    if x.is_nan() {
        "NaN (theirs)".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity (theirs)".into() } else { "-Infinity (theirs)".into() }
    } else {
        numfmt::sci(x, 6)
    }
}

/// Serializes with serde_json (shortest round-trip numbers, non-finite as `null`), putting each
/// element of a top-level array on its own line.
pub fn layer_per_line_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, LayerPerLine::default());
    value.serialize(&mut ser).expect("serializing plain structs into memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// serde_json's compact format, except that each element of an array held directly by the
/// top-level object starts a new line (indented by two spaces).
#[derive(Debug, Default)]
struct LayerPerLine {
    depth: usize,
    top_array_has_elements: bool,
}

impl serde_json::ser::Formatter for LayerPerLine {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        if self.depth == 2 {
            self.top_array_has_elements = false;
        }
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.depth == 2 && self.top_array_has_elements {
            w.write_all(b"\n")?;
        }
        self.depth -= 1;
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.depth == 2 {
            self.top_array_has_elements = true;
            w.write_all(b"\n  ")?;
        }
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        w.write_all(b"}")
    }
}
