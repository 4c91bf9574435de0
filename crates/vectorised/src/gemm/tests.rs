//! The product's own tests: every size, layout, `Init` and SIMD level against the textbook loop.

use super::*;

/// The textbook triple loop with the same per-element order (FMA chain from +0, then init).
fn reference(m: usize, n: usize, k: usize, a: &[f64], al: ALayout, b: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                let av = match al {
                    ALayout::RowMajor(lda) => a[i * lda + p],
                    ALayout::ColMajor(lda) => a[p * lda + i],
                };
                acc = av.mul_add(b[p * n + j], acc);
            }
            c[i * n + j] = acc;
        }
    }
    c
}

/// Every SIMD level this CPU has, and the portable tile.
#[test]
fn every_size_layout_and_simd_level_gives_the_reference_bits() {
    let mut scratch = Scratch::default();
    // The last two are big enough for packed B (with a partial panel) and packed
    // column-major A (with a partial row block).
    for &(m, n, k) in
        &[(1, 1, 1), (7, 15, 3), (8, 16, 5), (9, 17, 33), (17, 40, 0), (3, 5, 64), (9, 70, 300), (20, 33, 520)]
    {
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 53 % 89) as f64 - 44.0) / 3.0).collect();
        for al in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
            let want = reference(m, n, k, &a, al, &b);
            for simd in Simd::available() {
                let mut c = vec![f64::NAN; m * n];
                gemm_at(
                    simd,
                    Product { m, n, k, a: &a, a_layout: al, b: BOp::Rows(&b, n), c: &mut c, ldc: n, init: Init::Zero },
                    &mut scratch,
                );
                assert_eq!(
                    c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{m}x{n}x{k} {al:?} {}",
                    simd.name()
                );
            }
        }
    }
}

/// Every init and both element types: each SIMD level gives the portable tile's bits.
fn levels_agree<T: Real>() {
    let mut scratch = Scratch::default();
    let value = |i: usize, m: usize| T::from_f64(((i * 37 % m) as f64 - (m / 2) as f64) / 7.0);
    for &(m, n, k) in &[(9, 17, 33), (8, 32, 7), (20, 33, 520), (3, 70, 300)] {
        let a: Vec<T> = (0..m * k).map(|i| value(i, 101)).collect();
        let b: Vec<T> = (0..k * n).map(|i| value(i, 89)).collect();
        let bias: Vec<T> = (0..n).map(|i| value(i, 13)).collect();
        let d: Vec<T> = (0..m * n).map(|i| value(i, 11)).collect();
        let start: Vec<T> = (0..m * n).map(|i| value(i, 17)).collect();
        let inits = [
            Init::Zero,
            Init::Bias(&bias[..]),
            Init::Accumulate,
            Init::Scale(T::from_f64(0.125)),
            Init::Hadamard(&d[..], n),
        ];
        for init in inits {
            for al in [ALayout::RowMajor(k), ALayout::ColMajor(m)] {
                let run = |simd: Simd, scratch: &mut Scratch<T>| {
                    let mut c = start.clone();
                    gemm_at(
                        simd,
                        Product { m, n, k, a: &a, a_layout: al, b: BOp::Rows(&b, n), c: &mut c, ldc: n, init },
                        scratch,
                    );
                    c.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>()
                };
                let want = run(Simd::Portable, &mut scratch);
                for simd in Simd::available() {
                    assert_eq!(run(simd, &mut scratch), want, "{m}x{n}x{k} {al:?} {init:?} {}", simd.name());
                }
            }
        }
    }
}

#[test]
fn every_simd_level_gives_the_portable_bits_for_every_init_in_both_types() {
    levels_agree::<f64>();
    levels_agree::<f32>();
}
