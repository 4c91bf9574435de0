//! The `mlp` kind (W2, W3): tanh MLPs (last layer linear) on the dense engine
//! (`vectorised::dense`), mean squared error over the batch and the outputs.

use crate::chain::PeerReal;
use crate::protocol::{Args, Check, bench};
use vectorised::Real;
use vectorised::dense::{Batch, Loss, Normalisation, Workspace, mlp_network};
use vectorised::workload::mlp_workload;

/// Runs W2/W3 in `T`: builds the network and data (untimed), times `Dense::gradients`
/// (forward + backward, every ∂L/∂W_l and ∂L/∂b_l written), prints the check over all weight
/// gradients then all bias gradients (the peers' order).
pub fn run<T: PeerReal + Real>(args: &Args) -> Result<(), String> {
    let (b, n, d) = (args.get("B", 256usize)?, args.get("N", 256usize)?, args.get("D", 16usize)?);
    let data = mlp_workload(b, n, d);
    let net = mlp_network::<T>(&data).map_err(|e| e.to_string())?;
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let (x, t) = (cast(&data.inputs), cast(&data.targets));
    let input = Batch::new(&x, b, n).map_err(|e| e.to_string())?;
    let target = Batch::new(&t, b, n).map_err(|e| e.to_string())?;
    let mut workspace = Workspace::new();
    // Gradients only, as every other peer computes: no statistics.
    workspace.set_stats(None).map_err(|e| e.to_string())?;
    let mut failure = None;
    bench(args, || {
        match net.gradients(input, target, Loss::SquaredError, Normalisation::PerElement, &mut workspace) {
            Ok(g) => {
                std::hint::black_box(g);
            }
            Err(e) => failure = Some(e.to_string()),
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let grads = net
        .gradients(input, target, Loss::SquaredError, Normalisation::PerElement, &mut workspace)
        .map_err(|e| e.to_string())?;
    let mut check = Check::default();
    for w in &grads.weight {
        check.add(w.iter().map(|g| (g.to_f64(), g.subnormal())));
    }
    for bias in &grads.bias {
        check.add(bias.iter().map(|g| (g.to_f64(), g.subnormal())));
    }
    check.print();
    Ok(())
}
