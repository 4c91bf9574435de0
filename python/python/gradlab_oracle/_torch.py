"""The PyTorch adapter: an ``nn.Sequential`` of ``Linear`` and activation modules, a batch and a
loss, as gradlab's model description; and its own autograd checked against gradlab's oracle.

Modules that compute nothing on a batch of rows are read as what they are: ``Flatten()`` (the
input becomes one row per sample; after a ``Linear`` it is the identity), ``Dropout`` in eval mode
or with p = 0 (the identity), and a last ``LogSoftmax(dim=1)`` under ``NLLLoss``, which together
are the cross-entropy of the logits before them.

Autograd runs in float64 on a deep copy: the caller's module, its dtype and its ``.grad`` are
never touched. Anything the model format cannot express is a ``ValueError`` naming it.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _array, _rows  # defined in __init__ before it imports this module
from ._results import CheckResult, Diagnosis

#: The model file's activation names of the supported activation modules (GELU: the exact erf
#: form only, approximate='none').
_ACTIVATIONS = {
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "Softplus": "softplus",
    "GELU": "gelu",
    "SiLU": "silu",
    "Identity": "identity",
}
_LOSSES = {
    "MSELoss": "mse",
    "BCELoss": "bce",
    "BCEWithLogitsLoss": "bce_with_logits",
    "CrossEntropyLoss": "cross_entropy",
    "NLLLoss": "cross_entropy",  # of the logits, under a last LogSoftmax (_check_log_softmax)
}
_GRADLAB_LOSSES = ("squared_error", "bce")
LossLike = Union[str, Any]


def _torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the PyTorch adapter needs torch (pip install torch)") from e
    return torch


def _is_loss(loss: LossLike, name: str) -> bool:
    """Whether ``loss`` is the torch loss module called ``name`` (not one of gradlab's own names)."""
    return not isinstance(loss, str) and type(loss).__name__ == name


def _loss_object(loss: LossLike) -> Union[str, Dict[str, str]]:
    if isinstance(loss, str):
        if loss not in _GRADLAB_LOSSES:
            raise ValueError(f"loss: unknown name {loss!r} (expected a torch loss module, 'squared_error' or 'bce')")
        return loss
    name = type(loss).__name__
    if name not in _LOSSES:
        raise ValueError(f"loss: {name} is not supported (expected one of {', '.join(_LOSSES)})")
    if loss.reduction not in ("mean", "sum"):
        raise ValueError(f"loss: {name}(reduction={loss.reduction!r}) gives no scalar loss (use 'mean' or 'sum')")
    for attr in ("weight", "pos_weight"):
        if getattr(loss, attr, None) is not None:
            raise ValueError(f"loss: {name} with {attr} is not supported by the model format")
    if name == "NLLLoss" and loss.ignore_index != -100:
        raise ValueError("loss: NLLLoss with ignore_index is not supported by the model format")
    if name == "CrossEntropyLoss" and (loss.label_smoothing != 0.0):
        raise ValueError("loss: CrossEntropyLoss with label_smoothing is not supported by the model format")
    return {"kind": _LOSSES[name], "reduction": loss.reduction}


def _modules(module: Any, prefix: str = "") -> List[tuple]:
    """The modules in the order they run, with their paths as PyTorch names them ("3", or "1.0"
    inside a nested Sequential)."""
    nn = _torch().nn
    if not isinstance(module, nn.Sequential):
        return [(prefix or "0", module)]
    out: List[tuple] = []
    for idx, m in enumerate(module):
        path = f"{prefix}.{idx}" if prefix else str(idx)
        out.extend(_modules(m, path) if isinstance(m, nn.Sequential) else [(path, m)])
    return out


class _Network:
    """What ``_layers`` reads from a module: [(Linear, activation name)], the leaky slope (one for
    the whole network), whether a ``Flatten`` reads the input and whether a ``LogSoftmax`` ends it."""

    def __init__(self, layers: list, slope: Optional[float], flattens_input: bool, log_softmax: bool):
        self.layers, self.slope, self.flattens_input, self.log_softmax = layers, slope, flattens_input, log_softmax


def _layers(module: Any) -> _Network:
    nn = _torch().nn
    layers: List[list] = []
    slope: Optional[float] = None
    flattens_input = False
    log_softmax = False
    for idx, m in _modules(module):
        name = type(m).__name__
        if log_softmax:
            raise ValueError(f"module {idx} ({name}): after LogSoftmax, which must be the last module")
        if isinstance(m, nn.Linear):
            layers.append([m, None])
            continue
        if isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                raise ValueError(
                    f"module {idx} (Flatten): start_dim={m.start_dim}, end_dim={m.end_dim}; only Flatten() "
                    "(one row per sample) is supported"
                )
            flattens_input = flattens_input or not layers  # after a Linear, rows stay rows
            continue
        if type(m) is nn.Dropout:
            if m.training and m.p > 0:
                raise ValueError(
                    f"module {idx} (Dropout): p = {m.p} in training mode draws a random mask at every call; "
                    "call module.eval() first (dropout is then the identity, as in evaluation) or set p = 0"
                )
            continue
        if isinstance(m, nn.LogSoftmax):
            if m.dim not in (1, -1):
                raise ValueError(f"module {idx} (LogSoftmax): dim={m.dim}; only dim=1 (over a row's outputs) is supported")
            if not layers:
                raise ValueError(f"module {idx} (LogSoftmax): before the first Linear")
            log_softmax = True
            continue
        if name not in _ACTIVATIONS:
            raise ValueError(
                f"module {idx} ({name}): not supported (expected Linear, Flatten, Dropout, a last LogSoftmax, "
                f"or one of {', '.join(_ACTIVATIONS)})"
            )
        if name == "Identity":
            continue
        if not layers:
            raise ValueError(f"module {idx} ({name}): an activation before the first Linear")
        if layers[-1][1] is not None:
            raise ValueError(f"module {idx} ({name}): a second activation after one Linear")
        if name == "Softplus" and (m.beta != 1):
            raise ValueError(f"module {idx} (Softplus): beta = {m.beta}; the model format's softplus has beta = 1")
        if name == "Softplus" and m.threshold < 20:
            raise ValueError(
                f"module {idx} (Softplus): threshold = {m.threshold}; above it PyTorch's softplus is z itself, "
                "which differs from the model format's exact softplus by e^-threshold: more than the check's "
                "tolerance below PyTorch's default of 20"
            )
        if name == "GELU" and m.approximate != "none":
            raise ValueError(f"module {idx} (GELU): approximate={m.approximate!r}; the model format's gelu is the exact erf form")
        if name == "LeakyReLU":
            if slope is not None and m.negative_slope != slope:
                raise ValueError(
                    f"module {idx} (LeakyReLU): negative_slope {m.negative_slope} differs from an earlier "
                    f"{slope}; the model format has one leaky_slope for the whole network"
                )
            slope = m.negative_slope
        layers[-1][1] = _ACTIVATIONS[name]
    if not layers:
        raise ValueError("module: no Linear layer")
    return _Network([(lin, act or "identity") for lin, act in layers], slope, flattens_input, log_softmax)


def _check_softmax(module: Any, loss: LossLike) -> None:
    """A last Softmax has no place in the model format; under CrossEntropyLoss it is also a common
    bug (the loss applies its own softmax to logits), and the message says so."""
    nn = _torch().nn
    modules = _modules(module)
    for k, (idx, m) in enumerate(modules):
        if isinstance(m, nn.Softmax):
            if k == len(modules) - 1 and _is_loss(loss, "CrossEntropyLoss"):
                raise ValueError(
                    f"module {idx} (Softmax): CrossEntropyLoss takes logits and applies its own softmax, so this "
                    "network applies softmax twice (a common bug: it flattens the loss and slows training); "
                    "remove the Softmax, or end with LogSoftmax under NLLLoss"
                )
            raise ValueError(f"module {idx} (Softmax): not supported (end with LogSoftmax under NLLLoss, or give CrossEntropyLoss the logits)")


def _check_log_softmax(net: _Network, loss: LossLike) -> None:
    """A last LogSoftmax goes with NLLLoss (their composition is the cross-entropy of the logits
    before it), and NLLLoss with a last LogSoftmax; anything else is refused."""
    nll = _is_loss(loss, "NLLLoss")
    if net.log_softmax and not nll:
        raise ValueError("module: a last LogSoftmax is supported under NLLLoss only (together: the cross-entropy)")
    if nll and not net.log_softmax:
        raise ValueError("loss: NLLLoss needs the module to end with LogSoftmax(dim=1) (together: the cross-entropy)")


def _batch(t: Any, loss: Union[str, Dict[str, str]], n_out: int) -> np.ndarray:
    """The targets as rows; cross-entropy's class indices become one-hot rows."""
    t = _array(t)
    if isinstance(loss, dict) and loss["kind"] == "cross_entropy" and t.ndim == 1:
        if np.any(t != np.round(t)) or np.any(t < 0) or np.any(t >= n_out):
            raise ValueError(f"target: class indices must be whole numbers in 0..{n_out - 1}")
        return np.eye(n_out)[t.astype(int)]
    return _rows(t, n_out)


def from_torch(module: Any, x: Any, t: Any, loss: LossLike = "squared_error") -> Dict[str, Any]:
    """The model description of ``module`` (an ``nn.Sequential`` of ``Linear`` and ``Tanh``,
    ``Sigmoid``, ``ReLU``, ``LeakyReLU``, ``Softplus`` (β = 1), ``GELU``, ``SiLU``, ``Identity``;
    ``Flatten()``, ``Dropout`` in eval mode or with p = 0, and a last ``LogSoftmax(dim=1)`` under
    ``NLLLoss``, as the module docs say) on the batch ``x`` with targets ``t``.

    ``loss``: a torch loss module (``MSELoss``, ``BCELoss``, ``BCEWithLogitsLoss``,
    ``CrossEntropyLoss``, ``NLLLoss``, with ``reduction`` ``"mean"`` or ``"sum"``; the model file's
    ``"loss"`` object and ``"weight_layout": "out_in"``), or gradlab's own ``"squared_error"``
    (L = (1/B)·Σ_b Σ_j (y − t)²) or ``"bce"``. Cross-entropy's class-index targets become one-hot
    rows. Weights are read in float64 (a float32 weight widens exactly).
    """
    loss_obj = _loss_object(loss)
    _check_softmax(module, loss)
    net = _layers(module)
    _check_log_softmax(net, loss)
    layers, slope = net.layers, net.slope
    if layers[-1][1] == "sigmoid" and _is_loss(loss, "BCEWithLogitsLoss"):
        # A model the format expresses, with gradients to check, but rarely the one meant.
        warnings.warn(
            "the last Linear is followed by Sigmoid and BCEWithLogitsLoss applies its own sigmoid: the "
            "network applies it twice (a common bug: the loss then changes little and training slows); "
            "remove the Sigmoid, or use BCELoss",
            stacklevel=3,
        )
    description: Dict[str, Any] = {"layers": []}
    for lin, act in layers:
        layer: Dict[str, Any] = {"weight": _array(lin.weight), "activation": act}
        if lin.bias is not None:
            layer["bias"] = _array(lin.bias)
        description["layers"].append(layer)
    if slope is not None:
        description["leaky_slope"] = float(slope)
    description["loss"] = loss_obj
    if isinstance(loss_obj, dict):
        description["weight_layout"] = "out_in"
    if net.flattens_input:
        x = _array(x)
        x = x.reshape(x.shape[0], -1) if x.ndim >= 2 else x
    description["input"] = _rows(x, layers[0][0].in_features)
    if net.log_softmax and _array(t).ndim != 1:
        raise ValueError("target: NLLLoss takes class indices, one per sample (shape (B,))")
    description["target"] = _batch(t, loss_obj, layers[-1][0].out_features)
    return description


def _torch_loss(loss: LossLike, y: Any, t: Any) -> Any:
    """The loss on the float64 copy's output: the loss module itself, or gradlab's convention."""
    torch = _torch()
    if isinstance(loss, str):
        batch = y.shape[0]
        if loss == "squared_error":
            return ((y - t) ** 2).sum() / batch
        return torch.nn.functional.binary_cross_entropy(y, t, reduction="sum") / batch
    return copy.deepcopy(loss)(y, t)


def check_torch(
    module: Any,
    x: Any,
    t: Any,
    loss: LossLike = "squared_error",
    *,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    memory_budget_mib: Optional[int] = None,
) -> CheckResult:
    """Runs ``module``'s own autograd in float64 on a deep copy and checks every ``Linear``'s
    gradients (and the loss) against gradlab's reference, layer by layer. The description is
    validated before autograd runs, so bad input gets gradlab's message rather than torch's;
    frozen parameters (``requires_grad=False``) are differentiated too, on the copy.
    ``memory_budget_mib`` bounds the reference gradients (as in :func:`gradlab_oracle.load_model`).

    >>> import torch  # doctest: +SKIP
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))  # doctest: +SKIP
    >>> check_torch(net, torch.randn(4, 2), torch.randn(4, 1)).passed  # doctest: +SKIP
    True
    """
    from . import DEFAULT_ATOL, DEFAULT_MEMORY_BUDGET_MIB, DEFAULT_RTOL, check, load_model

    torch = _torch()
    description = from_torch(module, x, t, loss)
    budget = DEFAULT_MEMORY_BUDGET_MIB if memory_budget_mib is None else memory_budget_mib
    model = load_model(description, memory_budget_mib=budget)
    twin = copy.deepcopy(module).to(torch.float64)
    twin.requires_grad_(True)
    twin.zero_grad(set_to_none=True)
    xs = torch.as_tensor(description["input"], dtype=torch.float64)
    ts = torch.as_tensor(description["target"], dtype=torch.float64)  # cross-entropy's: one-hot probabilities
    if _is_loss(loss, "NLLLoss"):
        ts = ts.argmax(dim=1)  # NLLLoss takes class indices only (from_torch made them one-hot)
    with torch.enable_grad():
        value = _torch_loss(loss, twin(xs), ts)
        value.backward()
    linears = _layers(twin).layers
    grads = {
        "loss": float(value.detach()),
        "layers": [
            {"weight_grad": lin.weight.grad.numpy(), **({} if lin.bias is None else {"bias_grad": lin.bias.grad.numpy()})}
            for lin, _ in linears
        ],
    }
    return check(
        model,
        grads,
        rtol=DEFAULT_RTOL if rtol is None else rtol,
        atol=DEFAULT_ATOL if atol is None else atol,
    )


def diagnose_torch(module: Any, x: Any, t: Any, loss: LossLike = "squared_error") -> Diagnosis:
    """:func:`gradlab_oracle.diagnose` of :func:`from_torch`'s description: the per-layer norms,
    saturation, dead units, gains and the verdict of ``module`` on the batch ``x``, ``t`` with
    ``loss`` (as for :func:`check_torch`; the module is read, never changed).

    >>> import torch  # doctest: +SKIP
    >>> deep = torch.nn.Sequential(*[m for _ in range(20) for m in (torch.nn.Linear(8, 8), torch.nn.Sigmoid())])  # doctest: +SKIP
    >>> diagnose_torch(deep, torch.randn(16, 8), torch.rand(16, 8)).verdict  # doctest: +SKIP
    'vanishing'
    """
    from . import diagnose

    return diagnose(from_torch(module, x, t, loss))
