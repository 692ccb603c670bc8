"""Attention over encoder outputs: dot-product (Luong et al. 2015) and additive (Bahdanau
et al. 2015). Luong's "general" score s_tᵀ W_a h_j is not implemented here; the scaled
dot product (Vaswani et al. 2017) is ``DotAttention(scaled=True)``. Both map a decoder
state to a context vector, a weighted mean of the encoder outputs, with weights
α_{t,j} = softmax_j(score(s_t, h_j)).

Shapes: queries s (T, N, H), keys h (S, N, H), mask (S, N) with True at real tokens;
returns context (T, N, H) and weights α (T, N, S).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _attend(scores: Tensor, keys: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """softmax over source positions, then the weighted mean of the keys."""
    if mask is not None:
        scores = scores.masked_fill(~mask.T.unsqueeze(0), float("-inf"))  # hide padding
    weights = torch.softmax(scores, dim=-1)  # α (T, N, S), rows sum to 1
    context = torch.einsum("tns,snh->tnh", weights, keys)  # Σ_j α_{t,j} h_j
    return context, weights


class DotAttention(nn.Module):
    """score(s_t, h_j) = s_t · h_j / √H when ``scaled``, else s_t · h_j (Luong's "dot")."""

    def __init__(self, hidden_size: int, scaled: bool = False) -> None:
        super().__init__()
        self.scale = hidden_size**-0.5 if scaled else 1.0

    def forward(self, queries: Tensor, keys: Tensor, mask: Tensor | None = None):
        scores = torch.einsum("tnh,snh->tns", queries, keys) * self.scale  # (T, N, S)
        return _attend(scores, keys, mask)


class AdditiveAttention(nn.Module):
    """score(s_t, h_j) = vᵀ tanh(W_q s_t + W_k h_j + b) (Bahdanau et al. 2015; Luong et
    al. 2015 call it "concat"), with the bias b inside the tanh.

    The scores take a matrix-vector product with v, whose backward is an outer product,
    not ``self.v``'s GEMM of inner size 1; k is made contiguous so that the broadcast sum
    over (T, N, S, A) reads both terms along A. Together they take 11-15 % off a training
    step of chapter 6's attention model under glibc's default allocator, 4-7 % in the
    pool's workers (benchmarks/README.md); the results are the same to the bit.
    """

    def __init__(self, hidden_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or hidden_size
        self.W_q = nn.Linear(hidden_size, attention_size, bias=False)
        self.W_k = nn.Linear(hidden_size, attention_size, bias=True)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def forward(self, queries: Tensor, keys: Tensor, mask: Tensor | None = None):
        q = self.W_q(queries).unsqueeze(2)  # (T, N, 1, A)
        k = self.W_k(keys).transpose(0, 1).contiguous().unsqueeze(0)  # (1, N, S, A)
        scores = torch.tanh(q + k) @ self.v.weight[0]  # vᵀ tanh(·), (T, N, S)
        return _attend(scores, keys, mask)
