"""Issue #20's model-file conventions through the Python API: the loss object's reductions,
``weight_layout``, and a NaN in a gradients file reported where it is."""

import json
import math

import numpy as np
import pytest

import gradlab_oracle as go
from backprop import backprop
from test_core import SMALL

def test_the_loss_object_gives_pytorchs_mean_and_sum_conventions():
    rng = np.random.default_rng(3)
    layers = [(rng.normal(size=(3, 4)), rng.normal(size=4), "tanh"), (rng.normal(size=(4, 2)), None, "identity")]
    x, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    for reduction in ("mean", "sum", "batch_mean"):
        _, grads = backprop(layers, x, t, reduction=reduction)
        r = go.check_numpy(layers, x, t, grads, loss={"kind": "mse", "reduction": reduction})
        assert r.passed, reduction


def test_in_out_weight_layout_in_the_model_file_matches_the_transposed_model():
    m_in_out = {**SMALL, "weight_layout": "in_out",
                "layers": [{**l, "weight": np.asarray(l["weight"]).T} for l in SMALL["layers"]]}
    assert json.loads(go.grad(m_in_out).to_json())["loss"] == go.grad(SMALL).loss


def test_nan_in_gradients_is_a_located_fail():
    g = json.loads(go.grad(SMALL).to_json())
    g["layers"][0]["weight_grad"][1][0] = math.nan
    r = go.check(SMALL, g)
    assert not r.passed and r.first_wrong_layer == 1
    assert r.layers[0].worst.entry == "weight_grad[1][0]"
