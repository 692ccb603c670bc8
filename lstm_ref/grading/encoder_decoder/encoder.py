"""Exercise 5.1: the encoder, a class.

    Encoder(vocab_size, embed_size, hidden_size, num_layers)
        .forward(src, src_lengths=None) -> outputs (S, N, H), (h_n, c_n), mask (S, N)

Embedding + LSTM from (0, 0); with ``src_lengths`` the embedded batch is packed, so each
string's final state is taken at its own last token, and the outputs are unpacked to
(S, N, H), 0 past each string's end. The class is built with lstm_ref.nn.Encoder's
weights (layers named embed and lstm), and gradients must reach its parameters.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstm_ref.nn import Encoder as RefEncoder
from lstm_ref.tasks import PAD_ID, VOCAB_SIZE, toy_translation

from ..core import Check, Mistake
from ..exercise import Part
from ..torch_cases import TorchExercise, seeded, torch_cases
from ._common import (
    SEQ2SEQ_CLASSES,
    forbid,
    instance,
    parameters,
    require_class,
    run_with,
    unpack,
)

ARGS = ("encoder", "parameters", "src", "src_lengths")
NAMES = ("name the layers self.embed = nn.Embedding(vocab_size, embed_size) and "
         "self.lstm = nn.LSTM(embed_size, hidden_size, num_layers).")  # fmt: skip

# (label, N, embed size E, hidden size H, layers, max_len, lengths): "given" passes each
# string's length, "shorter" also adds a PAD row so every string ends before S, and
# "none" passes no lengths and no padding.
SHAPES = [("padded batch", 4, 4, 5, 1, 6, "given"), ("batch 1", 1, 3, 4, 1, 5, "shorter"),
          ("two layers", 3, 4, 5, 2, 6, "given"), ("no lengths", 2, 3, 4, 1, 4, "none"),
          ("every string shorter than src", 3, 5, 3, 1, 5, "shorter")]  # fmt: skip
HIDDEN = [("padded batch", 5, 6, 7, 1, 7, "given"), ("all sizes 1", 1, 1, 1, 1, 3, "given"),
          ("three layers", 2, 3, 4, 3, 5, "shorter"), ("no lengths", 3, 2, 6, 2, 5, "none"),
          ("every string shorter than src", 4, 4, 4, 1, 6, "shorter")]  # fmt: skip


def make_args(seed, N, E, H, layers, max_len, lengths, *, dtype, device):
    encoder = seeded(seed, lambda: RefEncoder(VOCAB_SIZE, E, H, layers))
    encoder = encoder.to(device=device, dtype=dtype)
    min_len = max_len if lengths == "none" else 1
    batch = toy_translation(batch_size=N, seed=seed, min_len=min_len, max_len=max_len)
    src = batch.src  # (max_len, N)
    if lengths == "shorter":
        src = torch.cat([src, torch.full((1, N), PAD_ID)])  # (S + 1, N)
    src_lengths = None if lengths == "none" else batch.lengths
    return encoder, parameters(encoder), src.to(device), src_lengths


def _sizes(N, E, H, layers, max_len, lengths):
    return f"N={N}, E={E}, H={H}, {layers} layer{'s' * (layers > 1)}, lengths {lengths}"


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden, _sizes)


def reference(encoder, params, src, src_lengths):
    outputs, (h_n, c_n), mask = run_with(encoder, encoder, params, src, src_lengths)
    return outputs, h_n, c_n, mask


def runner(Encoder):
    """The student's class on a case: built with the case's weights, run with them."""
    require_class(Encoder, "Encoder")

    def run(encoder, params, src, src_lengths):
        with forbid(methods=SEQ2SEQ_CLASSES):
            mine = instance(Encoder, encoder, "Encoder", NAMES)
            result = run_with(mine, encoder, params, src, src_lengths)
        outputs, (h_n, c_n), mask = unpack(result, "Encoder.forward",
                                           "(outputs, (h_n, c_n), mask)")  # fmt: skip
        return outputs, h_n, c_n, mask

    return run


def encode(encoder, src, src_lengths=None, *, pack=True, full_length=True, mask_real=True):
    """The encoder written out from its layers (embed, lstm); the keywords make the mistakes.

    Returns outputs (S, N, H), h_n, c_n (layers, N, H) and the mask (S, N).
    """
    embedded = encoder.embed(src)  # (S, N, E)
    if src_lengths is None or not pack:
        outputs, (h_n, c_n) = encoder.lstm(embedded)
    else:
        packed = pack_padded_sequence(embedded, src_lengths.cpu(), enforce_sorted=False)
        outputs, (h_n, c_n) = encoder.lstm(packed)
        total = src.shape[0] if full_length else None
        outputs = pad_packed_sequence(outputs, total_length=total)[0]
    mask = src != PAD_ID if mask_real else src == PAD_ID
    return outputs, h_n, c_n, mask


def batch_first(encoder, params, src, src_lengths):
    """The outputs (N, S, H), as an LSTM built with batch_first=True returns them."""
    outputs, h_n, c_n, mask = encode(encoder, src, src_lengths)
    return outputs.transpose(0, 1), h_n, c_n, mask


ENCODER = Check(
    name="Encoder",
    reference=reference,
    output_names=["outputs", "h_n", "c_n", "mask"],
    forbid=False,  # nn.Embedding and nn.LSTM are the exercise's building blocks
    wrt=(1,),
    arg_names=ARGS,
    shape_hint="src is time-major, (S, N); the embedding makes it (S, N, E), which "
               "nn.LSTM reads as (L, N, input_size).",
    mistakes=[
        Mistake("the final state is taken after the padding, not at each string's end",
                "pack the embedded batch with pack_padded_sequence(emb, src_lengths, "
                "enforce_sorted=False) before the LSTM, then unpack its outputs.",
                lambda enc, _, src, lengths: encode(enc, src, lengths, pack=False)),
        Mistake("the mask marks the padding instead of the real tokens",
                "mask is True at real tokens: src != PAD_ID.",
                lambda enc, _, src, lengths: encode(enc, src, lengths, mask_real=False)),
        Mistake("the outputs stop at the longest string instead of covering all of src",
                "pad_packed_sequence(..., total_length=src.shape[0]) keeps the outputs (S, N, H).",
                lambda enc, _, src, lengths: encode(enc, src, lengths, full_length=False)),
        Mistake("outputs is batch-first, (N, S, H); the exercise is time-major, (S, N, H)",
                "nn.LSTM and pack_padded_sequence are time-major by default: feed them "
                "(S, N, E), without batch_first=True.", batch_first),
    ],
)  # fmt: skip

check_encoder = TorchExercise(
    "Encoder", [Part(ENCODER, cases, runner)],
    doc="Check the class ``Encoder``: outputs, (h_n, c_n), mask, and the gradients.")
