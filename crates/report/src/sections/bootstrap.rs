//! The bootstrap over networks: how far a statistic of N networks' measurements would move had
//! other networks been drawn. Each resample draws N indices with replacement from a seeded
//! stream, the same resamples serve every statistic of a configuration, and the standard error
//! is the standard deviation of the statistic over the resamples (Efron & Tibshirani 1993,
//! ch. 6). Everything is in index order: the same seed gives the same bits on any thread count.

use scalar::rng::Rng;

/// Resamples per configuration: the standard error's own relative error is about 1/√(2R) ≈ 3%.
pub const RESAMPLES: usize = 500;

/// R resamples of the indices 0…n − 1.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    resamples: Vec<Vec<usize>>,
}

impl Bootstrap {
    /// [`RESAMPLES`] resamples of `n` indices, drawn from `rng`.
    pub fn new(rng: &mut Rng, n: usize) -> Bootstrap {
        let draw = |rng: &mut Rng| ((rng.next_u64() as u128 * n as u128) >> 64) as usize;
        let resamples = (0..RESAMPLES).map(|_| (0..n).map(|_| draw(rng)).collect()).collect();
        Bootstrap { resamples }
    }

    /// The standard deviation of `stat` over the resamples (`stat` is given a resample's indices;
    /// non-finite values of it are left out), or 0 with fewer than two finite values.
    pub fn standard_error(&self, stat: impl Fn(&[usize]) -> f64) -> f64 {
        let values: Vec<f64> = self.resamples.iter().map(|r| stat(r)).filter(|v| v.is_finite()).collect();
        if values.len() < 2 {
            return 0.0;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt()
    }
}

/// log10 of the mean of `values` at `indices` (all of them: [`all`]).
pub fn log10_mean(values: &[f64], indices: &[usize]) -> f64 {
    (indices.iter().map(|&i| values[i]).sum::<f64>() / indices.len() as f64).log10()
}

/// The indices 0…n − 1: the statistic on the networks actually drawn.
pub fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}
