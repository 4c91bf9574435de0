"""Reading a PyTorch module as the model format's layers.

Any ``nn.Module`` is read the same way: its ``forward`` is traced by ``torch.fx`` into the calls it
makes, and the calls are walked once, in order, keeping for each traced tensor what it is in the
model format: the input a_0, layer l's pre-activation z_l (its ``Linear``'s output, with a
shortcut's a_{l−s} if one was added before the activation), or its output a_l. An
``nn.Sequential`` traces to its modules in order (nested ones by path, ``1.0``), so it is one case
of the same walk.

What the walk reads: ``Linear`` modules (each called once), the activations as modules
(``nn.ReLU``) or calls (``torch.relu``, ``F.relu``, ``x.relu()``), flattening the input
(``nn.Flatten()``, ``torch.flatten(x, 1)``, ``x.view(x.size(0), -1)``), dropout that is the
identity (eval mode, or p = 0), a last log-softmax over a row, a one-unit output squeezed to one
value per sample (``y.squeeze(1)``, ``y.view(-1)``: targets of shape (B,)), casts that change
nothing where the check runs (``x.double()``, ``x.contiguous()``; another dtype or a device is
refused: the check runs in float64 on the CPU), and shortcuts ``h + x`` that add an
earlier layer's output a_{l−s} to z_l (the format's ``pre_activation`` skip) or to a_l
(``identity``), where the format can say it: one span s and one form for the network (the layers
it joins are named when they are not every layer s divides: a stem layer before the blocks, a
head after them). An ``nn.LayerNorm`` over a row is a layer's ``"norm"`` where the format can
say it: applied to a layer's output (or the input) and read by the next ``Linear``, it normalises
that layer's input (a pre-norm block ``x + fc2(f(fc1(ln(x))))``, a last normalisation before the
head); applied to a ``Linear``'s output and then activated, or joined by a shortcut, or returned,
it normalises that layer's Linear output (``Linear → LayerNorm → ReLU``, ``"at":
"pre_activation"``). An ``nn.RMSNorm`` over a row is read alike (``"kind": "rms"``). Everything else is a ``ValueError`` naming the module by its path, or the call
by its line in the caller's source.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ._torch_trace import _METHODS, _arg, _functions, _torch, _trace, _where

#: The model file's activation names of the supported activation modules (GELU: the exact erf
#: form only, approximate='none').
ACTIVATIONS = {
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "Softplus": "softplus",
    "GELU": "gelu",
    "SiLU": "silu",
}

# A traced tensor's meaning: (kind, layer). "a": a_layer (the input for 0), "as" with its identity
# shortcut; "z": layer's Linear output, not yet through an activation, "zs" with its pre-activation
# shortcut; "n": a LayerNorm of layer's output a_layer or of its Linear output (a _Normed, which
# carries the module), not yet read; "zn": layer's Linear output through its LayerNorm;
# "log_softmax": the last layer's log-softmax; "squeezed": a one-unit last layer's output
# as one value per sample; "shape": a size read off a tensor, which only a reshape may use.
Value = Tuple[str, int]
_SHAPE: Value = ("shape", -1)


class _Normed(tuple):
    """The value ("n", layer) of a LayerNorm's output, carrying (module, where, path, what it
    normalised: "a" a layer's output, "z" its Linear output) until a call decides its place."""

    norm: tuple

    def __new__(cls, layer: int, norm: tuple) -> "_Normed":
        value = super().__new__(cls, ("n", layer))
        value.norm = norm
        return value


class Network:
    """What :func:`read` finds: [(Linear, activation name)] in order, each Linear's name in the
    caller's module (``fc.2``; ``""`` for a lone Linear), the leaky slope (one for the whole
    network), whether the input is flattened to rows, whether a log-softmax ends it, and the
    shortcut's span and form (``None`` without one) and the layers it joins when they are not
    every layer the span divides (``None`` when they are); per layer, its ``LayerNorm`` and where
    it sits (``(module, "input" or "pre_activation")``) and that module's name (``None``, ``""``
    without one)."""

    def __init__(
        self,
        layers: list,
        names: List[str],
        slope: Optional[float],
        flattens_input: bool,
        log_softmax: bool,
        shortcut: Optional[int],
        skip: Optional[str],
        shortcut_layers: Optional[List[int]] = None,
        norms: Optional[list] = None,
        norm_names: Optional[List[str]] = None,
    ):
        self.layers, self.names, self.slope = layers, names, slope
        self.flattens_input, self.log_softmax, self.shortcut, self.skip = flattens_input, log_softmax, shortcut, skip
        self.shortcut_layers = shortcut_layers
        self.norms = norms if norms is not None else [None] * len(layers)
        self.norm_names = norm_names if norm_names is not None else [""] * len(layers)


class _Walk:
    """One pass over the traced graph (see the module docs)."""

    def __init__(self, root: Any, loss_name: Optional[str]):
        self.root, self.loss_name = root, loss_name
        # [Linear, activation name or None, where, its module path, norm of its input, norm of its
        # Linear output]; a norm is (LayerNorm, where, path, what it normalised).
        self.layers: List[list] = []
        self.skips: List[tuple] = []  # (layer, span, form, where)
        self.skip_into: Dict[int, str] = {}  # layer: the form of the shortcut added to it
        self.slope: Optional[float] = None
        self.flattens_input = False
        self.log_softmax = False
        self.values: Dict[Any, Value] = {}
        self.linears: set = set()

    # -- what a value is --------------------------------------------------------------------

    def describe(self, v: Value) -> str:
        kind, layer = v
        if kind == "n":
            of = "the input" if layer == 0 else f"layer {layer}'s " + ("Linear output" if v.norm[3] == "z" else "output")
            return "the LayerNorm of " + of
        if layer == 0:
            return "the input"
        return {
            "a": f"layer {layer}'s activation",
            "as": f"layer {layer}'s output (with its shortcut)",
            "z": f"layer {layer}'s Linear output",
            "zs": f"layer {layer}'s Linear output plus its shortcut",
            "zn": f"layer {layer}'s normalised Linear output",
            "log_softmax": "the log-softmax",
            "squeezed": "the squeezed output",
        }.get(kind, "a size")

    def is_output(self, v: Value) -> bool:
        """Whether the value is a_l as the model format defines it: f(z_l (+ a_{l−s})), or
        f(z_l) + a_{l−s} with the identity skip (f the identity where no activation was applied)."""
        kind, layer = v
        if layer == 0:
            return kind == "a"
        form, act, normed = self.skip_into.get(layer), self.layers[layer - 1][1], self.layers[layer - 1][5]
        bare = act is None and form is None
        return {"a": form != "identity", "as": True, "z": bare and normed is None, "zn": bare, "zs": act is None}.get(kind, False)

    def tensor(self, node: Any, where: str, arg: Any) -> Value:
        """The value of a tensor argument, refusing constants and sizes."""
        v = self.values.get(arg) if hasattr(arg, "op") else None
        if v is None or v == _SHAPE:
            raise ValueError(f"{where}: reads {arg!r}, which is not a tensor of the network; the model format has none")
        if v[0] == "log_softmax":
            raise ValueError(f"{where}: after LogSoftmax, which must be the last call")
        if v[0] == "squeezed":
            raise ValueError(f"{where}: after squeezing the output to one value per sample, which must be the last call")
        return v

    def latest(self, where: str, v: Value, what: str) -> None:
        """Refuses a value that is not the newest layer's (the model format is a chain)."""
        if v[1] != len(self.layers):
            raise ValueError(
                f"{where}: {what} {self.describe(v)}, but layer {len(self.layers)} comes after it; each layer of the "
                "model format reads the one before it (a shortcut can add an earlier output)"
            )

    def output(self, where: str, v: Value, what: str) -> None:
        """Refuses a value that is not the newest layer's output a_l."""
        self.latest(where, v, what)
        if not self.is_output(v):
            raise ValueError(
                f"{where}: {what} {self.describe(v)}, which is not the layer's output as the model format defines "
                "it: f(z + a_(l-s)) with the shortcut before the activation, or f(z) + a_(l-s) with it after"
            )

    # -- the walk ---------------------------------------------------------------------------

    def run(self, graph: Any) -> None:
        inputs = 0
        for node in graph.nodes:
            if node.op == "placeholder":
                if not node.users:
                    continue  # an optional argument the forward never reads
                inputs += 1
                if inputs > 1:
                    raise ValueError(f"module: forward reads a second input {node.target!r}; the model format has one")
                self.values[node] = ("a", 0)
            elif node.op == "get_attr":
                raise ValueError(
                    f"module: forward reads {node.target!r} itself, not through a module; gradlab reads weights "
                    "from nn.Linear modules"
                )
            elif node.op == "call_module":
                self.values[node] = self.module(node)
            elif node.op in ("call_function", "call_method"):
                self.values[node] = self.call(node)
            elif node.op == "output":
                self.returns(node)

    def module(self, node: Any) -> Value:
        torch = _torch()
        nn = torch.nn
        m = self.root.get_submodule(node.target)
        where = _where(node, self.root)
        name = type(m).__name__
        if len(node.args) != 1 or node.kwargs:
            raise ValueError(f"{where}: called with {len(node.args) + len(node.kwargs)} arguments; the model format's modules take one")
        v = self.tensor(node, where, node.args[0])
        if isinstance(m, nn.Linear):
            return self.linear(where, m, v, node.target)
        if isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                raise ValueError(f"{where}: start_dim={m.start_dim}, end_dim={m.end_dim}; only Flatten() (one row per sample) is supported")
            return self.flatten(v)
        if type(m) is nn.Dropout:
            return self.dropout(where, v, m.p, m.training)
        if isinstance(m, nn.Identity):
            return v
        if is_norm(m):
            return self.layer_norm(where, m, v, node.target)
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            raise ValueError(
                f"{where}: batch normalisation is not in the model format (in training mode it mixes the samples of "
                "a batch; in eval mode it is an affine map of its running statistics); it reads LayerNorm, before a Linear "
                "or between a Linear and its activation"
            )
        if isinstance(m, nn.LogSoftmax):
            return self.log_softmax_of(where, v, m.dim)
        if isinstance(m, nn.Softmax):
            return self.softmax(node, where)
        if name not in ACTIVATIONS:
            raise ValueError(
                f"{where}: not supported (expected Linear, LayerNorm, RMSNorm, Flatten, Dropout, a last LogSoftmax, "
                f"or one of {', '.join(ACTIVATIONS)}, Identity)"
            )
        if name == "Softplus":
            self.softplus(where, m.beta, m.threshold)
        if name == "GELU":
            self.gelu(where, m.approximate)
        return self.activation(where, v, ACTIVATIONS[name], m.negative_slope if name == "LeakyReLU" else None)

    def call(self, node: Any) -> Value:
        where = _where(node, self.root)
        kind = _functions().get(node.target) if node.op == "call_function" else _METHODS.get(node.target)
        if kind is None:
            raise ValueError(f"{where}: not supported by the model format (it reads Linear layers, activations and shortcuts)")
        if kind in ("getattr", "getitem", "size"):
            return self.shape(where, node, kind)
        v = self.tensor(node, where, node.args[0] if node.args else node.kwargs.get("input"))
        if kind == "add":
            return self.add(node, where, v)
        if kind == "same":
            return v
        if kind == "cast":
            return self.cast(where, node, v)
        if kind == "dropout":
            return self.dropout(where, v, _arg(node, 1, "p", 0.5), _arg(node, 2, "training", True))
        if kind == "flatten":
            start, end = _arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)
            if (start, end) != (1, -1):
                raise ValueError(f"{where}: start_dim={start}, end_dim={end}; only flatten(x, 1) (one row per sample) is supported")
            return self.flatten(v)
        if kind == "reshape":
            return self.reshape(where, node, v)
        if kind == "squeeze":
            return self.squeeze(where, v, _arg(node, 1, "dim", None))
        if kind == "log_softmax":
            return self.log_softmax_of(where, v, _arg(node, 1, "dim", None))
        if kind == "softmax":
            return self.softmax(node, where)
        slope = None
        if kind == "leaky_relu":
            slope = _arg(node, 1, "negative_slope", 0.01)
        if kind == "softplus":
            self.softplus(where, _arg(node, 1, "beta", 1.0), _arg(node, 2, "threshold", 20.0))
        if kind == "gelu":
            self.gelu(where, _arg(node, 1, "approximate", "none"))
        return self.activation(where, v, kind, slope)

    # -- the operations ---------------------------------------------------------------------

    def linear(self, where: str, m: Any, v: Value, path: str) -> Value:
        if id(m) in self.linears:
            raise ValueError(f"{where}: called a second time; the model format has its own weights in each layer")
        self.linears.add(id(m))
        norm = None
        if isinstance(v, _Normed):
            self.latest(where, v, "reads")
            norm = v.norm
            self.check_norm_width(norm, m.in_features, f"{where} reads it with in_features = {m.in_features}")
        else:
            self.output(where, v, "reads")
        self.layers.append([m, None, where, path, norm, None])
        return ("z", len(self.layers))

    def layer_norm(self, where: str, m: Any, v: Value, path: str) -> Value:
        """A LayerNorm of a layer's output (or the input), or of the newest Linear's output: which
        of the two is decided by what reads it (:meth:`settle`)."""
        if v[0] in ("n", "zn"):
            raise ValueError(f"{where}: normalises {self.describe(v)} a second time; the model format has one per layer")
        if v[0] == "z" and self.layers[-1][1] is None and v[1] not in self.skip_into:
            self.latest(where, v, "normalises")
            return _Normed(v[1], (m, where, path, "z"))
        self.output(where, v, "normalises")
        return _Normed(v[1], (m, where, path, "a"))

    def check_norm_width(self, norm: tuple, width: int, reader: str) -> None:
        shape = tuple(norm[0].normalized_shape)
        if shape != (width,):
            raise ValueError(
                f"{norm[1]}: normalized_shape {shape}, but {reader}; the model format normalises over a row ({width},)"
            )

    def settle(self, v: Value) -> Value:
        """A LayerNorm of layer k's Linear output, read by anything but a Linear, is layer k's
        normalisation of its Linear output: the value becomes that ("zn")."""
        if not (isinstance(v, _Normed) and v.norm[3] == "z"):
            return v
        layer = self.layers[v[1] - 1]
        if layer[1] is not None or layer[5] is not None or v[1] in self.skip_into:
            raise ValueError(f"{v.norm[1]}: normalises layer {v[1]}'s Linear output, which was used before it")
        self.check_norm_width(v.norm, layer[0].out_features, f"layer {v[1]}'s Linear has out_features = {layer[0].out_features}")
        layer[5] = v.norm
        return ("zn", v[1])

    def activation(self, where: str, v: Value, name: str, slope: Optional[float]) -> Value:
        if not self.layers:
            raise ValueError(f"{where}: an activation before the first Linear")
        self.latest(where, v, "applies to")
        v = self.settle(v)
        if v[0] == "n":
            raise ValueError(
                f"{where}: applies to {self.describe(v)}; the model format reads a LayerNorm of a layer's output "
                "only as the next Linear's input, and one between a Linear and its activation as that Linear's "
                "(Linear → LayerNorm → ReLU)"
            )
        if v[0] in ("a", "as") or self.layers[-1][1] is not None:
            raise ValueError(f"{where}: a second activation after one Linear")
        if v[0] == "z" and self.skip_into.get(v[1]) == "pre_activation":
            raise ValueError(f"{where}: applies to layer {v[1]}'s Linear output without the shortcut added to it")
        if slope is not None:
            if self.slope is not None and slope != self.slope:
                raise ValueError(
                    f"{where}: negative_slope {slope} differs from an earlier {self.slope}; the model format has one "
                    "leaky_slope for the whole network"
                )
            self.slope = slope
        self.layers[-1][1] = name
        return ("a", v[1])

    def softplus(self, where: str, beta: float, threshold: float) -> None:
        if beta != 1:
            raise ValueError(f"{where}: beta = {beta}; the model format's softplus has beta = 1")
        if threshold < 20:
            raise ValueError(
                f"{where}: threshold = {threshold}; above it PyTorch's softplus is z itself, which differs from the "
                "model format's exact softplus by e^-threshold: more than the check's tolerance below PyTorch's "
                "default of 20"
            )

    def gelu(self, where: str, approximate: str) -> None:
        if approximate != "none":
            raise ValueError(f"{where}: approximate={approximate!r}; the model format's gelu is the exact erf form")

    def dropout(self, where: str, v: Value, p: float, training: bool) -> Value:
        if training and p > 0:
            raise ValueError(
                f"{where}: p = {p} in training mode draws a random mask at every call; call module.eval() first "
                "(dropout is then the identity, as in evaluation) or set p = 0"
            )
        return v

    def flatten(self, v: Value) -> Value:
        self.flattens_input = self.flattens_input or not self.layers  # after a Linear, rows stay rows
        return v

    def shape(self, where: str, node: Any, kind: str) -> Value:
        """``x.size(0)``, ``x.shape[0]``: sizes, which a reshape of the input may read."""
        if kind == "getattr" and _arg(node, 1, "name", None) != "shape":
            raise ValueError(f"{where}: reads {_arg(node, 1, 'name', None)!r} of a tensor; only its shape is supported")
        if kind == "getitem" and self.values.get(node.args[0]) != _SHAPE:
            raise ValueError(f"{where}: indexes a tensor of the network; the model format has whole layers only")
        return _SHAPE

    def reshape(self, where: str, node: Any, v: Value) -> Value:
        """``x.view(x.size(0), -1)``, ``x.reshape(-1, 784)``: the input as one row per sample;
        ``y.view(-1)``: a one-unit output as one value per sample."""
        dims = node.args[1:]
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if v != ("a", 0) and dims == (-1,):
            return self.squeeze(where, v, 1)
        if v != ("a", 0) or len(dims) != 2:
            raise ValueError(
                f"{where}: only the input may be reshaped, to one row per sample (x.view(x.size(0), -1)), "
                "or a one-unit output to one value per sample (y.view(-1))"
            )
        return self.flatten(v)

    def cast(self, where: str, node: Any, v: Value) -> Value:
        """``x.double()``, ``x.to(torch.float64)``: the identity where the check runs (float64);
        a cast to another dtype (``x.float()``) would make autograd's gradients float32's, so it is
        refused with the reason."""
        torch = _torch()
        to = {"double": torch.float64, "float": torch.float32, "half": torch.float16, "bfloat16": torch.bfloat16}
        target = to.get(node.target, _arg(node, 1, "dtype", None))
        if target is torch.float64:
            return v
        if not isinstance(target, torch.dtype):
            raise ValueError(
                f"{where}: moves or converts the tensor ({target!r}); the check runs the module on the CPU in float64 "
                "(on a copy): remove it from forward"
            )
        raise ValueError(
            f"{where}: casts to {target}; the check runs the module in float64 (on a copy) and a cast inside "
            "forward would round autograd's gradients to the cast's precision: remove it, or cast before calling"
        )

    def squeeze(self, where: str, v: Value, dim: Any) -> Value:
        """``y.squeeze(1)``, ``y.squeeze()``: a one-unit output as one value per sample, as a
        regression or a binary classifier returns it (the targets then have shape (B,))."""
        if dim not in (None, 1, -1):
            raise ValueError(f"{where}: dim={dim}; only the output's unit dimension (1) may be squeezed")
        v = self.settle(v)
        self.output(where, v, "squeezes")
        if self.layers[-1][0].out_features != 1:
            raise ValueError(f"{where}: squeezes a layer of {self.layers[-1][0].out_features} units; only a one-unit output can be")
        return ("squeezed", v[1])

    def log_softmax_of(self, where: str, v: Value, dim: Any) -> Value:
        if dim not in (1, -1):
            raise ValueError(f"{where}: dim={dim}; only dim=1 (over a row's outputs) is supported")
        if not self.layers:
            raise ValueError(f"{where}: before the first Linear")
        v = self.settle(v)
        self.output(where, v, "applies to")
        self.log_softmax = True
        return ("log_softmax", v[1])

    def softmax(self, node: Any, where: str) -> Value:
        """A softmax has no place in the model format; a last one under CrossEntropyLoss is also a
        common bug (the loss applies its own softmax to logits), and the message says so."""
        last = all(user.op == "output" for user in node.users)
        if last and self.loss_name == "CrossEntropyLoss":
            raise ValueError(
                f"{where}: CrossEntropyLoss takes logits and applies its own softmax, so this network applies "
                "softmax twice (a common bug: it flattens the loss and slows training); remove the Softmax, or end "
                "with LogSoftmax under NLLLoss"
            )
        raise ValueError(f"{where}: not supported (end with LogSoftmax under NLLLoss, or give CrossEntropyLoss the logits)")

    def add(self, node: Any, where: str, v: Value) -> Value:
        """A shortcut: z_l + a_{l−s} before the activation, or a_l + a_{l−s} after it."""
        if node.op == "call_function" and node.target is _torch().add and _arg(node, 2, "alpha", 1) != 1:
            raise ValueError(f"{where}: alpha = {_arg(node, 2, 'alpha', 1)}; a shortcut adds a_(l-s) itself")
        w = self.tensor(node, where, node.args[1] if len(node.args) > 1 else node.kwargs.get("other"))
        late, early = (v, w) if v[1] >= w[1] else (w, v)
        if late[1] == len(self.layers) and late[1] != early[1]:
            late = self.settle(late)
        if late[1] == early[1]:
            raise ValueError(f"{where}: adds two values of layer {late[1]}; a shortcut adds an earlier layer's output")
        self.latest(where, late, "adds to")
        k, j = late[1], early[1]
        if "n" in (early[0], late[0]):
            raise ValueError(
                f"{where}: adds {self.describe(early if early[0] == 'n' else late)} (post-norm); the model format's "
                "shortcuts add a layer's output itself, not its LayerNorm (pre-norm: x + f(Linear(LayerNorm(x))), "
                "or relu(LayerNorm(Linear(h)) + x))"
            )
        if not self.is_output(early):
            raise ValueError(f"{where}: adds {self.describe(early)}, which is not its output a_{j}; a shortcut carries a layer's output")
        if k in self.skip_into:
            raise ValueError(f"{where}: a second shortcut into layer {k}; the model format has one per layer")
        if late[0] in ("z", "zn") and self.layers[-1][1] is None and (late[0] == "zn" or self.layers[-1][5] is None):
            form, result = "pre_activation", ("zs", k)
        elif late[0] == "a":
            form, result = "identity", ("as", k)
        else:
            raise ValueError(f"{where}: adds to {self.describe(late)}; a shortcut joins z_l before the activation or a_l after it")
        self.skip_into[k] = form
        self.skips.append((k, k - j, form, where))
        return result

    def returns(self, node: Any) -> None:
        result = node.args[0]
        if not hasattr(result, "op") or result not in self.values or self.values[result] == _SHAPE:
            raise ValueError("module: forward returns more than one tensor, or no tensor of the network")
        if not self.layers:
            raise ValueError("module: no Linear layer")
        v = self.settle(self.values[result])
        if v[0] not in ("log_softmax", "squeezed"):
            self.output("module: forward", v, "returns")
        elif v[1] != len(self.layers):
            self.latest("module: forward", v, "returns")

    def network(self) -> Network:
        shortcut, skip, shortcut_layers = None, None, None
        if self.skips:
            layer, span, _, where = self.skips[0]
            for other in self.skips[1:]:
                if other[1] != span:
                    raise ValueError(
                        f"{other[3]}: a shortcut of span {other[1]} into layer {other[0]}, and one of span {span} into "
                        f"layer {layer} ({where}); the model format has one span for the whole network"
                    )
            # Into a layer without an activation, f(z + a) = f(z) + a: the form is the others'.
            formed = [s for s in self.skips if self.layers[s[0] - 1][1] is not None]
            for other in formed[1:]:
                if other[2] != formed[0][2]:
                    raise ValueError(
                        f"{other[3]}: a shortcut {'after' if other[2] == 'identity' else 'before'} the activation, and one "
                        f"{'after' if formed[0][2] == 'identity' else 'before'} it ({formed[0][3]}); the model format has one form"
                    )
            form = formed[0][2] if formed else "pre_activation"
            joined = sorted(skip_layer for skip_layer, *_ in self.skips)
            # The span alone says "every layer s divides"; any other set is named.
            if joined != list(range(span, len(self.layers) + 1, span)):
                shortcut_layers = joined
            shortcut, skip = span, form
        layers = [(lin, act or "identity") for lin, act, *_ in self.layers]
        names = [layer[3] for layer in self.layers]
        placed = [(layer[4], "input") if layer[4] is not None else (layer[5], "pre_activation") for layer in self.layers]
        norms = [None if norm is None else (norm[0], at) for norm, at in placed]
        norm_names = ["" if norm is None else norm[2] for norm, _ in placed]
        return Network(
            layers, names, self.slope, self.flattens_input, self.log_softmax, shortcut, skip, shortcut_layers, norms, norm_names
        )


def is_rms_norm(m: Any) -> bool:
    """Whether ``m`` is an ``nn.RMSNorm`` (PyTorch 2.4 and later)."""
    rms = getattr(_torch().nn, "RMSNorm", None)
    return rms is not None and isinstance(m, rms)


def is_norm(m: Any) -> bool:
    """Whether ``m`` is a normalisation the model format reads: ``nn.LayerNorm`` or ``nn.RMSNorm``."""
    return isinstance(m, _torch().nn.LayerNorm) or is_rms_norm(m)


def norm_eps(m: Any) -> float:
    """A normalisation's ε: its own, or for an ``nn.RMSNorm`` without one what PyTorch then adds,
    the machine epsilon of the dtype it runs in (its γ's, else the default dtype)."""
    if m.eps is not None:
        return float(m.eps)
    torch = _torch()
    dtype = m.weight.dtype if getattr(m, "weight", None) is not None else torch.get_default_dtype()
    return float(torch.finfo(dtype).eps)


def read(module: Any, loss_name: Optional[str]) -> Network:
    """The model format's network of ``module``; ``loss_name`` (a torch loss module's class name,
    or None) decides how a last softmax is refused."""
    root, graph, wrapped = _trace(module)
    walk = _Walk(root, loss_name)
    walk.run(graph)
    if wrapped:
        walk.layers[0][3] = ""  # the caller's module is the Linear itself
    return walk.network()
