"""Exercise 5.1: a stream of symbol ids laid out for truncated BPTT.

    batchify(ids, batch_size) -> data
    ids (T,) int64, batch_size N with 1 <= N <= T; data (T // N, N) int64

Column n is the n-th contiguous stretch of S = T // N ids, ``ids[n·S : (n+1)·S]``; the
last T - S·N ids are dropped. Row t + 1 continues row t in every column, so the state a
window leaves is the right state to start the next window from.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from lstm_ref import text

from ..cases import devices
from ..core import Case, Check, Mistake
from ..exercise import Part
from ._common import TextExercise, forbid_text

VOCAB = 60  # ids are drawn from 0 … VOCAB - 1
# (label, T, N): T % N != 0 (a tail to drop) except where the label says otherwise
SHAPES = [("typical", 26, 4), ("batch 1", 7, 1), ("T a multiple of N", 24, 6),
          ("two rows", 11, 4)]  # fmt: skip
HIDDEN = [("other sizes", 37, 5), ("batch 1", 12, 1), ("T a multiple of N", 30, 3),
          ("one row", 6, 6), ("many streams", 50, 9)]  # fmt: skip


def cases(hidden: bool) -> list[Case]:
    """One case per size × device; the ids are int64 (no floating dtype to vary)."""
    result = []
    for k, (label, T, N) in enumerate(HIDDEN if hidden else SHAPES):
        generator = torch.Generator().manual_seed(k + (1000 if hidden else 0))
        ids = torch.randint(0, VOCAB, (T,), generator=generator)  # (T,) int64
        for device in devices("torch"):
            name = f"{label} (T={T}, N={N}), int64, {device}"
            result.append(Case(name, (ids.to(device), N), np.dtype("int64"), device))
    return result


def reference(ids, batch_size):
    return text.batchify(ids, batch_size)  # (T // N, N)


def runner(batchify):
    def run(ids, batch_size):
        with forbid_text(text.batchify, text.tbptt_batches):
            return batchify(ids, batch_size)

    return run


def streams(ids, batch_size, *, rows: int | None = None, keep="head", transpose=True):
    """batchify written out; the keywords make the mistakes.

    rows: S, the ids per stream (T // N when None); keep: "head" keeps the first S·N
    ids, "tail" the last S·N, "padded" pads the stream with zeros to S·N.
    """
    T, N = ids.shape[0], batch_size
    S = T // N if rows is None else rows
    if keep == "padded":
        kept = F.pad(ids, (0, S * N - T))  # zeros after the stream
    else:
        kept = ids[: S * N] if keep == "head" else ids[T - S * N :]
    return kept.view(N, S).t() if transpose else kept.view(N, S)


def interleaved(ids, batch_size):
    """Consecutive ids dealt out to consecutive streams: reshape(S, N) without a transpose."""
    S = ids.shape[0] // batch_size
    return ids[: S * batch_size].view(S, batch_size)


def padded(ids, batch_size):
    """The tail kept: the stream padded with zeros to a whole number of rows."""
    return streams(ids, batch_size, rows=math.ceil(ids.shape[0] / batch_size), keep="padded")


def held_back(ids, batch_size):
    """One id kept back for a target: (T - 1) // N rows."""
    return streams(ids, batch_size, rows=(ids.shape[0] - 1) // batch_size)


BATCHIFY = Check(
    name="batchify",
    reference=reference,
    output_names=["data"],
    forbid=False,  # the guard in runner() blocks lstm_ref.text; torch is the tool here
    arg_names=("ids", "batch_size"),
    shape_hint="T need not be a multiple of batch_size: keep only the first S·N ids, "
               "S = T // N, before reshaping; the result is (S, N), one stream per column.",
    mistakes=[
        Mistake("the streams are the rows, (N, T // N): each stream must be a column",
                "reshape to (N, S) makes row n the n-th stretch; transpose it to (S, N) "
                "(.t() or .T) so that it becomes column n.",
                lambda ids, N: streams(ids, N, transpose=False)),
        Mistake("the ids are interleaved: column n holds ids[n], ids[n + N], ids[n + 2N], "
                "… instead of a contiguous stretch",
                "reshape(S, N) fills row by row; column n must be ids[n·S:(n+1)·S]: "
                "reshape to (N, S), then transpose.", interleaved),
        Mistake("the tail is kept: the ids that do not fill a whole row are padded, not "
                "dropped", "use S = T // N rows (rounded down) and drop the last T - S·N "
                "ids.", padded),
        Mistake("the first T - S·N ids are dropped instead of the last",
                "keep the start of the stream, ids[:S·N]; the tail is what does not fit.",
                lambda ids, N: streams(ids, N, keep="tail")),
        Mistake("one id is held back for the targets: (T - 1) // N rows instead of T // N",
                "batchify lays out the whole stream; the targets come later, from the "
                "row below each input.", held_back),
    ],
)  # fmt: skip

check_batchify = TextExercise(
    "batchify",
    [Part(BATCHIFY, cases, runner)],
    ids=["data"],
    doc="Check ``batchify(ids, batch_size) -> data (T // N, N)``, int64.",
)
