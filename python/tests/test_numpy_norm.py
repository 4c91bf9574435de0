"""The numpy adapter with layer normalisation: a hand-written ``affine → layernorm → relu``
backprop (a course's ``layernorm_backward``) passes; the classic bug of that backward (the mean
and variance paths left out) is caught at its layer; ``grad_numpy`` gives ``dgamma`` and ``dbeta``."""

import numpy as np
import pytest

import gradlab_oracle as go


def layernorm_forward(h, gamma, beta, eps):
    mu = h.mean(axis=1, keepdims=True)
    var = ((h - mu) ** 2).mean(axis=1, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    x_hat = (h - mu) * rstd
    return x_hat * gamma + beta, (x_hat, rstd, gamma)


def layernorm_backward(dy, cache, bug=False):
    x_hat, rstd, gamma = cache
    n = x_hat.shape[1]
    dgamma, dbeta = (dy * x_hat).sum(axis=0), dy.sum(axis=0)
    g = dy * gamma
    if bug:  # the classic: x̂'s own path only, as if μ and σ did not depend on h
        return g * rstd, dgamma, dbeta
    dh = rstd / n * (n * g - g.sum(axis=1, keepdims=True) - x_hat * (g * x_hat).sum(axis=1, keepdims=True))
    return dh, dgamma, dbeta


def network():
    rng = np.random.default_rng(5)
    widths = [3, 5, 4, 2]
    layers = [(rng.normal(size=(a, b)) * 0.8, rng.normal(size=b) * 0.1, f) for a, b, f in zip(widths, widths[1:], ["relu", "relu", "identity"])]
    norms = [{"gamma": rng.uniform(0.5, 1.5, size=5), "beta": rng.normal(size=5) * 0.2, "eps": 1e-5, "at": "pre_activation"},
             {"gamma": rng.uniform(0.5, 1.5, size=4), "beta": rng.normal(size=4) * 0.2, "eps": 1e-5, "at": "pre_activation"},
             None]
    x, t = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    return layers, norms, x, t


def backprop(layers, norms, x, t, bug_layer=None):
    """affine → layernorm → relu, written as a student writes it (numpy's X @ W layout)."""
    a, caches = x, []
    for (w, b, f), norm in zip(layers, norms):
        h = a @ w + b
        cache = None
        if norm is not None:
            h, cache = layernorm_forward(h, norm["gamma"], norm["beta"], norm["eps"])
        out = np.maximum(h, 0.0) if f == "relu" else h
        caches.append((a, h, cache))
        a = out
    loss = ((a - t) ** 2).sum() / x.shape[0]
    g = 2.0 * (a - t) / x.shape[0]
    grads = [None] * len(layers)
    for idx in reversed(range(len(layers))):
        (w, _, f), (a_in, z, cache) = layers[idx], caches[idx]
        dz = g * (z > 0) if f == "relu" else g
        extra = ()
        if cache is not None:
            dz, dgamma, dbeta = layernorm_backward(dz, cache, bug=(bug_layer == idx + 1))
            extra = (dgamma, dbeta)
        grads[idx] = (a_in.T @ dz, dz.sum(axis=0), *extra)
        g = dz @ w.T
    return loss, grads


def test_a_hand_written_layernorm_backprop_passes_and_grad_numpy_gives_dgamma_and_dbeta():
    layers, norms, x, t = network()
    loss, grads = backprop(layers, norms, x, t)
    result = go.check_numpy(layers, x, t, grads, loss_value=loss, norms=norms)
    assert result.passed, result
    reference = go.grad_numpy(layers, x, t, norms=norms)
    assert [len(r) for r in reference] == [4, 4, 2]
    for ours, theirs in zip(reference, grads):
        for a, b in zip(ours, theirs):
            assert np.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_the_classic_layernorm_backward_bug_is_caught_at_its_layer():
    layers, norms, x, t = network()
    _, grads = backprop(layers, norms, x, t, bug_layer=2)
    result = go.check_numpy(layers, x, t, grads, norms=norms)
    assert not result.passed and result.first_wrong_layer == 2
    # Layer 2's γ and β see only the right ∂L/∂y: what fails is what the normalisation's backward
    # feeds, its W and b and everything below.
    assert result.layers[1].worst.as_given.startswith(("dW[", "db[")), result.layers[1].worst
    wrong = [list(g) for g in backprop(layers, norms, x, t)[1]]
    wrong[0][2] = wrong[0][2] * 1.01
    named = go.check_numpy(layers, x, t, [tuple(g) for g in wrong], norms=norms).layers[0].worst.as_given
    assert named.startswith("dgamma["), named


@pytest.mark.parametrize(
    "norms, message",
    [
        ([None], "norms: expected 3 entries"),
        ([{"gamma": np.ones(3), "at": "pre_activation"}, None, None], r"layer 1 gamma: expected shape \(5,\), one per unit of the layer, got \(3,\)"),
        ([{"gamma": np.ones(5)}, None, None], r"layer 1 gamma: expected shape \(3,\), one per input of the layer, got \(5,\)"),
        ([{"scale": np.ones(5)}, None, None], "norms\\[0\\]: unknown key 'scale'"),
        ([{"at": "output"}, None, None], "norms\\[0\\] at: unknown 'output'"),
        ([None, {"beta": np.array([0.0, np.nan, 0.0, 0.0]), "at": "pre_activation"}, None], r"layer 2 beta\[1\]: NaN is not a finite number"),
        ([{"eps": 0.0}, None, None], "layer 1 norm eps: 0 must be a finite number > 0"),
    ],
)
def test_bad_norms_are_named(norms, message):
    layers, _, x, t = network()
    with pytest.raises(ValueError, match=message):
        go.grad_numpy(layers, x, t, norms=norms)
