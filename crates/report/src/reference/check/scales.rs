//! What the check's absolute tolerance is relative to: each layer's scale s
//! ([`LayerCheck::scale`](super::LayerCheck::scale)) and the loss's.

use crate::error::Error;
use crate::model::Model;
use scalar::dense::OtherBranch;

/// What the absolute tolerance is relative to: the loss's and each layer's scale.
pub(super) struct Scales {
    pub(super) loss: f64,
    pub(super) layers: Vec<f64>,
}

impl Scales {
    /// From each sample on the oracle (over the model's denominator): the loss's Σ_b |L_b|, and
    /// each layer's [`LayerCheck::scale`](super::LayerCheck::scale). Where the error estimates overflow `f64` (the backward
    /// pass's terms do, while the gradients do not), the layer's scale is Σ_b |∂L_b/∂θ| alone.
    /// With `branches` taken as [`scalar::dense::Dense::backprop_with_branches`] takes them.
    pub(super) fn of(model: &Model, branches: &[OtherBranch]) -> Result<Scales, Error> {
        let net = model.net();
        let mut loss = 0.0;
        let mut sample_sums = Sums::default();
        for (b, (x, t)) in model.input().iter().zip(model.target()).enumerate() {
            let (x, t) = (std::slice::from_ref(x), std::slice::from_ref(t));
            let own: Vec<OtherBranch> =
                branches.iter().filter(|o| o.sample == b).map(|&o| OtherBranch { sample: 0, ..o }).collect();
            let g = net.backprop_with_branches(x, t, model.loss(), model.denominator(), &own)?;
            loss += g.loss.abs();
            sample_sums.add(&g);
        }
        let mut estimates = Sums::default();
        estimates.add(&net.backprop_error_scales_with_branches(
            model.input(),
            model.target(),
            model.loss(),
            model.denominator(),
            branches,
        )?);
        let layers = (estimates.0.iter().zip(&sample_sums.0))
            .map(|(estimates, samples)| {
                let largest = |values: &[f64]| values.iter().copied().fold(0.0, f64::max);
                let samples = largest(samples);
                if estimates.iter().all(|v| v.is_finite()) { samples.max(largest(estimates)) } else { samples }
            })
            .collect();
        Ok(Scales { loss, layers })
    }
}

/// Per layer, every parameter's values (each sample's gradient, or the error estimates) added in
/// absolute value.
#[derive(Default)]
struct Sums(Vec<Vec<f64>>);

impl Sums {
    fn add(&mut self, g: &scalar::dense::DenseGradients) {
        let per_layer = g.weight.iter().zip(&g.bias).zip(&g.norm).map(|((w, b), norm)| {
            let norm = norm.iter().flat_map(|n| n.weight.iter().chain(&n.bias));
            w.iter().flatten().chain(b).chain(norm)
        });
        if self.0.is_empty() {
            self.0 = per_layer.map(|values| values.map(|v| v.abs()).collect()).collect();
        } else {
            for (sum, values) in self.0.iter_mut().zip(per_layer) {
                sum.iter_mut().zip(values).for_each(|(s, v)| *s += v.abs());
            }
        }
    }
}
