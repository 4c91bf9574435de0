//! Weight initialisation schemes for a `rows × cols` weight matrix (`weight[out][in]`).
//!
//! With fan_in = `cols` (inputs) and fan_out = `rows` (output units), each scheme draws every
//! entry independently (row by row, left to right) except the orthogonal one:
//!
//! | scheme | distribution of each entry | variance |
//! |---|---|---|
//! | [`Init::Normal`] `{ std: σ }` | N(0, σ²) | σ² |
//! | [`Init::Uniform`] `{ a }` | U(−a, a) | a²/3 |
//! | [`Init::XavierNormal`] (Glorot & Bengio 2010) | N(0, σ²), σ² = 2/(fan_in + fan_out) | 2/(fan_in + fan_out) |
//! | [`Init::XavierUniform`] | U(−a, a), a = √(6/(fan_in + fan_out)) | 2/(fan_in + fan_out) |
//! | [`Init::He`] (He et al. 2015, "Kaiming normal") | N(0, σ²), σ² = 2/fan_in | 2/fan_in |
//! | [`Init::LeCun`] (LeCun et al. 1998, "LeCun normal") | N(0, σ²), σ² = 1/fan_in | 1/fan_in |
//! | [`Init::Orthogonal`] `{ gain: g }` (Saxe et al. 2014) | g·Q, Q Haar-distributed with orthonormal rows or columns | g²/max(rows, cols) |
//!
//! Normal entries are σ·z with z from [`Rng::normal`] (Box–Muller); uniform entries are
//! a·(2u − 1) with u from [`Rng::next_f64`] (2u − 1 is exact, so there is one rounding, and the
//! value lies in [−a, a)).
//!
//! **Orthogonal.** Let m = max(rows, cols), n = min(rows, cols). Draw an m × n matrix A of i.i.d.
//! N(0, 1) entries and factor A = Q·R by **Householder QR**: for k = 0..n, reflect column k below
//! the diagonal onto the axis with H_k = I − 2·v_k·v_kᵀ, v_k = (x − α·e₁)/‖x − α·e₁‖,
//! α = −sign(x₀)·‖x‖ (the sign that avoids cancellation); then Q = H_0·H_1⋯H_{n−1}·[I_n; 0].
//! Householder's Q is orthonormal to O(m·n·ε) whatever the conditioning of A (modified
//! Gram–Schmidt's loses orthogonality in proportion to κ(A)). The factorisation is unique only
//! once the signs of R's diagonal are fixed, so each column k of Q is multiplied by sign(R_kk):
//! then A = Q·R with R_kk > 0, and Q is **Haar-distributed** (Mezzadri 2007, "How to generate
//! random matrices from the classical compact groups") — without this correction Householder's Q
//! has Q₀₀ < 0 always. For rows ≥ cols the result is g·Q (orthonormal columns, WᵀW = g²·I); for
//! rows < cols it is g·Qᵀ (orthonormal rows, W·Wᵀ = g²·I). Either way Σᵢⱼ wᵢⱼ² = g²·n exactly, so
//! the mean square entry is g²/m.

use crate::error::Error;
use crate::rng::Rng;
use std::fmt;

/// An initialisation scheme for a weight matrix `weight[out][in]` of `rows` (fan_out) ×
/// `cols` (fan_in).
///
/// ```
/// use scalar::init::Init;
/// use scalar::rng::Rng;
/// let mut rng = Rng::new(7);
/// let w = Init::He.matrix(3, 4, &mut rng)?; // 3 outputs, 4 inputs
/// assert_eq!((w.len(), w[0].len()), (3, 4));
/// let q = Init::Orthogonal { gain: 1.0 }.matrix(3, 3, &mut rng)?;
/// let dot01: f64 = (0..3).map(|k| q[0][k] * q[1][k]).sum();
/// assert!(dot01.abs() < 1e-12);
/// # Ok::<(), scalar::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// N(0, std²) for every entry.
    Normal {
        /// The standard deviation σ ≥ 0.
        std: f64,
    },
    /// U(−a, a) for every entry.
    Uniform {
        /// The half-width a ≥ 0.
        a: f64,
    },
    /// Xavier/Glorot normal: N(0, 2/(fan_in + fan_out)).
    XavierNormal,
    /// Xavier/Glorot uniform: U(−a, a) with a = √(6/(fan_in + fan_out)).
    XavierUniform,
    /// He/Kaiming normal: N(0, 2/fan_in), for ReLU networks.
    He,
    /// LeCun normal: N(0, 1/fan_in).
    LeCun,
    /// `gain` times a Haar-random matrix with orthonormal rows (rows ≤ cols) or columns
    /// (rows ≥ cols).
    Orthogonal {
        /// The factor g; W·Wᵀ or WᵀW is g²·I.
        gain: f64,
    },
}

impl Init {
    /// The names accepted by [`Init::from_name`], in a stable order.
    pub const NAMES: [&'static str; 7] =
        ["normal", "uniform", "xavier_normal", "xavier_uniform", "he", "lecun", "orthogonal"];

    /// Parses a name of [`Init::NAMES`]. `scale` is σ for `normal`, a for `uniform` and the gain
    /// for `orthogonal`; the other schemes take their scale from the fans and ignore it.
    ///
    /// ```
    /// use scalar::init::Init;
    /// assert_eq!(Init::from_name("he", 0.0)?, Init::He);
    /// assert_eq!(Init::from_name("normal", 0.1)?, Init::Normal { std: 0.1 });
    /// assert!(Init::from_name("kaiming", 1.0).is_err());
    /// assert!(Init::from_name("normal", -1.0).is_err());
    /// # Ok::<(), scalar::Error>(())
    /// ```
    pub fn from_name(name: &str, scale: f64) -> Result<Self, Error> {
        let init = match name {
            "normal" => Init::Normal { std: scale },
            "uniform" => Init::Uniform { a: scale },
            "xavier_normal" => Init::XavierNormal,
            "xavier_uniform" => Init::XavierUniform,
            "he" => Init::He,
            "lecun" => Init::LeCun,
            "orthogonal" => Init::Orthogonal { gain: scale },
            _ => {
                return Err(Error::invalid(
                    "init",
                    format!("unknown name {name:?} (expected one of {})", Self::NAMES.join(", ")),
                ));
            }
        };
        init.validate()?;
        Ok(init)
    }

    /// The name as [`Init::from_name`] accepts it.
    pub fn name(self) -> &'static str {
        match self {
            Init::Normal { .. } => "normal",
            Init::Uniform { .. } => "uniform",
            Init::XavierNormal => "xavier_normal",
            Init::XavierUniform => "xavier_uniform",
            Init::He => "he",
            Init::LeCun => "lecun",
            Init::Orthogonal { .. } => "orthogonal",
        }
    }

    /// Checks the scheme's parameter: σ and a must be finite and ≥ 0, the gain finite.
    pub fn validate(self) -> Result<(), Error> {
        let (what, value, nonnegative) = match self {
            Init::Normal { std } => ("normal init std", std, true),
            Init::Uniform { a } => ("uniform init half-width a", a, true),
            Init::Orthogonal { gain } => ("orthogonal init gain", gain, false),
            Init::XavierNormal | Init::XavierUniform | Init::He | Init::LeCun => return Ok(()),
        };
        Error::check_finite(|| what.to_string(), value)?;
        if nonnegative && value < 0.0 {
            return Err(Error::invalid(what, format!("{value} is negative")));
        }
        Ok(())
    }

    /// The standard deviation of each entry of a `rows × cols` matrix (the square root of the
    /// variance column of the module table). Infinite or NaN when a fan it divides by is 0 —
    /// such a matrix has no entries.
    pub fn std_dev(self, rows: usize, cols: usize) -> f64 {
        let (fan_out, fan_in) = (rows as f64, cols as f64);
        match self {
            Init::Normal { std } => std,
            Init::Uniform { a } => a / 3f64.sqrt(),
            Init::XavierNormal | Init::XavierUniform => (2.0 / (fan_in + fan_out)).sqrt(),
            Init::He => (2.0 / fan_in).sqrt(),
            Init::LeCun => (1.0 / fan_in).sqrt(),
            Init::Orthogonal { gain } => gain.abs() / fan_in.max(fan_out).sqrt(),
        }
    }

    /// A `rows × cols` matrix (`rows` = fan_out, `cols` = fan_in) drawn from this scheme.
    ///
    /// Same `rng` state → same bits (on one platform: see [`crate::rng`] on `normal`). A matrix
    /// with no entries draws nothing from `rng`.
    ///
    /// # Errors
    /// [`Error::NonFinite`] or [`Error::Invalid`] when the parameter fails [`Init::validate`].
    pub fn matrix(self, rows: usize, cols: usize, rng: &mut Rng) -> Result<Vec<Vec<f64>>, Error> {
        self.validate()?;
        if rows == 0 || cols == 0 {
            return Ok(vec![Vec::new(); rows]);
        }
        let normal = |std: f64, rng: &mut Rng| fill(rows, cols, || std * rng.normal());
        let uniform = |a: f64, rng: &mut Rng| fill(rows, cols, || a * (2.0 * rng.next_f64() - 1.0));
        let fans = (cols + rows) as f64;
        Ok(match self {
            Init::Normal { std } => normal(std, rng),
            Init::Uniform { a } => uniform(a, rng),
            Init::XavierNormal => normal((2.0 / fans).sqrt(), rng),
            Init::XavierUniform => uniform((6.0 / fans).sqrt(), rng),
            Init::He => normal((2.0 / cols as f64).sqrt(), rng),
            Init::LeCun => normal((1.0 / cols as f64).sqrt(), rng),
            Init::Orthogonal { gain } => orthogonal(rows, cols, gain, rng),
        })
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Normal { std } => write!(f, "normal(std={std})"),
            Init::Uniform { a } => write!(f, "uniform(a={a})"),
            Init::Orthogonal { gain } => write!(f, "orthogonal(gain={gain})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A `rows × cols` matrix filled row by row from `draw`.
fn fill(rows: usize, cols: usize, mut draw: impl FnMut() -> f64) -> Vec<Vec<f64>> {
    (0..rows).map(|_| (0..cols).map(|_| draw()).collect()).collect()
}

/// `gain`·Q for a Haar-random Q with orthonormal columns (rows ≥ cols) or rows (rows < cols);
/// both dimensions are ≥ 1.
fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut Rng) -> Vec<Vec<f64>> {
    let (m, n) = (rows.max(cols), rows.min(cols));
    let gaussian = fill(m, n, || rng.normal());
    let q = haar_q(gaussian);
    if rows >= cols {
        fill_from(rows, cols, |i, j| gain * q[i][j])
    } else {
        fill_from(rows, cols, |i, j| gain * q[j][i])
    }
}

/// A `rows × cols` matrix with entry (i, j) = `entry(i, j)`.
fn fill_from(rows: usize, cols: usize, entry: impl Fn(usize, usize) -> f64) -> Vec<Vec<f64>> {
    (0..rows).map(|i| (0..cols).map(|j| entry(i, j)).collect()).collect()
}

/// The m × n factor Q of the Householder QR of `a` (m ≥ n ≥ 1, row-major), with column k
/// multiplied by sign(R_kk) so that R has a positive diagonal (see the module docs).
fn haar_q(a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let (m, n) = (a.len(), a[0].len());
    let (reflectors, r_diag_sign) = householder(a);
    form_q(&reflectors, &r_diag_sign, m, n, |k| k)
}

/// The Householder reduction of `a` (m ≥ n ≥ 1) to R: the reflectors v_k (for rows k..m, unit
/// length; empty when column k was already zero below the diagonal, H_k = I) and sign(R_kk).
fn householder(mut a: Vec<Vec<f64>>) -> (Vec<Vec<f64>>, Vec<f64>) {
    let m = a.len();
    let n = a[0].len();
    debug_assert!(m >= n && n >= 1);
    let mut reflectors: Vec<Vec<f64>> = Vec::with_capacity(n);
    let mut r_diag_sign = vec![1.0; n];
    for k in 0..n {
        let norm_x = (k..m).map(|i| a[i][k] * a[i][k]).sum::<f64>().sqrt();
        if norm_x == 0.0 {
            reflectors.push(Vec::new());
            continue;
        }
        let alpha = if a[k][k] >= 0.0 { -norm_x } else { norm_x };
        let mut v: Vec<f64> = (k..m).map(|i| a[i][k]).collect();
        v[0] -= alpha;
        let norm_v = v.iter().map(|vi| vi * vi).sum::<f64>().sqrt();
        v.iter_mut().for_each(|vi| *vi /= norm_v);
        apply_reflector(&v, k, &mut a, k);
        r_diag_sign[k] = alpha.signum();
        reflectors.push(v);
    }
    (reflectors, r_diag_sign)
}

/// Q = H_0 ⋯ H_{n−1} · [I_n; 0] (m × n), applied from the right-most reflector outwards, H_k to
/// the columns `first_col(k)`.., then column k multiplied by `signs[k]`.
///
/// [`haar_q`] applies H_k to columns k.. only: when H_k is applied, rows k.. of columns 0..k
/// still hold the identity's +0 (H_{k+1}, … met only +0 there, and v·(+0) summed from +0 stays
/// +0), so H_k would leave them as they are. The same bits with half the work (tested against
/// all columns).
fn form_q(
    reflectors: &[Vec<f64>],
    signs: &[f64],
    m: usize,
    n: usize,
    first_col: impl Fn(usize) -> usize,
) -> Vec<Vec<f64>> {
    let mut q = fill_from(m, n, |i, j| if i == j { 1.0 } else { 0.0 });
    for (k, v) in reflectors.iter().enumerate().rev() {
        if !v.is_empty() {
            apply_reflector(v, k, &mut q, first_col(k));
        }
    }
    for row in &mut q {
        for (qij, sign) in row.iter_mut().zip(signs) {
            *qij *= sign;
        }
    }
    q
}

/// mat[k.., first_col..] ← (I − 2·v·vᵀ)·mat[k.., first_col..] for a unit vector v of length
/// `mat.len() − k`.
fn apply_reflector(v: &[f64], k: usize, mat: &mut [Vec<f64>], first_col: usize) {
    // w = vᵀ·mat[k.., first_col..], accumulated row by row (each column's sum in row order, as a
    // column-by-column dot product would add them), then a rank-one update: row-major friendly.
    let n_cols = mat[0].len();
    let mut w = vec![0.0; n_cols - first_col];
    for (vi, row) in v.iter().zip(&mat[k..]) {
        for (wj, x) in w.iter_mut().zip(&row[first_col..]) {
            *wj += vi * x;
        }
    }
    for (vi, row) in v.iter().zip(&mut mat[k..]) {
        for (x, wj) in row[first_col..].iter_mut().zip(&w) {
            *x -= 2.0 * vi * wj;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forming_q_on_columns_k_onwards_keeps_every_bit() {
        for (m, n) in [(1, 1), (5, 3), (8, 8), (33, 17)] {
            let mut rng = Rng::new(m as u64 * 100 + n as u64);
            let (reflectors, signs) = householder(fill(m, n, || rng.normal()));
            let fast = form_q(&reflectors, &signs, m, n, |k| k);
            let definition = form_q(&reflectors, &signs, m, n, |_| 0);
            for (i, (f, d)) in fast.iter().zip(&definition).enumerate() {
                for (j, (f, d)) in f.iter().zip(d).enumerate() {
                    assert_eq!(f.to_bits(), d.to_bits(), "{m}x{n} ({i}, {j})");
                }
            }
        }
    }
}
