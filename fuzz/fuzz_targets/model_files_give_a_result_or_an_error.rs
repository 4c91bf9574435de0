//! Any bytes, read as a model file and a gradients file, give reference gradients, a check report or a one-line located error — never a panic; the reference passes `check` against itself and survives the JSON round trip bit for bit.
//! The property lives in [`crosscheck::check_model_files`], shared with the seed replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| crosscheck::check_model_files(data));
