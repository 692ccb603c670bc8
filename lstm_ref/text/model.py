"""A character-level language model: embedding, LSTM, linear read-out.

At every step the model reads one character and scores every possible next one:

    e_t = E[x_t]                        embedding of the symbol, (N, D)
    h_t, c_t = LSTM(e_t, (h_{t-1}, c_{t-1}))
    z_t = W h_t + b                     logits over the V symbols, (N, V)
    p(x_{t+1} = v | x_≤t) = softmax(z_t)_v

The layer is ``torch.nn.LSTM``, whose fused kernels train fastest on a CPU;
:class:`lstm_ref.nn.LSTM` is its tested twin (same parameters, same outputs), so
``model.lstm`` can be swapped for it and loaded with the same state dict.

Symbols: L sequence length, N batch, V vocabulary size, D ``embedding_dim``,
H ``hidden_size``. Sequence-first, as everywhere in the course.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

State = tuple[Tensor, Tensor]
"""(h, c), each (num_layers, N, H)."""


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear, over a vocabulary of `vocab_size` symbols.

    forward(inputs (L, N) int64, state=None) -> (logits (L, N, V), (h, c)), with h and
    c of shape (num_layers, N, H); state None means zeros.

    Example:
        >>> model = CharLSTM(vocab_size=10, embedding_dim=4, hidden_size=8)
        >>> logits, (h, c) = model(torch.zeros(5, 3, dtype=torch.long))
        >>> tuple(logits.shape), tuple(h.shape), tuple(c.shape)
        ((5, 3, 10), (1, 3, 8), (1, 3, 8))
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, inputs: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if inputs.dim() != 2:
            raise ValueError(f"expected inputs of shape (L, N), got {tuple(inputs.shape)}")
        output, state = self.lstm(self.embedding(inputs), state)  # (L, N, H)
        return self.out(output), state  # (L, N, V)


def detach_state(state: State) -> State:
    """The same (h, c) values, cut from the graph that computed them."""
    return tuple(s.detach() for s in state)


@torch.no_grad()
def lstm_states(model: CharLSTM, ids: Tensor) -> State:
    """The last layer's h_t and c_t after every symbol of a 1-D stream, from zeros.

    ``torch.nn.LSTM`` returns h_t for every step but c_t only for the last, so the
    layers are stepped here from their own weights, in PyTorch's gate order (i, f, g, o):

        i, f, g, o = σ, σ, tanh, σ of  W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        c_t = f ⊙ c_{t-1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)

    Returns:
        (h, c), each (T, H): row t is the state after reading ``ids[t]``.
    """
    if ids.dim() != 1:
        raise ValueError(f"expected ids of shape (T,), got {tuple(ids.shape)}")
    lstm = model.lstm
    x = model.embedding(ids)  # (T, D), the first layer's input
    for layer in range(lstm.num_layers):
        W_ih, W_hh, b_ih, b_hh = (
            getattr(lstm, f"{name}_l{layer}")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        )
        x_proj = x @ W_ih.T + b_ih + b_hh  # (T, 4H), every step at once
        h = c = x_proj.new_zeros(lstm.hidden_size)
        hs, cs = [], []
        for x_t in x_proj:
            i, f, g, o = (x_t + W_hh @ h).chunk(4)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # c_t
            h = torch.sigmoid(o) * torch.tanh(c)  # h_t
            hs.append(h)
            cs.append(c)
        x = torch.stack(hs)  # (T, H), the next layer's input
    return x, torch.stack(cs)
