"""What "agrees with PyTorch's autograd" means in the torch tests: every Linear's gradients within
1e-10 of the layer's largest reference gradient, computed by autograd in float64 on a copy."""

import copy

import numpy as np

AGREEMENT = 1e-10


def torch_grads(net, x, t, loss):
    """Autograd's (∂L/∂W, ∂L/∂b or None) of every Linear, in the order the module registers them
    (for the modules of these tests, the order they run)."""
    twin = copy.deepcopy(net).double()
    loss(twin(x.double()), t).backward()
    return [(m.weight.grad.numpy(), None if m.bias is None else m.bias.grad.numpy()) for m in twin.modules() if type(m).__name__ == "Linear"]


def assert_agree_per_layer(ref, theirs):
    assert len(theirs) == len(ref.layers)
    for l, ((w, b), layer) in enumerate(zip(theirs, ref.layers)):
        scale = max(np.abs(layer.weight_grad).max(), np.abs(layer.bias_grad).max())
        assert np.abs(w - layer.weight_grad).max() <= AGREEMENT * scale, f"layer {l + 1} weight"
        if b is not None:
            assert np.abs(b - layer.bias_grad).max() <= AGREEMENT * scale, f"layer {l + 1} bias"
