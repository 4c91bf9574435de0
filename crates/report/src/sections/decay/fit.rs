//! The slope of per-depth medians and its bootstrap standard error.
//!
//! slope = least-squares slope of (k, median over chains of log10|v_k|) over the reported depths
//! (the points with a finite median). Its standard error is the standard deviation of the same
//! slope over [`BOOTSTRAP_RESAMPLES`] resamples of the chains with replacement (each resample
//! draws chain indices from its own random stream, so the bytes do not depend on the thread
//! count); resamples whose slope does not exist (fewer than two finite medians) are left out.

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
    let all: Vec<usize> = (0..n).collect();
    let estimate = slope_of(depths, values, &all)?;
    let (activation, shortcut, live) = streams;
    let stream = Stream::DecayBootstrap { activation, shortcut, live, quantity };
    let resampled: Vec<Option<f64>> = (0..BOOTSTRAP_RESAMPLES)
        .into_par_iter()
        .map(|b| {
            let mut rng = stream_rng(seed, stream, b as u64);
            // Multiply-shift: an index in 0..n with a bias below n/2^64.
            let indices: Vec<usize> =
                (0..n).map(|_| ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize).collect();
            slope_of(depths, values, &indices)
        })
        .collect();
    let slopes: Vec<f64> = resampled.into_iter().flatten().collect();
    let count = slopes.len() as f64;
    let mean = slopes.iter().sum::<f64>() / count;
    let variance = slopes.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / (count - 1.0).max(1.0);
    let standard_error = variance.sqrt();
    Some(Fit { slope: estimate, standard_error, flat: estimate.abs() <= AGREEMENT_STANDARD_ERRORS * standard_error })
}

/// The least-squares slope of the medians over the chains `indices`.
fn slope_of(depths: &[usize], values: &[Vec<f64>], indices: &[usize]) -> Option<f64> {
    let mut column = Vec::with_capacity(indices.len());
    let points: Vec<(f64, f64)> = depths
        .iter()
        .zip(values)
        .map(|(&k, v)| {
            column.clear();
            column.extend(indices.iter().map(|&i| v[i]));
            // The nearest-rank median (rank ⌈n/2⌉), as `stats::percentile` takes it.
            let rank = column.len().div_ceil(2) - 1;
            let (_, median, _) = column.select_nth_unstable_by(rank, f64::total_cmp);
            (k as f64, *median)
        })
        .collect();
    slope(&points)
}
