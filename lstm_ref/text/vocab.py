"""A character vocabulary: each distinct character of a text gets an integer id.

Ids follow the sorted order of the characters (by code point), so the same text always
gives the same vocabulary.

Example:
    >>> vocab = CharVocab("hello")
    >>> vocab.chars
    'ehlo'
    >>> vocab.encode("hole")
    tensor([1, 3, 2, 0])
    >>> vocab.decode([1, 3, 2, 0])
    'hole'
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


class CharVocab:
    """The sorted distinct characters of `text`; ``len(vocab)`` is V.

    Attributes:
        chars: str, the characters in id order.
        index: dict, character -> id.
    """

    def __init__(self, text: str):
        if not text:
            raise ValueError("expected a non-empty text to build the vocabulary from")
        self.chars = "".join(sorted(set(text)))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters)"

    def encode(self, text: str) -> Tensor:
        """(len(text),) int64 ids. KeyError names a character outside the vocabulary."""
        try:
            return torch.tensor([self.index[ch] for ch in text], dtype=torch.long)
        except KeyError as error:
            raise KeyError(f"character {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Tensor | Iterable[int]) -> str:
        """The characters of a 1-D tensor or sequence of ids."""
        if isinstance(ids, Tensor):
            ids = ids.reshape(-1).tolist()
        return "".join(self.chars[i] for i in ids)
