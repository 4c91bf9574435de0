//! The dense engine's own tests: transposed weights in every layout, replacing an activation, and the same
//! bits with and without statistics or the fused Δ.

use super::backward::transpose_weights;
use super::*;

/// Wᵀ in both layouts (row-major, and packed panels with a partial last panel) against the
/// definition, in both element types.
fn check_transpose<T: Real>(n_in: usize, n_out: usize) {
    let weight: Vec<T> = (0..n_in * n_out).map(|v| T::from_f64(v as f64)).collect();
    let layer = DenseLayer::new(n_in, n_out, weight.clone(), None, Activation::Identity).unwrap();
    let mut wt = vec![T::from_f64(f64::NAN); 3];
    transpose_weights(&layer, &mut wt);
    let at = |i: usize, p: usize| weight[i * n_out + p].to_f64();
    if should_pack::<T>(n_out, n_in) {
        let (nr, stride) = (T::NR, panel_stride::<T>(n_out));
        for i in 0..n_in.div_ceil(nr) * nr {
            for p in 0..n_out {
                let got = wt[(i / nr) * stride + p * nr + i % nr].to_f64();
                assert_eq!(got, if i < n_in { at(i, p) } else { 0.0 }, "{n_in}x{n_out} packed ({i}, {p})");
            }
        }
    } else {
        for i in 0..n_in {
            for p in 0..n_out {
                assert_eq!(wt[p * n_in + i].to_f64(), at(i, p), "{n_in}x{n_out} ({i}, {p})");
            }
        }
    }
}

/// Every gradient's bits, with statistics gathered or not: without them the backward pass
/// writes Δ = G ⊙ D as the product stores G (the fused path), with them G is kept and
/// multiplied afterwards; the two must agree bit for bit (the integration tests, which
/// check the engine against the oracle, run with statistics on).
fn bits_with_and_without_stats<T: Real>(
    net: &Dense<T>,
    x: &[T],
    t: &[T],
    batch: usize,
    normalisation: Normalisation,
) -> (Vec<u64>, Vec<u64>) {
    let run = |stats: Option<f64>| {
        let mut ws = Workspace::new();
        ws.set_stats(stats).unwrap();
        let g = net
            .gradients(
                Batch::new(x, batch, net.input_width()).unwrap(),
                Batch::new(t, batch, net.output_width()).unwrap(),
                Loss::SquaredError,
                normalisation,
                &mut ws,
            )
            .unwrap()
            .clone();
        std::iter::once(g.loss)
            .chain(g.weight.into_iter().flatten())
            .chain(g.bias.into_iter().flatten())
            .map(|v| v.to_f64().to_bits())
            .collect::<Vec<u64>>()
    };
    (run(Some(0.9)), run(None))
}

fn check_fused_delta<T: Real>(batch: usize, width: usize, depth: usize, shortcut: Option<usize>) {
    let w = crate::workload::mlp_workload(batch, width, depth);
    let mut net = mlp_network::<T>(&w).unwrap();
    if shortcut.is_some() {
        net = Dense::new(net.layers.clone(), shortcut).unwrap();
    }
    let cast = |v: &[f64]| v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>();
    let (x, t) = (cast(&w.inputs), cast(&w.targets));
    for normalisation in [Normalisation::PerSample, Normalisation::PerElement] {
        let (with, without) = bits_with_and_without_stats(&net, &x, &t, batch, normalisation);
        assert_eq!(with, without, "B={batch} N={width} D={depth} shortcut {shortcut:?} {normalisation:?}");
    }
}

#[test]
fn gradients_have_the_same_bits_with_and_without_statistics() {
    for (batch, width, depth, shortcut) in
        [(1, 3, 2, None), (9, 17, 4, Some(2)), (64, 32, 5, None), (65, 96, 3, Some(1)), (3, 70, 4, Some(3))]
    {
        check_fused_delta::<f64>(batch, width, depth, shortcut);
        check_fused_delta::<f32>(batch, width, depth, shortcut);
    }
}

#[test]
fn transposed_weights_match_the_definition_in_every_layout() {
    for (n_in, n_out) in [(1, 1), (7, 9), (8, 8), (17, 33), (96, 96), (70, 100), (100, 70), (256, 256)] {
        check_transpose::<f64>(n_in, n_out);
        check_transpose::<f32>(n_in, n_out);
    }
}

#[test]
fn out_in_rows_are_transposed_into_the_in_out_layout() {
    // Shapes below, at and across the transpose's band of rows (16), square and not.
    for (n_out, n_in) in [(1, 1), (3, 5), (16, 7), (37, 20), (40, 40)] {
        let rows: Vec<Vec<f64>> = (0..n_out).map(|j| (0..n_in).map(|i| (j * 1000 + i) as f64).collect()).collect();
        let layer = DenseLayer::from_out_in(&rows, None, Activation::Identity).unwrap();
        assert_eq!((layer.n_in(), layer.n_out()), (n_in, n_out));
        for (j, row) in rows.iter().enumerate() {
            for (i, &w) in row.iter().enumerate() {
                assert_eq!(layer.weight()[i * n_out + j], w, "{n_out}x{n_in} ({j}, {i})");
            }
        }
    }
    let ragged = vec![vec![1.0, 2.0], vec![3.0]];
    assert!(DenseLayer::<f64>::from_out_in(&ragged, None, Activation::Identity).is_err());
}

#[test]
fn a_layers_activation_is_replaced_and_a_non_finite_slope_refused() {
    let mut layer = DenseLayer::new(2, 1, vec![1.0, -2.0], None, Activation::Tanh).unwrap();
    layer.set_activation(Activation::Relu).unwrap();
    assert_eq!(layer.activation(), Activation::Relu);
    assert_eq!(layer.weight(), [1.0, -2.0]);
    for slope in [f64::NAN, f64::INFINITY] {
        assert!(layer.set_activation(Activation::LeakyRelu { slope }).is_err());
        assert_eq!(layer.activation(), Activation::Relu, "a refused activation leaves f as it was");
    }
}

/// Named shortcut layers: kept where valid (`shortcut_layers` lists them, not the span's rule),
/// each refusal with its reason.
#[test]
fn named_shortcut_layers_are_kept_or_refused_with_the_reason() {
    // Widths 3, 4, 4, 4, 2: a stem, a block of two, a head.
    let widths = [3, 4, 4, 4, 2];
    let layers: Vec<DenseLayer<f64>> = widths
        .windows(2)
        .map(|w| DenseLayer::new(w[0], w[1], vec![0.5; w[0] * w[1]], None, Activation::Relu).unwrap())
        .collect();
    let net = |span: Option<usize>| Dense::new(layers.clone(), span).unwrap();
    assert_eq!(net(Some(2)).shortcut_layers(), Vec::<usize>::new());
    assert_eq!(net(Some(2)).with_shortcut_layers(&[3]).unwrap().shortcut_layers(), vec![3]);
    assert_eq!(net(Some(1)).with_shortcut_layers(&[]).unwrap().shortcut_layers(), Vec::<usize>::new());
    let refused = |span: Option<usize>, joins: &[usize]| net(span).with_shortcut_layers(joins).unwrap_err().to_string();
    assert_eq!(refused(None, &[3]), "shortcut layers: they need a shortcut span");
    assert_eq!(refused(Some(2), &[1]), "shortcut layers: layer 1 is not between the span 2 and the depth 4");
    assert_eq!(refused(Some(2), &[5]), "shortcut layers: layer 5 is not between the span 2 and the depth 4");
    assert_eq!(refused(Some(1), &[3, 2]), "shortcut layers: layer 2 follows layer 3: they must increase");
    assert_eq!(refused(Some(1), &[2, 2]), "shortcut layers: layer 2 follows layer 2: they must increase");
    assert_eq!(refused(Some(2), &[4]), "shortcut layers: layer 4 has width 2 but A_2 has width 4");
}
