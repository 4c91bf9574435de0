"""The PyTorch adapter: a module (``nn.Sequential``, or any ``nn.Module`` whose forward is a chain
of ``Linear`` layers, activations and shortcuts; ``_torch_read`` reads it), a batch and a loss, as
gradlab's model description; and its own autograd checked against gradlab's oracle.

Calls that compute nothing on a batch of rows are read as what they are: flattening the input to
one row per sample (after a ``Linear`` it is the identity), dropout in eval mode or with p = 0 (the
identity), and a last log-softmax over a row under ``NLLLoss``, which together are the
cross-entropy of the logits before it.

Autograd runs in float64 on a deep copy: the caller's module, its dtype and its ``.grad`` are
never touched. Anything the model format cannot express is a ``ValueError`` naming it.
"""

from __future__ import annotations

import copy
import re
import warnings
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _array, _rows  # defined in __init__ before it imports this module
from ._results import CheckResult, Diagnosis
from ._torch_read import Network, _torch, is_norm, is_rms_norm, norm_eps, read

_LOSSES = {
    "MSELoss": "mse",
    "BCELoss": "bce",
    "BCEWithLogitsLoss": "bce_with_logits",
    "CrossEntropyLoss": "cross_entropy",
    "NLLLoss": "cross_entropy",  # of the logits, under a last LogSoftmax (_check_log_softmax)
}
_GRADLAB_LOSSES = ("squared_error", "bce")
LossLike = Union[str, Any]


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


def _identity_into_last(net: Any) -> bool:
    """Whether an identity shortcut adds to the last layer's output (which is then no sigmoid's)."""
    if net.skip != "identity":
        return False
    depth = len(net.layers)
    joined = net.shortcut_layers if net.shortcut_layers is not None else range(net.shortcut, depth + 1, net.shortcut)
    return depth in joined


def _check_log_softmax(net: Network, loss: LossLike) -> None:
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
    """The model description of ``module`` on the batch ``x`` with targets ``t``.

    ``module``: an ``nn.Sequential``, or any ``nn.Module`` whose ``forward`` ``torch.fx`` can trace,
    made of ``Linear`` layers (each called once, in a chain), each perhaps with a ``LayerNorm`` over a
    row (the layer's ``"norm"``) of its input (pre-norm blocks) or of its output before the
    activation (``Linear → LayerNorm → ReLU``), and the activations ``Tanh``,
    ``Sigmoid``, ``ReLU``, ``LeakyReLU``, ``Softplus`` (β = 1), ``GELU``, ``SiLU`` as modules or as
    calls (``torch.relu(h)``, ``F.relu(h)``, ``h.relu()``); ``Identity``, flattening the input
    (``Flatten()``, ``torch.flatten(x, 1)``, ``x.view(x.size(0), -1)``), dropout in eval mode or
    with p = 0, a last ``LogSoftmax(dim=1)`` under ``NLLLoss``, a one-unit output squeezed to one
    value per sample (``y.squeeze(1)``, ``y.view(-1)``); and shortcuts ``h + x`` that add an
    earlier layer's output before the activation (``relu(fc2(h) + x)``: the model file's
    ``"skip": "pre_activation"``) or after it (``relu(fc2(h)) + x``: ``"identity"``), where the
    model format can say them: one span s and one form for the network (a stem layer before the
    blocks and a head after them included: the description's ``"shortcut_layers"`` names the
    layers that receive it when they are not every layer s divides). Anything else is a
    ``ValueError`` naming the module by its path (``1.0``) or the call by its source line.

    ``loss``: a torch loss module (``MSELoss``, ``BCELoss``, ``BCEWithLogitsLoss``,
    ``CrossEntropyLoss``, ``NLLLoss``, with ``reduction`` ``"mean"`` or ``"sum"``; the model file's
    ``"loss"`` object and ``"weight_layout": "out_in"``), or gradlab's own ``"squared_error"``
    (L = (1/B)·Σ_b Σ_j (y − t)²) or ``"bce"``. Cross-entropy's class-index targets become one-hot
    rows. Weights are read in float64 (a float32 weight widens exactly).
    """
    loss_obj = _loss_object(loss)
    net = read(module, None if isinstance(loss, str) else type(loss).__name__)
    _check_log_softmax(net, loss)
    layers, slope = net.layers, net.slope
    if layers[-1][1] == "sigmoid" and not _identity_into_last(net) and _is_loss(loss, "BCEWithLogitsLoss"):
        # A model the format expresses, with gradients to check, but rarely the one meant.
        warnings.warn(
            "the last Linear is followed by Sigmoid and BCEWithLogitsLoss applies its own sigmoid: the "
            "network applies it twice (a common bug: the loss then changes little and training slows); "
            "remove the Sigmoid, or use BCELoss",
            stacklevel=3,
        )
    description: Dict[str, Any] = {"layers": []}
    for (lin, act), norm in zip(layers, net.norms):
        layer: Dict[str, Any] = {"weight": _array(lin.weight), "activation": act}
        if lin.bias is not None:
            layer["bias"] = _array(lin.bias)
        if norm is not None:
            ln, at = norm
            layer["norm"] = {"eps": norm_eps(ln), "at": at}
            if is_rms_norm(ln):
                layer["norm"]["kind"] = "rms"
            for key in ("weight", "bias"):
                if getattr(ln, key, None) is not None:
                    layer["norm"][key] = _array(getattr(ln, key))
        description["layers"].append(layer)
    if net.shortcut is not None:
        description["shortcut"], description["skip"] = net.shortcut, net.skip
    if net.shortcut_layers is not None:
        description["shortcut_layers"] = net.shortcut_layers
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
    frozen parameters (``requires_grad=False``) are differentiated too, on the copy. Each layer's
    worst entry is also named as the parameter's gradient in ``module`` (``layer.worst.as_given``:
    ``fc2.weight.grad[3][0]``).
    ``memory_budget_mib`` bounds the reference gradients (as in :func:`gradlab_oracle.load_model`).

    >>> import torch  # doctest: +SKIP
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))  # doctest: +SKIP
    >>> check_torch(net, torch.randn(4, 2), torch.randn(4, 1)).passed  # doctest: +SKIP
    True
    """
    from . import DEFAULT_ATOL, DEFAULT_MEMORY_BUDGET_MIB, DEFAULT_RTOL, check

    torch = _torch()
    description = from_torch(module, x, t, loss)
    budget = DEFAULT_MEMORY_BUDGET_MIB if memory_budget_mib is None else memory_budget_mib
    model = _load_quietly(description, budget)
    twin = copy.deepcopy(module).to(torch.float64)
    # An RMSNorm without ε adds its dtype's machine epsilon: the caller's, not float64's.
    for theirs, ours in zip(module.modules(), twin.modules()):
        if is_norm(theirs):
            ours.eps = norm_eps(theirs)
    twin.requires_grad_(True)
    twin.zero_grad(set_to_none=True)
    xs = torch.as_tensor(description["input"], dtype=torch.float64)
    ts = torch.as_tensor(description["target"], dtype=torch.float64)  # cross-entropy's: one-hot probabilities
    if _is_loss(loss, "NLLLoss"):
        ts = ts.argmax(dim=1)  # NLLLoss takes class indices only (from_torch made them one-hot)
    with torch.enable_grad():
        y = twin(xs)
        if y.ndim == 1:
            ts = ts.reshape(y.shape)  # a squeezed one-unit output: one target per sample, as the caller's
        value = _torch_loss(loss, y, ts)
        value.backward()
    net = read(twin, None if isinstance(loss, str) else type(loss).__name__)
    grads = {"loss": float(value.detach()), "layers": []}
    for (lin, _), norm in zip(net.layers, net.norms):
        layer = {"weight_grad": lin.weight.grad.numpy()}
        params = [("bias_grad", lin.bias)]
        if norm is not None:
            ln = norm[0]
            params += [("norm_weight_grad", ln.weight), ("norm_bias_grad", getattr(ln, "bias", None))]
        for key, param in params:
            if param is not None:
                layer[key] = param.grad.numpy()
        grads["layers"].append(layer)
    result = check(
        model,
        grads,
        rtol=DEFAULT_RTOL if rtol is None else rtol,
        atol=DEFAULT_ATOL if atol is None else atol,
    )
    for layer_check, name, norm_name in zip(result.layers, net.names, net.norm_names):
        layer_check.worst.as_given = _as_given(layer_check.worst.entry, name, norm_name)
    return result


def _as_given(entry: str, name: str, norm_name: str = "") -> str:
    """``weight_grad[j][i]`` (the model file's layout, which is ``Linear.weight``'s) as the
    parameter's ``.grad`` in the caller's module: ``fc2.weight.grad[j][i]``; a normalisation's
    ``norm_weight_grad[i]`` as its LayerNorm's: ``ln1.weight.grad[i]``."""
    m = re.fullmatch(r"(norm_)?(weight|bias)_grad((?:\[\d+\])+)", entry)
    if m is None:
        return entry
    owner = norm_name if m.group(1) else name
    prefix = f"{owner}." if owner else ""
    return f"{prefix}{m.group(2)}.grad{m.group(3)}"


def diagnose_torch(module: Any, x: Any, t: Any, loss: LossLike = "squared_error") -> Diagnosis:
    """:func:`gradlab_oracle.diagnose` of :func:`from_torch`'s description: the per-layer norms,
    saturation, dead units, gains and the verdict of ``module`` on the batch ``x``, ``t`` with
    ``loss`` (as for :func:`check_torch`; the module is read, never changed).

    >>> import torch  # doctest: +SKIP
    >>> deep = torch.nn.Sequential(*[m for _ in range(20) for m in (torch.nn.Linear(8, 8), torch.nn.Sigmoid())])  # doctest: +SKIP
    >>> diagnose_torch(deep, torch.randn(16, 8), torch.rand(16, 8)).verdict  # doctest: +SKIP
    'vanishing'
    """
    from . import DEFAULT_MEMORY_BUDGET_MIB, diagnose

    return diagnose(_load_quietly(from_torch(module, x, t, loss), DEFAULT_MEMORY_BUDGET_MIB))


def _load_quietly(description: Dict[str, Any], budget: int) -> Any:
    """``load_model`` without its warnings: ``from_torch`` has given them in PyTorch's terms."""
    from . import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(description, memory_budget_mib=budget)
