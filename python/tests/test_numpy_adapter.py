"""The numpy adapter: each classic bug of hand-written backprop caught and located; layouts;
the loss-reduction conventions."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab_oracle as go
from backprop import BUGS, backprop
from conftest import square_network_strategy


@given(square_network_strategy())
@settings(max_examples=30, deadline=None)
def test_a_right_numpy_backprop_passes_in_both_layouts(case):
    layers, x, t = case
    loss, grads = backprop(layers, x, t)
    assert go.check_numpy(layers, x, t, grads, loss_value=loss).passed
    out_in = [(w.T, b, f) for w, b, f in layers]
    grads_out_in = [(dw.T, db) for dw, db in grads]
    assert go.check_numpy(out_in, x, t, grads_out_in, layout="out_in").passed
    for (dw, db), (rw, rb) in zip(grads, go.grad_numpy(layers, x, t)):
        assert np.allclose(dw, rw, rtol=1e-9, atol=1e-12) and np.allclose(db, rb, rtol=1e-9, atol=1e-12)


@given(square_network_strategy(), st.sampled_from(BUGS), st.data())
@settings(max_examples=60, deadline=None)
def test_each_classic_bug_is_caught_at_its_layer(case, bug, data):
    layers, x, t = case
    bug_layer = data.draw(st.integers(1, len(layers)))
    _, grads = backprop(layers, x, t, bug=bug, bug_layer=bug_layer)
    _, right = backprop(layers, x, t)
    r = go.check_numpy(layers, x, t, grads)
    # The layer a bug corrupts first (nearest the output): its own gradients, except the
    # transposed weight, which only corrupts the δ passed below (layer bug_layer − 1).
    first = bug_layer - 1 if bug == "transposed_weight" else bug_layer
    differs = [
        not (np.allclose(dw, rw, rtol=1e-6, atol=1e-8) and np.allclose(db, rb, rtol=1e-6, atol=1e-8))
        for (dw, db), (rw, rb) in zip(grads, right)
    ]
    # Some draws make a bug invisible (identity's f′ = 1 for a missing derivative; a symmetric W
    # for a transpose; bug_layer 1's transposed W feeds nothing): then the check must pass.
    if not any(differs):
        assert r.passed
        return
    assert first >= 1 and differs[first - 1]
    assert not r.passed and r.first_wrong_layer == first
    assert r.layers[first - 1].worst.as_given.startswith(("dW[", "db["))


def test_a_transposed_dw_of_a_non_square_layer_is_refused_with_the_layout_hint():
    rng = np.random.default_rng(1)
    layers = [(rng.normal(size=(2, 3)), np.zeros(3), "tanh"), (rng.normal(size=(3, 1)), None, "identity")]
    x, t = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    _, grads = backprop(layers, x, t)
    grads[0] = (grads[0][0].T, grads[0][1])
    with pytest.raises(ValueError, match=r"grads layer 1 dW: expected shape \(2, 3\) like W, got \(3, 2\) — that is W's transpose"):
        go.check_numpy(layers, x, t, grads)


def test_shapes_that_do_not_chain_are_named_in_the_callers_layout():
    with pytest.raises(ValueError, match=r"layer 2 W: shape \(4, 1\) does not follow layer 1's 3 outputs \(layout in_out: expected \(3, n_out\)\)"):
        go.model_from_numpy([(np.ones((2, 3)), None, "tanh"), (np.ones((4, 1)), None, "tanh")], np.ones((1, 2)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="layout: unknown 'xw'"):
        go.model_from_numpy([(np.ones((2, 3)), None, "tanh")], np.ones((1, 2)), np.ones((1, 3)), layout="xw")


@given(square_network_strategy(), st.sampled_from(["mean", "sum"]))
@settings(max_examples=30, deadline=None)
def test_pytorch_and_sum_reductions_differ_from_gradlabs_squared_error_by_one_exact_factor(case, reduction):
    # gradlab's squared_error is (1/B)ΣΣ; PyTorch's MSELoss() is (1/(B·n))ΣΣ, a factor 1/n; "sum"
    # a factor B. The check fails (a convention, not a backward bug), and every layer by the factor.
    layers, x, t = case
    batch, n_out = t.shape
    factor = {"mean": 1.0 / n_out, "sum": float(batch)}[reduction]
    _, grads = backprop(layers, x, t, reduction=reduction)
    reference = go.grad_numpy(layers, x, t)
    for (dw, db), (rw, rb) in zip(grads, reference):
        assert np.allclose(dw, factor * rw, rtol=1e-9, atol=1e-14) and np.allclose(db, factor * rb, rtol=1e-9, atol=1e-14)
    if factor != 1.0:
        r = go.check_numpy(layers, x, t, grads)
        assert not r.passed and r.first_wrong_layer == len(layers)


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_a_nan_or_inf_in_a_numpy_layer_is_named_at_its_index_in_the_callers_array(layout):
    w1 = np.ones((3, 2))
    w1[2, 0] = np.nan
    if layout == "out_in":
        w1 = w1.T.copy()
    w2 = np.ones((2, 1)) if layout == "in_out" else np.ones((1, 2))
    layers = [(w1, np.zeros(2), "tanh"), (w2, np.zeros(1), "identity")]
    where = "W[2][0]" if layout == "in_out" else "W[0][2]"
    x, t = np.ones((4, 3)), np.zeros((4, 1))
    with pytest.raises(ValueError, match=rf"layer 1 {re.escape(where)}: NaN is not a finite number"):
        go.grad_numpy(layers, x, t, layout=layout)
    layers[0] = (np.ones_like(w1), np.array([0.0, -np.inf]), "tanh")
    with pytest.raises(ValueError, match=r"layer 1 b\[1\]: -inf is not a finite number"):
        go.grad_numpy(layers, x, t, layout=layout)


def test_a_stem_then_a_residual_block_is_described_by_its_shortcut_layers():
    """Stem 2 → 4, a block of two whose input (the stem's output) joins its second layer, a head
    4 → 1, in both forms: the reference gradients against central differences of the forward
    written out in numpy."""
    rng = np.random.default_rng(3)
    widths = [2, 4, 4, 4, 1]
    layers = [(rng.normal(size=(a, b)) * 0.7, rng.normal(size=b) * 0.1, f) for a, b, f in zip(widths, widths[1:], ["tanh", "tanh", "tanh", "identity"])]
    x, t = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))

    def loss(layers, skip):
        outputs = [x]
        for l, (w, b, f) in enumerate(layers, start=1):
            z = outputs[-1] @ w + b
            z = z + outputs[l - 2] if (l == 3 and skip == "pre_activation") else z
            a = np.tanh(z) if f == "tanh" else z
            outputs.append(a + outputs[l - 2] if (l == 3 and skip == "identity") else a)
        return ((outputs[-1] - t) ** 2).sum() / x.shape[0]

    for skip in ("pre_activation", "identity"):
        d = go.model_from_numpy(layers, x, t, shortcut=2, shortcut_layers=[3], skip=skip)
        assert (d["shortcut"], d["shortcut_layers"], d["skip"]) == (2, [3], skip)
        assert go.load_model(d).shortcut_layers == [3]
        assert go.load_model({**d, "shortcut_layers": [], "shortcut": 1}).shortcut_layers == []
        grads = go.grad_numpy(layers, x, t, shortcut=2, shortcut_layers=[3], skip=skip)
        for l, (w, _, _) in enumerate(layers):
            for idx in np.ndindex(w.shape):
                h = 1e-6
                up = [(ww.copy(), bb, f) for ww, bb, f in layers]
                down = [(ww.copy(), bb, f) for ww, bb, f in layers]
                up[l][0][idx] += h
                down[l][0][idx] -= h
                numeric = (loss(up, skip) - loss(down, skip)) / (2 * h)
                assert abs(grads[l][0][idx] - numeric) < 1e-7, (skip, l + 1, idx)
        # Without naming layer 3, span 2 joins no layer here (2 and 4 differ in width from a_0
        # and a_2): a file refuses it, naming the widths.
        with pytest.raises(ValueError, match=r"shortcut: span 2 adds the input \(width 2\) to layer 2 \(width 4\)"):
            go.grad_numpy(layers, x, t, shortcut=2, skip=skip)
