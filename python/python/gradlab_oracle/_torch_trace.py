"""Tracing a PyTorch module for ``_torch_read``: the ``torch.fx`` trace of its ``forward`` (each
call's source line kept), what each traced call is to the walk (``_functions``, ``_METHODS``),
and how a call is named in messages (``_where``: a module by its path, a call by its line)."""

from __future__ import annotations

import functools
import operator
import os
import re
from typing import Any, Dict, Tuple


def _torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the PyTorch adapter needs torch (pip install torch)") from e
    return torch


@functools.lru_cache(maxsize=None)
def _functions() -> Dict[Any, str]:
    """The functions a traced ``call_function`` may name, by what they are to the walk."""
    torch = _torch()
    F = torch.nn.functional
    table: Dict[Any, str] = {}
    for kind, fns in {
        "relu": (torch.relu, F.relu, torch.relu_, F.relu_),
        "tanh": (torch.tanh, F.tanh),
        "sigmoid": (torch.sigmoid, F.sigmoid),
        "leaky_relu": (F.leaky_relu,),
        "softplus": (F.softplus,),
        "gelu": (F.gelu,),
        "silu": (F.silu,),
        "dropout": (F.dropout,),
        "flatten": (torch.flatten,),
        "squeeze": (torch.squeeze,),
        "log_softmax": (F.log_softmax, torch.log_softmax),
        "softmax": (F.softmax, torch.softmax),
        "add": (operator.add, operator.iadd, torch.add),
        "getattr": (getattr,),
        "getitem": (operator.getitem,),
    }.items():
        for fn in fns:
            table[fn] = kind
    return table


#: ``Tensor`` methods the walk reads, by what they are to it.
_METHODS = {
    "relu": "relu",
    "relu_": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "flatten": "flatten",
    "view": "reshape",
    "reshape": "reshape",
    "log_softmax": "log_softmax",
    "softmax": "softmax",
    "add": "add",
    "add_": "add",
    "size": "size",
    "squeeze": "squeeze",
    "contiguous": "same",
    "double": "cast",
    "float": "cast",
    "half": "cast",
    "bfloat16": "cast",
    "to": "cast",
}


def _name(node: Any) -> str:
    """How a call is named in messages: ``torch.relu()``, ``F.dropout()``, ``Tensor.view()``."""
    if node.op == "call_method":
        return f"Tensor.{node.target}()"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    short = {"torch.nn.functional": "F.", "_operator": "operator.", "builtins": ""}.get(module, "torch." if module.startswith("torch") else "")
    return f"{short}{getattr(target, '__name__', str(target))}()"


def _where(node: Any, root: Any) -> str:
    """A node as the caller knows it: a module by its path and type (``module 3 (Dropout)``, as
    PyTorch names it), a call by its line in the caller's source when the trace kept it."""
    if node.op == "call_module":
        return f"module {node.target} ({type(root.get_submodule(node.target)).__name__})"
    torch_dir = os.path.dirname(_torch().__file__)
    lines = [(p, n) for p, n in re.findall(r'File "([^"]+)", line (\d+)', node.stack_trace or "") if not p.startswith(torch_dir)]
    if lines:
        path, line = lines[-1]
        return f"{_name(node)} at {os.path.basename(path)}:{line}"
    return f"{_name(node)} (traced node {node.name})"


def _arg(node: Any, index: int, keyword: str, default: Any) -> Any:
    """A call's argument by position or keyword (a method's ``self`` is position 0)."""
    return node.args[index] if len(node.args) > index else node.kwargs.get(keyword, default)


def _trace(module: Any) -> Tuple[Any, Any, bool]:
    """The module to read (a lone torch.nn module becomes layer ``0`` of a Sequential, as PyTorch
    would number it), its traced graph, with each call's source line kept, and whether it was
    wrapped so."""
    torch = _torch()
    fx = torch.fx
    root = module
    if not isinstance(root, torch.nn.Module):
        raise ValueError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    tracer = fx.Tracer()
    wrapped = tracer.is_leaf_module(root, "")
    if wrapped:
        root = torch.nn.Sequential(root)
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(root)
    except Exception as e:  # fx raises several types (TraceError, TypeError, RuntimeError...)
        raise ValueError(
            f"module: torch.fx cannot trace its forward ({type(e).__name__}: {e}); gradlab reads a forward "
            "that is a fixed sequence of calls, without branches or loops that depend on the data"
        ) from e
    return root, graph, wrapped
