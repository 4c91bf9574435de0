//! Initialisation schemes: determinism, variances within derived standard errors, exact bounds,
//! orthogonality and the Haar sign correction.

use scalar::Error;
use scalar::init::Init;
use scalar::rng::Rng;

/// A statistic passes when within this many standard errors of its expectation.
const N_STANDARD_ERRORS: f64 = 5.0;
/// Householder QR of the sizes tested here is orthonormal to a few hundred ε.
const ORTHONORMAL_TOL: f64 = 1e-12;
/// fan_out × fan_in for the statistical tests: 10⁵ entries, fans unequal so that Xavier, He and
/// LeCun have different targets.
const ROWS: usize = 200;
const COLS: usize = 500;

fn all_schemes() -> Vec<Init> {
    vec![
        Init::Normal { std: 0.3 },
        Init::Uniform { a: 0.7 },
        Init::XavierNormal,
        Init::XavierUniform,
        Init::He,
        Init::LeCun,
        Init::Orthogonal { gain: 1.5 },
    ]
}

fn entries(w: &[Vec<f64>]) -> Vec<f64> {
    w.iter().flatten().copied().collect()
}

/// The Gram matrix of the rows (W·Wᵀ) or of the columns (Wᵀ·W).
fn gram(w: &[Vec<f64>], of_rows: bool) -> Vec<Vec<f64>> {
    let (rows, cols) = (w.len(), w[0].len());
    let n = if of_rows { rows } else { cols };
    let len = if of_rows { cols } else { rows };
    let at = |vec: usize, k: usize| if of_rows { w[vec][k] } else { w[k][vec] };
    (0..n).map(|a| (0..n).map(|b| (0..len).map(|k| at(a, k) * at(b, k)).sum()).collect()).collect()
}

fn assert_gram_is_scaled_identity(g: &[Vec<f64>], scale: f64) {
    for (i, row) in g.iter().enumerate() {
        for (j, &gij) in row.iter().enumerate() {
            let target = if i == j { scale } else { 0.0 };
            assert!((gij - target).abs() <= ORTHONORMAL_TOL * scale, "gram[{i}][{j}] = {gij}, want {target}");
        }
    }
}

#[test]
fn names_round_trip_through_from_name() {
    for name in Init::NAMES {
        let init = Init::from_name(name, 1.0).unwrap();
        assert_eq!(init.name(), name);
    }
    assert_eq!(Init::from_name("uniform", 0.25).unwrap(), Init::Uniform { a: 0.25 });
    assert_eq!(Init::from_name("orthogonal", 2.0).unwrap(), Init::Orthogonal { gain: 2.0 });
}

#[test]
fn unknown_names_and_bad_parameters_are_errors() {
    assert!(matches!(Init::from_name("glorot", 1.0), Err(Error::Invalid { .. })));
    assert!(matches!(Init::from_name("normal", -0.1), Err(Error::Invalid { .. })));
    assert!(matches!(Init::from_name("uniform", f64::NAN), Err(Error::NonFinite { .. })));
    let mut rng = Rng::new(0);
    for bad in [Init::Normal { std: f64::INFINITY }, Init::Uniform { a: -1.0 }, Init::Orthogonal { gain: f64::NAN }] {
        assert!(bad.matrix(2, 2, &mut rng).is_err(), "{bad}");
    }
}

#[test]
fn every_scheme_has_the_requested_shape_including_empty() {
    let mut rng = Rng::new(1);
    for init in all_schemes() {
        for (rows, cols) in [(0, 0), (0, 3), (3, 0), (1, 1), (1, 5), (5, 1), (4, 7), (7, 4)] {
            let w = init.matrix(rows, cols, &mut rng).unwrap();
            assert_eq!(w.len(), rows, "{init} {rows}×{cols}");
            assert!(w.iter().all(|row| row.len() == cols), "{init} {rows}×{cols}");
            assert!(entries(&w).iter().all(|x| x.is_finite()), "{init}");
        }
    }
}

#[test]
fn same_seed_gives_same_bits_for_every_scheme() {
    for init in all_schemes() {
        let a = init.matrix(6, 9, &mut Rng::new(77)).unwrap();
        let b = init.matrix(6, 9, &mut Rng::new(77)).unwrap();
        let bits = |w: &[Vec<f64>]| entries(w).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b), "{init}");
        let c = init.matrix(6, 9, &mut Rng::new(78)).unwrap();
        assert_ne!(bits(&a), bits(&c), "{init}");
    }
}

#[test]
fn independent_schemes_have_zero_mean_and_the_target_variance() {
    let (fan_out, fan_in) = (ROWS as f64, COLS as f64);
    // (scheme, target variance from the scheme's definition, E w⁴ / σ⁴ of its distribution:
    // 3 for a normal, 9/5 for a uniform — E w⁴ = a⁴/5 and σ² = a²/3).
    let normal_kurtosis = 3.0;
    let uniform_kurtosis = 9.0 / 5.0;
    let cases = [
        (Init::Normal { std: 0.3 }, 0.09, normal_kurtosis),
        (Init::Uniform { a: 0.7 }, 0.49 / 3.0, uniform_kurtosis),
        (Init::XavierNormal, 2.0 / (fan_in + fan_out), normal_kurtosis),
        (Init::XavierUniform, (6.0 / (fan_in + fan_out)) / 3.0, uniform_kurtosis),
        (Init::He, 2.0 / fan_in, normal_kurtosis),
        (Init::LeCun, 1.0 / fan_in, normal_kurtosis),
    ];
    let mut rng = Rng::new(2024);
    for (init, variance, kurtosis) in cases {
        let w = entries(&init.matrix(ROWS, COLS, &mut rng).unwrap());
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        assert!(mean.abs() <= N_STANDARD_ERRORS * (variance / n).sqrt(), "{init}: mean {mean}");
        // The mean of w² (the mean is known to be 0) estimates σ² with variance
        // (E w⁴ − σ⁴)/n = (kurtosis − 1)·σ⁴/n.
        let mean_square = w.iter().map(|x| x * x).sum::<f64>() / n;
        let standard_error = ((kurtosis - 1.0) / n).sqrt() * variance;
        assert!(
            (mean_square - variance).abs() <= N_STANDARD_ERRORS * standard_error,
            "{init}: mean square {mean_square}, want {variance} ± 5·{standard_error}"
        );
        let std_dev = init.std_dev(ROWS, COLS);
        assert!(
            (std_dev * std_dev - variance).abs() <= 1e-15 * variance,
            "{init}: std_dev() = {std_dev}, want √{variance}"
        );
    }
}

#[test]
fn uniform_schemes_fill_their_interval_and_never_leave_it() {
    let a_xavier = (6.0 / (ROWS + COLS) as f64).sqrt();
    let mut rng = Rng::new(5);
    for (init, a) in [(Init::Uniform { a: 0.7 }, 0.7), (Init::XavierUniform, a_xavier)] {
        let w = entries(&init.matrix(ROWS, COLS, &mut rng).unwrap());
        assert!(w.iter().all(|x| (-a..a).contains(x)), "{init}");
        // With 10⁵ draws, P(no draw above 0.999·a) = 0.9995^100000 ≈ e^{−50}.
        assert!(w.iter().any(|&x| x > 0.999 * a), "{init}");
        assert!(w.iter().any(|&x| x < -0.999 * a), "{init}");
    }
}

#[test]
fn orthogonal_rows_or_columns_are_orthonormal_times_the_gain() {
    let mut rng = Rng::new(11);
    for gain in [1.0, 2.5, -0.5] {
        for (rows, cols) in [(1, 1), (8, 8), (30, 30), (40, 12), (12, 40), (1, 9), (9, 1)] {
            let w = Init::Orthogonal { gain }.matrix(rows, cols, &mut rng).unwrap();
            let g2 = gain * gain;
            if rows <= cols {
                assert_gram_is_scaled_identity(&gram(&w, true), g2);
            }
            if rows >= cols {
                assert_gram_is_scaled_identity(&gram(&w, false), g2);
            }
            // Σ w² = g²·min(rows, cols) exactly, so the mean square is g²/max(rows, cols).
            let mean_square = entries(&w).iter().map(|x| x * x).sum::<f64>() / (rows * cols) as f64;
            let std_dev = Init::Orthogonal { gain }.std_dev(rows, cols);
            assert!((mean_square - std_dev * std_dev).abs() <= ORTHONORMAL_TOL * g2);
        }
    }
}

#[test]
fn orthogonal_trace_has_the_haar_mean_and_second_moment() {
    // For Q Haar-distributed on O(n), n ≥ 4: E tr Q = 0, E (tr Q)² = 1, E (tr Q)⁴ = 3 (the first
    // moments of tr Q match those of N(0, 1); Diaconis & Shahshahani 1994). So the sample mean of
    // tr Q has standard error 1/√N and that of (tr Q)² has √((3 − 1)/N). Without the sign
    // correction, Householder's Q has Q₀₀ < 0 always and E tr Q is far below 0.
    let n_draws = 4000;
    let n = 5;
    let mut rng = Rng::new(123);
    let traces: Vec<f64> = (0..n_draws)
        .map(|_| {
            let q = Init::Orthogonal { gain: 1.0 }.matrix(n, n, &mut rng).unwrap();
            (0..n).map(|i| q[i][i]).sum()
        })
        .collect();
    let count = n_draws as f64;
    let mean = traces.iter().sum::<f64>() / count;
    let mean_square = traces.iter().map(|t| t * t).sum::<f64>() / count;
    assert!(mean.abs() <= N_STANDARD_ERRORS / count.sqrt(), "mean trace {mean}");
    assert!((mean_square - 1.0).abs() <= N_STANDARD_ERRORS * (2.0 / count).sqrt(), "mean squared trace {mean_square}");
}

#[test]
fn orthogonal_first_column_entry_is_symmetric_for_tall_matrices() {
    // For rows > cols, W's columns are the first columns of a Haar matrix: W₀₀ is symmetric about
    // 0 with E W₀₀² = 1/rows. A missing sign correction would make it always negative.
    let (rows, cols, n_draws) = (6, 3, 4000);
    let mut rng = Rng::new(321);
    let w00: Vec<f64> =
        (0..n_draws).map(|_| Init::Orthogonal { gain: 1.0 }.matrix(rows, cols, &mut rng).unwrap()[0][0]).collect();
    let count = n_draws as f64;
    let mean = w00.iter().sum::<f64>() / count;
    let variance = 1.0 / rows as f64;
    assert!(mean.abs() <= N_STANDARD_ERRORS * (variance / count).sqrt(), "mean W00 {mean}");
}
