"""Catch a from-scratch exercise that delegates to a ready-made recurrent layer.

While the student's function runs, torch's recurrent modules and kernels and every
function of lstm_ref's model code raise :class:`Delegated`. The patches are undone when
the block ends, whatever happens in it.
"""

from __future__ import annotations

import contextlib
import types

import torch

import lstm_ref.nn as ref_nn
import lstm_ref.nn.functional as ref_functional
import lstm_ref.nn.recurrent as ref_recurrent
import lstm_ref.numpy_ref as ref_numpy

TORCH_MODULES = [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU,
                 torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell]  # fmt: skip
TORCH_KERNELS = ["lstm", "lstm_cell", "gru", "gru_cell", "rnn_tanh", "rnn_relu",
                 "rnn_tanh_cell", "rnn_relu_cell"]  # fmt: skip
REFERENCE_CLASSES = [ref_nn.recurrent.RNNBase, ref_nn.cells._CellBase, ref_nn.Seq2Seq]
TAG = " [delegated]"  # marks the RuntimeError raised by a swapped-out reference function


class Delegated(RuntimeError):
    """The student's function called a ready-made implementation."""


def _blocked(what: str):
    def blocked(*args, **kwargs):
        raise Delegated(
            f"this exercise is to write it yourself, but your function called {what}. "
            "Use only tensor/array operations (matrix products, sigmoid, tanh, ...)."
        )

    return blocked


def _reference_functions():
    """lstm_ref's model functions, by qualified name."""
    for module in (ref_functional, ref_numpy, ref_recurrent):
        for name in getattr(module, "__all__", dir(module)):
            value = getattr(module, name)
            defined_here = str(getattr(value, "__module__", "")).startswith("lstm_ref.")
            if isinstance(value, types.FunctionType) and defined_here and not name.startswith("_"):
                yield f"{module.__name__}.{name}", value


@contextlib.contextmanager
def forbid_delegation():
    """Inside the block, ready-made recurrent layers raise :class:`Delegated`."""
    undo = []
    try:
        for cls in TORCH_MODULES + REFERENCE_CLASSES:
            undo.append((cls, "forward", cls.__dict__.get("forward")))
            cls.forward = _blocked(f"{cls.__module__}.{cls.__name__}")
        for name in TORCH_KERNELS:
            for namespace in (torch, torch._VF):
                undo.append((namespace, name, getattr(namespace, name)))
                setattr(namespace, name, _blocked(f"torch.{name}"))
        for qualname, function in _reference_functions():
            undo.append((function, "__code__", function.__code__))
            function.__code__ = _raiser_code(function, qualname)
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


def _raiser_code(function, qualname: str) -> types.CodeType:
    """Code that raises when run in place of ``function``'s (same free variables: none).

    Swapping the code object, not the module attribute, also catches a student who
    imported the function by name before the check ran.
    """
    message = (
        f"this exercise is to write it yourself, but your function called {qualname}. "
        "Use only tensor/array operations."
    )
    namespace: dict = {}
    exec(  # noqa: S102 - a fixed template, only the message varies
        f"def raiser(*args, **kwargs):\n    raise RuntimeError({message + TAG!r})",
        namespace,
    )
    return namespace["raiser"].__code__
