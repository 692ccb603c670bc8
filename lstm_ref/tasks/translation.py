"""Toy translation: map a digit string to its reverse (or its sorted digits).

The smallest sequence-to-sequence task with the shape of real translation: a
variable-length source, a target fed to the decoder with teacher forcing
(BOS + target) and the sequence the decoder must emit (target + EOS):

    src      3 1 4 PAD          (digits as token ids; PAD after the end)
    tgt_in   BOS 4 1 3 PAD      reverse of src, shifted right by BOS
    tgt_out  4 1 3 EOS PAD      reverse of src, then EOS

Token ids: PAD_ID = 0, BOS_ID = 1, EOS_ID = 2, digit k → DIGIT_OFFSET + k.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import Tensor

from lstm_ref.tasks._common import Device, cpu_generator, require_at_least

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
DIGIT_OFFSET = 3
"""Token id of the digit 0; digit k is DIGIT_OFFSET + k."""
VOCAB_SIZE = DIGIT_OFFSET + 10
ORDERS = ("reverse", "sort")


class TranslationBatch(NamedTuple):
    """One batch of toy translation, time-major and padded with PAD_ID to max_len."""

    src: Tensor  # (S, N) int64, S = max_len
    tgt_in: Tensor  # (S + 1, N) int64: BOS, target, PAD…
    tgt_out: Tensor  # (S + 1, N) int64: target, EOS, PAD…
    lengths: Tensor  # (N,) int64 on the CPU: digits per source (= per target)


def toy_translation(
    *,
    batch_size: int,
    seed: int,
    min_len: int = 1,
    max_len: int = 8,
    order: str = "reverse",
    device: Device = None,
) -> TranslationBatch:
    """Draw a batch of digit strings with lengths uniform in [min_len, max_len].

    Args:
        batch_size: N, the number of sentence pairs.
        seed: the same seed gives the same batch, on any device.
        min_len, max_len: inclusive range of the source lengths.
        order: "reverse" (target = source reversed) or "sort" (digits ascending).
        device: where src, tgt_in and tgt_out go (None: the CPU). `lengths` stays
            on the CPU, where ``nn.utils.rnn.pack_padded_sequence`` wants it.

    Shapes:
        src: (max_len, N).  tgt_in, tgt_out: (max_len + 1, N).  lengths: (N,).
    """
    require_at_least("batch_size", batch_size, 1)
    require_at_least("min_len", min_len, 1)
    require_at_least("max_len", max_len, min_len)
    if order not in ORDERS:
        raise ValueError(f"expected order in {ORDERS}, got {order!r}")
    generator = cpu_generator(seed)
    S, N = max_len, batch_size
    lengths = torch.randint(min_len, max_len + 1, (N,), generator=generator)  # (N,)
    digits = torch.randint(0, 10, (S, N), generator=generator)  # (S, N)
    position = torch.arange(S).unsqueeze(1)  # (S, 1)
    valid = position < lengths  # (S, N): True on the digits, False on padding
    if order == "reverse":
        source_index = (lengths - 1 - position).clamp(min=0)  # target[s] = src[len-1-s]
        target = digits.gather(0, source_index)
    else:
        target = digits.masked_fill(~valid, 10).sort(dim=0).values  # padding sorts last
    src = torch.where(valid, DIGIT_OFFSET + digits, PAD_ID)
    target = torch.where(valid, DIGIT_OFFSET + target, PAD_ID)
    pad_row = torch.full((1, N), PAD_ID)
    tgt_in = torch.cat([torch.full((1, N), BOS_ID), target])  # (S + 1, N)
    tgt_out = torch.cat([target, pad_row])  # (S + 1, N)
    tgt_out[lengths, torch.arange(N)] = EOS_ID  # EOS right after the last digit
    return TranslationBatch(src.to(device), tgt_in.to(device), tgt_out.to(device), lengths)


def decode_digits(token_ids: Iterable[int] | Tensor) -> str:
    """Turn token ids into a digit string, stopping at EOS and skipping PAD and BOS.

    Example:
        >>> decode_digits([BOS_ID, DIGIT_OFFSET + 4, DIGIT_OFFSET + 2, EOS_ID, PAD_ID])
        '42'
    """
    digits = []
    for token in token_ids:
        token = int(token)
        if token == EOS_ID:
            break
        if token >= DIGIT_OFFSET:
            digits.append(str(token - DIGIT_OFFSET))
    return "".join(digits)
