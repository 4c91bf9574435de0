//! Section 3, dynamical isometry: the singular values of the input–output Jacobian
//! J = ∂x_L/∂x_0 = D_L·W_L ⋯ D_1·W_1 (D_l = diag φ′(h_l)), Gaussian against orthogonal weights.
//!
//! The mean-norm metric of the rest of §3 is E‖J·v‖² / ‖v‖² = mean λ over the eigenvalues λ = s²
//! of JJᵀ: at criticality it is χ₁^L = 1 for Gaussian and orthogonal weights alike, by
//! construction. What orthogonal weights change is the *spread* of λ around that mean (Saxe et al.
//! 2014; Pennington, Schoenholz & Ganguli 2017). In the wide limit, at χ₁ = σ_w²·μ₁ = 1, with
//! μ_k = E[φ′(√q*·z)^{2k}] and s₁ the first coefficient of the weights' S-transform (−1 for
//! Gaussian, 0 for orthogonal), Pennington et al. give
//!
//! ```text
//! mean λ = 1,    Var λ = L·(μ₂/μ₁² − 1 − s₁)
//! ```
//!
//! - linear networks (μ₁ = μ₂ = 1): orthogonal weights give J orthogonal, every s = 1 exactly
//!   (Saxe et al.); Gaussian ones Var λ = L, growing with depth without bound;
//! - ReLU (D² is 0 or 1 with probability ½: μ₁ = μ₂ = ½): Var λ = L·(1 − s₁) ≥ L whatever the
//!   weights — and D_L zeroes about half the output rows, so about half the singular values are
//!   exactly 0: ReLU cannot be isometric;
//! - tanh on its critical line: expanding sech² in h ~ N(0, q*), μ₁ = 1 − 2q* + 7q*²,
//!   μ₂ = 1 − 4q* + 26q*², so μ₂/μ₁² − 1 = 8q*² + O(q*³): orthogonal weights give
//!   Var λ ≈ 8·L·q*², as small as q* is, Gaussian ones ≈ L.
//!
//! A point of tanh's critical line is named by its q*: σ_w² = 1/E[φ′(√q*·z)²] (χ₁ = 1) and
//! σ_b² = q* − σ_w²·E[φ(√q*·z)²] (q* fixed); the same expansion gives σ_b² = (4/3)·q*³ + O(q*⁴),
//! so small q* is the corner σ_w² → 1, σ_b → 0. So that every layer sits at the fixed point, as
//! the theory assumes, the inputs are x_0 = φ(h_0) with h_0 ~ N(0, q*) (so
//! q_1 = σ_w²·E[φ(h_0)²] + σ_b² = q*).
//!
//! For linear Gaussian networks of finite width n the expected spectral variance is exact. With
//! A = J_{l}J_{l}ᵀ, T_l = E(tr A)² and S_l = E tr A², Wick's theorem for one more layer W with
//! i.i.d. N(0, 1/n) entries gives T_{l+1} = T_l + 2·S_l/n and S_{l+1} = T_l/n + (1 + 1/n)·S_l, from
//! T_0 = n², S_0 = n; the expected variance of a network's λ is S_L/n − T_L/n² (→ L as n → ∞;
//! 1 + 1/n − 2/n² at L = 1).
//!
//! Measured: `nets` networks of width n per setting, each layer's weights the same draws for every
//! activation (scaled by σ_w: a controlled comparison); J is accumulated layer by layer in `f64`
//! (each entry's sum in a fixed order) and its singular values come from nalgebra's SVD (plain
//! loops, no CPU dispatch: the same bits at every SIMD level). Singular values below
//! [`RESOLUTION`] × the network's largest are not resolved by an `f64` product of this depth and
//! are counted, not quoted.

use super::meanfield::gaussian_expectation;
use super::stats::{percentile, sort};
use super::{Config, Label, Stream, stream_rng};
use rayon::prelude::*;
use scalar::Activation;
use scalar::init::Init;
use serde::Serialize;

/// A Var λ this far from its expectation or closer is rounding, not a difference: an f64
/// product of orthogonal layers keeps every λ = 1 to far better than 1e−6 at these depths, so
/// the variance of an isometric spectrum comes out below 1e−12.
pub const VAR_ROUNDING: f64 = 1e-12;

/// Singular values below this multiple of their network's largest are below what the `f64`
/// product resolves: each layer's product rounds with relative error ≲ n·ε ≈ 1.4e−14 (n = 64)
/// of the magnitudes it combines, which compounds over L ≤ 128 layers to ≲ 2e−12 of the largest
/// singular value; the floor leaves a factor 50 above that. (The ReLU networks' singular values
/// that must be exactly 0 come out below it: the section's tests check that.)
pub const RESOLUTION: f64 = 1e-10;

/// The q* of the points of tanh's critical line measured: near the corner (σ_w², σ_b²) → (1, 0),
/// and one well inside the nonlinearity.
pub const TANH_Q_STARS: [f64; 2] = [1.0 / 64.0, 0.5];

/// The weights' distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// i.i.d. N(0, σ_w²/n).
    Gaussian,
    /// σ_w·Q, Q Haar-orthogonal ([`Init::Orthogonal`]).
    Orthogonal,
}

impl Weights {
    /// Both, in the order of the report.
    pub const ALL: [Weights; 2] = [Weights::Gaussian, Weights::Orthogonal];

    /// The first coefficient s₁ of the S-transform of WWᵀ (normalised to mean 1).
    pub fn s1(self) -> f64 {
        match self {
            Weights::Gaussian => -1.0,
            Weights::Orthogonal => 0.0,
        }
    }

    /// The unit-scale scheme (σ_w = 1) for an n × n matrix.
    fn unit_init(self, n: usize) -> Init {
        match self {
            Weights::Gaussian => Init::Normal { std: 1.0 / (n as f64).sqrt() },
            Weights::Orthogonal => Init::Orthogonal { gain: 1.0 },
        }
    }
}

/// A point at criticality: activation, σ_w², σ_b² and the q* its layers sit at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Critical {
    /// φ.
    pub activation: Activation,
    /// σ_w².
    pub sigma_w2: f64,
    /// σ_b².
    pub sigma_b2: f64,
    /// q*, the pre-activations' variance at every layer (the inputs are φ of N(0, q*) draws).
    pub q_star: f64,
}

impl Critical {
    /// The point of tanh's critical line with fixed point `q_star` (the module's derivation).
    pub fn tanh(q_star: f64) -> Critical {
        let f = Activation::Tanh;
        let s = q_star.sqrt();
        let sigma_w2 = 1.0 / gaussian_expectation(|z| f.derivative(s * z).powi(2));
        let sigma_b2 = q_star - sigma_w2 * gaussian_expectation(|z| f.value(s * z).powi(2));
        Critical { activation: f, sigma_w2, sigma_b2, q_star }
    }

    /// The settings of the report: linear (σ_w² = 1), tanh at each of [`TANH_Q_STARS`], ReLU with
    /// σ_w² = 2 (He's variance; gain √2 for orthogonal weights); biases only where q* needs them.
    pub fn all() -> Vec<Critical> {
        let plain = |activation, sigma_w2| Critical { activation, sigma_w2, sigma_b2: 0.0, q_star: 1.0 };
        let mut all = vec![plain(Activation::Identity, 1.0)];
        all.extend(TANH_Q_STARS.iter().map(|&q| Critical::tanh(q)));
        all.push(plain(Activation::Relu, 2.0));
        all
    }

    /// μ_k = E[φ′(√q*·z)^{2k}].
    pub fn mu(&self, k: i32) -> f64 {
        let s = self.q_star.sqrt();
        gaussian_expectation(|z| self.activation.derivative(s * z).powi(2 * k))
    }

    /// Pennington et al.'s wide-network Var λ at depth `depth` (valid at χ₁ = 1).
    pub fn predicted_variance(&self, weights: Weights, depth: usize) -> f64 {
        depth as f64 * self.variance_per_layer(weights)
    }

    /// μ₂/μ₁² − 1 − s₁, at least 0: a variance (the quadrature's μ₂/μ₁² of a linear network is 1
    /// to within rounding, which can fall 1e−16 below it).
    pub fn variance_per_layer(&self, weights: Weights) -> f64 {
        let (mu1, mu2) = (self.mu(1), self.mu(2));
        (mu2 / (mu1 * mu1) - 1.0 - weights.s1()).max(0.0)
    }
}

/// The expected variance of a width-`n` linear Gaussian network's λ at each depth 1..=`depth`
/// (the module's recursion; index L − 1).
pub fn linear_gaussian_variance(n: usize, depth: usize) -> Vec<f64> {
    let nf = n as f64;
    let (mut t, mut s) = (nf * nf, nf);
    (0..depth)
        .map(|_| {
            (t, s) = (t + 2.0 * s / nf, t / nf + (1.0 + 1.0 / nf) * s);
            s / nf - t / (nf * nf)
        })
        .collect()
}

/// One layer: `weight` n × n row-major (`weight[i·n + k]` from unit k to unit i), `bias` n.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// W, row-major.
    pub weight: Vec<f64>,
    /// b.
    pub bias: Vec<f64>,
}

/// Runs the network forward from `x0`, accumulating J_l = D_l·W_l·J_{l−1}; calls
/// `visit(l, J_l, active_l)` after every layer l (J row-major n × n; `active_l` the units with
/// φ′(h) ≠ 0).
pub fn walk_jacobian(f: Activation, layers: &[Layer], x0: &[f64], mut visit: impl FnMut(usize, &[f64], usize)) {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut jac: Vec<f64> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    let mut next = vec![0.0; n * n];
    let mut slope = vec![0.0; n];
    for (l, layer) in layers.iter().enumerate() {
        let h: Vec<f64> = (0..n)
            .map(|i| layer.weight[i * n..(i + 1) * n].iter().zip(&x).map(|(w, v)| w * v).sum::<f64>() + layer.bias[i])
            .collect();
        for i in 0..n {
            slope[i] = f.derivative(h[i]);
            x[i] = f.value(h[i]);
        }
        // next[i][·] = φ′(h_i)·Σ_k W[i][k]·J[k][·], each entry summed over k in order.
        for i in 0..n {
            let row = &mut next[i * n..(i + 1) * n];
            row.iter_mut().for_each(|v| *v = 0.0);
            for k in 0..n {
                let w = layer.weight[i * n + k];
                for (v, j) in row.iter_mut().zip(&jac[k * n..(k + 1) * n]) {
                    *v += w * j;
                }
            }
            row.iter_mut().for_each(|v| *v *= slope[i]);
        }
        std::mem::swap(&mut jac, &mut next);
        visit(l + 1, &jac, slope.iter().filter(|d| **d != 0.0).count());
    }
}

/// The singular values of the n × n row-major `matrix`, largest first (nalgebra's SVD, without
/// U and V); `None` if it does not converge or the matrix is not finite.
pub fn singular_values(matrix: &[f64], n: usize) -> Option<Vec<f64>> {
    if matrix.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let m = nalgebra::DMatrix::from_row_slice(n, n, matrix);
    let svd = nalgebra::SVD::try_new(m, false, false, f64::EPSILON, 0)?;
    let mut s: Vec<f64> = svd.singular_values.iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    Some(s)
}

/// One network's spectrum at one depth.
#[derive(Debug, Clone, PartialEq)]
struct NetSpectrum {
    /// Singular values, largest first (`None`: the SVD failed).
    singular: Option<Vec<f64>>,
    /// The fewest active units in any layer so far: rank J ≤ this.
    min_active: usize,
}

/// The spectra, by theory and measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Isometry {
    /// Units per layer (n).
    pub width: usize,
    /// Networks per setting.
    pub nets: usize,
    /// The depths measured.
    pub depths: Vec<usize>,
    /// [`RESOLUTION`].
    pub resolution: f64,
    /// One per (activation point, weights).
    pub settings: Vec<SpectrumSetting>,
}

/// One activation point with one weight distribution, at every depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectrumSetting {
    /// The activation's name.
    pub activation: String,
    /// The weights.
    pub weights: Label<Weights>,
    /// σ_w² (n·Var(w)).
    pub sigma_w2: f64,
    /// σ_b².
    pub sigma_b2: f64,
    /// q*, the pre-activations' variance at every layer.
    pub q_star: f64,
    /// μ₁ = E[φ′²].
    pub mu1: f64,
    /// μ₂ = E[φ′⁴].
    pub mu2: f64,
    /// χ₁ = σ_w²·μ₁ (1 on the critical line).
    pub chi_1: f64,
    /// Pennington et al.'s Var λ per layer, μ₂/μ₁² − 1 − s₁.
    pub variance_per_layer: f64,
    /// One per depth of [`Isometry::depths`].
    pub rows: Vec<SpectrumRow>,
}

/// The singular values of J at one depth, over the networks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectrumRow {
    /// L.
    pub depth: usize,
    /// Networks whose SVD converged (the statistics are over these).
    pub networks: usize,
    /// Mean over networks of mean λ = ‖J‖_F²/n (χ₁^L = 1 predicted).
    pub mean_lambda: f64,
    /// Mean over networks of the variance of λ = s² within the network.
    pub var_lambda: f64,
    /// Its standard error over networks (`None` with fewer than two networks).
    pub var_se: Option<f64>,
    /// Pennington et al.'s wide-network Var λ, L·(μ₂/μ₁² − 1 − s₁).
    pub predicted_var: f64,
    /// The exact expectation at this width, where known: linear Gaussian (the recursion), linear
    /// orthogonal (0).
    pub exact_var: Option<f64>,
    /// log10 of the largest singular value over the networks.
    pub log10_max: f64,
    /// log10 of the 10th, 50th and 90th percentiles of every network's singular values pooled;
    /// `None` where the percentile is below [`RESOLUTION`] × its network's largest.
    pub log10_percentiles: [Option<f64>; 3],
    /// Share of the singular values at or above [`RESOLUTION`] × their network's largest.
    pub resolved: f64,
    /// Share of the singular values that must be exactly 0: n − (fewest active units in any layer)
    /// over n, averaged over the networks (ReLU's D_l; 0 for the others).
    pub forced_zero: f64,
}

/// The percentiles the rows quote.
pub const PERCENTILES: [f64; 3] = [10.0, 50.0, 90.0];

/// The unit-scale layers (σ_w = σ_b = 1) and input (E[x²] = 1) of network `net` with `weights`.
fn draw(seed: u64, weights: Weights, net: usize, width: usize, depth: usize) -> (Vec<Layer>, Vec<f64>) {
    let index = Weights::ALL.iter().position(|w| *w == weights).expect("listed");
    let mut rng = stream_rng(seed, Stream::Isometry { weights: index }, net as u64);
    let init = weights.unit_init(width);
    let layers = (0..depth)
        .map(|_| {
            let weight = init.matrix(width, width, &mut rng).expect("valid scheme").concat();
            let bias = (0..width).map(|_| rng.normal()).collect();
            Layer { weight, bias }
        })
        .collect();
    let x0 = (0..width).map(|_| rng.normal()).collect();
    (layers, x0)
}

/// One network's spectra at `depths` for each of `points` (unit draws scaled to each point).
fn measure(points: &[Critical], layers: &[Layer], x0: &[f64], depths: &[usize]) -> Vec<Vec<NetSpectrum>> {
    let n = x0.len();
    points
        .iter()
        .map(|p| {
            let (sw, sb) = (p.sigma_w2.sqrt(), p.sigma_b2.sqrt());
            let scaled: Vec<Layer> = layers
                .iter()
                .map(|l| Layer {
                    weight: l.weight.iter().map(|w| sw * w).collect(),
                    bias: l.bias.iter().map(|b| sb * b).collect(),
                })
                .collect();
            // x_0 = φ(h_0) with h_0 ~ N(0, q*): then q_1 = σ_w²·E[φ(h_0)²] + σ_b² = q*.
            let x: Vec<f64> = x0.iter().map(|v| p.activation.value(p.q_star.sqrt() * v)).collect();
            let mut out = Vec::with_capacity(depths.len());
            let mut min_active = n;
            walk_jacobian(p.activation, &scaled, &x, |l, jac, active| {
                min_active = min_active.min(active);
                if depths.contains(&l) {
                    out.push(NetSpectrum { singular: singular_values(jac, n), min_active });
                }
            });
            out
        })
        .collect()
}

/// Computes the section.
pub fn compute(config: &Config) -> Isometry {
    let (width, nets, depths): (usize, usize, Vec<usize>) =
        if config.quick { (32, 2, vec![2, 4, 8, 16, 32]) } else { (64, 8, vec![2, 4, 8, 16, 32, 64, 128]) };
    let deepest = *depths.last().expect("non-empty");
    let points = Critical::all();
    // [weights][net][point][depth]
    let runs: Vec<Vec<Vec<Vec<NetSpectrum>>>> = Weights::ALL
        .iter()
        .map(|&w| {
            (0..nets)
                .into_par_iter()
                .map(|k| {
                    let (layers, x0) = draw(config.seed, w, k, width, deepest);
                    measure(&points, &layers, &x0, &depths)
                })
                .collect()
        })
        .collect();
    let exact_linear = linear_gaussian_variance(width, deepest);
    let mut settings = Vec::new();
    for (p_index, p) in points.iter().enumerate() {
        for (w_index, &weights) in Weights::ALL.iter().enumerate() {
            let rows = depths
                .iter()
                .enumerate()
                .map(|(d_index, &depth)| {
                    let per_net: Vec<&NetSpectrum> = runs[w_index].iter().map(|net| &net[p_index][d_index]).collect();
                    let exact = match (p.activation, weights) {
                        (Activation::Identity, Weights::Gaussian) => Some(exact_linear[depth - 1]),
                        (Activation::Identity, Weights::Orthogonal) => Some(0.0),
                        _ => None,
                    };
                    row(depth, width, &per_net, p.predicted_variance(weights, depth), exact)
                })
                .collect();
            let (mu1, mu2) = (p.mu(1), p.mu(2));
            settings.push(SpectrumSetting {
                activation: p.activation.name().to_string(),
                weights: Label(weights),
                sigma_w2: p.sigma_w2,
                sigma_b2: p.sigma_b2,
                q_star: p.q_star,
                mu1,
                mu2,
                chi_1: p.sigma_w2 * mu1,
                variance_per_layer: p.variance_per_layer(weights),
                rows,
            });
        }
    }
    Isometry { width, nets, depths, resolution: RESOLUTION, settings }
}

/// The statistics of one depth over the networks.
fn row(
    depth: usize,
    width: usize,
    per_net: &[&NetSpectrum],
    predicted_var: f64,
    exact_var: Option<f64>,
) -> SpectrumRow {
    let ok: Vec<&Vec<f64>> = per_net.iter().filter_map(|s| s.singular.as_ref()).collect();
    let count = ok.len() as f64;
    let n = width as f64;
    let (mut means, mut vars) = (Vec::new(), Vec::new());
    let mut pooled = Vec::with_capacity(ok.len() * width);
    let mut resolved = 0usize;
    let mut largest = 0.0f64;
    for s in &ok {
        let m1 = s.iter().map(|v| v * v).sum::<f64>() / n;
        // Two passes, the mean of (λ − mean λ)²: never negative, where m₂ − m₁² of an isometric
        // spectrum is a difference of two numbers equal to rounding and can be.
        let var = s.iter().map(|v| (v * v - m1).powi(2)).sum::<f64>() / n;
        means.push(m1);
        vars.push(var);
        let floor = RESOLUTION * s[0];
        largest = largest.max(s[0]);
        for &v in s.iter() {
            // An unresolved value pools as 0: a percentile landing on it is quoted as unresolved.
            pooled.push(if v >= floor { v } else { 0.0 });
            resolved += usize::from(v >= floor);
        }
    }
    sort(&mut pooled);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var_lambda = mean(&vars);
    let var_se = (vars.len() > 1)
        .then(|| (vars.iter().map(|v| (v - var_lambda).powi(2)).sum::<f64>() / (count - 1.0) / count).sqrt());
    let log10_percentiles = PERCENTILES.map(|p| {
        let v = if pooled.is_empty() { 0.0 } else { percentile(&pooled, p) };
        (v > 0.0).then(|| v.log10())
    });
    SpectrumRow {
        depth,
        networks: ok.len(),
        mean_lambda: mean(&means),
        var_lambda,
        var_se,
        predicted_var,
        exact_var,
        log10_max: largest.log10(),
        log10_percentiles,
        resolved: resolved as f64 / (count * n),
        forced_zero: per_net.iter().map(|s| (width - s.min_active) as f64 / n).sum::<f64>() / per_net.len() as f64,
    }
}
