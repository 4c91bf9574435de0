"""Against real PyTorch autograd (float64, on a copy): random nn.Sequential networks agree with
gradlab's reference per layer within 1e-10 of the layer's largest gradient. Generators keep away
from PyTorch's own approximations: Softplus's linear branch above its threshold (|z| stays far
below 20) and BCELoss's clamp of log at −100 (sigmoid outputs stay away from 0 and 1)."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn

import gradlab_oracle as go  # noqa: E402
from agreement import assert_agree_per_layer, torch_grads  # noqa: E402

TODAY = {"Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "ReLU": nn.ReLU, "LeakyReLU": lambda: nn.LeakyReLU(0.1), "Softplus": nn.Softplus, "Identity": nn.Identity}


@st.composite
def sequential_strategy(draw, activations=TODAY, last=None):
    seed = draw(st.integers(0, 2**31 - 1))
    torch.manual_seed(seed)
    widths = draw(st.lists(st.integers(1, 5), min_size=2, max_size=5))
    mods = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        mods.append(nn.Linear(a, b, bias=draw(st.booleans())))
        name = last if (last and i == len(widths) - 2) else draw(st.sampled_from(sorted(activations)))
        mods.append(activations[name]() if name in activations else TODAY[name]())
    net = nn.Sequential(*mods)
    batch = draw(st.integers(1, 4))
    x = torch.randn(batch, widths[0])
    return net, x, widths[-1]


@given(sequential_strategy())
@settings(max_examples=40, deadline=None)
def test_random_sequentials_agree_with_pytorch_autograd_under_gradlabs_squared_error(case):
    net, x, n_out = case
    t = torch.randn(x.shape[0], n_out, dtype=torch.float64)
    ref = go.grad(go.from_torch(net, x, t))
    assert_agree_per_layer(ref, torch_grads(net, x, t, lambda y, t: ((y - t) ** 2).sum() / y.shape[0]))
    assert go.check_torch(net, x, t).passed


@given(sequential_strategy(last="Sigmoid"))
@settings(max_examples=25, deadline=None)
def test_gradlabs_bce_agrees_with_pytorch(case):
    net, x, n_out = case
    t = torch.rand(x.shape[0], n_out, dtype=torch.float64)
    ref = go.grad(go.from_torch(net, x, t, loss="bce"))
    bce = lambda y, t: nn.functional.binary_cross_entropy(y, t, reduction="sum") / y.shape[0]
    assert_agree_per_layer(ref, torch_grads(net, x, t, bce))


def test_the_users_module_is_not_changed():
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    before = copy.deepcopy(net.state_dict())
    x, t = torch.randn(4, 3), torch.randn(4, 1)
    assert go.check_torch(net, x, t).passed
    assert all(p.grad is None and p.dtype == torch.float32 for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_wrong_pytorch_gradient_convention_is_a_located_fail():
    # MSELoss() (mean over B·n) against gradlab's squared_error: off by 1/n in every layer.
    net = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    x, t = torch.randn(5, 3), torch.randn(5, 2)
    model = go.from_torch(net, x, t)
    grads = torch_grads(net, x, t, nn.MSELoss())
    r = go.check(model, grads)
    assert not r.passed and r.first_wrong_layer == 2


@pytest.mark.parametrize(
    "net, message",
    [
        (nn.Sequential(nn.Linear(2, 2), nn.Dropout()), "module 1 (Dropout): p = 0.5 in training mode"),
        (nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), "module 1 (BatchNorm1d): batch normalisation is not in the model format"),
        (nn.Sequential(nn.Linear(2, 2), nn.Hardtanh()), "module 1 (Hardtanh): not supported (expected Linear, LayerNorm,"),
        (nn.Sequential(nn.Flatten(0), nn.Linear(2, 2)), "module 0 (Flatten): start_dim=0, end_dim=-1"),
        (nn.Sequential(nn.Linear(2, 2), nn.LogSoftmax(dim=1), nn.Tanh()), "module 2 (Tanh): after LogSoftmax"),
        (nn.Sequential(nn.Linear(2, 2), nn.LogSoftmax(dim=1)), "a last LogSoftmax is supported under NLLLoss only"),
        (nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2.0)), "module 1 (Softplus): beta = 2.0"),
        (nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.1), nn.Linear(2, 1), nn.LeakyReLU(0.2)), "module 3 (LeakyReLU): negative_slope 0.2 differs"),
        (nn.Sequential(nn.Tanh(), nn.Linear(2, 1)), "module 0 (Tanh): an activation before the first Linear"),
        (nn.Sequential(nn.Linear(2, 2), nn.GELU(approximate="tanh")), "module 1 (GELU): approximate='tanh'"),
    ],
)
def test_what_the_format_cannot_express_is_a_value_error_naming_it(net, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        go.from_torch(net, torch.zeros(1, 2), torch.zeros(1, net[-1].out_features if isinstance(net[-1], nn.Linear) else 2))


def test_unsupported_loss_settings_are_named():
    net = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(ValueError, match="reduction='none'"):
        go.from_torch(net, torch.zeros(1, 2), torch.zeros(1, 1), loss=nn.MSELoss(reduction="none"))
    with pytest.raises(ValueError, match="HuberLoss is not supported"):
        go.from_torch(net, torch.zeros(1, 2), torch.zeros(1, 1), loss=nn.HuberLoss())


# ---- issue #20's conventions: the loss modules and their reductions, diagnose ----------------


@given(sequential_strategy(), st.sampled_from(["mean", "sum"]))
@settings(max_examples=30, deadline=None)
def test_mse_with_each_reduction_agrees_with_pytorch(case, reduction):
    net, x, n_out = case
    t = torch.randn(x.shape[0], n_out, dtype=torch.float64)
    loss = nn.MSELoss(reduction=reduction)
    ref = go.grad(go.from_torch(net, x, t, loss=loss))
    assert_agree_per_layer(ref, torch_grads(net, x, t, loss))
    assert go.check_torch(net, x, t, loss=loss).passed


@pytest.mark.filterwarnings("ignore:the last Linear is followed by Sigmoid")  # drawn on purpose
@pytest.mark.filterwarnings("ignore:model. layer .* a sigmoid output under bce_with_logits")  # and its model file
@given(sequential_strategy(), st.sampled_from(["mean", "sum"]))
@settings(max_examples=20, deadline=None)
def test_cross_entropy_and_bce_with_logits_agree_with_pytorch(case, reduction):
    net, x, n_out = case
    classes = torch.randint(0, n_out, (x.shape[0],))
    ce = nn.CrossEntropyLoss(reduction=reduction)
    assert_agree_per_layer(go.grad(go.from_torch(net, x, classes, loss=ce)), torch_grads(net, x, classes, ce))
    t = torch.rand(x.shape[0], n_out, dtype=torch.float64)
    bl = nn.BCEWithLogitsLoss(reduction=reduction)
    assert_agree_per_layer(go.grad(go.from_torch(net, x, t, loss=bl)), torch_grads(net, x, t, bl))


def test_diagnose_torch_names_a_deep_sigmoid_network_vanishing():
    torch.manual_seed(0)
    mods = []
    for _ in range(20):
        mods += [nn.Linear(8, 8), nn.Sigmoid()]
    net = nn.Sequential(*mods)
    before = copy.deepcopy(net.state_dict())
    d = go.diagnose_torch(net, torch.randn(16, 8), torch.rand(16, 8))
    assert d.verdict == "vanishing" and d.from_layer is not None
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_diagnose_torch_is_diagnose_of_from_torch():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    x, t = torch.randn(8, 4), torch.randn(8, 2)
    loss = nn.MSELoss()
    assert go.diagnose_torch(net, x, t, loss=loss).to_json() == go.diagnose(go.from_torch(net, x, t, loss=loss)).to_json()


# ---- nn.GELU (exact) and nn.SiLU: "gelu" and "silu" in the model format -------------------------

WITH_GELU_SILU = {**TODAY, "GELU": nn.GELU, "SiLU": nn.SiLU}


def test_gelu_and_silu_map_to_the_model_formats_names():
    net = nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 2), nn.SiLU())
    assert [l["activation"] for l in go.from_torch(net, torch.zeros(1, 2), torch.zeros(1, 2))["layers"]] == ["gelu", "silu"]


@given(sequential_strategy(activations=WITH_GELU_SILU), st.sampled_from(["mean", "sum"]))
@settings(max_examples=30, deadline=None)
def test_gelu_and_silu_networks_agree_with_pytorch(case, reduction):
    net, x, n_out = case
    t = torch.randn(x.shape[0], n_out, dtype=torch.float64)
    loss = nn.MSELoss(reduction=reduction)
    ref = go.grad(go.from_torch(net, x, t, loss=loss))
    assert_agree_per_layer(ref, torch_grads(net, x, t, loss))
    assert go.check_torch(net, x, t, loss=loss).passed


def test_diagnose_torch_reads_gelu_and_silu():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 1))
    d = go.diagnose_torch(net, torch.randn(8, 4), torch.randn(8, 1))
    assert [l.activation for l in d.layers] == ["gelu", "silu", "identity"]


def test_frozen_layers_a_flat_target_and_bad_input_before_autograd():
    torch.manual_seed(0)
    frozen = nn.Sequential(nn.Linear(3, 5).requires_grad_(False), nn.Tanh(), nn.Linear(5, 1))
    x, t = torch.randn(6, 3), torch.randn(6)  # t of shape (B,): one value per sample
    assert go.check_torch(frozen, x, t).passed
    assert not frozen[0].weight.requires_grad and frozen[0].weight.grad is None  # the caller's module untouched
    # bce without a sigmoid output, and an input of the wrong width: gradlab's messages, not torch's.
    with pytest.raises(ValueError, match="bce needs a sigmoid output layer"):
        go.check_torch(frozen, x, torch.rand(6), loss=nn.BCELoss())
    with pytest.raises(ValueError, match="input row 0"):
        go.check_torch(frozen, torch.randn(6, 4), t)
    # Softplus's linear branch below threshold 20 is no exact softplus: refused like beta.
    with pytest.raises(ValueError, match=r"threshold = 5"):
        go.check_torch(nn.Sequential(nn.Linear(3, 2), nn.Softplus(threshold=5), nn.Linear(2, 1)), x, t)


# ---- modules that compute nothing on rows: Flatten, Dropout (eval or p = 0), LogSoftmax + NLLLoss ----


def test_a_tutorial_mlp_with_flatten_dropout_and_log_softmax_under_nll_agrees_with_pytorch():
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 5), nn.Flatten(), nn.LogSoftmax(dim=1)
    )
    x, labels = torch.randn(6, 3, 4), torch.tensor([0, 4, 2, 2, 1, 3])
    with pytest.raises(ValueError, match="module 3 \\(Dropout\\): p = 0.5 in training mode"):
        go.check_torch(net, x, labels, loss=nn.NLLLoss())
    net.eval()
    for reduction in ("mean", "sum"):
        loss = nn.NLLLoss(reduction=reduction)
        r = go.check_torch(net, x, labels, loss=loss)
        assert r.passed, r
        # The same numbers as the cross-entropy of the logits, which the description states.
        d = go.from_torch(net, x, labels, loss=loss)
        assert d["loss"] == {"kind": "cross_entropy", "reduction": reduction} and len(d["layers"]) == 2
        assert d["input"].shape == (6, 12)
        value = float(loss(copy.deepcopy(net).double()(x.double()), labels).detach())
        assert abs(r.loss.reference - value) <= 1e-12 * abs(value)


def test_nll_loss_goes_with_a_last_log_softmax_and_class_indices():
    net = nn.Sequential(nn.Linear(3, 4))
    with pytest.raises(ValueError, match="NLLLoss needs the module to end with LogSoftmax"):
        go.from_torch(net, torch.zeros(2, 3), torch.tensor([0, 1]), loss=nn.NLLLoss())
    net = nn.Sequential(nn.Linear(3, 4), nn.LogSoftmax(dim=1))
    with pytest.raises(ValueError, match="NLLLoss takes class indices"):
        go.from_torch(net, torch.zeros(2, 3), torch.eye(4)[:2], loss=nn.NLLLoss())
    with pytest.raises(ValueError, match="ignore_index"):
        go.from_torch(net, torch.zeros(2, 3), torch.tensor([0, 1]), loss=nn.NLLLoss(ignore_index=0))


def test_a_softmax_before_cross_entropy_is_named_as_the_double_softmax_bug():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3), nn.Softmax(dim=1))
    x, labels = torch.zeros(2, 3), torch.tensor([0, 2])
    with pytest.raises(ValueError, match="module 3 \\(Softmax\\): CrossEntropyLoss takes logits .* softmax twice"):
        go.check_torch(net, x, labels, loss=nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="module 3 \\(Softmax\\): not supported"):
        go.from_torch(net, x, torch.zeros(2, 3), loss=nn.MSELoss())


def test_a_sigmoid_before_bce_with_logits_is_checked_with_a_warning_of_the_double_sigmoid():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    x, t = torch.randn(5, 3), torch.rand(5, 1)
    import warnings

    # One warning, in PyTorch's terms (load_model's own, in the model file's, is not repeated).
    for call in (go.check_torch, go.diagnose_torch):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            call(net, x, t, loss=nn.BCEWithLogitsLoss())
        assert [str(w.message)[:60] for w in seen] == ["the last Linear is followed by Sigmoid and BCEWithLogitsLoss"], call
    with pytest.warns(UserWarning, match="applies it twice"):
        assert go.check_torch(net, x, t, loss=nn.BCEWithLogitsLoss()).passed

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert go.check_torch(net, x, t, loss=nn.BCELoss()).passed


def test_nested_sequentials_are_read_in_order_and_named_by_their_paths():
    torch.manual_seed(2)
    block = lambda a, b: nn.Sequential(nn.Linear(a, b), nn.Tanh())  # noqa: E731
    net = nn.Sequential(block(3, 4), block(4, 4), nn.Linear(4, 1))
    x, t = torch.randn(5, 3), torch.randn(5, 1)
    assert len(go.from_torch(net, x, t)["layers"]) == 3
    assert go.check_torch(net, x, t).passed
    bad = nn.Sequential(block(3, 4), nn.Sequential(nn.Linear(4, 1), nn.BatchNorm1d(1)))
    with pytest.raises(ValueError, match="module 1.1 \\(BatchNorm1d\\): batch normalisation"):
        go.from_torch(bad, x, t)


def test_half_and_bfloat16_tensors_are_read_exactly():
    torch.manual_seed(4)
    for dtype in (torch.bfloat16, torch.float16):
        net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)).to(dtype)
        x, t = torch.randn(4, 3).to(dtype), torch.randn(4).to(dtype)
        d = go.from_torch(net, x, t)
        assert np.array_equal(d["input"], x.double().numpy()) and d["layers"][0]["weight"].dtype == np.float64
        assert go.check_torch(net, x, t).passed
