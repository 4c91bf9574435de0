//! The seeded benchmark workloads (W1 chains, W2/W3 MLPs), from the counter-based generator that
//! the peer benchmark harness specifies, so gradlab's benches see the same numbers as the peers:
//!
//! ```text
//! U(seed, i) = splitmix64_finalise((seed << 40) + i + 1) · 0x9E3779B97F4A7C15) >> 11 · 2⁻⁵³   ∈ [0, 1)
//! N(seed, i) = √(−2 ln(1 − U(seed, 2i))) · cos(2π U(seed, 2i+1))                         (Box–Muller)
//! ```
//!
//! where the finaliser is `z ^= z>>30; z *= 0xBF58476D1CE4E5B9; z ^= z>>27; z *= 0x94D049BB133111EB;
//! z ^= z>>31` (wrapping u64). Independent of any thread count: element i depends only on (seed, i).
//!
//! Behind the `workload` feature: benches, examples, tests and the peer harness turn it on; the
//! engine itself never draws from it.

use crate::Activation;
use crate::dense::{Dense, DenseLayer};
use crate::error::Error;
use crate::real::Real;

/// U(seed, i) ∈ [0, 1).
pub fn uniform_at(seed: u64, i: u64) -> f64 {
    let mut z = (seed << 40).wrapping_add(i).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// N(seed, i), a standard normal draw.
pub fn normal_at(seed: u64, i: u64) -> f64 {
    let u1 = uniform_at(seed, 2 * i);
    let u2 = uniform_at(seed, 2 * i + 1);
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// [U(seed, 0), …, U(seed, n−1)].
pub fn uniform(seed: u64, n: usize) -> Vec<f64> {
    (0..n as u64).map(|i| uniform_at(seed, i)).collect()
}

/// [N(seed, 0), …, N(seed, n−1)].
pub fn normal(seed: u64, n: usize) -> Vec<f64> {
    (0..n as u64).map(|i| normal_at(seed, i)).collect()
}

/// W1 data: S sigmoid chains of depth D, no bias, no shortcut.
#[derive(Debug, Clone)]
pub struct ChainWorkload {
    /// S.
    pub n_chains: usize,
    /// D.
    pub n_layers: usize,
    /// Chain-major: `weights[s·D + d] = N(101, s·D + d)`.
    pub weights: Vec<f64>,
    /// x_s = N(102, s).
    pub inputs: Vec<f64>,
    /// t_s = U(103, s).
    pub targets: Vec<f64>,
}

/// The W1 chain workload of size S × D.
pub fn chain_workload(n_chains: usize, n_layers: usize) -> ChainWorkload {
    ChainWorkload {
        n_chains,
        n_layers,
        weights: normal(101, n_chains * n_layers),
        inputs: normal(102, n_chains),
        targets: uniform(103, n_chains),
    }
}

/// W2/W3 data: D tanh layers of width N (the last one linear), batch B.
#[derive(Debug, Clone)]
pub struct MlpWorkload {
    /// B, the batch size.
    pub batch: usize,
    /// N, the width.
    pub width: usize,
    /// D, the depth.
    pub n_layers: usize,
    /// `weights[l·N·N + i·N + j] = N(201, ·)/√N`: layer l, input unit i, output unit j.
    pub weights: Vec<f64>,
    /// `biases[l·N + j] = 0.1·N(202, ·)`.
    pub biases: Vec<f64>,
    /// `inputs[b·N + i] = N(203, ·)`.
    pub inputs: Vec<f64>,
    /// `targets[b·N + j] = N(204, ·)`.
    pub targets: Vec<f64>,
}

/// The MLP workload of batch B, width N, depth D.
pub fn mlp_workload(batch: usize, width: usize, n_layers: usize) -> MlpWorkload {
    let scale = 1.0 / (width as f64).sqrt();
    MlpWorkload {
        batch,
        width,
        n_layers,
        weights: normal(201, n_layers * width * width).into_iter().map(|v| v * scale).collect(),
        biases: normal(202, n_layers * width).into_iter().map(|v| v * 0.1).collect(),
        inputs: normal(203, batch * width),
        targets: normal(204, batch * width),
    }
}

/// The peers' `mlp` network for a seeded [`MlpWorkload`]: D layers of width N,
/// tanh everywhere but the last (linear) layer, biases, no shortcut. Values are rounded to `T`.
pub fn mlp_network<T: Real>(w: &MlpWorkload) -> Result<Dense<T>, Error> {
    let (n, d) = (w.width, w.n_layers);
    let layers = (0..d)
        .map(|l| {
            let act = if l + 1 == d { Activation::Identity } else { Activation::Tanh };
            DenseLayer::new(
                n,
                n,
                w.weights[l * n * n..(l + 1) * n * n].iter().map(|&v| T::from_f64(v)).collect(),
                Some(w.biases[l * n..(l + 1) * n].iter().map(|&v| T::from_f64(v)).collect()),
                act,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Dense::new(layers, None)
}
