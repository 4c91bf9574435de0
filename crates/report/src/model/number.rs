//! The numbers of gradlab's JSON files, read leniently: `NaN`, `Infinity` and `-Infinity` are
//! numbers.
//!
//! Python's `json.dump` writes bare `NaN` and `Infinity`, which JSON does not allow and serde_json
//! refuses with a bare position (`expected value at line 1 column 24`). A non-finite value is
//! often the very symptom being debugged (weights that diverged, gradients that overflowed), so
//! before parsing each such bare word outside a string becomes a string (`"NaN"`), which the
//! number fields accept, as they accept those strings written by other tools (Jackson, `orjson`
//! options). A gradients file then reports each as a located FAIL; a model file refuses it by its
//! place (`layer 1 weight row 0 column 1: NaN is not a finite number`). serde's line and column in
//! a message are those of the file as written.

use serde::{Deserialize, Deserializer};

/// The bare words outside strings that JSON lacks and Python writes.
const BARE: [&str; 3] = ["-Infinity", "Infinity", "NaN"];

/// `text` with each bare `NaN`, `Infinity`, `-Infinity` outside a string put in quotes, and where
/// quotes were inserted: (line, column in the quoted text, 1-based as serde counts), so that an
/// error's column can be given in the file as written.
pub(super) fn quote_bare_non_finite(text: &str) -> (String, Vec<(usize, usize)>) {
    // A byte-order mark (Windows editors and PowerShell's Out-File write one) is no JSON; serde
    // would stop at it with "expected value at line 1 column 1".
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
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
pub(super) fn as_written(e: &serde_json::Error, inserted: &[(usize, usize)]) -> String {
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
pub(super) struct Number(pub(super) f64);

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

pub(super) fn optional_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Number>::deserialize(d)?.map(|n| n.0))
}

pub(super) fn matrix<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    Ok(Vec::<Vec<Number>>::deserialize(d)?.into_iter().map(|row| row.into_iter().map(|n| n.0).collect()).collect())
}

pub(super) fn optional_vector<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
    Ok(Option::<Vec<Number>>::deserialize(d)?.map(|v| v.into_iter().map(|n| n.0).collect()))
}
