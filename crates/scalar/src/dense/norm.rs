//! Layer normalisation (Ba, Kiros & Hinton 2016; PyTorch's `nn.LayerNorm` over a row) of n values
//! x of one sample:
//!
//! ```text
//! μ = (Σ_i x_i)·(1/n)        d_i = x_i + (−μ)        v = (Σ_i d_i²)·(1/n)
//! r = 1/√(v + ε)             x̂_i = d_i·r             y_i = x̂_i·γ_i + β_i
//! ```
//!
//! or its root-mean-square form ([`NormKind::Rms`]; Zhang & Sennrich 2019, PyTorch's
//! `nn.RMSNorm`), which does not centre: d_i = x_i (no nodes for μ), the rest alike.
//!
//! in one of two places of layer l ([`NormAt`]): its input, as a pre-norm residual block applies
//! it before its first product (x = a_{l−1}, and z_l = W_l·y + b_l), or its Linear output, as
//! `Linear → LayerNorm → activation` MLPs do (x = W_l·u + b_l, and z_l = y before the shortcut
//! joins and f applies). The variance is the biased one, as PyTorch's. Without an affine part γ
//! is 1 and β is 0 (recorded as such, like a layer's missing bias), so a gradient for γ and β
//! exists either way.
//!
//! [`Normed`] holds one sample's values in the tape's operations and order, and
//! [`LayerNorm::backward`] differentiates them as the tape's sweep does, bit for bit (the tape's
//! node order is written at [`LayerNorm::record`]).

use crate::error::Error;
use crate::ext::Ext;
use crate::tape::{Adjoint, Factor, Tape, Var};

/// Layer normalisation in a layer: `weight` γ and `bias` β, one per value it normalises, ε, and
/// where it sits.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// γ, one per value normalised; `None`: no elementwise scale (γ = 1).
    pub weight: Option<Vec<f64>>,
    /// β, one per value normalised; `None`: no shift (β = 0).
    pub bias: Option<Vec<f64>>,
    /// ε, added to the variance; finite and positive.
    pub eps: f64,
    /// What it normalises.
    pub at: NormAt,
    /// Whether it centres first (layer normalisation) or not (RMS normalisation).
    pub kind: NormKind,
}

/// Which normalisation a [`LayerNorm`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NormKind {
    /// Centred: d = x − μ, v the biased variance (`nn.LayerNorm`).
    #[default]
    Layer,
    /// Not centred: d = x, v the mean square (`nn.RMSNorm`).
    Rms,
}

/// Where a layer's [`LayerNorm`] sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NormAt {
    /// The layer's input a_{l−1} (n_{l−1} values), before its product: pre-norm blocks.
    #[default]
    Input,
    /// The layer's Linear output W_l·u + b_l (n_l values), before the shortcut joins and f
    /// applies: `Linear → LayerNorm → activation`.
    PreActivation,
}

/// ∂L/∂γ and ∂L/∂β of one layer's normalisation (computed whether or not it has them).
#[derive(Debug, Clone, PartialEq)]
pub struct NormGradients {
    /// ∂L/∂γ_i.
    pub weight: Vec<f64>,
    /// ∂L/∂β_i.
    pub bias: Vec<f64>,
}

/// One sample's normalisation: the values the tape holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Normed {
    d: Vec<f64>,
    sd: f64,
    r: f64,
    x_hat: Vec<f64>,
    /// y: what the layer's product reads, or its z before the shortcut joins.
    pub(super) y: Vec<f64>,
}

impl LayerNorm {
    /// PyTorch's default ε.
    pub const DEFAULT_EPS: f64 = 1e-5;

    /// Plain normalisation of a layer's input: no γ or β, PyTorch's ε.
    pub fn plain() -> LayerNorm {
        LayerNorm { weight: None, bias: None, eps: Self::DEFAULT_EPS, at: NormAt::Input, kind: NormKind::Layer }
    }

    /// How many values it normalises in a layer of `n_in` inputs and `n_out` units.
    pub fn width(&self, n_in: usize, n_out: usize) -> usize {
        match self.at {
            NormAt::Input => n_in,
            NormAt::PreActivation => n_out,
        }
    }

    /// Refuses γ or β of another length than the values normalised (`width`), non-finite values,
    /// and ε not finite and positive.
    pub(super) fn check(&self, l: usize, width: usize) -> Result<(), Error> {
        let per = match self.at {
            NormAt::Input => "one per input",
            NormAt::PreActivation => "one per unit",
        };
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::invalid(
                format!("layer {l} norm eps"),
                format!("{} is not a finite number > 0", self.eps),
            ));
        }
        for (what, values) in [("weight", &self.weight), ("bias", &self.bias)] {
            if let Some(values) = values {
                Error::check_len(|| format!("layer {l} norm {what} ({per})"), width, values.len())?;
                for (i, &v) in values.iter().enumerate() {
                    Error::check_finite(|| format!("layer {l} norm {what} {i}"), v)?;
                }
            }
        }
        Ok(())
    }

    fn gamma(&self, i: usize) -> f64 {
        self.weight.as_ref().map_or(1.0, |g| g[i])
    }

    fn beta(&self, i: usize) -> f64 {
        self.bias.as_ref().map_or(0.0, |b| b[i])
    }

    /// One sample's values, the operations of [`LayerNorm::record`] in its order.
    pub(super) fn forward(&self, x: &[f64]) -> Normed {
        let inv_n = 1.0 / x.len() as f64;
        let d: Vec<f64> = match self.kind {
            NormKind::Layer => {
                let sum = x[1..].iter().fold(x[0], |acc, &v| acc + v);
                let neg_mu = -(sum * inv_n);
                x.iter().map(|&v| v + neg_mu).collect()
            }
            NormKind::Rms => x.to_vec(),
        };
        let squares: Vec<f64> = d.iter().map(|&v| v.powi(2)).collect();
        let q = squares[1..].iter().fold(squares[0], |acc, &v| acc + v);
        let sd = (q * inv_n + self.eps).sqrt();
        let r = sd.powi(-1);
        let x_hat: Vec<f64> = d.iter().map(|&v| v * r).collect();
        let y = x_hat.iter().enumerate().map(|(i, &v)| v * self.gamma(i) + self.beta(i)).collect();
        Normed { d, sd, r, x_hat, y }
    }

    /// E(y_i), the estimated rounding error of each output in units of u, from its input's
    /// errors `e_x` (the rule of [`Dense::forward_error_scales`](super::Dense::forward_error_scales)):
    /// the mean's and each difference's roundings, the variance's relative error halved through
    /// the square root (plus the root's and the reciprocal's roundings), then γ's product and β's
    /// sum.
    pub(super) fn forward_errors(&self, x: &[f64], e_x: &[f64]) -> Vec<f64> {
        let normed = self.forward(x);
        let n = x.len() as f64;
        let mean_abs = x.iter().map(|v| v.abs()).sum::<f64>() / n;
        let e_mu_sq = e_x.iter().map(|e| e * e).sum::<f64>() / (n * n) + mean_abs * mean_abs;
        let e_d: Vec<f64> = match self.kind {
            NormKind::Layer => (x.iter().zip(e_x).zip(&normed.d))
                .map(|((&x, &e), &d)| (e * e + e_mu_sq + (x.abs() + (x - d).abs()).powi(2)).sqrt())
                .collect(),
            // d is x itself: its error is x's.
            NormKind::Rms => e_x.to_vec(),
        };
        let q: f64 = normed.d.iter().map(|d| d * d).sum();
        let e_q = normed.d.iter().zip(&e_d).map(|(d, e)| (2.0 * d * e).powi(2)).sum::<f64>().sqrt() + q;
        let var_eps = q / n + self.eps;
        let rho = 0.5 * (e_q / n + var_eps) / var_eps + 2.0;
        (normed.x_hat.iter().zip(&e_d).enumerate())
            .map(|(i, (&x_hat, &e_d))| {
                let (gamma, beta) = (self.gamma(i), self.beta(i));
                let e_x_hat_sq = (normed.r * e_d).powi(2) + (x_hat * rho).powi(2) + x_hat * x_hat;
                let product = gamma * x_hat;
                (gamma * gamma * e_x_hat_sq
                    + 2.0 * product * product
                    + (product.abs() + beta.abs()).powi(2)
                    + beta * beta)
                    .sqrt()
            })
            .collect()
    }

    /// Records one sample's normalisation of `x` with the parameters' leaves `gamma` and `beta`.
    /// The nodes, in order: the sum's additions, the constant 1/n, μ, −μ, every d_i (only the
    /// constant 1/n of these for [`NormKind::Rms`], whose d_i are the x_i), every d_i², the
    /// squares' additions, v, the constant ε, v + ε, √, its reciprocal, then per i: x̂_i,
    /// x̂_i·γ_i, y_i.
    pub(super) fn record<'t>(
        &self,
        tape: &'t Tape,
        gamma: &[Var<'t>],
        beta: &[Var<'t>],
        x: &[Var<'t>],
    ) -> Vec<Var<'t>> {
        let (d, inv_n) = match self.kind {
            NormKind::Layer => {
                let sum = x[1..].iter().fold(x[0], |acc, &v| acc + v);
                let inv_n = tape.var(1.0 / x.len() as f64);
                let neg_mu = -(sum * inv_n);
                (x.iter().map(|&v| v + neg_mu).collect(), inv_n)
            }
            NormKind::Rms => (x.to_vec(), tape.var(1.0 / x.len() as f64)),
        };
        let d: Vec<Var<'t>> = d;
        let squares: Vec<Var<'t>> = d.iter().map(|&v| v.powi(2)).collect();
        let q = squares[1..].iter().fold(squares[0], |acc, &v| acc + v);
        let r = ((q * inv_n) + self.eps).sqrt().recip();
        d.iter().zip(gamma).zip(beta).map(|((&v, &g), &b)| (v * r) * g + b).collect()
    }

    /// x's adjoint from y's, `g_y`, in [`Ext`] (no underflow or overflow), by the textbook
    /// formula: with ĝ_i = γ_i·g_i, ∂S/∂x_i = (r/n)·(n·ĝ_i − Σ_k ĝ_k − x̂_i·Σ_k ĝ_k·x̂_k)
    /// (`docs/derivation.md` §9), without the Σ_k ĝ_k term for [`NormKind::Rms`] (no centring).
    /// For [`Dense::magnitudes`](super::Dense::magnitudes), which keeps no tape.
    pub(super) fn input_adjoint_ext(&self, normed: &Normed, g_y: &[Ext]) -> Vec<Ext> {
        let n = g_y.len() as f64;
        let g_hat: Vec<Ext> = g_y.iter().enumerate().map(|(i, &g)| g * self.gamma(i)).collect();
        let sum = match self.kind {
            NormKind::Layer => g_hat.iter().fold(Ext::ZERO, |acc, &g| acc + g),
            NormKind::Rms => Ext::ZERO,
        };
        let dot = g_hat.iter().zip(&normed.x_hat).fold(Ext::ZERO, |acc, (&g, &x)| acc + g * x);
        let scale = normed.r / n;
        (g_hat.iter().zip(&normed.x_hat)).map(|(&g, &x)| (g * n - sum - dot * x) * scale).collect()
    }

    /// Adds one sample's ∂S/∂γ_i = g_i·x̂_i and ∂S/∂β_i = g_i, from y's adjoints `g_y`, into
    /// `g_gamma` and `g_beta`, in [`Ext`]. For [`Dense::magnitudes`](super::Dense::magnitudes).
    pub(super) fn parameter_adjoints_ext(&self, normed: &Normed, g_y: &[Ext], g_gamma: &mut [Ext], g_beta: &mut [Ext]) {
        for (((gamma, beta), &g), &x) in g_gamma.iter_mut().zip(g_beta.iter_mut()).zip(g_y).zip(&normed.x_hat) {
            *gamma = *gamma + g * x;
            *beta = *beta + g;
        }
    }

    /// The tape's sweep over one sample's nodes of [`LayerNorm::record`], last node first: from
    /// `g_y` (y's adjoints) it adds each parameter's adjoint into `g_gamma` and `g_beta` and x's
    /// into `g_x`, in the tape's order, as [`Adjoint`]s (the gradient, or with its error estimate).
    pub(super) fn backward<A: Adjoint>(
        &self,
        normed: &Normed,
        g_y: &[A],
        g_gamma: &mut [A],
        g_beta: &mut [A],
        g_x: &mut [A],
    ) {
        let n = g_y.len();
        let inv_n = 1.0 / n as f64;
        // RMS normalisation's d_i are the x_i themselves: their adjoints are x's, received in
        // the same order, and there is no μ to pass through.
        let mut g_d = match self.kind {
            NormKind::Layer => vec![A::ZERO; n],
            NormKind::Rms => return self.backward_to_d(normed, g_y, g_gamma, g_beta, g_x),
        };
        self.backward_to_d(normed, g_y, g_gamma, g_beta, &mut g_d);
        // d_i = x_i + (−μ), made i by i; −μ's adjoint, then μ's and the sum's, which each x_i
        // receives through the sum's additions.
        let mut g_neg_mu = A::ZERO;
        for i in (0..n).rev() {
            g_x[i].receive(g_d[i], Factor::One);
            g_neg_mu.receive(g_d[i], Factor::One);
        }
        let mut g_mu = A::ZERO;
        g_mu.receive(g_neg_mu, Factor::MinusOne);
        let mut g_sum = A::ZERO;
        g_sum.receive(g_mu, Factor::Times(inv_n));
        for g in g_x.iter_mut() {
            g.receive(g_sum, Factor::One);
        }
    }

    /// The sweep of [`LayerNorm::backward`] from y down to d: γ's, β's and every d_i's adjoints.
    fn backward_to_d<A: Adjoint>(
        &self,
        normed: &Normed,
        g_y: &[A],
        g_gamma: &mut [A],
        g_beta: &mut [A],
        g_d: &mut [A],
    ) {
        let n = g_y.len();
        let inv_n = 1.0 / n as f64;
        let mut g_r = A::ZERO;
        // y_i = m_i + β_i, m_i = x̂_i·γ_i, x̂_i = d_i·r: made i by i, so swept from the last i.
        // m_i's adjoint is y_i's (one term through the sum).
        for i in (0..n).rev() {
            g_beta[i].receive(g_y[i], Factor::One);
            let mut g_x_hat = A::ZERO;
            g_x_hat.receive(g_y[i], Factor::Times(self.gamma(i)));
            g_gamma[i].receive(g_y[i], Factor::Times(normed.x_hat[i]));
            g_d[i].receive(g_x_hat, Factor::Times(normed.r));
            g_r.receive(g_x_hat, Factor::Times(normed.d[i]));
        }
        // r = sd^(−1), sd = √(v + ε), v = q·(1/n) (v + ε's adjoint passes to v unchanged); each
        // square's adjoint is q's.
        let mut g_sd = A::ZERO;
        g_sd.receive(g_r, Factor::Times(f64::from(-1) * normed.sd.powi(-2)));
        let mut g_v = A::ZERO;
        g_v.receive(g_sd, Factor::Times(0.5 / normed.sd));
        let mut g_q = A::ZERO;
        g_q.receive(g_v, Factor::Times(inv_n));
        for i in (0..n).rev() {
            g_d[i].receive(g_q, Factor::Times(f64::from(2) * normed.d[i].powi(1)));
        }
    }
}
