//! Chains of any activation, weights, depth, shortcut and extreme values: refused with a one-line message, or log10 magnitudes that are finite or stand for an exact zero, and a `grad` that is never a silently wrong finite number (checked against an independent log-sum and against `vectorised`).
//! The property lives in [`crosscheck::check_chain_settings`], shared with the seed replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| crosscheck::check_chain_settings(data));
