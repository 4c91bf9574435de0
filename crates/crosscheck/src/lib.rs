//! # crosscheck — gradlab's cross-crate properties, in one test-only crate
//!
//! The fuzz targets in `fuzz/`, the seed-corpus replay (`tests/it/fuzz_seeds.rs`) and the
//! property tests that compare two crates run the code here. A key design decision is that it is
//! a crate of its own, `publish = false`, like ndarray's `numeric-tests`: the libraries it checks
//! (`scalar`, `vectorised`, `report`) ship no test code, and the one bound that says when two
//! engines must agree bit for bit ([`exactness`]) exists once.
//!
//! Each `check_*` function takes arbitrary bytes, decodes them into an input of its domain
//! ([`bytes::Bytes`] never fails) and **panics when a property fails** (that is how libFuzzer and
//! a test see a failure):
//!
//! - [`check_model_files`] ([`model_files`]): model and gradient files give a result or a
//!   one-line located error; the reference passes `check` against itself, bit for bit.
//! - [`check_exact_domain`] ([`exact_domain`]): `vectorised` equals `scalar` where every
//!   operation is exact.
//! - [`check_chain_settings`] ([`chain_settings`]): chains with extreme settings are exact or
//!   refused.
//! - [`check_report_rendering`] ([`rendering`]): rendering keeps one table row per datum and
//!   shows no bare `NaN` or `inf`.

pub mod bytes;
pub mod chain_settings;
pub mod exact_domain;
pub mod exactness;
pub mod model_files;
pub mod rendering;

pub use chain_settings::check_chain_settings;
pub use exact_domain::check_exact_domain;
pub use exactness::{DyadicNet, MAX_EXACT_BITS};
pub use model_files::check_model_files;
pub use rendering::check_report_rendering;

/// Panics unless `message` is one non-empty line (what the binary prints after `error: `).
fn assert_one_line(message: &str) {
    assert!(!message.is_empty(), "an empty error message");
    assert!(!message.contains('\n'), "a message of more than one line: {message:?}");
}

/// No `NaN`, `inf` or `non-finite (…)` as a word: a non-finite value is shown only as its
/// explanation (`−∞ (exact 0)`, `∞ (grows every layer)`, `overflows`).
pub fn assert_no_bare_non_finite(text: &str) {
    for bad in ["NaN", "inf", "non-finite ("] {
        let mut rest = text;
        while let Some(i) = rest.find(bad) {
            let before = rest[..i].chars().next_back().is_some_and(char::is_alphabetic);
            let after = rest[i + bad.len()..].chars().next().is_some_and(char::is_alphabetic);
            assert!(before || after, "a bare {bad:?} in the output:\n{text}");
            rest = &rest[i + bad.len()..];
        }
    }
}
