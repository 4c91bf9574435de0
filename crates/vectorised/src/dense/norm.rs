//! Layer normalisation (PyTorch's `nn.LayerNorm` over one sample's row), the oracle's
//! (`scalar::dense::LayerNorm`) with the same operations in the same order:
//!
//! ```text
//! μ = (Σ_i x_i)·(1/n)        d_i = x_i + (−μ)        v = (Σ_i d_i²)·(1/n)
//! r = 1/√(v + ε)             x̂_i = d_i·r             y_i = x̂_i·γ_i + β_i
//! ```
//!
//! or its root-mean-square form ([`NormKind::Rms`], PyTorch's `nn.RMSNorm`: d_i = x_i, no μ), in
//! one of two places of a layer ([`NormAt`]): its input (pre-norm blocks: the product reads y),
//! or its Linear output (`Linear → LayerNorm → activation`: y is Z before a pre-activation
//! shortcut joins). Forward keeps x̂ and r per sample; backward passes an adjoint g of y to x
//! by the textbook formula (`docs/derivation.md` §9), linear in g, so a diagnosis's rows rescaled
//! by powers of two pass through it with their exponents:
//!
//! ```text
//! ĝ_i = γ_i·g_i        ∂S/∂x_i = (ĝ_i·n − Σ_k ĝ_k − x̂_i·Σ_k ĝ_k·x̂_k)·(r/n)     (no Σ_k ĝ_k for RMS)
//! ∂S/∂γ_i = Σ_b g_i·x̂_i                ∂S/∂β_i = Σ_b g_i
//! ```
//!
//! [`Dense::gradients`](super::Dense::gradients) returns γ's and β's gradients beside the
//! weights' ([`Gradients::norm_weight`](super::Gradients::norm_weight)), and
//! [`Dense::diagnose`](super::Dense::diagnose) their norms; the trainer refuses a normalised
//! network (it would not update γ and β).

use super::*;

/// Where a layer's [`LayerNorm`] sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NormAt {
    /// The layer's input A_{l−1} (n_{l−1} values per sample), before its product.
    #[default]
    Input,
    /// The layer's Linear output A_{l−1}·W_l + b_l (n_l values), before a pre-activation
    /// shortcut joins and f applies.
    PreActivation,
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

/// A layer's normalisation: γ (`weight`) and β (`bias`), one per value normalised (`None`: 1 and
/// 0), ε, where it sits and which it is.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm<T> {
    weight: Option<Vec<T>>,
    bias: Option<Vec<T>>,
    eps: T,
    at: NormAt,
    kind: NormKind,
}

impl<T: Real> LayerNorm<T> {
    /// Validates and builds a normalisation.
    ///
    /// Refused: γ and β of different lengths, non-finite γ or β, ε not finite and positive. Their
    /// length against the layer is checked by [`Dense::with_norms`].
    pub fn new(weight: Option<Vec<T>>, bias: Option<Vec<T>>, eps: T, at: NormAt) -> Result<Self, Error> {
        if !(eps.is_finite() && eps > T::ZERO) {
            return Err(Error::invalid("norm eps", format!("{} is not a finite number > 0", eps.to_f64())));
        }
        if let (Some(g), Some(b)) = (&weight, &bias) {
            Error::check_len("norm bias (as many as its weight)", g.len(), b.len())?;
        }
        if let Some(g) = &weight {
            Error::check_finite("norm weight", g)?;
        }
        if let Some(b) = &bias {
            Error::check_finite("norm bias", b)?;
        }
        Ok(LayerNorm { weight, bias, eps, at, kind: NormKind::Layer })
    }

    /// The same normalisation as `kind` ([`NormKind::Layer`] unless set).
    pub fn with_kind(self, kind: NormKind) -> Self {
        LayerNorm { kind, ..self }
    }

    /// Which normalisation it is.
    pub fn kind(&self) -> NormKind {
        self.kind
    }

    /// Where it sits.
    pub fn at(&self) -> NormAt {
        self.at
    }

    /// γ, if given.
    pub fn weight(&self) -> Option<&[T]> {
        self.weight.as_deref()
    }

    /// β, if given.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_deref()
    }

    /// How many values it normalises in a layer of `n_in` inputs and `n_out` units.
    pub(super) fn width(&self, n_in: usize, n_out: usize) -> usize {
        match self.at {
            NormAt::Input => n_in,
            NormAt::PreActivation => n_out,
        }
    }

    /// The length γ or β give, if either is given.
    fn given_width(&self) -> Option<usize> {
        self.weight.as_ref().or(self.bias.as_ref()).map(Vec::len)
    }

    /// One sample's row: x̂ into `x_hat`, y into `y` (which may hold x: `x` is read first, and
    /// `None` means y overwrites x in `y`); returns r.
    pub(super) fn forward_row(&self, x: Option<&[T]>, x_hat: &mut [T], y: &mut [T]) -> T {
        let x: &[T] = x.unwrap_or(y);
        let inv_n = T::ONE / T::from_f64(x.len() as f64);
        match self.kind {
            NormKind::Layer => {
                let sum = x[1..].iter().fold(x[0], |acc, &v| acc + v);
                let neg_mu = -(sum * inv_n);
                for (d, &v) in x_hat.iter_mut().zip(x) {
                    *d = v + neg_mu;
                }
            }
            NormKind::Rms => x_hat.copy_from_slice(x),
        }
        let q = x_hat[1..].iter().fold(x_hat[0] * x_hat[0], |acc, &d| acc + d * d);
        let r = T::ONE / (q * inv_n + self.eps).sqrt();
        x_hat.iter_mut().for_each(|d| *d *= r);
        for (i, (yv, &xh)) in y.iter_mut().zip(x_hat.iter()).enumerate() {
            let scaled = match &self.weight {
                Some(g) => xh * g[i],
                None => xh,
            };
            *yv = match &self.bias {
                Some(b) => scaled + b[i],
                None => scaled,
            };
        }
        r
    }

    /// Every sample's adjoint of y in `g` (rows of the normalised width) replaced by x's.
    pub(super) fn backward_rows(&self, g: &mut [T], x_hat: &[T], r: &[T]) {
        let n = x_hat.len() / r.len().max(1);
        for ((row, x_hat), &r) in g.chunks_exact_mut(n).zip(x_hat.chunks_exact(n)).zip(r) {
            self.backward_row(row, x_hat, r);
        }
    }

    /// One sample's adjoint of y, `g`, replaced by x's (module docs), with that sample's x̂ and r.
    pub(super) fn backward_row(&self, g: &mut [T], x_hat: &[T], r: T) {
        let n = T::from_f64(g.len() as f64);
        if let Some(gamma) = &self.weight {
            g.iter_mut().zip(gamma).for_each(|(v, &c)| *v *= c);
        }
        let sum = match self.kind {
            NormKind::Layer => g.iter().fold(T::ZERO, |acc, &v| acc + v),
            NormKind::Rms => T::ZERO,
        };
        let dot = g.iter().zip(x_hat).fold(T::ZERO, |acc, (&v, &x)| acc + v * x);
        let scale = r / n;
        for (v, &x) in g.iter_mut().zip(x_hat) {
            *v = (*v * n - sum - dot * x) * scale;
        }
    }
}

impl<T: Real> Dense<T> {
    /// The same network with a normalisation in each layer that `norms` (one per layer) gives.
    ///
    /// Refused: another count than the layers, γ or β of another length than the values their
    /// layer normalises.
    pub fn with_norms(self, norms: Vec<Option<LayerNorm<T>>>) -> Result<Self, Error> {
        Error::check_len("norms (one per layer)", self.layers.len(), norms.len())?;
        for (idx, (norm, layer)) in norms.iter().zip(&self.layers).enumerate() {
            if let Some(norm) = norm {
                if let Some(given) = norm.given_width() {
                    Error::check_len(
                        "norm weight and bias (one per value normalised)",
                        norm.width(layer.n_in, layer.n_out),
                        given,
                    )
                    .map_err(|e| Error::InLayer { layer: idx + 1, error: Box::new(e) })?;
                }
            }
        }
        let any = norms.iter().any(Option::is_some);
        Ok(Dense { norms: if any { norms } else { Vec::new() }, ..self })
    }

    /// The normalisation of layer `idx` + 1 (0-based, as [`Dense::layers`]), if it has one.
    pub fn norm(&self, idx: usize) -> Option<&LayerNorm<T>> {
        self.norms.get(idx).and_then(Option::as_ref)
    }

    /// Whether a layer normalises.
    pub fn normalises(&self) -> bool {
        !self.norms.is_empty()
    }

    /// How many values layer `idx` normalises per sample (0 without a normalisation).
    pub(super) fn norm_width(&self, idx: usize) -> usize {
        self.norm(idx).map_or(0, |n| n.width(self.layers[idx].n_in, self.layers[idx].n_out))
    }

    /// Layer `idx`'s normalisation, if it sits at `at`.
    pub(super) fn norm_at(&self, idx: usize, at: NormAt) -> Option<&LayerNorm<T>> {
        self.norm(idx).filter(|n| n.at == at)
    }

    /// Y = LN(A_{l−1}) into `y` for layer `idx`'s input normalisation (if it has one), x̂ and r
    /// kept.
    pub(super) fn normalise_input(&self, idx: usize, a_in: &[T], y: &mut [T], x_hat: &mut [T], r: &mut [T]) {
        let Some(norm) = self.norm_at(idx, NormAt::Input) else { return };
        let n = self.layers[idx].n_in;
        let rows = a_in.chunks_exact(n).zip(y.chunks_exact_mut(n)).zip(x_hat.chunks_exact_mut(n));
        for (((x, y), xh), rv) in rows.zip(r.iter_mut()) {
            *rv = norm.forward_row(Some(x), xh, y);
        }
    }
}

impl<T: Real> LayerNorm<T> {
    /// `gradients`' pass through the normalisation: from y's adjoint rows `g`, ∂S/∂γ = Σ_b g_b ⊙ x̂_b
    /// into `gamma` and ∂S/∂β = Σ_b g_b into `beta` (each summed over the samples in order, as the
    /// bias's; `tmp` holds g ⊙ x̂), then every row replaced by x's adjoint.
    pub(super) fn backward_batch(
        &self,
        simd: Simd,
        (g, x_hat, r): (&mut [T], &[T], &[T]),
        gamma: &mut [T],
        beta: &mut [T],
        tmp: &mut Vec<T>,
    ) {
        tmp.clear();
        tmp.extend(g.iter().zip(x_hat).map(|(&v, &x)| v * x));
        column_sums(simd, tmp, gamma);
        column_sums(simd, g, beta);
        self.backward_rows(g, x_hat, r);
    }
}

/// A diagnosis's rows through a normalisation: y's adjoints `g` (rows of width n), their binary
/// exponents (row b at 2^{exps[b]}), x̂ and r per sample.
pub(super) type DiagnosedRows<'a> = (&'a mut [f64], &'a mut [i64], &'a [f64], &'a [f64]);

impl LayerNorm<f64> {
    /// A diagnosis's pass through the normalisation: from y's adjoint rows, log10 of ‖g‖, of
    /// ‖∂S/∂γ‖ and of ‖∂S/∂β‖ (before ν; [`adjoint_log10_norms`]), then each row replaced by x's
    /// adjoint (linear in the row, so its exponent stands) and renormalised, the powers added to
    /// its exponent. `buffers`: the aligned copy and the sums. Err: the first NaN or ±∞ (sample,
    /// unit) of x's adjoints.
    pub(super) fn diagnose_rows(
        &self,
        simd: Simd,
        (g, exps, x_hat, r): DiagnosedRows<'_>,
        n: usize,
        (aligned, sums): (&mut Vec<f64>, &mut Vec<f64>),
    ) -> Result<[f64; 3], (usize, usize)> {
        let norms = adjoint_log10_norms(simd, g, exps, x_hat, n, aligned, sums);
        self.backward_rows(g, x_hat, r);
        match diagnose::normalise_rows(g, n, exps) {
            Some(bad) => Err(bad),
            None => Ok(norms),
        }
    }
}

/// From a normalisation's output adjoints `g` (rows of width `n`, row b at 2^{exps[b]}): log10 of
/// ‖g‖ over every row, of ‖Σ_b g_b ⊙ x̂_b‖ (∂S/∂γ) and of ‖Σ_b g_b‖ (∂S/∂β), before ν; −∞ for
/// zero rows. The rows are aligned to the largest exponent in `aligned` first (rows far below it
/// become 0, as in the diagnosis's other sums), the sums made in `sums`.
fn adjoint_log10_norms(
    simd: Simd,
    g: &[f64],
    exps: &[i64],
    x_hat: &[f64],
    n: usize,
    aligned: &mut Vec<f64>,
    sums: &mut Vec<f64>,
) -> [f64; 3] {
    let top = exps.iter().copied().max().unwrap_or(diagnose::ZERO_ROW);
    if top == diagnose::ZERO_ROW {
        return [f64::NEG_INFINITY; 3];
    }
    diagnose::align_rows(g, exps, n, top, aligned);
    let log10 = |v: &[f64]| Summary::of_at(simd, v).norm.log10() + top as f64 * std::f64::consts::LOG10_2;
    let all = log10(aligned);
    sums.clear();
    sums.resize(n, 0.0);
    for (row, xh) in aligned.chunks_exact(n).zip(x_hat.chunks_exact(n)) {
        sums.iter_mut().zip(row.iter().zip(xh)).for_each(|(s, (&v, &x))| *s += v * x);
    }
    let gamma = log10(sums);
    sums.iter_mut().for_each(|s| *s = 0.0);
    for row in aligned.chunks_exact(n) {
        sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    [all, gamma, log10(sums)]
}
