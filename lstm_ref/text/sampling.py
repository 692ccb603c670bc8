"""Drawing the next symbol from a model's logits: greedy, temperature and top-k.

With logits z over V symbols and a temperature τ > 0,

    p_i = exp(z_i / τ) / Σ_j exp(z_j / τ)       τ < 1 sharpens p, τ > 1 flattens it

and τ = 0 is the limit, greedy decoding: always the most likely symbol (argmax).
Top-k keeps only the k largest logits (the others get probability 0) and renormalises
before drawing, which cuts off the long tail of unlikely symbols.

Sources: text drawn one character at a time from a recurrent model's predictions, as
in Sutskever, Martens & Hinton (2011), "Generating text with recurrent neural networks",
and Graves (2013), "Generating sequences with recurrent neural networks"; top-k sampling
as in Fan, Lewis & Dauphin (2018), "Hierarchical neural story generation".
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .vocab import CharVocab


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one symbol per row of `logits`.

    The logits are divided by `temperature` *before* the softmax; with `top_k`, all but
    the k largest (ties broken as ``torch.topk`` breaks them) are set to -inf, so the
    softmax renormalises over those k. The draw is ``torch.multinomial(p, 1,
    generator=generator)``.

    Args:
        logits: (N, V) unnormalised scores, one row per sequence.
        temperature: τ >= 0; 0 means greedy (argmax, no draw).
        top_k: keep the k most likely symbols; None keeps all V. k > V keeps all V.
        generator: the random source, for reproducible samples.

    Returns:
        (N,) int64 tensor of symbol ids.

    Raises:
        ValueError: if `logits` is not 2-D, ``temperature < 0`` or ``top_k < 1``.

    Example:
        >>> logits = torch.tensor([[0.0, 2.0, 1.0]])
        >>> sample_next(logits, temperature=0)
        tensor([1])
        >>> g = torch.Generator().manual_seed(0)
        >>> sample_next(logits, top_k=1, generator=g)
        tensor([1])
    """
    if logits.dim() != 2:
        raise ValueError(f"expected logits of shape (N, V), got {tuple(logits.shape)}")
    if temperature < 0:
        raise ValueError(f"expected temperature >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"expected top_k >= 1 or None, got {top_k}")
    if temperature == 0:
        return logits.argmax(dim=-1)  # (N,) greedy
    scaled = logits / temperature  # z / τ, before the softmax
    if top_k is not None and top_k < logits.shape[-1]:
        kept, where = scaled.topk(top_k, dim=-1)  # (N, k)
        scaled = torch.full_like(scaled, float("-inf")).scatter(-1, where, kept)
    probs = torch.softmax(scaled, dim=-1)  # (N, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (N,)


@torch.no_grad()
def generate(
    model: nn.Module,
    vocab: CharVocab,
    prompt: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    num_samples: int = 1,
) -> list[str]:
    """Continue `prompt` by `length` symbols drawn one at a time, `num_samples` times.

    The model reads the prompt, then each drawn symbol is fed back as the next input,
    the state carried along; the samples are drawn side by side as a batch.
    ``model(inputs (L, N), state) -> (logits (L, N, V), state)``, as
    :class:`lstm_ref.text.CharLSTM`.

    Returns:
        `num_samples` strings of `length` new characters each (the prompt left out).

    Raises:
        ValueError: if `prompt` is empty; KeyError (from ``vocab.encode``) if it has a
        character outside the vocabulary.
    """
    if not prompt:
        raise ValueError("expected a prompt of at least one character")
    model.eval()
    inputs = vocab.encode(prompt)[:, None].repeat(1, num_samples)  # (P, S)
    state, drawn = None, []
    for _ in range(length):
        logits, state = model(inputs, state)  # (L, S, V)
        symbols = sample_next(logits[-1], temperature, top_k, generator)  # (S,)
        drawn.append(symbols)
        inputs = symbols[None]  # (1, S)
    ids = torch.stack(drawn, dim=1) if drawn else torch.empty(num_samples, 0, dtype=torch.long)
    return [vocab.decode(row) for row in ids]  # ids: (S, length)
