"""Catch an exercise that delegates to a ready-made implementation.

:func:`forbid` makes chosen methods, module attributes and functions raise
:class:`Delegated` while the student's code runs; the patches are undone when the block
ends, whatever happens in it. :func:`forbid_delegation` is the from-scratch default:
torch's recurrent modules and kernels, and every model function of lstm_ref.
"""

from __future__ import annotations

import contextlib
import types

import torch

import lstm_ref.nn as ref_nn
import lstm_ref.nn.functional as ref_functional
import lstm_ref.nn.fused as ref_fused
import lstm_ref.nn.recurrent as ref_recurrent
import lstm_ref.numpy_ref as ref_numpy

TORCH_MODULES = [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU,
                 torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell]  # fmt: skip
TORCH_KERNELS = ["lstm", "lstm_cell", "gru", "gru_cell", "rnn_tanh", "rnn_relu",
                 "rnn_tanh_cell", "rnn_relu_cell"]  # fmt: skip
REFERENCE_CLASSES = [ref_nn.recurrent.RNNBase, ref_nn.cells._CellBase, ref_nn.Seq2Seq]
WRITE_IT = "Use only tensor/array operations (matrix products, sigmoid, tanh, ...)."
TAG = " [delegated]"  # marks the RuntimeError raised by a swapped-out function


class Delegated(RuntimeError):
    """The student's function called a ready-made implementation."""


def message(what: str, hint: str = WRITE_IT) -> str:
    return f"this exercise is to write it yourself, but your code called {what}. {hint}"


def _blocked(what: str, hint: str):
    def blocked(*args, **kwargs):
        raise Delegated(message(what, hint))

    return blocked


def _raiser_code(function, what: str, hint: str = WRITE_IT) -> types.CodeType:
    """Code that raises when run in place of ``function``'s (it must have no closure).

    Swapping the code object, not a module attribute, also catches a student who
    imported the function by name before the check ran. The code runs with the original
    function's globals, so it raises a tagged RuntimeError that :func:`forbid` converts.
    """
    namespace: dict = {}
    text = message(what, hint) + TAG
    exec(f"def raiser(*args, **kwargs):\n    raise RuntimeError({text!r})", namespace)  # noqa: S102
    return namespace["raiser"].__code__


def _where(owner) -> str:
    return f"{owner.__module__}.{owner.__qualname__}" if isinstance(owner, type) else owner.__name__


@contextlib.contextmanager
def forbid(methods=(), attributes=(), functions=(), hint: str = WRITE_IT):
    """Inside the block, these raise :class:`Delegated` when called.

    Args:
        methods, attributes: (owner, name) pairs: a class's method, a module's attribute.
        functions: Python functions, or (public name, function) pairs; their code is
            swapped, so a name imported before the block is caught too.
    """
    undo = []
    try:
        for owner, name in [*methods, *attributes]:
            undo.append((owner, name, vars(owner).get(name)))
            setattr(owner, name, _blocked(f"{_where(owner)}.{name}", hint))
        for entry in functions:
            label, function = entry if isinstance(entry, tuple) else (None, entry)
            label = label or f"{function.__module__}.{function.__qualname__}"
            undo.append((function, "__code__", function.__code__))
            function.__code__ = _raiser_code(function, label, hint)
        yield
    except RuntimeError as error:
        if str(error).endswith(TAG):
            raise Delegated(str(error).removesuffix(TAG)) from None
        raise
    finally:
        for owner, attribute, original in reversed(undo):
            if original is None:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


def _reference_functions():
    """lstm_ref's model functions, by their public name (lstm_ref.numpy_ref.sigmoid)."""
    for module in (ref_functional, ref_fused, ref_numpy, ref_recurrent):
        for name in getattr(module, "__all__", dir(module)):
            value = getattr(module, name)
            defined_here = str(getattr(value, "__module__", "")).startswith("lstm_ref.")
            if isinstance(value, types.FunctionType) and defined_here and not name.startswith("_"):
                yield f"{module.__name__}.{name}", value


def forbid_delegation():
    """From scratch: torch's recurrent layers and kernels and lstm_ref's model code raise."""
    return forbid(
        methods=[(cls, "forward") for cls in TORCH_MODULES + REFERENCE_CLASSES],
        attributes=[(space, name) for name in TORCH_KERNELS for space in (torch, torch._VF)],
        functions=list(_reference_functions()),
    )
