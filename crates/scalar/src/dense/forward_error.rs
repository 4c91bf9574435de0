//! [`Dense::forward_error_scales`]: an estimate of the rounding error a forward pass in a working
//! precision makes in each pre-activation z, in units of that precision's unit roundoff u.
//!
//! What it is for: at a kink (relu's, leaky relu's) the derivative jumps, so code whose z rounds
//! to the other sign of 0 takes the other branch, and its gradients differ from the exact ones by
//! far more than rounding. `report check` looks for the units whose |z| is within a few u·E_z of
//! 0 and lets their code have taken either branch (`docs/derivation.md` §10b).
//!
//! The rule is the backward estimate's (`crate::tape`): every rounding contributes the size of
//! what it rounds (for a sum, Σ|terms|), and errors made earlier reach a value through the local
//! derivatives, adding in quadrature as independent errors do. Per layer, with E in units of u:
//!
//! ```text
//! E(x_i)² = x_i²                                  the input, rounded to the working precision
//! E(h_j)² = 2·(Σ_i |w_ji·u_i| + |b_j|)² + Σ_i w_ji²·E(u_i)²
//!                                                 the sum's rounding and the weights' own
//! E(z_j)² = E(h_j)² + E(a_k)² + (|h_j| + |a_k|)²  where a pre-activation shortcut adds a_k
//! E(a_j)² = (f′·E(z_j))² + f(z_j)² [+ E(a_k)² + (|f(z_j)| + |a_k|)² for an identity shortcut]
//! ```
//!
//! and a layer normalisation passes its input's errors through its own (`LayerNorm::forward_errors`).
//! with f′ = |f′(z_j)|, and for relu and leaky relu, whose f′ jumps at 0, the larger side's
//! (sup |f′|), so a unit near its kink passes on the error of either. It is an estimate, not a
//! bound.

use super::{Dense, NormAt};
use crate::error::Error;
use crate::skip::Skip;

impl Dense {
    /// For one sample `x`, per layer l (at index l − 1) and unit j: E(z_l\[j\]), the estimated
    /// rounding error of the pre-activation a forward pass in any precision makes, in units of its
    /// unit roundoff (module docs). Zero only where z is formed exactly from exact values.
    ///
    /// Refused: an input of the wrong width or not finite.
    pub fn forward_error_scales(&self, x: &[f64]) -> Result<Vec<Vec<f64>>, Error> {
        let trace = self.forward_trace(x)?;
        // e_a[k]: E(a_k), a_0 the input.
        let mut e_a: Vec<Vec<f64>> = vec![x.iter().map(|v| v.abs()).collect()];
        let mut e_z: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for (idx, layer) in self.layers.iter().enumerate() {
            let l = idx + 1;
            let from = self.shortcut_from(l);
            let norm = self.norms[idx].as_ref();
            let (u, e_u) = match norm.filter(|n| n.at == NormAt::Input) {
                Some(n) => {
                    let u = trace.normed[idx].as_ref().expect("traced with its norm");
                    (u, n.forward_errors(&trace.a[idx], &e_a[idx]))
                }
                None => (&trace.a[idx], e_a[idx].clone()),
            };
            let e_h: Vec<f64> = (layer.weight.iter().enumerate())
                .map(|(j, row)| {
                    let terms = row.iter().zip(u).map(|(w, v)| (w * v).abs()).sum::<f64>()
                        + layer.bias.as_ref().map_or(0.0, |b| b[j].abs());
                    let carried = row.iter().zip(&e_u).map(|(w, e)| (w * e).powi(2)).sum::<f64>();
                    (2.0 * terms * terms + carried).sqrt()
                })
                .collect();
            let e_h = match (norm.filter(|n| n.at == NormAt::PreActivation), &trace.linear[idx]) {
                (Some(n), Some(h)) => n.forward_errors(h, &e_h),
                _ => e_h,
            };
            let z = &trace.z[idx];
            let e: Vec<f64> = match (from, self.skip) {
                (Some(k), Skip::PreActivation) => (e_h.iter().enumerate())
                    .map(|(j, &e)| {
                        let (a_k, h) = (trace.a[k][j], z[j] - trace.a[k][j]);
                        (e * e + e_a[k][j].powi(2) + (h.abs() + a_k.abs()).powi(2)).sqrt()
                    })
                    .collect(),
                _ => e_h,
            };
            let f = layer.activation;
            let kinked = f.other_side_derivative(0.0).is_some();
            let next: Vec<f64> = (e.iter().zip(z).enumerate())
                .map(|(j, (&e, &z))| {
                    let fz = layer.activation.value(z);
                    let slope = if kinked { f.sup_derivative() } else { f.derivative(z).abs() };
                    let own = (slope * e).powi(2) + fz * fz;
                    match (from, self.skip) {
                        (Some(k), Skip::Identity) => {
                            (own + e_a[k][j].powi(2) + (fz.abs() + trace.a[k][j].abs()).powi(2)).sqrt()
                        }
                        _ => own.sqrt(),
                    }
                })
                .collect();
            e_z.push(e);
            e_a.push(next);
        }
        Ok(e_z)
    }
}
