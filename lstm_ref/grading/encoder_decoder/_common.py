"""What chapter 6's checks share: seeded torch cases in two dtypes on every device, the
student's class made with lstm_ref's weights, its parameters passed as one argument (so
the gradients can reach them), and the guard against delegating to lstm_ref.

A class is checked through :func:`torch.func.functional_call`: the case holds lstm_ref's
module and its parameters as a tuple of tensors; the runner builds the student's class,
and both it and the reference run the module with those tensors in place of its own.
``Check.wrt`` then asks for ∂L/∂parameters, so a ``.detach()`` or a ``torch.no_grad()``
in ``forward`` is caught and named "the gradient is cut".

The row of PAD in the embedding is left out of the parameters: with ``padding_idx`` its
gradient is 0, without it the row is trained, and the outputs are the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call

from lstm_ref.nn import Decoder as RefDecoder
from lstm_ref.nn import Encoder as RefEncoder
from lstm_ref.nn import Seq2Seq
from lstm_ref.tasks import PAD_ID, VOCAB_SIZE

from .. import guard
from ..core import GradingError
from ..values import describe

BUILD_IT = "Build it from nn.Embedding, nn.LSTM and nn.Linear."
SEQ2SEQ_CLASSES = [(RefEncoder, "forward"), (RefDecoder, "forward"), (Seq2Seq, "forward"),
                   (Seq2Seq, "greedy_decode")]  # fmt: skip


def forbid(methods=(), functions=(), attributes=(), hint: str = BUILD_IT):
    """:func:`lstm_ref.grading.guard.forbid` with this chapter's hint."""
    return guard.forbid(methods, attributes, functions, hint)


# ---------------------------------------------------------------- parameters as an argument


def _without_pad(name: str, tensor: Tensor) -> Tensor:
    return torch.cat([tensor[:PAD_ID], tensor[PAD_ID + 1 :]]) if name == "embed.weight" else tensor


def parameters(module: nn.Module) -> tuple[Tensor, ...]:
    """The module's parameters in order, as plain tensors; the embedding without PAD's row."""
    return tuple(_without_pad(name, p.detach().clone()) for name, p in module.named_parameters())


def bind(module: nn.Module, values: Sequence[Tensor]) -> dict[str, Tensor]:
    """name -> tensor for :func:`functional_call`: ``values`` in place of the parameters
    of ``module`` (lstm_ref's), PAD's embedding row taken from the module."""
    named = {}
    for (name, p), value in zip(module.named_parameters(), values):
        if name == "embed.weight":
            pad = p.detach()[PAD_ID : PAD_ID + 1]
            value = torch.cat([value[:PAD_ID], pad, value[PAD_ID:]])
        named[name] = value
    return named


def run_with(module: nn.Module, reference: nn.Module, values: Sequence[Tensor], *args):
    """``module(*args)`` with ``values`` (the parameters of ``reference``) in its place."""
    return functional_call(module, bind(reference, values), args)


# ---------------------------------------------------------------- the student's class


def require_class(cls, what: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise GradingError(f"check the class {what} itself (a subclass of nn.Module), "
                           f"got {describe(cls)}")  # fmt: skip


def instance(cls, reference: nn.Module, what: str, names: str) -> nn.Module:
    """A fresh ``cls(V, E, H, layers)`` with the reference's weights, dtype and device."""
    sizes = (VOCAB_SIZE, reference.embed.embedding_dim, reference.lstm.hidden_size,
             reference.lstm.num_layers)  # fmt: skip
    module = cls(*sizes)
    if not isinstance(module, nn.Module):
        raise GradingError(f"{what}(...) should make an nn.Module, got {describe(module)}")
    weight = reference.embed.weight
    module.to(device=weight.device, dtype=weight.dtype)
    expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    if got != expected:
        wrong = [f"{k} {got.get(k, 'missing')}" for k in expected if got.get(k) != expected[k]]
        wrong += [f"{k} (not expected)" for k in got if k not in expected]
        more = f" and {len(wrong) - 1} more" if len(wrong) > 1 else ""
        raise GradingError(f"{what}{sizes}: the parameters differ from lstm_ref's "
                           f"({wrong[0]}{more}); {names}")  # fmt: skip
    module.load_state_dict(reference.state_dict())
    return module


def unpack(result, what: str, expected: str) -> tuple:
    """(first, (h_n, c_n), third) from a forward's result, or a one-line GradingError."""
    if not isinstance(result, tuple | list) or len(result) != 3:
        raise GradingError(f"{what} should return {expected}, got {describe(result)}")
    first, state, third = result
    if isinstance(state, Tensor):
        raise GradingError(f"{what} returned the state h only ({describe(state)}); an LSTM's "
                           "state is the pair (h_n, c_n): return both, as nn.LSTM does")
    if not isinstance(state, tuple | list) or len(state) != 2:
        raise GradingError(f"{what} should return the state as the pair (h_n, c_n), "
                           f"got {describe(state)}")  # fmt: skip
    return first, tuple(state), third
