//! Order statistics and fits used by several sections.
//!
//! Percentiles are nearest-rank: the p-th percentile of n sorted values is the value at rank
//! ⌈p·n/100⌉ (1-based). They are taken over log10 magnitudes, where an exact zero is −∞ and sorts
//! first, so a median of −∞ means more than half the samples were exactly zero.

/// Nearest-rank percentile `p` (0 < p ≤ 100) of `sorted` (ascending, non-empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    debug_assert!(!sorted.is_empty() && p > 0.0 && p <= 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The nearest-rank percentiles `ps` (ascending, each in (0, 100]) of `values` (non-empty),
/// which this reorders: the values [`percentile`] takes from the sorted values, found by
/// selection (linear time each) instead of a sort.
pub fn percentiles(values: &mut [f64], ps: &[f64]) -> Vec<f64> {
    debug_assert!(!values.is_empty() && ps.is_sorted());
    let n = values.len();
    let mut found = Vec::with_capacity(ps.len());
    // Everything before `from` is at most the last value found, so the next rank is selected in
    // the rest.
    let mut from = 0;
    for &p in ps {
        debug_assert!(p > 0.0 && p <= 100.0);
        let rank = (((p / 100.0) * n as f64).ceil() as usize).clamp(1, n) - 1;
        if rank >= from {
            values[from..].select_nth_unstable_by(rank - from, f64::total_cmp);
            from = rank + 1;
        }
        found.push(values[rank]);
    }
    found
}

/// Points of a loss curve: a run of T steps records its loss at the steps 0, k, 2k, … with
/// k = [`curve_step`]`(T)` = ⌈T / this⌉.
pub const CURVE_POINTS: usize = 100;

/// The steps (or epochs) between two points of a loss curve of `steps` steps.
pub fn curve_step(steps: usize) -> usize {
    steps.div_ceil(CURVE_POINTS).max(1)
}

/// Whether a run records its loss before step `step` of `steps`.
pub fn on_curve(step: usize, steps: usize) -> bool {
    step.is_multiple_of(curve_step(steps))
}

/// The loss curves of several runs of `steps` steps, column by column: for each recorded point
/// k (step k·[`curve_step`]) that some curve reaches, (k·step, the curves' values there,
/// ascending). Each curve is a prefix — a run stops recording when its loss stops being finite
/// — so a run whose loss became non-finite leaves the columns from then on.
pub fn curve_columns(curves: &[&[f64]], steps: usize) -> Vec<(usize, Vec<f64>)> {
    let step = curve_step(steps);
    (0..steps.div_ceil(step))
        .filter_map(|k| {
            let mut at: Vec<f64> = curves.iter().filter_map(|c| c.get(k).copied()).collect();
            sort(&mut at);
            (!at.is_empty()).then_some((k * step, at))
        })
        .collect()
}

/// Sorts log10 values ascending (−∞ first).
pub fn sort(values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
}

/// The least-squares slope of y against x over the points where y is finite; `None` with fewer
/// than two such points.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|(_, y)| y.is_finite()).collect();
    if finite.len() < 2 {
        return None;
    }
    let n = finite.len() as f64;
    let (mx, my) = finite.iter().fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    let (sxy, sxx) =
        finite.iter().fold((0.0, 0.0), |(sxy, sxx), (x, y)| (sxy + (x - mx) * (y - my), sxx + (x - mx) * (x - mx)));
    Some(sxy / sxx)
}

/// E[log10 |w|] for w ~ N(0, 1): −(γ + ln 2)/(2·ln 10), with γ the Euler–Mascheroni constant.
pub fn mean_log10_abs_std_normal() -> f64 {
    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
    -(EULER_GAMMA + std::f64::consts::LN_2) / (2.0 * std::f64::consts::LN_10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalar::rng::Rng;

    #[test]
    fn selected_percentiles_are_the_sorted_ones() {
        let mut rng = Rng::new(7);
        let ps = [1.0, 10.0, 10.0, 50.0, 90.0, 99.5, 100.0];
        for n in [1, 2, 3, 7, 10, 64, 257, 2000] {
            // Ties, exact zeros (−∞) and signed zeros among ordinary values.
            let values: Vec<f64> = (0..n)
                .map(|i| match i % 7 {
                    0 => f64::NEG_INFINITY,
                    1 => -0.0,
                    2 => 0.0,
                    3 => 1.5,
                    _ => rng.normal(),
                })
                .collect();
            let mut sorted = values.clone();
            sort(&mut sorted);
            let want: Vec<u64> = ps.iter().map(|&p| percentile(&sorted, p).to_bits()).collect();
            let mut scratch = values.clone();
            let got: Vec<u64> = percentiles(&mut scratch, &ps).iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "n = {n}");
        }
    }
}
