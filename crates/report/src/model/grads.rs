//! The gradients file: `{"loss": L, "layers": [{"weight_grad": [[…]], "bias_grad": […]}, …]}`,
//! read leniently where it matters — `NaN`, `Infinity` and `-Infinity` are numbers.
//!
//! Their gradients are what is being debugged, and a non-finite value is often the very symptom:
//! Python's `json.dump` writes bare `NaN` and `Infinity`, which JSON does not allow and serde_json
//! refuses. So before parsing, each such bare word outside a string becomes a string (`"NaN"`),
//! which the number fields accept, as they accept those strings written by other tools (Jackson,
//! `orjson` options). `check` then reports each as a located FAIL (layer, entry) rather than
//! refusing the file. serde's line and column in a message are those of the file as written.

use super::{in_source, read};
use crate::error::Error;
use serde::{Deserialize, Deserializer};
use std::path::Path;

/// Gradients computed elsewhere, in the shape `report grad` prints. Any value, NaN and ±∞
/// included (their shape is checked against a model by [`crate::reference::check_gradients`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimedGradients {
    /// Their loss, if they give it (compared too when present).
    #[serde(default, deserialize_with = "optional_number")]
    pub loss: Option<f64>,
    /// One entry per layer, layer 1 first.
    pub layers: Vec<ClaimedLayer>,
}

/// One layer of [`ClaimedGradients`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimedLayer {
    /// ∂L/∂W_l\[j\]\[i\]: one row per output unit, one column per input (in the model's
    /// `weight_layout`).
    #[serde(deserialize_with = "matrix")]
    pub weight_grad: Vec<Vec<f64>>,
    /// ∂L/∂b_l\[j\]; may be left out for a layer that has no bias in the model.
    #[serde(default, deserialize_with = "optional_vector")]
    pub bias_grad: Option<Vec<f64>>,
}

impl ClaimedGradients {
    /// Parses a gradients file's text (bare `NaN`, `Infinity` and `-Infinity` are read as
    /// numbers); `source` (a file name) starts every message. Shapes are checked against a model
    /// later.
    ///
    /// ```
    /// use report::model::ClaimedGradients;
    /// let g = ClaimedGradients::from_json(r#"{"layers": [{"weight_grad": [[NaN, -Infinity]]}]}"#, "g.json")?;
    /// assert!(g.layers[0].weight_grad[0][0].is_nan());
    /// assert_eq!(g.layers[0].weight_grad[0][1], f64::NEG_INFINITY);
    /// # Ok::<(), report::Error>(())
    /// ```
    pub fn from_json(text: &str, source: &str) -> Result<ClaimedGradients, Error> {
        let (quoted, inserted) = quote_bare_non_finite(text);
        serde_json::from_str(&quoted).map_err(|e| in_source(source, as_written(&e, &inserted)))
    }

    /// Reads a gradients file (messages start with the path as given).
    pub fn from_file(path: &Path) -> Result<ClaimedGradients, Error> {
        ClaimedGradients::from_json(&read(path)?, &path.display().to_string())
    }
}

/// The bare words outside strings that JSON lacks and Python writes.
const BARE: [&str; 3] = ["-Infinity", "Infinity", "NaN"];

/// `text` with each bare `NaN`, `Infinity`, `-Infinity` outside a string put in quotes, and where
/// quotes were inserted: (line, column in the quoted text, 1-based as serde counts), so that an
/// error's column can be given in the file as written.
fn quote_bare_non_finite(text: &str) -> (String, Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut inserted = Vec::new();
    let (mut line, mut column) = (1, 0); // column: bytes of `out` on this line so far
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if !in_string {
            let word = BARE.iter().find(|w| text[i..].starts_with(*w));
            let starts_token = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
            if let Some(word) =
                word.filter(|w| starts_token && !text[i + w.len()..].starts_with(|c: char| c.is_ascii_alphanumeric()))
            {
                out.push('"');
                inserted.push((line, column + 1));
                out.push_str(word);
                out.push('"');
                inserted.push((line, column + word.len() + 2));
                column += word.len() + 2;
                i += word.len();
                continue;
            }
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        }
        if c == b'\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        // Copy one whole UTF-8 character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        if len > 1 {
            column += len - 1;
        }
        i += len;
    }
    (out, inserted)
}

/// serde's message with its column moved back over the quotes inserted before it on its line.
fn as_written(e: &serde_json::Error, inserted: &[(usize, usize)]) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(what) if e.line() > 0 => {
            let shift = inserted.iter().filter(|&&(l, c)| l == e.line() && c < e.column()).count();
            format!("{what} at line {} column {}", e.line(), e.column() - shift)
        }
        _ => message,
    }
}

/// A number of a gradients file: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number (NaN, Infinity and -Infinity included)")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Number, E> {
                match v {
                    "NaN" => Ok(Number(f64::NAN)),
                    "Infinity" => Ok(Number(f64::INFINITY)),
                    "-Infinity" => Ok(Number(f64::NEG_INFINITY)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn optional_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Number>::deserialize(d)?.map(|n| n.0))
}

fn matrix<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    Ok(Vec::<Vec<Number>>::deserialize(d)?.into_iter().map(|row| row.into_iter().map(|n| n.0).collect()).collect())
}

fn optional_vector<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
    Ok(Option::<Vec<Number>>::deserialize(d)?.map(|v| v.into_iter().map(|n| n.0).collect()))
}
