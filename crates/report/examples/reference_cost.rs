//! What `grad` and `check` cost on a large model: a seeded MLP of the given widths (tanh hidden
//! layers, a linear output under the cross-entropy, one-hot targets) on a batch, its reference
//! gradients (`report::reference::model_gradients`) and a check of them against themselves
//! (`check_gradients`, which for the layers' scales adds each sample's gradients and records each
//! sample on the oracle's tape for its error estimate), each timed.
//! Run it under `/usr/bin/time` for the peak memory:
//!
//! ```text
//! /usr/bin/time -f "%e s, %M KB peak" cargo run --release -q -p report --example reference_cost -- 512,1024,1024,1024,10 32
//! ```

use report::model::{ClaimedGradients, Model};
use report::reference::{Tolerance, check_gradients, model_gradients};
use scalar::Activation;
use scalar::dense::{Dense, DenseLayer, Loss};
use scalar::rng::Rng;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let widths: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "512,1024,1024,1024,10".into())
        .split(',')
        .map(|w| w.trim().parse().expect("widths: numbers separated by commas"))
        .collect();
    let batch: usize = args.next().map_or(32, |b| b.parse().expect("batch: a number"));
    assert!(widths.len() >= 2 && widths.iter().all(|&w| w > 0) && batch > 0, "widths ≥ 2 numbers > 0, batch > 0");
    let mut rng = Rng::new(2024);
    let n_layers = widths.len() - 1;
    let layers = widths
        .windows(2)
        .enumerate()
        .map(|(idx, w)| {
            let bound = (3.0 / w[0] as f64).sqrt(); // variance 1/n_in
            DenseLayer {
                weight: (0..w[1]).map(|_| (0..w[0]).map(|_| rng.uniform(-bound, bound)).collect()).collect(),
                bias: Some(vec![0.0; w[1]]),
                activation: if idx + 1 < n_layers { Activation::Tanh } else { Activation::Identity },
            }
        })
        .collect();
    let net = Dense::new(layers, None).expect("a valid network");
    let n_out = widths[n_layers];
    let input = (0..batch).map(|_| (0..widths[0]).map(|_| rng.uniform(-1.0, 1.0)).collect()).collect();
    let target = (0..batch).map(|b| (0..n_out).map(|j| if j == b % n_out { 1.0 } else { 0.0 }).collect()).collect();
    let model = Model::new(net, input, target, Loss::CrossEntropy).expect("a valid model");
    println!(
        "widths {widths:?}, batch {batch}: {} parameters, estimates {} MiB (grad), {} MiB (check)",
        model.n_parameters(),
        model.reference_bytes_estimate() >> 20,
        model.check_bytes_estimate() >> 20
    );
    let start = Instant::now();
    let reference = model_gradients(&model).expect("finite gradients");
    println!("grad:  {:.3} s", start.elapsed().as_secs_f64());
    let theirs = ClaimedGradients::from(&reference);
    let start = Instant::now();
    let report = check_gradients(&model, &theirs, Tolerance::default()).expect("the same shapes");
    println!("check: {:.3} s ({})", start.elapsed().as_secs_f64(), if report.pass { "pass" } else { "FAIL" });
}
