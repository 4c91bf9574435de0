"""Against real PyTorch autograd: modules with their own ``forward`` (read by tracing it with
torch.fx) agree with gradlab's reference per layer within 1e-10 of the layer's largest gradient, in
every way of calling an activation and with shortcuts in both of the model format's forms; and what
the model format cannot say is a ValueError naming the module or the source line."""

import inspect
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

import gradlab_oracle as go  # noqa: E402
from agreement import assert_agree_per_layer, torch_grads  # noqa: E402

# Each activation in each way PyTorch code calls it: a module, torch.f, F.f, the Tensor method.
MODULES = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.1), "softplus": nn.Softplus, "gelu": nn.GELU, "silu": nn.SiLU}
CALLS = {
    "tanh": (torch.tanh, F.tanh, lambda z: z.tanh()),
    "sigmoid": (torch.sigmoid, F.sigmoid, lambda z: z.sigmoid()),
    "relu": (torch.relu, F.relu, lambda z: z.relu()),
    "leaky_relu": (lambda z: F.leaky_relu(z, 0.1), lambda z: F.leaky_relu(z, negative_slope=0.1)),
    "softplus": (F.softplus,),
    "gelu": (F.gelu,),
    "silu": (F.silu,),
}


class Chain(nn.Module):
    """Linear layers with activations called as ``styles`` say (-1: a module, k ≥ 0: CALLS[f][k],
    None: no activation); with ``span``, each layer l in ``joins`` (by default those span divides)
    adds a_{l−span} before or after f."""

    def __init__(self, widths, acts, styles, bias, span=None, form=None, joins=None):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(widths, widths[1:]))
        self.mods = nn.ModuleList(MODULES[a]() if (a and s == -1) else nn.Identity() for a, s in zip(acts, styles))
        self.acts, self.styles, self.span, self.form = acts, styles, span, form
        rule = [] if span is None else list(range(span, len(acts) + 1, span))
        self.joins = rule if joins is None else sorted(joins)

    def forward(self, x):
        outputs = [x]
        for l, fc in enumerate(self.fcs, start=1):
            joins = l in self.joins
            z = fc(outputs[-1])
            if joins and self.form == "pre_activation":
                z = z + outputs[l - self.span]
            act, style = self.acts[l - 1], self.styles[l - 1]
            a = z if act is None else (self.mods[l - 1](z) if style == -1 else CALLS[act][style](z))
            if joins and self.form == "identity":
                a = a + outputs[l - self.span]
            outputs.append(a)
        return outputs[-1]


@st.composite
def chains(draw):
    torch.manual_seed(draw(st.integers(0, 2**31 - 1)))
    depth = draw(st.integers(1, 5))
    span = draw(st.one_of(st.none(), st.integers(1, depth)))
    if span is None:
        widths = draw(st.lists(st.integers(1, 5), min_size=depth + 1, max_size=depth + 1))
    else:  # a shortcut joins layers of one width
        widths = [draw(st.integers(1, 5))] * (depth + 1)
    acts = draw(st.lists(st.sampled_from([None, *sorted(CALLS)]), min_size=depth, max_size=depth))
    styles = [None if a is None else draw(st.integers(-1, len(CALLS[a]) - 1)) for a in acts]
    form = None if span is None else draw(st.sampled_from(["pre_activation", "identity"]))
    # The span's own layers, or any others (a stem before the blocks, a head after them).
    joins = None if span is None else draw(st.one_of(st.none(), st.sets(st.integers(span, depth))))
    net = Chain(widths, acts, styles, draw(st.booleans()), span, form, joins)
    x = torch.randn(draw(st.integers(1, 4)), widths[0])
    return net, x


@given(chains())
@settings(max_examples=60, deadline=None)
def test_modules_with_their_own_forward_agree_with_pytorch_autograd(case):
    net, x = case
    t = torch.randn(x.shape[0], net.fcs[-1].out_features, dtype=torch.float64)
    d = go.from_torch(net, x, t)
    # The description says what the forward computes: activations in order, the shortcut's span,
    # the layers it joins (named unless they are the span's own) and its form.
    assert [l["activation"] for l in d["layers"]] == [a or "identity" for a in net.acts]
    assert d.get("shortcut") == (net.span if net.joins else None)
    rule = [] if net.span is None else list(range(net.span, len(net.acts) + 1, net.span))
    assert d.get("shortcut_layers") == (net.joins if net.joins and net.joins != rule else None)
    # Into layers without an activation, f(z + a) = f(z) + a: the reader may name either form.
    joined = [net.acts[l - 1] for l in net.joins]
    assert d.get("skip") == (net.form if any(joined) else ("pre_activation" if joined else None))
    loss = nn.MSELoss(reduction="sum")
    assert_agree_per_layer(go.grad(go.from_torch(net, x, t, loss=loss)), torch_grads(net, x, t, loss))
    assert go.check_torch(net, x, t, loss=loss).passed


class Tutorial(nn.Module):
    """The classifier of a beginner's tutorial, written with functional calls."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(12, 8), nn.Linear(8, 5)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, 0.5, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


def line_of(cls, text):
    """The source line of ``cls`` that contains ``text``, as the messages name it."""
    lines, first = inspect.getsourcelines(cls)
    return first + next(k for k, line in enumerate(lines) if text in line)


def test_a_functional_tutorial_classifier_names_its_dropout_line_then_agrees_in_eval_mode():
    torch.manual_seed(5)
    net = Tutorial()
    x, labels = torch.randn(6, 3, 4), torch.tensor([0, 4, 2, 2, 1, 3])
    where = f"F.dropout() at test_torch_modules.py:{line_of(Tutorial, 'F.dropout')}: p = 0.5 in training mode"
    with pytest.raises(ValueError, match=where.replace("(", r"\(").replace(")", r"\)")):
        go.check_torch(net, x, labels, loss=nn.NLLLoss())
    net.eval()
    d = go.from_torch(net, x, labels, loss=nn.NLLLoss())
    assert d["input"].shape == (6, 12) and [l["activation"] for l in d["layers"]] == ["relu", "identity"]
    assert d["loss"] == {"kind": "cross_entropy", "reduction": "mean"}
    assert go.check_torch(net, x, labels, loss=nn.NLLLoss()).passed


class Residual(nn.Module):
    """A residual MLP as it is usually written: a stem layer from the input's width to the blocks'
    (``stem``), blocks of two whose input joins the second layer's pre-activation (``pre``) or
    output, and a head to the outputs (``head``)."""

    def __init__(self, n_in, width, blocks, pre, stem=True, head=None):
        super().__init__()
        self.stem = nn.Linear(n_in, width) if stem else None
        self.blocks = nn.ModuleList(nn.ModuleList([nn.Linear(width, width), nn.Linear(width, width)]) for _ in range(blocks))
        self.head = nn.Linear(width, head) if head else None
        self.pre = pre

    def forward(self, x):
        h = x if self.stem is None else torch.relu(self.stem(x))
        for first, second in self.blocks:
            inner = second(torch.tanh(first(h)))
            h = torch.relu(inner + h) if self.pre else torch.relu(inner) + h
        return h if self.head is None else self.head(h)


def test_a_residual_mlp_with_a_stem_and_a_head_is_described_with_its_shortcut_and_agrees_with_pytorch():
    torch.manual_seed(6)
    x = torch.randn(5, 3)
    for pre, form in ((True, "pre_activation"), (False, "identity")):
        # The blocks start at the input: the span alone says where the shortcut joins (2, 4).
        net = Residual(3, 3, 2, pre, stem=False)
        t = torch.randn(5, 3)
        d = go.from_torch(net, x, t)
        assert (d["shortcut"], d["skip"], len(d["layers"]), "shortcut_layers" in d) == (2, form, 4, False)
        assert go.load_model(d).shortcut_layers == [2, 4]
        assert_agree_per_layer(go.grad(d), torch_grads(net, x, t, lambda y, t: ((y - t) ** 2).sum() / y.shape[0]))
        assert go.check_torch(net, x, t).passed
        # A stem 3 → 8, blocks of two, a head 8 → 2: the shortcut joins layers 3 and 5 (not 2, 4, 6),
        # which the description names.
        net = Residual(3, 8, 2, pre, head=2)
        t = torch.randn(5, 2)
        d = go.from_torch(net, x, t)
        assert (d["shortcut"], d["shortcut_layers"], d["skip"], len(d["layers"])) == (2, [3, 5], form, 6)
        assert go.load_model(d).shortcut_layers == [3, 5]
        assert_agree_per_layer(go.grad(d), torch_grads(net, x, t, lambda y, t: ((y - t) ** 2).sum() / y.shape[0]))
        report = go.check_torch(net, x, t)
        assert report.passed and len(report.layers) == 6


class Block(nn.Module):
    """The residual block of many tutorials: ``x + self.net(x)``, the shortcut written first."""

    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x):
        return x + self.net(x)


def test_residual_blocks_inside_a_sequential_with_a_stem_and_a_head_agree_with_pytorch():
    torch.manual_seed(8)
    net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), Block(8), Block(8), nn.Linear(8, 1))
    x, t = torch.randn(5, 3), torch.randn(5, 1)
    d = go.from_torch(net, x, t)
    # Layers: the stem 1, the blocks (2, 3) and (4, 5), the head 6; each block's input joins its
    # second Linear, which has no activation (so either form; the reader says pre_activation).
    assert (d["shortcut"], d["shortcut_layers"], d["skip"]) == (2, [3, 5], "pre_activation")
    assert [l["activation"] for l in d["layers"]] == ["relu", "relu", "identity", "relu", "identity", "identity"]
    assert_agree_per_layer(go.grad(d), torch_grads(net, x, t, lambda y, t: ((y - t) ** 2).sum() / y.shape[0]))
    assert go.check_torch(net, x, t).passed


def test_a_sigmoid_output_under_bce_with_logits_warns_unless_an_identity_shortcut_adds_to_it():
    import warnings

    def identity_into(layer):
        def forward(m, x):
            a = torch.relu(m.fc[0](x)) + x if layer == 1 else torch.relu(m.fc[0](x))
            return torch.sigmoid(m.fc[1](a)) + a if layer == 2 else torch.sigmoid(m.fc[1](a))

        return forward

    torch.manual_seed(9)
    x, t = torch.randn(3, 2), torch.rand(3, 2)
    loss = nn.BCEWithLogitsLoss()
    # An identity shortcut into layer 1 only: the output is still the sigmoid's, applied twice.
    with pytest.warns(UserWarning, match="applies it twice"):
        d = go.from_torch(Forward(identity_into(1), widths=(2, 2, 2)), x, t, loss=loss)
    assert (d["shortcut"], d.get("shortcut_layers"), d["skip"]) == (1, [1], "identity")
    # Into the output layer: f(z) + a is no sigmoid output; nothing to warn of.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        go.from_torch(Forward(identity_into(2), widths=(2, 2, 2)), x, t, loss=loss)


def test_a_shortcut_into_some_of_the_layers_its_span_divides_is_named():
    torch.manual_seed(7)
    net, x = Forward(_missing_block), torch.randn(3, 2)
    d = go.from_torch(net, x, torch.randn(3, 2))
    assert (d["shortcut"], d["shortcut_layers"]) == (2, [2])
    assert go.check_torch(net, x, torch.randn(3, 2)).passed


class Forward(nn.Module):
    """A module whose forward is given as a function of (self, x): for the refusals below."""

    def __init__(self, forward, widths=(2, 2, 2, 2, 2)):
        super().__init__()
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.w = nn.Parameter(torch.ones(2, 2))
        self.f = forward

    def forward(self, x):
        return self.f(self, x)


def _missing_block(m, x):
    a = torch.relu(m.fc[1](torch.relu(m.fc[0](x))) + x)  # into layer 2: span 2
    return torch.relu(m.fc[3](torch.relu(m.fc[2](a))))  # layer 4: none


def _branch(m, x):
    a = torch.relu(m.fc[0](x))
    m.fc[1](a)
    return m.fc[2](a)


def _pre_activation_source(m, x):
    z = m.fc[0](x)
    return torch.relu(m.fc[1](torch.relu(z)) + z)


def _reads_before_its_shortcut(m, x):
    a = torch.relu(m.fc[0](x))
    a + x  # noqa: B018 - traced: layer 1's output is a + x
    return m.fc[1](a)


def _activates_without_its_shortcut(m, x):
    z = m.fc[0](x)
    z + x  # noqa: B018 - traced: layer 1's pre-activation is z + x
    return torch.relu(z)


def _control_flow(m, x):
    return m.fc[0](x) if x.sum() > 0 else m.fc[1](x)


def _two_forms(m, x):
    a = torch.relu(m.fc[0](x) + x)
    return torch.relu(m.fc[1](a)) + a


@pytest.mark.parametrize(
    "forward, message",
    [
        (_branch, "module fc.2 (Linear): reads layer 1's activation, but layer 2 comes after it"),
        (lambda m, x: m.fc[0](m.fc[0](x)), "module fc.0 (Linear): called a second time"),
        (lambda m, x: x @ m.w, "module: forward reads 'w' itself, not through a module"),
        (lambda m, x: m.fc[0](x) * 2, "operator.mul() at test_torch_modules.py:"),
        (_pre_activation_source, "adds layer 1's Linear output, which is not its output a_1"),
        (_reads_before_its_shortcut, "module fc.1 (Linear): reads layer 1's activation, which is not the layer's output"),
        (_activates_without_its_shortcut, "applies to layer 1's Linear output without the shortcut added to it"),
        (_control_flow, "torch.fx cannot trace its forward"),
        (_two_forms, "a shortcut after the activation, and one before it"),
        (lambda m, x: torch.relu(x), "torch.relu() at test_torch_modules.py:"),
        (lambda m, x: m.fc[0](x)[:, :1], "operator.getitem() at test_torch_modules.py:"),
        (lambda m, x: m.fc[0](x.reshape(x.shape[0], -1)).view(-1, 1), "Tensor.view() at test_torch_modules.py:"),
        (lambda m, x: torch.softmax(m.fc[0](x), dim=1), "torch.softmax() at test_torch_modules.py:"),
        (lambda m, x: m.fc[0](x.float()), "Tensor.float() at test_torch_modules.py:"),
        (lambda m, x: m.fc[0](x.to(torch.float16)), "casts to torch.float16; the check runs the module in float64"),
        (lambda m, x: m.fc[0](x.to("cuda")), "Tensor.to() at test_torch_modules.py:"),
        (lambda m, x: m.fc[0](x.to("cuda")), "moves or converts the tensor ('cuda'); the check runs the module on the CPU"),
    ],
)
def test_what_the_format_cannot_express_is_named_by_module_or_source_line(forward, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        go.from_torch(Forward(forward), torch.zeros(1, 2), torch.zeros(1, 2), loss=nn.CrossEntropyLoss())


def test_a_functional_softmax_before_cross_entropy_is_named_as_the_double_softmax_bug():
    net = Forward(lambda m, x: F.softmax(m.fc[0](x), dim=1))
    with pytest.raises(ValueError, match="CrossEntropyLoss takes logits .* softmax twice"):
        go.from_torch(net, torch.zeros(2, 2), torch.tensor([0, 1]), loss=nn.CrossEntropyLoss())


def test_a_custom_module_and_the_sequential_it_spells_out_have_one_description():
    torch.manual_seed(7)
    net = Chain([3, 4, 4, 2], ["tanh", "relu", None], [0, 2, None], True)
    seq = nn.Sequential(net.fcs[0], nn.Tanh(), net.fcs[1], nn.ReLU(), net.fcs[2])
    x, t = torch.randn(4, 3), torch.randn(4, 2)
    assert same(go.from_torch(net, x, t), go.from_torch(seq, x, t))


def same(a, b):
    """Whether two descriptions are equal, arrays compared by value."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(u, v) for u, v in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def test_check_torch_names_each_layers_worst_entry_as_the_parameters_grad_in_the_module():
    torch.manual_seed(8)
    x, t = torch.randn(4, 3), torch.randn(4, 2)
    net = Chain([3, 4, 2], ["tanh", None], [0, None], True)
    r = go.check_torch(net, x, t)
    for k, layer in enumerate(r.layers):
        entry, given = layer.worst.entry, layer.worst.as_given
        kind, index = entry.split("_grad")
        assert given == f"fcs.{k}.{kind}.grad{index}", (entry, given)
    lone = nn.Linear(3, 2)
    (layer,) = go.check_torch(lone, x, t).layers
    assert layer.worst.as_given == layer.worst.entry.replace("_grad", ".grad"), layer.worst
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    assert [l.worst.as_given.split(".")[0] for l in go.check_torch(seq, x, t).layers] == ["0", "2"]


class Regressor(nn.Module):
    """A one-output network that returns one value per sample, as regressions and binary
    classifiers do (``squeeze``, or ``view(-1)``)."""

    def __init__(self, squeeze):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 5), nn.Linear(5, 1)
        self.squeeze = squeeze

    def forward(self, x):
        return self.squeeze(self.fc2(torch.tanh(self.fc1(x))))


def test_a_one_unit_output_squeezed_to_one_value_per_sample_agrees_with_pytorch():
    torch.manual_seed(9)
    x = torch.randn(6, 3)
    squeezes = (lambda y: y.squeeze(-1), lambda y: y.squeeze(), lambda y: torch.squeeze(y, 1), lambda y: y.view(-1))
    for squeeze in squeezes:
        net = Regressor(squeeze)
        for loss, t in ((nn.MSELoss(), torch.randn(6, dtype=torch.float64)), (nn.BCEWithLogitsLoss(), torch.rand(6, dtype=torch.float64))):
            d = go.from_torch(net, x, t, loss=loss)
            assert d["target"].shape == (6, 1)
            # Autograd on the caller's own shapes: outputs (B,), targets (B,).
            assert_agree_per_layer(go.grad(d), torch_grads(net, x, t, loss))
            assert go.check_torch(net, x, t, loss=loss).passed


@pytest.mark.parametrize(
    "forward, message",
    [
        (lambda m, x: m.fc[1](m.fc[0](x)).squeeze(1), "Tensor.squeeze() at test_torch_modules.py:"),
        (lambda m, x: m.fc[1](m.fc[0](x)).squeeze(1), "squeezes a layer of 2 units; only a one-unit output can be"),
        (lambda m, x: m.fc[1](m.fc[0](x).squeeze(1)), "module fc.1 (Linear): after squeezing the output"),
    ],
)
def test_only_a_one_unit_last_output_may_be_squeezed(forward, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        go.from_torch(Forward(forward, widths=(2, 1, 2)), torch.zeros(1, 2), torch.zeros(1))


def test_casts_to_float64_and_contiguous_are_read_as_the_identity():
    torch.manual_seed(10)
    net = Forward(lambda m, x: torch.tanh(m.fc[1](torch.relu(m.fc[0](x.double().contiguous())).to(torch.float64))))
    x, t = torch.randn(4, 2), torch.randn(4, 2)
    d = go.from_torch(net, x, t)
    assert [l["activation"] for l in d["layers"]] == ["relu", "tanh"]
    assert go.check_torch(net, x, t).passed
