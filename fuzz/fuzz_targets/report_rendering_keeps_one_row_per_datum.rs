//! Well-formed report data of any size and values renders to Markdown with one table row per data row, to JSON and to SVG, without a bare NaN or inf.
//! The property lives in [`crosscheck::check_report_rendering`], shared with the seed replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| crosscheck::check_report_rendering(data));
