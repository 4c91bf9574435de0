//! The statistics' own tests: norms at the range's edges, the shortcut paths' bits, NaN and ∞,
//! and the fused summary against the separate one.
use super::*;
use crate::math::norm::{LANES, Lanes, pow2};

fn bits(s: Summary) -> [u64; 3] {
    [s.norm.to_bits(), s.mean_abs.to_bits(), s.max_abs.to_bits()]
}

/// The norm of values far below or above f64's square-root range is their norm (a naive
/// Σv² gives 0 or ∞), also mixed with ordinary values, to within a few ulps of the naive sum
/// of the values scaled by an exact power of two.
#[test]
fn norms_neither_underflow_nor_overflow() {
    let naive = |v: &[f64], scale: f64| v.iter().map(|x| (x * scale) * (x * scale)).sum::<f64>().sqrt() / scale;
    let ramp = |n: usize, size: f64| {
        (0..n).map(|i| size * (1.0 + i as f64 / 7.0) * if i % 3 == 0 { -1.0 } else { 1.0 }).collect::<Vec<f64>>()
    };
    for n in [1usize, 5, 32, 77] {
        for (size, scale) in [(1e-200, pow2(600)), (1e-310, pow2(1000)), (1e200, pow2(-600)), (1.0, 1.0)] {
            let v = ramp(n, size);
            let (got, want) = (Summary::of(&v).norm, naive(&v, scale));
            assert!((got - want).abs() <= 4.0 * f64::EPSILON * want, "n {n}, size {size:e}: {got:e} vs {want:e}");
        }
        // Mixed: the tiny ones next to ordinary ones, and ordinary ones next to huge ones.
        let mut v = ramp(n, 1e-200);
        v.extend(ramp(n, 1e-3));
        let want = naive(&ramp(n, 1e-3), 1.0);
        assert!((Summary::of(&v).norm - want).abs() <= 4.0 * f64::EPSILON * want, "n {n}");
        let mut v = ramp(n, 1e200);
        v.extend(ramp(n, 1e195));
        let want = naive(&v, pow2(-600));
        assert!((Summary::of(&v).norm - want).abs() <= 4.0 * f64::EPSILON * want, "n {n}");
    }
    assert_eq!(Summary::of(&[f64::INFINITY, 1.0]).norm, f64::INFINITY);
    assert!(Summary::of(&[1e-200, f64::NAN]).norm.is_nan());
    assert!(Summary::of(&[1e200, f64::NAN]).norm.is_nan());
}

/// The shortcut for groups in the middle range adds what the three-sum path adds, to the bit
/// (zeros included); with a NaN the sums differ (the shortcut squares it), the summary not.
#[test]
fn the_middle_range_shortcut_has_the_three_sum_paths_bits() {
    let fours =
        [[0.5, 3.25, 1e-100, 7e120], [0.0, 1.0, 0.0, 2.5e-3], [f64::NAN, 1.0, 2.0, 0.0], [1e-150, 1e145, 3.0, 0.1]];
    for four in fours {
        let (mut three, mut middle) = (Lanes::default(), Lanes::default());
        for l in 0..LANES {
            three.add_four(l, four.map(|a| a * (l + 1) as f64));
            middle.add_four_middle(l, four.map(|a| a * (l + 1) as f64));
        }
        let bits = |x: &Lanes| [x.sml, x.med, x.big, x.abs, x.max].map(|v| v.map(f64::to_bits));
        if !four[0].is_nan() {
            assert_eq!(bits(&three), bits(&middle), "{four:?}");
        }
        let summary = |x: Lanes| {
            let s = x.finish(32);
            [s.norm, s.mean_abs, s.max_abs].map(f64::to_bits)
        };
        assert_eq!(summary(three), summary(middle), "{four:?}");
    }
}

/// A NaN anywhere makes max |v| NaN (the maxima compare without testing for NaN: the lane's
/// Σ|v| carries it), in any lane, in the tail, and across merged parts; ±∞ is the max.
#[test]
fn a_nan_is_the_maximum_and_an_infinity_is_too() {
    for n in [1usize, 8, 9, 20] {
        for at in 0..n {
            let mut v: Vec<f64> = (0..n).map(|i| i as f64 - 3.5).collect();
            v[at] = f64::NAN;
            assert!(Summary::of(&v).max_abs.is_nan(), "n {n}, NaN at {at}");
            v[at] = f64::NEG_INFINITY;
            assert_eq!(Summary::of(&v).max_abs, f64::INFINITY, "n {n}, -inf at {at}");
        }
    }
    let mut part = PartialLayer::default();
    part.summarise(&[1.0f64; 8], &[2.0f64; 8]);
    let mut next = PartialLayer::default();
    next.summarise(&[f64::NAN, 0.5], &[0.5f64, 0.25]);
    part.merge(&next);
    let layer = part.finish(10);
    assert!(layer.weight.max_abs.is_nan());
    assert_eq!(layer.activation.max_abs, 2.0);
}

/// The fused pass gives [`Summary::of`]'s bits, Δ = G ⊙ D, and G's first NaN or ±∞ exactly —
/// also when finite values overflow Σ|v| in an earlier block (a false alarm) and when the
/// product of a finite g and d overflows (Δ non-finite, G finite: not reported).
#[test]
fn the_fused_summary_and_product_match_the_separate_ones() {
    for n in [0usize, 1, 7, 63, 64, 65, 200, 1000] {
        let g: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64 - 50.0) / 8.0).collect();
        let d: Vec<f64> = (0..n).map(|i| ((i * 13 % 7) as f64) / 4.0).collect();
        let cases: Vec<(Vec<f64>, Option<usize>)> = {
            let mut cases = vec![(g.clone(), None)];
            for bad in [0, n / 2, n.saturating_sub(1)].into_iter().filter(|&i| i < n) {
                for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    let mut g = g.clone();
                    g[bad] = v;
                    cases.push((g, Some(bad)));
                }
                // Σ|v| of lane 0 overflows at index 8 (a false alarm); a NaN after it is
                // still found.
                let mut g = g.clone();
                g[0] = f64::MAX;
                if n > 8 {
                    g[8] = f64::MAX;
                }
                if bad > 0 {
                    g[bad] = f64::NAN;
                    cases.push((g, Some(bad)));
                } else {
                    cases.push((g, None));
                }
            }
            cases
        };
        for (g, want) in cases {
            let mut fused = g.clone();
            let mut d = d.clone();
            if n > 1 {
                d[1] = 1e300; // g[1]·d[1] may overflow: Δ non-finite, G finite
            }
            let (summary, first) = Summary::of_then_multiply(crate::simd::Simd::detect(), &mut fused, &d);
            assert_eq!(bits(summary), bits(Summary::of(&g)), "n {n}");
            assert_eq!(first, want, "n {n}: {g:?}");
            let product: Vec<u64> = g.iter().zip(&d).map(|(a, b)| (a * b).to_bits()).collect();
            assert_eq!(fused.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), product, "n {n}");
        }
    }
}
