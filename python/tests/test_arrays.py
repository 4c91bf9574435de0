"""numpy arrays in a description cross to Rust beside its JSON text (their numbers written there
by the extension): every value, refusal and result is the one the same description gives with
the arrays as lists, written whole by json.dumps."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab_oracle as go

# Any finite float64: subnormals, ±0, the extremes, and ordinary values.
finite = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1e-7, 1e16]),
    st.floats(-4, 4),
)


def outcome(call):
    """What a call gives: its result's JSON, or its exception's type and message."""
    try:
        return call().to_json()
    except ValueError as e:
        return ("ValueError", str(e))


def as_lists(description):
    return json.loads(json.dumps(description, default=lambda a: a.tolist()))


@st.composite
def models(draw):
    widths = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    matrix = lambda rows, cols: np.array(draw(st.lists(st.lists(finite, min_size=cols, max_size=cols), min_size=rows, max_size=rows)))
    layers = [
        {"weight": matrix(b, a), "bias": matrix(1, b)[0], "activation": draw(st.sampled_from(["tanh", "identity", "relu"]))}
        for a, b in zip(widths, widths[1:])
    ]
    batch = draw(st.integers(1, 3))
    return {"layers": layers, "input": matrix(batch, widths[0]), "target": matrix(batch, widths[-1])}


@given(models())
@settings(max_examples=80, deadline=None)
def test_a_model_of_arrays_gives_what_its_lists_give(d):
    text, arrays = go._to_json(d)
    assert len(arrays) == 2 * len(d["layers"]) + 2 and "array:" in text  # the arrays went beside the text
    assert outcome(lambda: go.grad(d)) == outcome(lambda: go.grad(as_lists(d)))
    # The text is the one json.dumps writes: a refusal after every number names the same column.
    late = {**d, "unknown": 1}
    refused = outcome(lambda: go.grad(late))
    assert refused == outcome(lambda: go.grad(as_lists(late))) and "column" in refused[1]
    reference = go.grad(as_lists(d)) if not isinstance(outcome(lambda: go.grad(d)), tuple) else None
    if reference is not None:
        # Their gradients as arrays, checked: the same report as with lists.
        pairs = [(layer.weight_grad, layer.bias_grad) for layer in reference.layers]
        grads = {"layers": [{"weight_grad": w, "bias_grad": b} for w, b in pairs]}
        assert outcome(lambda: go.check(d, grads)) == outcome(lambda: go.check(as_lists(d), as_lists(grads)))


def test_non_finite_numbers_in_arrays_are_refused_or_reported_where_they_are():
    d = {
        "layers": [{"weight": np.array([[1.0, np.nan]]), "activation": "tanh"}],
        "input": np.array([[1.0, 2.0]]),
        "target": np.array([[0.0]]),
    }
    message = "model: layer 1 weight row 0 column 1: NaN is not a finite number"
    for description in (d, as_lists(d)):
        with pytest.raises(ValueError, match=f"^{message}$"):
            go.grad(description)
    d["layers"][0]["weight"] = np.array([[1.0, 0.5]])
    for bad in (np.inf, -np.inf, np.nan):
        grads = {"layers": [{"weight_grad": np.array([[bad, 0.0]]), "bias_grad": np.array([0.0])}]}
        result = go.check(d, grads)
        assert not result.passed and result.first_wrong_layer == 1
        assert result.to_json() == go.check(as_lists(d), as_lists(grads)).to_json()


def test_arrays_of_other_kinds_are_written_as_lists():
    # Class indices as integers, and an array of three dimensions (refused by its shape, as a list
    # of lists of lists is), do not cross as float64 arrays.
    net = [{"weight": np.array([[1.0, 0.5], [0.25, -1.0]]), "activation": "identity"}]
    d = {"layers": net, "input": np.array([[1.0, 2.0]]), "target": np.array([1]), "loss": {"kind": "cross_entropy", "reduction": "sum"}}
    assert len(go._to_json(d)[1]) == 2
    assert go.grad(d).to_json() == go.grad(as_lists(d)).to_json()
    cube = {**d, "input": np.ones((1, 1, 2))}
    assert outcome(lambda: go.grad(cube)) == outcome(lambda: go.grad(as_lists(cube)))
    assert outcome(lambda: go.grad(cube))[0] == "ValueError"
