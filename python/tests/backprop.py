"""A hand-written numpy backprop (numpy's layout, Z = A @ W + b), as a student writes it, with
the classic bugs injectable at one layer: the code under test of the numpy adapter's tests."""

import numpy as np

ACTIVATIONS = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "softplus": (lambda z: np.logaddexp(0.0, z), lambda z: 1.0 / (1.0 + np.exp(-z))),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0.0).astype(z.dtype)),
}

#: Bugs that corrupt the backward step of one layer (1-based), and what a check must then find.
BUGS = ("missing_derivative", "transposed_weight", "sign", "derivative_of_output", "bias_first_sample")


def backprop(layers, x, t, bug=None, bug_layer=None, reduction="batch_mean"):
    """(loss, [(dW, db)]) of squared error; `reduction` "batch_mean" is gradlab's (1/B)ΣΣ,
    "mean" PyTorch's MSELoss (1/(B·n))ΣΣ, "sum" ΣΣ."""
    a, zs, acts = x, [], [x]
    for w, b, f in layers:
        z = a @ w + (0.0 if b is None else b)
        a = ACTIVATIONS[f][0](z)
        zs.append(z)
        acts.append(a)
    y = acts[-1]
    scale = {"batch_mean": 1.0 / x.shape[0], "mean": 1.0 / y.size, "sum": 1.0}[reduction]
    loss = scale * np.sum((y - t) ** 2)
    g = 2.0 * scale * (y - t)  # dL/da_L
    grads = [None] * len(layers)
    for idx in reversed(range(len(layers))):
        l = idx + 1
        w, b, f = layers[idx]
        dz = g * ACTIVATIONS[f][1](zs[idx])
        if bug_layer == l:
            if bug == "missing_derivative":
                dz = g
            elif bug == "sign":
                dz = -dz
            elif bug == "derivative_of_output":
                dz = g * ACTIVATIONS[f][1](acts[idx + 1])
        dw = acts[idx].T @ dz
        db = dz.sum(axis=0)
        if bug_layer == l and bug == "bias_first_sample":
            db = dz[0].copy()
        grads[idx] = (dw, db)
        g = dz @ (w if (bug_layer == l and bug == "transposed_weight") else w.T)
    return loss, grads
