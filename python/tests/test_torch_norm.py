"""LayerNorm read from PyTorch modules: pre-norm residual MLPs and ``Linear → LayerNorm → ReLU``
ones (plain, and residual with the norm before the shortcut joins) agree with autograd on every
``Linear`` and on each LayerNorm's γ and β, with and without γ and β; what the model format cannot
say (post-norm shortcuts, batch normalisation, a LayerNorm of a layer's output that is activated
or returned, over another shape, or twice) is a ValueError naming the module."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

import gradlab_oracle as go  # noqa: E402
from gradlab_oracle._torch import _as_given  # noqa: E402
from agreement import AGREEMENT, assert_agree_per_layer, torch_grads  # noqa: E402


def _randomise(ln):
    """γ and β away from PyTorch's 1 and 0, so that their gradients are tested, not assumed."""
    with torch.no_grad():
        if ln.weight is not None:
            ln.weight.uniform_(0.5, 1.5)
        if getattr(ln, "bias", None) is not None:
            ln.bias.uniform_(-0.5, 0.5)
    return ln


RMS = getattr(nn, "RMSNorm", None)


class PreNormBlock(nn.Module):
    """``x + fc2(gelu(fc1(ln(x))))``: the pre-norm residual block."""

    def __init__(self, width, hidden, cls=nn.LayerNorm, **norm):
        super().__init__()
        self.ln = _randomise(cls(width, **norm))
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.ln(x))))


class PreNormMLP(nn.Module):
    """A stem, pre-norm blocks, a last LayerNorm and a head."""

    def __init__(self, n_in, width, hidden, blocks, n_out, cls=nn.LayerNorm, **norm):
        super().__init__()
        self.stem = nn.Linear(n_in, width)
        self.blocks = nn.ModuleList(PreNormBlock(width, hidden, cls, **norm) for _ in range(blocks))
        self.norm = _randomise(cls(width, **norm))
        self.head = nn.Linear(width, n_out)

    def forward(self, x):
        h = torch.tanh(self.stem(x))
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


def _norm_grads(net, x, t, loss):
    """Autograd's (∂L/∂γ or None, ∂L/∂β or None) of every LayerNorm, in the order they run here."""
    twin = copy.deepcopy(net).double()
    loss(twin(x.double()), t.double()).backward()
    grad = lambda p: None if p is None else p.grad.numpy()  # noqa: E731
    norms = (nn.LayerNorm,) + ((RMS,) if RMS is not None else ())
    return [(grad(m.weight), grad(getattr(m, "bias", None))) for m in twin.modules() if isinstance(m, norms)]


@pytest.mark.parametrize(
    "norm",
    [{}, {"eps": 1e-3}, {"elementwise_affine": False}, {"bias": False}],
    ids=["affine", "eps", "no-affine", "no-bias"],
)
def test_a_pre_norm_residual_mlp_agrees_with_pytorch_on_every_linear_and_every_layer_norm(norm):
    torch.manual_seed(11)
    net = PreNormMLP(3, 6, 10, 2, 2, **norm)
    x, t = torch.randn(7, 3) * 2.0, torch.randn(7, 2)
    d = go.from_torch(net, x, t)
    # stem 1; blocks (2, 3), (4, 5), each block's input a_1, a_3 joining its second Linear; head 6.
    assert (d["shortcut"], d["shortcut_layers"]) == (2, [3, 5])
    normed = [l for l, layer in enumerate(d["layers"], start=1) if "norm" in layer]
    assert normed == [2, 4, 6]
    assert d["layers"][1]["norm"]["eps"] == norm.get("eps", 1e-5)
    mse = lambda y, t: ((y - t) ** 2).sum() / y.shape[0]  # noqa: E731
    ref = go.grad(d)
    assert_agree_per_layer(ref, torch_grads(net, x, t, mse))
    for l, (gamma, beta) in zip(normed, _norm_grads(net, x, t, mse)):
        layer = ref.layers[l - 1]
        scale = max(np.abs(layer.weight_grad).max(), np.abs(layer.norm_weight_grad).max())
        for theirs, ours, what in ((gamma, layer.norm_weight_grad, "γ"), (beta, layer.norm_bias_grad, "β")):
            if theirs is not None:
                assert np.abs(theirs - ours).max() <= AGREEMENT * scale, f"layer {l} {what}"
    assert all(layer.norm_weight_grad is None for layer in ref.layers if layer.layer not in normed)
    diagnosis = go.diagnose_torch(net, x, t)
    assert diagnosis.to_json() == go.diagnose(d).to_json()
    # diagnose's log10 ‖∂L/∂γ‖ and ‖∂L/∂β‖ (backward in extended range) are autograd's norms.
    for l, (gamma, beta) in zip(normed, _norm_grads(net, x, t, mse)):
        row = diagnosis.layers[l - 1]
        for theirs, ours in ((gamma, row.log10_norm_weight_grad_norm), (beta, row.log10_norm_bias_grad_norm)):
            if theirs is not None:
                assert abs(np.log10(np.linalg.norm(theirs)) - ours) < 1e-9, f"layer {l}"
    assert all(row.log10_norm_weight_grad_norm is None for row in diagnosis.layers if row.layer not in normed)
    report = go.check_torch(net, x, t)
    assert report.passed
    # γ and β of autograd were compared where the module has them: 6 weights' worth more entries.
    given = int(norm.get("elementwise_affine", True)) * (1 + int(norm.get("bias", True)))
    assert report.layers[1].entries == 6 * 10 + 10 + given * 6


def test_a_wrong_layer_norm_gradient_is_found_and_named_as_the_modules_parameter():
    torch.manual_seed(12)
    net = PreNormMLP(3, 4, 4, 1, 1)
    x, t = torch.randn(5, 3), torch.randn(5, 1)
    d = go.from_torch(net, x, t)
    grads = go.grad(d).to_json()
    import json

    wrong = json.loads(grads)
    wrong["layers"][1]["norm_weight_grad"][2] *= 1.1
    report = go.check(d, wrong)
    assert not report.passed and report.first_wrong_layer == 2
    assert report.layers[1].worst.entry == "norm_weight_grad[2]"
    assert _as_given("norm_weight_grad[2]", "blocks.0.fc1", "blocks.0.ln") == "blocks.0.ln.weight.grad[2]"
    assert _as_given("norm_bias_grad[0]", "head", "norm") == "norm.bias.grad[0]"
    assert _as_given("bias_grad[0]", "head", "norm") == "head.bias.grad[0]"
    names = [layer.worst.as_given for layer in go.check_torch(net, x, t).layers]
    assert names[1].startswith(("blocks.0.fc1.", "blocks.0.ln.")), names


class NormThenActivation(nn.Module):
    """``relu(ln(fc(h)))`` layers, and with ``residual`` blocks ``relu(ln2(fc2(relu(ln1(fc1(h))))) + h)``
    whose shortcut joins after the second norm, as ResNets place theirs."""

    def __init__(self, widths, residual=False, cls=nn.LayerNorm, **norm):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.lns = nn.ModuleList(_randomise(cls(b, **norm)) for b in widths[1:-1])
        self.residual = residual

    def forward(self, x):
        h = torch.relu(self.lns[0](self.fcs[0](x)))
        if self.residual:
            inner = torch.relu(self.lns[1](self.fcs[1](h)))
            h = torch.relu(self.lns[2](self.fcs[2](inner)) + h)
        else:
            for fc, ln in zip(self.fcs[1:-1], self.lns[1:]):
                h = torch.relu(ln(fc(h)))
        return self.fcs[-1](h)


@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("norm", [{}, {"elementwise_affine": False}, {"bias": False}], ids=["affine", "no-affine", "no-bias"])
def test_linear_layer_norm_relu_networks_agree_with_pytorch(residual, norm):
    torch.manual_seed(13)
    net = NormThenActivation([3, 5, 5, 5, 2], residual, **norm)
    x, t = torch.randn(6, 3), torch.randn(6, 2)
    d = go.from_torch(net, x, t)
    assert [layer.get("norm", {}).get("at") for layer in d["layers"]] == ["pre_activation"] * 3 + [None]
    assert go.load_model(d).norms == ["pre_activation"] * 3 + [None]
    if residual:
        assert (d["shortcut"], d["shortcut_layers"], d["skip"]) == (2, [3], "pre_activation")
    mse = lambda y, t: ((y - t) ** 2).sum() / y.shape[0]  # noqa: E731
    ref = go.grad(d)
    assert_agree_per_layer(ref, torch_grads(net, x, t, mse))
    for l, (gamma, beta) in zip([1, 2, 3], _norm_grads(net, x, t, mse)):
        layer = ref.layers[l - 1]
        scale = max(np.abs(layer.weight_grad).max(), np.abs(layer.norm_weight_grad).max())
        for theirs, ours in ((gamma, layer.norm_weight_grad), (beta, layer.norm_bias_grad)):
            if theirs is not None:
                assert np.abs(theirs - ours).max() <= AGREEMENT * scale, f"layer {l}"
    assert go.check_torch(net, x, t).passed
    # The same layers as an nn.Sequential read alike.
    if not residual:
        seq = nn.Sequential(*[m for fc, ln in zip(net.fcs, net.lns) for m in (fc, ln, nn.ReLU())], net.fcs[-1])
        assert go.check_torch(seq, x, t).passed
        assert [layer.get("norm", {}).get("at") for layer in go.from_torch(seq, x, t)["layers"]] == ["pre_activation"] * 3 + [None]


@pytest.mark.skipif(RMS is None, reason="nn.RMSNorm needs PyTorch 2.4 or later")
@pytest.mark.parametrize("norm", [{"eps": 1e-3}, {"elementwise_affine": False, "eps": 1e-4}], ids=["affine", "no-affine"])
def test_rms_normalised_networks_agree_with_pytorch(norm):
    """RMSNorm pre-norm blocks and ``relu(rms(fc(h)))`` layers with a shortcut: every Linear, every
    γ, the diagnosis's γ norms and check_torch against autograd."""
    torch.manual_seed(21)
    mse = lambda y, t: ((y - t) ** 2).sum() / y.shape[0]  # noqa: E731
    for net in (PreNormMLP(3, 6, 10, 2, 2, RMS, **norm), NormThenActivation([3, 5, 5, 5, 2], True, RMS, **norm)):
        x, t = torch.randn(7, 3) * 2.0, torch.randn(7, 2)
        d = go.from_torch(net, x, t)
        normed = [l for l, layer in enumerate(d["layers"], start=1) if "norm" in layer]
        assert len(normed) == 3 and all(d["layers"][l - 1]["norm"]["kind"] == "rms" for l in normed)
        assert all(d["layers"][l - 1]["norm"]["eps"] == norm["eps"] for l in normed)
        ref = go.grad(d)
        assert_agree_per_layer(ref, torch_grads(net, x, t, mse))
        diagnosis = go.diagnose_torch(net, x, t)
        for l, (gamma, beta) in zip(normed, _norm_grads(net, x, t, mse)):
            assert beta is None
            layer, row = ref.layers[l - 1], diagnosis.layers[l - 1]
            if gamma is not None:
                scale = max(np.abs(layer.weight_grad).max(), np.abs(layer.norm_weight_grad).max())
                assert np.abs(gamma - layer.norm_weight_grad).max() <= AGREEMENT * scale, f"layer {l} γ"
                assert abs(np.log10(np.linalg.norm(gamma)) - row.log10_norm_weight_grad_norm) < 1e-9, f"layer {l}"
        assert go.check_torch(net, x, t).passed


@pytest.mark.skipif(RMS is None, reason="nn.RMSNorm needs PyTorch 2.4 or later")
def test_an_rms_norm_without_eps_adds_the_machine_epsilon_of_its_dtype():
    """PyTorch's RMSNorm(eps=None) adds torch.finfo(dtype).eps: the description carries float32's
    for a float32 module, and check_torch's float64 copy adds the same, so it passes; a wrong ε
    (float64's) would be another function, which the check notices on a near-constant row."""
    torch.manual_seed(22)
    net = NormThenActivation([3, 4, 4, 4, 1], False, RMS)
    x, t = torch.randn(5, 3) * 1e-3, torch.randn(5, 1)
    d = go.from_torch(net, x, t)
    assert [layer.get("norm", {}).get("eps") for layer in d["layers"]] == [torch.finfo(torch.float32).eps] * 3 + [None]
    assert go.check_torch(net, x, t).passed
    mse = lambda y, t: ((y - t) ** 2).sum() / y.shape[0]  # noqa: E731

    def autograd(eps):
        """Autograd's gradients in float64 with every RMSNorm's ε set to ``eps``."""
        twin = copy.deepcopy(net).double()
        for m in twin.lns:
            m.eps = eps
        value = mse(twin(x.double()), t.double())
        value.backward()
        layers = [{"weight_grad": m.weight.grad.numpy(), "bias_grad": m.bias.grad.numpy()} for m in twin.fcs]
        for layer, m in zip(layers, twin.lns):
            layer["norm_weight_grad"] = m.weight.grad.numpy()
        return {"loss": float(value.detach()), "layers": layers}

    assert go.check(d, autograd(torch.finfo(torch.float32).eps)).passed
    # ε None in the float64 copy is float64's machine epsilon: another function, which fails.
    assert not go.check(d, autograd(None)).passed


class PostNorm(nn.Module):
    """The original transformer's blocks: ``ln(x + fc(x))``, whose next shortcut carries the
    normalised value."""

    def __init__(self, width, blocks):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.lns = nn.ModuleList(nn.LayerNorm(width) for _ in range(blocks))

    def forward(self, x):
        for fc, ln in zip(self.fcs, self.lns):
            x = ln(x + torch.relu(fc(x)))
        return x


class Normed(nn.Module):
    def __init__(self, forward, norm=None):
        super().__init__()
        self.fc = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))
        self.ln = norm if norm is not None else nn.LayerNorm(2)
        self.f = forward

    def forward(self, x):
        return self.f(self, x)


@pytest.mark.parametrize(
    "net, message",
    [
        (PostNorm(2, 2), "adds the LayerNorm of layer 1's output (post-norm)"),
        (nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 2)), "module 1 (BatchNorm1d): batch normalisation is not in the model format"),
        (Normed(lambda m, x: m.fc[1](m.ln(m.ln(m.fc[0](x))))), "normalises the LayerNorm of layer 1's Linear output a second time"),
        (Normed(lambda m, x: m.fc[1](torch.relu(m.ln(torch.relu(m.fc[0](x)))))), "applies to the LayerNorm of layer 1's output; the model format reads a LayerNorm of a layer's output only"),
        (Normed(lambda m, x: m.ln(torch.relu(m.fc[0](x)))), "module: forward: returns the LayerNorm of layer 1's output, which is not the layer's output"),
        (Normed(lambda m, x: m.fc[1](m.ln(m.fc[0](x))), nn.LayerNorm(3)), "module ln (LayerNorm): normalized_shape (3,), but module fc.1 (Linear) reads it"),
        (Normed(lambda m, x: torch.relu(m.ln(m.fc[0](x))), nn.LayerNorm(3)), "module ln (LayerNorm): normalized_shape (3,), but layer 1's Linear has out_features = 2"),
        (Normed(lambda m, x: torch.relu(m.ln(m.fc[0](x) + x))), "applies to the LayerNorm of layer 1's output; the model format reads"),
    ],
    ids=["post-norm", "batch-norm", "twice", "activated", "returned", "shape", "shape-of-output", "after-shortcut"],
)
def test_what_the_format_cannot_say_of_normalisation_is_named(net, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        go.from_torch(net, torch.zeros(2, 2), torch.zeros(2, 2))
