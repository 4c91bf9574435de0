//! Numbers passed beside a file's text: `json.dumps` writes each float64 array of a description
//! as a mark (the string `"\u0000array:k"`), and [`expand`] writes array k's numbers in its place
//! before the text is parsed as any file is. It writes them as `json.dumps` does (its separators,
//! and Python's `repr` of each number: the shortest form that parses back, the same digits as
//! Rust's, with Python's exponent `1e-07`, `1e+16`), so the text is the one `json.dumps` would
//! have written whole, and every value and message (serde's columns included) is the same. Only
//! the writing is faster: tens of nanoseconds a number, against about a microsecond in Python.

use numpy::PyReadonlyArrayDyn;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::fmt::Write;

/// The mark of an array as `json.dumps` writes it, before its index and closing quote.
const MARK: &str = "\"\\u0000array:";

/// `text` with each array mark replaced by its array's numbers: a 1-D array as a list, a 2-D one
/// as a list of rows, each number as [`write_number`] writes it. A mark without its array, or an
/// array of another dimension, is a `ValueError`.
pub(crate) fn expand(text: &str, arrays: &[PyReadonlyArrayDyn<'_, f64>]) -> PyResult<String> {
    if arrays.is_empty() {
        return Ok(text.to_string());
    }
    let numbers: usize = arrays.iter().map(|a| a.as_array().len()).sum();
    let mut out = String::with_capacity(text.len() + 24 * numbers);
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let end = after.find('"').ok_or_else(|| PyValueError::new_err("an array mark without its closing quote"))?;
        let k: usize = after[..end]
            .parse()
            .map_err(|_| PyValueError::new_err(format!("an array mark with index {:?}", &after[..end])))?;
        let array = arrays
            .get(k)
            .ok_or_else(|| PyValueError::new_err(format!("array mark {k} beyond the {} arrays given", arrays.len())))?
            .as_array();
        match array.ndim() {
            1 => write_list(&mut out, array.iter().copied()),
            2 => {
                out.push('[');
                for (j, row) in array.outer_iter().enumerate() {
                    if j > 0 {
                        out.push_str(", ");
                    }
                    write_list(&mut out, row.iter().copied());
                }
                out.push(']');
            }
            d => return Err(PyValueError::new_err(format!("array {k} has {d} dimensions; a file holds 1 or 2"))),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `[a, b, …]`, each number as [`write_number`] writes it.
fn write_list(out: &mut String, values: impl Iterator<Item = f64>) {
    out.push('[');
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_number(out, v);
    }
    out.push(']');
}

/// A number as Python's `json.dumps` writes it: `repr` for a finite one (`0.1`, `-0.0`, `1e-07`,
/// `1.5e+300`), the bare `NaN`, `Infinity`, `-Infinity` for the others (which gradlab's files
/// read as numbers). Rust's `{:?}` has `repr`'s digits (both the shortest that parse back) and
/// its switch to an exponent (below 1e-4, from 1e16 on); only the exponent is written otherwise
/// (`1e-7`, `1e16`), so it gets Python's sign and two digits.
fn write_number(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let start = out.len();
        // Writing to a String cannot fail.
        let _ = write!(out, "{v:?}");
        if let Some(e) = out[start..].find('e').map(|e| start + e) {
            let exponent = out.split_off(e + 1);
            let (sign, digits) = exponent.strip_prefix('-').map_or(("+", exponent.as_str()), |d| ("-", d));
            out.push_str(sign);
            if digits.len() < 2 {
                out.push('0');
            }
            out.push_str(digits);
        }
    }
}
