"""Dropout on the recurrent connection of an LSTM: four published ways, and none.

Symbols: L sequence length, N batch, I input size, H hidden size, p the rate. A dropout
mask m holds 0 with probability p and 1/(1-p) otherwise ("inverted" dropout: E[m] = 1,
so evaluation needs no rescaling and simply leaves the masks out).

============== ===================================== =====================================
method         what is masked                        when a mask is drawn
============== ===================================== =====================================
"none"         nothing                               -
"naive"        x_t and h_{t-1}, zeroed               afresh at every step
"variational"  x_t and h_{t-1}, zeroed               once per sequence, reused at every
                                                     step (Gal & Ghahramani 2016)
"weight_drop"  entries of W_hh, zeroed               once per forward call, shared by the
                                                     batch (Merity et al. 2018, DropConnect
                                                     of Wan et al. 2013)
"zoneout"      c_t and h_t keep their previous value afresh at every step
                                                     (Krueger et al. 2017)
============== ===================================== =====================================

"naive" and "variational" mask the same two things and differ only in when the mask is
drawn, so comparing them isolates that choice. Gal & Ghahramani also mask the outputs;
a model can do that after the layer, which masks nothing outside the recurrence.

In evaluation mode every method is the plain LSTM except zoneout, which uses its
expectation: each unit keeps a share p of its previous value,
c_t = p c_{t-1} + (1 - p) c̃_t, as Krueger et al. evaluate it.

Sources: Gal & Ghahramani, "A theoretically grounded application of dropout in recurrent
neural networks", NeurIPS 2016; Merity, Keskar & Socher, "Regularizing and optimizing
LSTM language models", ICLR 2018; Wan et al., "Regularization of neural networks using
DropConnect", ICML 2013; Krueger et al., "Zoneout: regularizing RNNs by randomly
preserving hidden activations", ICLR 2017.

The step is :func:`lstm_ref.nn.functional.lstm_step`; parameters have torch.nn.LSTM's
names and shapes, so ``layer.load_state_dict(torch.nn.LSTM(I, H).state_dict())`` works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_shape, check_tensor
from .functional import lstm_step

METHODS = ("none", "naive", "variational", "weight_drop", "zoneout")


@dataclass
class Masks:
    """The masks of one forward pass; None where the method masks nothing there.

    x (L, N, I) and h (L, N, H): dropout masks of x_t and h_{t-1}, row t used at step t
    (for "variational" every row is the same tensor). W_hh (4H, H): the DropConnect mask.
    keep_c and keep_h (L, N, H): zoneout's d_t, 1 where a unit keeps its previous value
    (in evaluation, the constant p).
    """

    x: Tensor | None = None
    h: Tensor | None = None
    W_hh: Tensor | None = None
    keep_c: Tensor | None = None
    keep_h: Tensor | None = None


def dropout_mask(shape: tuple[int, ...], p: float, like: Tensor) -> Tensor:
    """Entries 0 with probability p, else 1/(1-p), with `like`'s dtype and device."""
    keep = torch.full(shape, 1.0 - p, dtype=like.dtype, device=like.device)
    return torch.bernoulli(keep) / (1.0 - p)  # E[m] = 1


class RecurrentDropoutLSTM(nn.Module):
    """A one-layer LSTM whose recurrent connection is regularised by `method`.

    Args:
        input_size: I. hidden_size: H.
        method: one of :data:`METHODS` (see the module docstring).
        p: the rate: the probability that an entry is dropped, or for zoneout that a
            unit keeps its previous value. 0 <= p < 1 (zoneout allows p = 1).

    Shapes: input (L, N, I); hx = (h_0, c_0), each (1, N, H), zeros when omitted;
    returns output (L, N, H) and (h_n, c_n), each (1, N, H), as torch.nn.LSTM.

    Raises:
        ValueError: for an unknown method, a rate outside its range, or wrong shapes.

    Example:
        >>> layer = RecurrentDropoutLSTM(3, 5, method="variational", p=0.25)
        >>> output, (h_n, c_n) = layer(torch.randn(7, 2, 3))
        >>> tuple(output.shape), tuple(h_n.shape)
        ((7, 2, 5), (1, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, method: str = "none",
                 p: float = 0.0, device=None, dtype=None):  # fmt: skip
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"expected method in {METHODS}, got {method!r}")
        if not (0.0 <= p < 1.0 or (p == 1.0 and method == "zoneout")):
            raise ValueError(f"expected 0 <= p < 1 (p <= 1 for zoneout), got {p}")
        self.input_size, self.hidden_size, self.method, self.p = input_size, hidden_size, method, p
        H, kw = hidden_size, dict(device=device, dtype=dtype)
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, input_size, **kw))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H, **kw))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H, **kw))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H, **kw))
        bound = 1.0 / math.sqrt(H)  # torch's initialisation, U(-1/√H, 1/√H)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def draw_masks(self, L: int, N: int, like: Tensor) -> Masks:
        """Fresh training masks for a batch of N sequences of L steps."""
        I, H, p = self.input_size, self.hidden_size, self.p
        if self.method == "naive":  # a new mask at every step t
            return Masks(x=dropout_mask((L, N, I), p, like), h=dropout_mask((L, N, H), p, like))
        if self.method == "variational":  # one mask per sequence, the same at every step
            x_mask, h_mask = dropout_mask((N, I), p, like), dropout_mask((N, H), p, like)
            return Masks(x=x_mask.expand(L, N, I), h=h_mask.expand(L, N, H))
        if self.method == "weight_drop":  # one mask of W_hh for the whole batch
            return Masks(W_hh=dropout_mask(tuple(self.weight_hh_l0.shape), p, like))
        if self.method == "zoneout":  # d_t ~ Bernoulli(p), 1 = keep the previous value
            keep = torch.full((2, L, N, H), p, dtype=like.dtype, device=like.device)
            keep_c, keep_h = torch.bernoulli(keep)
            return Masks(keep_c=keep_c, keep_h=keep_h)
        return Masks()

    def eval_masks(self, L: int, N: int, like: Tensor) -> Masks:
        """Evaluation: no masks, except zoneout's expectation d_t = p."""
        if self.method != "zoneout":
            return Masks()
        keep = like.new_full((1, 1, 1), self.p).expand(L, N, self.hidden_size)
        return Masks(keep_c=keep, keep_h=keep)

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None,
                masks: Masks | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:  # fmt: skip
        """Run the sequence; `masks` replaces the random draw in training mode (tests)."""
        like = self.weight_hh_l0
        check_tensor(x, "input", (3,), like)
        L, N, _ = x.shape
        check_shape(x, "input", (L, N, self.input_size), "(layout (L, N, input_size))")
        if hx is None:
            hx = (x.new_zeros(1, N, self.hidden_size), x.new_zeros(1, N, self.hidden_size))
        for name, s in zip(("h_0", "c_0"), hx):
            check_shape(s, name, (1, N, self.hidden_size))
        if not self.training:
            masks = self.eval_masks(L, N, x)
        elif masks is None:
            masks = self.draw_masks(L, N, x)
        h, c = hx[0][0], hx[1][0]  # (N, H) each
        W_hh = self.weight_hh_l0
        if masks.W_hh is not None:
            W_hh = masks.W_hh * W_hh  # W̃_hh = M ⊙ W_hh, the same matrix at every step
        if masks.x is not None:
            x = masks.x * x  # x̃_t = m^x_t ⊙ x_t
        x_proj = F.linear(x, self.weight_ih_l0, self.bias_ih_l0)  # (L, N, 4H)
        outputs = []
        for t in range(L):
            h_in = h if masks.h is None else masks.h[t] * h  # h̃_{t-1} = m^h_t ⊙ h_{t-1}
            h_new, c_new = lstm_step(x_proj[t], (h_in, c), W_hh, self.bias_hh_l0)
            if masks.keep_c is not None:  # zoneout
                d_c, d_h = masks.keep_c[t], masks.keep_h[t]
                c = d_c * c + (1 - d_c) * c_new  # c_t = d^c_t ⊙ c_{t-1} + (1 - d^c_t) ⊙ c̃_t
                h = d_h * h + (1 - d_h) * h_new  # h_t = d^h_t ⊙ h_{t-1} + (1 - d^h_t) ⊙ h̃_t
            else:
                h, c = h_new, c_new
            outputs.append(h)
        return torch.stack(outputs), (h[None], c[None])  # (L, N, H), ((1, N, H), (1, N, H))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, method={self.method!r}, p={self.p}"
