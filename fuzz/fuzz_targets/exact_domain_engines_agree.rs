//! Small chains and dense nets with dyadic parameters through relu, leaky_relu (slope k/8) and identity get identical gradients from `vectorised` and `scalar`.
//! The property lives in [`crosscheck::check_exact_domain`], shared with the seed replay test.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| crosscheck::check_exact_domain(data));
