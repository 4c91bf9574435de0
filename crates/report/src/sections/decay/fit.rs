//! The slope of per-depth medians and its bootstrap standard error.
//!
//! slope = least-squares slope of (k, median over chains of log10|v_k|) over the reported depths
//! (the points with a finite median). Its standard error is the standard deviation of the same
//! slope over [`BOOTSTRAP_RESAMPLES`] resamples of the chains with replacement (each resample
//! draws chain indices from its own random stream, so the bytes do not depend on the thread
//! count); resamples whose slope does not exist (fewer than two finite medians) are left out.
//! Each depth's chains are sorted once, and a resample's median found by counting its copies of
//! each chain in that order ([`Ranked`]), with a selection's bits (tested).

use super::super::stats::slope;
use super::super::{Stream, stream_rng};
use super::{AGREEMENT_STANDARD_ERRORS, BOOTSTRAP_RESAMPLES, Fit};
use rayon::prelude::*;

/// The median slope of `values` (depth-major: `values[j][chain]` at depth `depths[j]`) and its
/// bootstrap standard error. `streams` = (activation index, shortcut index, live) and `quantity`
/// (0: weight gradient, 1: backward factor, 2: forward signal) name the resampling stream.
pub(super) fn median_slope(
    seed: u64,
    streams: (usize, usize, bool),
    quantity: usize,
    depths: &[usize],
    values: &[Vec<f64>],
) -> Option<Fit> {
    let n = values.first().map_or(0, Vec::len);
    if n == 0 {
        return None;
    }
    let ranked = Ranked::new(values);
    let estimate = ranked.slope_of(depths, values, &vec![1; n])?;
    let (activation, shortcut, live) = streams;
    let stream = Stream::DecayBootstrap { activation, shortcut, live, quantity };
    let resampled: Vec<Option<f64>> = (0..BOOTSTRAP_RESAMPLES)
        .into_par_iter()
        .map(|b| {
            let mut rng = stream_rng(seed, stream, b as u64);
            // Multiply-shift: an index in 0..n with a bias below n/2^64. A resample is the
            // multiset of its indices: how often each chain was drawn.
            let mut copies = vec![0u32; n];
            for _ in 0..n {
                copies[((u128::from(rng.next_u64()) * n as u128) >> 64) as usize] += 1;
            }
            ranked.slope_of(depths, values, &copies)
        })
        .collect();
    let slopes: Vec<f64> = resampled.into_iter().flatten().collect();
    let count = slopes.len() as f64;
    let mean = slopes.iter().sum::<f64>() / count;
    let variance = slopes.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (count - 1.0).max(1.0);
    let standard_error = variance.sqrt();
    Some(Fit { slope: estimate, standard_error, flat: estimate.abs() <= AGREEMENT_STANDARD_ERRORS * standard_error })
}

/// Each depth's chains in ascending order of their value (`f64::total_cmp`), sorted once, so a
/// resample's median is found by counting instead of selecting among its copied values.
struct Ranked {
    /// `order[j]`: the chains sorted by `values[j][chain]`.
    order: Vec<Vec<u32>>,
}

impl Ranked {
    fn new(values: &[Vec<f64>]) -> Ranked {
        let order = values
            .iter()
            .map(|v| {
                let mut chains: Vec<u32> = (0..v.len() as u32).collect();
                chains.sort_unstable_by(|&a, &b| v[a as usize].total_cmp(&v[b as usize]));
                chains
            })
            .collect();
        Ranked { order }
    }

    /// The least-squares slope of the medians over the resample that holds chain c `copies[c]`
    /// times. The nearest-rank median (rank ⌈m/2⌉ of the m values, as `stats::percentile` takes
    /// it) is the value of the first chain, in ascending order, at which the copies counted reach
    /// that rank: the element a selection would put there, and the same bits (values equal under
    /// `total_cmp` are the same bits).
    fn slope_of(&self, depths: &[usize], values: &[Vec<f64>], copies: &[u32]) -> Option<f64> {
        let m: u64 = copies.iter().map(|&c| u64::from(c)).sum();
        let rank = m.div_ceil(2);
        let points: Vec<(f64, f64)> = depths
            .iter()
            .zip(values)
            .zip(&self.order)
            .map(|((&k, v), order)| {
                let mut counted = 0u64;
                let at = order
                    .iter()
                    .find(|&&c| {
                        counted += u64::from(copies[c as usize]);
                        counted >= rank
                    })
                    .expect("the copies add up to m ≥ rank");
                (k as f64, v[*at as usize])
            })
            .collect();
        slope(&points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: the medians by selection over the resample's values, copied.
    fn slope_by_selection(depths: &[usize], values: &[Vec<f64>], indices: &[usize]) -> Option<f64> {
        let points: Vec<(f64, f64)> = depths
            .iter()
            .zip(values)
            .map(|(&k, v)| {
                let mut column: Vec<f64> = indices.iter().map(|&i| v[i]).collect();
                let rank = column.len().div_ceil(2) - 1;
                let (_, median, _) = column.select_nth_unstable_by(rank, f64::total_cmp);
                (k as f64, *median)
            })
            .collect();
        slope(&points)
    }

    /// Medians by counting have the selection's bits, over resamples of odd and even sizes, with
    /// ties, exact zeros' −∞ and signed zeros among the values.
    #[test]
    fn counted_medians_have_the_selections_bits() {
        let mut rng = scalar::rng::Rng::new(7);
        for n in [1, 2, 3, 10, 129] {
            let depths = [1, 2, 4, 8];
            let values: Vec<Vec<f64>> = (0..depths.len())
                .map(|_| {
                    (0..n)
                        .map(|_| match rng.next_u64() % 6 {
                            0 => f64::NEG_INFINITY,
                            1 => 0.0,
                            2 => -0.0,
                            3 => (rng.next_u64() % 3) as f64,
                            _ => rng.normal(),
                        })
                        .collect()
                })
                .collect();
            let ranked = Ranked::new(&values);
            for _ in 0..50 {
                let indices: Vec<usize> = (0..n).map(|_| (rng.next_u64() % n as u64) as usize).collect();
                let mut copies = vec![0u32; n];
                indices.iter().for_each(|&i| copies[i] += 1);
                let counted = ranked.slope_of(&depths, &values, &copies);
                let selected = slope_by_selection(&depths, &values, &indices);
                assert_eq!(counted.map(f64::to_bits), selected.map(f64::to_bits), "n = {n}");
            }
            let all: Vec<usize> = (0..n).collect();
            assert_eq!(
                ranked.slope_of(&depths, &values, &vec![1; n]).map(f64::to_bits),
                slope_by_selection(&depths, &values, &all).map(f64::to_bits)
            );
        }
    }
}
