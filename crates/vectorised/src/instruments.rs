//! The one door through which measuring instruments (`examples/gemm_rate.rs`) reach the matrix
//! product at a chosen SIMD level, with packed operands: not part of the API (hidden from the
//! docs, may change with the kernel). The engine itself never goes through it.

pub use crate::gemm::{ALayout, BOp, Init, Product, Scratch, gemm, gemm_at, pack_b};
