"""diagnose: the verdicts on networks built to have them, the JSON contract and the CLI's bytes."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import gradlab_oracle as go
from test_core import SMALL

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def dense(depth, width, std, activation, batch=16, seed=0):
    """A square network with weights ~ N(0, std²/width) and a random batch (squared error)."""
    rng = np.random.default_rng(seed)
    layers = [{"weight": rng.normal(0, std / math.sqrt(width), (width, width)), "activation": activation}
              for _ in range(depth)]
    return {"layers": layers, "input": rng.normal(size=(batch, width)), "target": rng.normal(size=(batch, width))}


def test_a_deep_sigmoid_network_is_vanishing():
    # σ'(z) ≤ 1/4 and σ²_w = 1: the mean-field gain per layer is at most 1/4, so 20 layers lose
    # far more than the 3 decades the criterion asks.
    d = go.diagnose(dense(20, 8, 1.0, "sigmoid"))
    assert d.verdict == "vanishing"
    assert d.from_layer is not None and d.non_finite is None
    top = d.layers[-1].log10_delta_norm
    assert top - d.layers[d.from_layer - 1].log10_delta_norm > 3.0


def test_a_relu_network_with_he_initialisation_is_healthy():
    # σ²_w = 2 and E[relu'²] = 1/2: a mean-field gain of 1 per layer.
    d = go.diagnose(dense(12, 32, math.sqrt(2.0), "relu", batch=32))
    assert d.verdict == "healthy", d.to_markdown()
    assert d.from_layer is None
    gains = [l.predicted_gain for l in d.layers[1:]]
    assert all(0.5 < g < 2.0 for g in gains)


def test_weights_that_overflow_are_located_as_non_finite():
    # Identity layers with every weight 1e100: z grows by 1e100·width per layer and passes f64's
    # largest value (~1.8e308) at layer 4 (1e400 > 1.8e308, 1e300 < it).
    model = {"layers": [{"weight": np.full((2, 2), 1e100), "activation": "identity"} for _ in range(6)],
             "input": [[1.0, 1.0]], "target": [[0.0, 0.0]]}
    d = go.diagnose(model)
    assert d.verdict == "non_finite"
    assert d.non_finite is not None and d.non_finite.pass_ == "forward" and d.non_finite.layer == 4
    assert d.non_finite.sample == 0


def test_the_layers_carry_the_json_contracts_names():
    d = go.diagnose(SMALL)
    raw = json.loads(d.to_json())
    assert [l.layer for l in d.layers] == [1, 2]
    assert d.verdict == raw["verdict"] and d.from_layer == raw["from_layer"]
    for layer, row in zip(d.layers, raw["layers"]):
        for key in ("log10_weight_grad_norm", "log10_bias_grad_norm", "log10_delta_norm", "activation_rms",
                    "saturated_fraction", "dead_fraction", "gain", "predicted_gain"):
            assert getattr(layer, key) == row[key], key
    assert d.layers[0].gain is None and d.layers[1].gain is not None


@pytest.mark.parametrize("example", ["deep-sigmoid"])
def test_the_json_is_the_clis_bytes(example):
    # docs/examples/deep-sigmoid.diagnosis.json is what `report diagnose --format json` prints
    # (report's test the_worked_examples_outputs_are_the_committed_ones keeps it so).
    want = (EXAMPLES / f"{example}.diagnosis.json").read_text()
    assert go.diagnose(EXAMPLES / f"{example}.json").to_json() == want
    # From a dict: the same model, the same bytes.
    assert go.diagnose(json.loads((EXAMPLES / f"{example}.json").read_text())).to_json() == want


def test_the_markdown_is_the_clis_and_the_html_shows_the_figure_inline():
    d = go.diagnose(EXAMPLES / "deep-relu-he.json")
    assert d.to_markdown() == (EXAMPLES / "deep-relu-he.diagnosis.md").read_text()
    html = d._repr_html_()
    assert "<svg" in html and "<table>" in html
    assert "diagnose-norms.svg" not in html  # the link is replaced by the figure, not fetched
    assert d._repr_markdown_() == d.to_markdown()


def test_bad_input_raises_the_clis_message():
    with pytest.raises(ValueError, match="ragged.json"):
        go.diagnose(EXAMPLES / "ragged.json")
    with pytest.raises(OSError, match="no-such-file.json"):
        go.diagnose(EXAMPLES / "no-such-file.json")
