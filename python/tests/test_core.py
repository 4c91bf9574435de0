"""grad, check, chain and gradcheck against the CLI's contracts; bad input raises clearly."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlab_oracle as go

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SMALL = {
    "layers": [
        {"weight": [[0.5, -0.25], [1, 2]], "bias": [0, 0.5], "activation": "tanh"},
        {"weight": [[1, -1]], "activation": "sigmoid"},
    ],
    "input": [[1, 2], [-1, 0.5]],
    "target": [[1], [0]],
}


def test_reference_gradients_pass_their_own_check_and_to_json_is_a_gradients_file():
    g = go.grad(SMALL)
    assert [l.weight_grad.shape for l in g.layers] == [(2, 2), (1, 2)]
    r = go.check(SMALL, g)
    assert r.passed and r.first_wrong_layer is None and r.loss.passed
    parsed = json.loads(g.to_json())
    assert parsed["loss"] == g.loss
    assert np.array_equal(np.array(parsed["layers"][0]["weight_grad"]), g.layers[0].weight_grad)


def test_a_normalised_layers_gamma_and_beta_gradients_are_the_clis_and_are_checked():
    # docs/examples/pre-norm.json: layer 2 normalises its input with γ and β, layer 4 without.
    g = go.grad(EXAMPLES / "pre-norm.json")
    printed = json.loads(g.to_json())["layers"]
    for layer, text in zip(g.layers, printed):
        for key in ("norm_weight_grad", "norm_bias_grad"):
            ours = getattr(layer, key)
            assert (ours is None) == (key not in text), (layer.layer, key)
            if ours is not None:
                assert ours.tolist() == text[key]
    assert [l.layer for l in g.layers if l.norm_weight_grad is not None] == [2, 4]
    table = g.to_markdown().splitlines()
    assert table[2].endswith("max \\|∂L/∂γ\\| | max \\|∂L/∂β\\| |") and table[4].endswith("| — | — |"), table
    gamma = float(np.abs(g.layers[1].norm_weight_grad).max())
    assert table[5].endswith(f"| {gamma:.4e} | {float(np.abs(g.layers[1].norm_bias_grad).max()):.4e} |"), table
    assert "γ" not in go.grad(SMALL).to_markdown()
    assert go.load_model(EXAMPLES / "pre-norm.json").norms == [None, "input", None, "input"]
    assert go.load_model(EXAMPLES / "linear-norm-relu.json").norms == ["pre_activation", "pre_activation", None]
    # diagnose measures a normalised network on the engine; its layers with a norm have no
    # mean-field prediction.
    d = go.diagnose(EXAMPLES / "pre-norm.json")
    assert d.verdict == "healthy" and [l.predicted_gain is None for l in d.layers] == [True, True, False, True]
    assert go.check(EXAMPLES / "pre-norm.json", g).passed
    wrong = json.loads(g.to_json())
    wrong["layers"][3]["norm_bias_grad"][1] += 1e-3
    report = go.check(EXAMPLES / "pre-norm.json", wrong)
    assert (report.first_wrong_layer, report.layers[3].worst.entry) == (4, "norm_bias_grad[1]")


def test_a_dict_and_a_path_give_the_same_bytes(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(SMALL))
    assert go.grad(SMALL).to_json() == go.grad(path).to_json() == go.grad(str(path)).to_json()


def test_the_docs_buggy_example_is_located_as_the_docs_say():
    # docs/model-format.md's worked example: a missing σ′, whose check output names layer 2.
    r = go.check(EXAMPLES / "xor.json", EXAMPLES / "xor.buggy-grads.json")
    assert not r.passed
    assert r.first_wrong_layer == 2
    assert "FAIL" in r.to_markdown() and "<table>" in r._repr_html_()


def test_a_wrong_entry_is_found_and_named():
    g = go.grad(SMALL)
    pairs = [(l.weight_grad.copy(), l.bias_grad.copy()) for l in g.layers]
    pairs[0][0][1, 0] *= 2.0
    r = go.check(SMALL, pairs)
    assert not r.passed and r.first_wrong_layer == 1
    assert r.layers[0].worst.entry == "weight_grad[1][0]" and r.layers[1].passed


def test_a_zeroed_vanishing_layer_fails_and_only_an_every_layer_factor_is_a_convention():
    # docs/examples/deep-sigmoid.json: layer 1's gradients are ~1e-8; the tolerance is relative to
    # each layer's scale (result.layers[i].scale), so a layer of zeros fails there.
    model = EXAMPLES / "deep-sigmoid.json"
    g = go.grad(model)
    pairs = [(l.weight_grad.copy(), l.bias_grad.copy()) for l in g.layers]
    zeroed = [(0 * w, 0 * b) if i == 0 else (w, b) for i, (w, b) in enumerate(pairs)]
    r = go.check(model, zeroed)
    assert not r.passed and r.first_wrong_layer == 1 and r.layers[0].failed == r.layers[0].entries
    assert 0 < r.layers[0].scale < 1e-6 and not r.conventions_only
    # Two layers negated: a bug in layer 2's backward step; every layer negated: a sign convention.
    r = go.check(model, [(-w, -b) if i < 2 else (w, b) for i, (w, b) in enumerate(pairs)])
    assert r.first_wrong_layer == 2 and not r.conventions_only
    assert r.layers[0].convention["factor"] == -1.0 and r.layers[2].convention is None
    assert go.check(model, [(-w, -b) for w, b in pairs]).conventions_only


def test_a_nan_in_a_model_is_refused_by_its_place():
    model = json.loads(json.dumps(SMALL))
    model["layers"][1]["weight"][0][1] = math.nan
    with pytest.raises(ValueError, match=r"layer 2 weight row 0 column 1: NaN is not a finite number"):
        go.grad(model)
    model = json.loads(json.dumps(SMALL))
    model["input"][1][0] = math.inf
    with pytest.raises(ValueError, match=r"input row 1 column 0: inf is not a finite number"):
        go.check(model, go.grad(SMALL))


def test_a_nan_entry_makes_the_layers_largest_errors_infinite():
    g = go.grad(SMALL)
    pairs = [(l.weight_grad.copy(), l.bias_grad.copy()) for l in g.layers]
    pairs[1][0][0, 0] = math.nan
    layer = go.check(SMALL, pairs).layers[1]
    assert layer.non_finite == 1 and layer.max_abs_error == math.inf and not layer.passed


@given(st.floats(-3, 3).filter(lambda v: v != 0), st.floats(-3, 3).filter(lambda v: v != 0), st.integers(1, 30))
@settings(max_examples=40, deadline=None)
def test_chain_gradient_matches_the_product_rule_for_identity_chains(w, x, depth):
    # a_D = w^D·x, L = a_D², ∂L/∂w_d = 2·a_D·w^(D−1)·x for every layer d: in log space (exact even
    # where float64 underflows), log10 2 + (2D − 1)·log10|w| + 2·log10|x|, sign of w^(2D−1).
    r = go.chain("identity", [w] * depth, x, 0.0)
    log10 = math.log10(2) + (2 * depth - 1) * math.log10(abs(w)) + 2 * math.log10(abs(x))
    sign = 1 if w > 0 else -1
    for layer in r.layers:
        assert layer.sign == sign
        assert layer.log10_abs_grad == pytest.approx(log10, rel=1e-12, abs=1e-12)


def test_chain_magnitudes_stay_exact_past_float64():
    # The doc example of report::reference::chain_gradients: every z = 0, each layer doubles the
    # gradient, ∂L/∂w_1 = 2^1097 (beyond float64), reported as its exact log10.
    depth = 1100
    r = go.chain("sigmoid", np.full(depth, 8.0), 1.0, 0.0, biases=[-8.0] + [-4.0] * (depth - 1))
    assert r.layers[-1].grad == 0.125
    assert r.layers[0].grad is None
    assert abs(r.log10_abs_grad[0] - 1097 * math.log10(2)) < 1e-12


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: go.chain("sigmoid", [1.0] * 3, 1, 0, shortcut=4), "--shortcut 4: the span must be between 1 and the depth 3"),
        (lambda: go.chain("sigmod", [1.0], 1, 0), '--activation: unknown name "sigmod"'),
        (lambda: go.chain("sigmoid", [], 1, 0), "depth: a chain needs at least 1 layer"),
        (lambda: go.chain("sigmoid", [1.0], math.nan, 0), "--input: NaN is not a finite number"),
        (lambda: go.grad({**SMALL, "target": [[1, 2], [0, 0]]}), "model: target row 0: expected 1 column, got 2"),
        (lambda: go.grad({**SMALL, "loss": "hinge"}), 'model: loss: unknown name "hinge"'),
        (lambda: go.check(SMALL, go.grad(SMALL), rtol=-1), "--rtol -1: a tolerance must be a finite number ≥ 0"),
        (lambda: go.check(SMALL, [(np.zeros((2, 2)), None), (np.zeros((1, 3)), None)]), "grads: layer 1: bias_grad is missing"),
        (lambda: go.gradcheck(lambda v: 0.0, [1.0], [1.0, 2.0]), "gradcheck grad: expected shape (1,)"),
    ],
)
def test_bad_input_raises_value_error_with_the_cli_message(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_an_unreadable_path_is_an_os_error(tmp_path):
    with pytest.raises(OSError, match="cannot read"):
        go.grad(tmp_path / "missing.json")


def test_a_model_over_the_memory_budget_is_refused_where_gradients_would_be_computed():
    m = go.load_model(SMALL, memory_budget_mib=0)
    with pytest.raises(ValueError, match="over the memory budget of 0 MiB"):
        go.grad(m)
    with pytest.raises(ValueError, match="over the memory budget of 0 MiB"):
        go.check(m, go.grad(SMALL))
    # diagnose builds no reference tape, as `report diagnose` does not.
    assert go.diagnose(m).verdict
    # The message names the argument, not the CLI's flag, and every entry point takes it.
    with pytest.raises(ValueError, match=r"raise it with the memory_budget_mib argument\)$"):
        go.grad(SMALL, memory_budget_mib=0)
    with pytest.raises(ValueError, match="over the memory budget of 0 MiB"):
        go.check(SMALL, go.grad(SMALL), memory_budget_mib=0)
    layers = [(np.array([[0.5, -0.25], [1, 2]]).T, np.zeros(2), "tanh")]
    with pytest.raises(ValueError, match="over the memory budget of 0 MiB"):
        go.grad_numpy(layers, np.ones((1, 2)), np.zeros((1, 2)), memory_budget_mib=0)
    with pytest.raises(ValueError, match="memory_budget_mib -1: must be a number of MiB"):
        go.load_model(SMALL, memory_budget_mib=-1)


def test_gradients_as_text_a_missing_gradient_and_a_float32_function_get_clear_answers():
    # A gradients file's text is read as text, not as a path.
    assert go.check(SMALL, go.grad(SMALL).to_json()).passed
    with pytest.raises(ValueError, match="layer 2: weight_grad is None"):
        go.check(SMALL, [(np.zeros((2, 2)), None), (None, None)])
    # A float32 f would read as a wrong gradient and a kink: refused, with the reason.
    with pytest.raises(ValueError, match="returned a float32 value; finite differences need f in float64"):
        go.gradcheck(lambda v: np.float32(np.sum(v.astype(np.float32) ** 3)), np.array([1.0, 2.0]), np.array([3.0, 12.0]))
    with pytest.raises(ValueError, match="shortcut -1: the span must be between 1 and the depth 3"):
        go.chain("tanh", [1.0] * 3, 1.0, 0.0, shortcut=-1)
    # The model file's spelling of the pre-activation skip is taken by chain too.
    assert go.chain("tanh", [1.0] * 3, 1.0, 0.0, shortcut=1, skip="pre_activation").to_json() == go.chain(
        "tanh", [1.0] * 3, 1.0, 0.0, shortcut=1, skip="pre-activation"
    ).to_json()


def test_a_one_output_networks_targets_may_be_one_value_per_sample():
    w1, w2 = np.array([[0.5, -1.0], [0.25, 2.0]]), np.array([[1.0], [-0.5]])
    layers = [(w1, None, "tanh"), (w2, None, "identity")]
    x, t = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]]), np.array([0.5, -1.0, 2.0])
    flat = go.grad_numpy(layers, x, t)
    column = go.grad_numpy(layers, x, t.reshape(-1, 1))
    assert all(np.array_equal(a, b) for pa, pb in zip(flat, column) for a, b in zip(pa, pb))


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=6), st.integers(0, 5))
@settings(max_examples=40, deadline=None)
def test_gradcheck_passes_a_right_gradient_and_fails_a_wrong_one(x, k):
    x = np.array(x)
    f = lambda v: float(np.sum(np.sin(v) * v))
    right = np.cos(x) * x + np.sin(x)
    assert go.gradcheck(f, x, right).passed
    wrong = right.copy()
    i = k % len(x)
    wrong[i] += 1e-3 * max(1.0, abs(wrong[i]))
    r = go.gradcheck(f, x, wrong)
    assert not r.passed and r.worst.index == i


def test_gradcheck_finds_kinks_and_accepts_subgradients():
    r = go.gradcheck(lambda v: float(np.abs(v).sum()), np.array([0.0, 2.0]), np.array([0.3, 1.0]))
    assert r.passed and [c.verdict for c in r.coordinates] == ["subgradient", "pass"]
    assert not go.gradcheck(lambda v: float(np.abs(v).sum()), np.array([0.0]), np.array([1.5])).passed


def test_gradcheck_takes_any_shape_and_reraises_the_functions_exception():
    x = np.arange(6.0).reshape(2, 3)
    r = go.gradcheck(lambda m: float((m**2).sum()), x, lambda m: 2 * m, method="central")
    assert r.passed and r.numeric.shape == (2, 3)

    def broken(v):
        raise KeyError("inside f")

    with pytest.raises(KeyError, match="inside f"):
        go.gradcheck(broken, [1.0], [0.0])


def test_a_sigmoid_under_bce_with_logits_warns_as_the_cli_does():
    import warnings

    def model(last, kind):
        return {
            "layers": [{"weight": [[0.5, -1.0]], "activation": "tanh"}, {"weight": [[1.5]], "activation": last}],
            "loss": {"kind": kind, "reduction": "mean"},
            "input": [[1.0, 2.0]],
            "target": [[1.0]],
        }

    message = r"^model: layer 2: a sigmoid output under bce_with_logits, which applies its own sigmoid"
    # Each way in names the caller's line, where the model was given.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = go.grad(model("sigmoid", "bce_with_logits"))
    for name, read in [
        ("load_model", go.load_model),
        ("grad", go.grad),
        ("check", lambda m: go.check(m, reference)),
        ("diagnose", go.diagnose),
    ]:
        with pytest.warns(UserWarning, match=message) as caught:
            read(model("sigmoid", "bce_with_logits"))
        assert [w.filename for w in caught] == [__file__], name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        go.grad(model("sigmoid", "bce"))
        go.grad(model("identity", "bce_with_logits"))
