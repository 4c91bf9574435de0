//! The `chain` kind (W1): S sigmoid chains of depth D on `vectorised::ChainBatch`.

use crate::protocol::{Args, Check, bench};
use vectorised::workload::chain_workload;
use vectorised::{Activation, ChainBatch, ChainGradients, ChainWorkspace, GradientLayout, Magnitudes, Real};

/// `T` values that know whether they are subnormal (for the check line's `nsub`).
pub trait PeerReal: Real {
    /// Whether the value is subnormal in this type.
    fn subnormal(self) -> bool;
}

impl PeerReal for f64 {
    fn subnormal(self) -> bool {
        self.is_subnormal()
    }
}

impl PeerReal for f32 {
    fn subnormal(self) -> bool {
        self.is_subnormal()
    }
}

/// Runs W1 in `T`: builds the data (untimed setup, including the batch's block-major copy of the
/// weights), times `gradients_into` (forward + backward, all S·D weight gradients written),
/// prints the check.
///
/// The gradients are written block-major ([`GradientLayout::Blocks`], the engine's own layout,
/// as each peer writes its gradients in its own); `layout=layers` asks for `[layer][chain]`
/// instead, to measure what that layout costs. The check line reads the gradients in
/// `[layer][chain]` order in both, so it is the same line.
pub fn run<T: PeerReal>(args: &Args) -> Result<(), String> {
    let (s, d) = (args.get("S", 4096usize)?, args.get("D", 256usize)?);
    let layout = match args.get("layout", "blocks".to_string())?.as_str() {
        "blocks" => GradientLayout::Blocks,
        "layers" => GradientLayout::LayerMajor,
        other => return Err(format!("bad value for layout: {other:?} (blocks or layers)")),
    };
    let data = chain_workload(s, d);
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let batch = ChainBatch::from_chain_major(s, &cast(&data.weights), vec![Activation::Sigmoid; d])
        .map_err(|e| e.to_string())?;
    let (x, t) = (cast(&data.inputs), cast(&data.targets));
    let mut workspace = ChainWorkspace::new();
    let mut out = ChainGradients::with_layout(layout);
    let mut failure = None;
    bench(args, || {
        if let Err(e) = batch.gradients_into(&x, &t, Magnitudes::Plain, &mut workspace, &mut out) {
            failure = Some(e.to_string());
        }
        std::hint::black_box(&out.weight);
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let mut check = Check::default();
    // In `[layer][chain]` order whatever the layout, so both give the same check line.
    let layer_major = (0..d).flat_map(|l| (0..s).map(move |c| (l, c))).map(|(l, c)| out.weight[out.index(l, c)]);
    check.add(layer_major.map(|g| (g.to_f64(), g.subnormal())));
    check.print();
    Ok(())
}
