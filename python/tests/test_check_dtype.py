"""``check(dtype=...)`` and ``check_numpy``'s dtype: a float32 backprop is checked at the float32
preset, and where its forward pass rounds a relu's z onto the other side of 0, the check takes
its branch there and names it instead of failing."""

import numpy as np
import pytest

import gradlab_oracle as go
from backprop import backprop

# numpy's layout (Z = A @ W + b): unit 0 of layer 1 gets W·x = 0.5 + 0.5 = 1 from sample 0, and a
# bias of −1 + 2⁻³⁰, so z = 2⁻³⁰ in float64; float32 rounds that bias to −1, so its z = 0 and
# relu′ = 0 where the reference's is 1.
LAYERS = [
    (np.array([[1.0, -0.5], [0.5, 1.0]]), np.array([-1.0 + 2.0**-30, 0.25]), "relu"),
    (np.array([[0.75], [-1.5]]), np.array([0.125]), "identity"),
]
X = np.array([[0.5, 1.0], [-0.25, 0.75]])
T = np.array([[0.5], [-1.0]])


def float32_gradients():
    layers32 = [(w.astype(np.float32), b.astype(np.float32), f) for w, b, f in LAYERS]
    loss, grads = backprop(layers32, X.astype(np.float32), T.astype(np.float32))
    assert grads[0][0].dtype == np.float32
    return loss, grads


def test_a_float32_backprop_at_a_kink_passes_with_its_branch_named():
    loss, grads = float32_gradients()
    r = go.check_numpy(LAYERS, X, T, grads, loss_value=loss)  # float32 arrays: the float32 preset
    assert r.passed, r.to_markdown()
    assert [(b["sample"], b["layer"], b["unit"], b["z"]) for b in r.other_branches] == [(0, 1, 0, 2.0**-30)]
    assert "Kinks: their code took the other branch" in r.to_markdown()
    # Held to float64's rounding, 2⁻³⁰ is no rounding of 0: layer 1 is wrong.
    forced = go.check_numpy(LAYERS, X, T, grads, dtype="float64")
    assert not forced.passed and forced.first_wrong_layer == 1 and forced.other_branches == []


def test_check_takes_the_dtype_and_refuses_an_unknown_one():
    _, grads = float32_gradients()
    model = go.model_from_numpy(LAYERS, X, T)
    payload = {"layers": [{"weight_grad": dw.T, "bias_grad": db} for dw, db in grads]}
    assert go.check(model, payload, dtype="float32").passed
    assert not go.check(model, payload).passed  # float64 by default
    with pytest.raises(ValueError, match='dtype "bfloat16": expected "float64" or "float32"'):
        go.check(model, payload, dtype="bfloat16")
