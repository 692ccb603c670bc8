"""Exercise 5.2: the decoder, a class.

    Decoder(vocab_size, embed_size, hidden_size, num_layers)
        .forward(tgt_in, state, enc_outputs, src_mask) -> logits (T, N, V), (h_n, c_n), None

Embedding + LSTM from ``state`` + output layer, all T teacher-forced steps in one call;
enc_outputs (S, N, H) and src_mask (S, N) are unused (no attention). The class is built
with lstm_ref.nn.Decoder's weights (embed, lstm, out), and gradients must reach its
parameters and the state it starts from.
"""

from __future__ import annotations

import torch

from lstm_ref.nn import Decoder as RefDecoder
from lstm_ref.tasks import PAD_ID, VOCAB_SIZE, toy_translation

from .. import catalogue
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

ARGS = ("decoder", "parameters", "tgt_in", "state", "enc_outputs", "src_mask")
NAMES = ("name the layers self.embed (nn.Embedding), self.lstm (nn.LSTM with num_layers) "
         "and self.out = nn.Linear(hidden_size, vocab_size).")  # fmt: skip

# (label, N, E, H, layers, max_len): tgt_in is BOS + up to max_len digits + PAD
SHAPES = [("typical", 3, 4, 5, 1, 5), ("batch 1", 1, 3, 4, 1, 4), ("two layers", 2, 4, 5, 2, 5)]
HIDDEN = [("other sizes", 4, 6, 3, 1, 6), ("all sizes 1", 1, 1, 1, 1, 1),
          ("three layers", 3, 3, 4, 3, 4)]  # fmt: skip


def make_args(seed, N, E, H, layers, max_len, *, dtype, device):
    decoder = seeded(seed, lambda: RefDecoder(VOCAB_SIZE, E, H, layers))
    decoder = decoder.to(device=device, dtype=dtype)
    batch = toy_translation(batch_size=N, seed=seed, max_len=max_len)  # src (S, N)
    generator = torch.Generator().manual_seed(seed)
    h_0, c_0 = torch.randn(2, layers, N, H, generator=generator, dtype=torch.float64)
    enc_outputs = torch.randn(max_len, N, H, generator=generator, dtype=torch.float64)
    h_0, c_0, enc_outputs = (t.to(device=device, dtype=dtype) for t in (h_0, c_0, enc_outputs))
    src_mask = (batch.src != PAD_ID).to(device)  # (S, N)
    return (decoder, parameters(decoder), batch.tgt_in.to(device), (h_0, c_0), enc_outputs,
            src_mask)  # fmt: skip


def _sizes(N, E, H, layers, max_len):
    return f"N={N}, E={E}, H={H}, {layers} layer{'s' * (layers > 1)}, T={max_len + 1}"


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden, _sizes)


def reference(decoder, params, tgt_in, state, enc_outputs, src_mask):
    logits, (h_n, c_n), _ = run_with(decoder, decoder, params, tgt_in, state, enc_outputs,
                                     src_mask)  # fmt: skip
    return logits, h_n, c_n


def runner(Decoder):
    """The student's class on a case: built with the case's weights, run with them."""
    require_class(Decoder, "Decoder")

    def run(decoder, params, tgt_in, state, enc_outputs, src_mask):
        with forbid(methods=SEQ2SEQ_CLASSES):
            mine = instance(Decoder, decoder, "Decoder", NAMES)
            result = run_with(mine, decoder, params, tgt_in, state, enc_outputs, src_mask)
        logits, (h_n, c_n), _ = unpack(result, "Decoder.forward", "(logits, (h_n, c_n), None)")
        return logits, h_n, c_n

    return run


def decode(decoder, tgt_in, state, *, start="state", head="logits", same=False):
    """The decoder written out from its layers; the keywords make the mistakes."""
    h_0, c_0 = state
    initial = {"state": state, "zeros": None, "h only": (h_0, torch.zeros_like(c_0))}[start]
    s, (h_n, c_n) = decoder.lstm(decoder.embed(tgt_in), initial)  # s (T, N, H)
    logits = {"logits": lambda: decoder.out(s), "none": lambda: s,
              "softmax": lambda: torch.softmax(decoder.out(s), dim=-1),
              "log_softmax": lambda: torch.log_softmax(decoder.out(s), dim=-1)}[head]()
    return (logits, h_0, c_0) if same else (logits, h_n, c_n)


def _mistake(name: str, hint: str, **flags) -> Mistake:
    return Mistake(name, hint, lambda dec, _, tgt_in, state, *rest: decode(dec, tgt_in, state,
                                                                           **flags))


SOFTMAX = ("the logits go through a softmax",
           "return the raw scores self.out(s); cross_entropy and argmax take logits.")
DECODER = Check(
    name="Decoder",
    reference=reference,
    output_names=["logits", "h_n", "c_n"],
    forbid=False,  # nn.Embedding, nn.LSTM and nn.Linear are the exercise's building blocks
    wrt=(1, 3),
    arg_names=ARGS,
    shape_hint="embed tgt_in (T, N) to (T, N, E), run the LSTM from state, each (layers, N, H), "
               "and map its outputs (T, N, H) to logits with self.out.",
    mistakes=[
        _mistake("the decoder starts from zeros instead of the encoder's final state",
                 "pass state to the LSTM: self.lstm(embedded, state).", start="zeros"),
        _mistake("only h is handed over: the decoder's cell state starts at zero",
                 "pass the whole state (h, c) to the LSTM, not just h.", start="h only"),
        _mistake(*SOFTMAX, head="softmax"),
        _mistake(*SOFTMAX, head="log_softmax"),
        _mistake("the output layer is not applied: the LSTM's outputs are returned",
                 "logits = self.out(s), one score per token of the vocabulary.", head="none"),
        _mistake("the state passed in is returned instead of the new one",
                 "return the (h_n, c_n) the LSTM gives back: decoding step by step carries it.",
                 same=True),
        catalogue.swapped_state(reference, 3),
    ],
)  # fmt: skip

check_decoder = TorchExercise(
    "Decoder", [Part(DECODER, cases, runner)],
    doc="Check the class ``Decoder``: logits, (h_n, c_n), and the gradients.")
