"""Exercise 5.4: greedy decoding.

    greedy_decode(model, src, bos, eos, max_len) -> tokens (T', N), T' <= max_len

From BOS, feed back the argmax, carrying the decoder's state; a string that has emitted
EOS keeps it and gets PAD afterwards; stop when every string has finished or after
max_len steps. No gradients are needed: ``torch.no_grad()``, ``model.eval()`` and
``model.train()`` are all fine (the model is a copy). Checked on an lstm_ref.nn.Seq2Seq.
"""

from __future__ import annotations

import torch

from lstm_ref.nn import Seq2Seq
from lstm_ref.tasks import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, toy_translation

from ..core import Check, Mistake
from ..exercise import Part
from ..torch_cases import TorchExercise, seeded, torch_cases
from ._common import forbid

# (label, N, E, H, max_len, seed, gain, EOS bias): random weights are too tame to stop, so
# the LSTM weights are multiplied by `gain`, the output layer's by 3, and the EOS logit
# shifted, at seeds where the strings end at different steps. Chosen so the greedy
# choices never tie: the top two logits differ by more than 1e-3 along every path.
SHAPES = [("every string ends early", 5, 6, 8, 10, 39, 2.0, 0.5),
          ("one string never ends", 5, 6, 8, 10, 6, 2.0, 0.5),
          ("batch 1", 1, 6, 8, 10, 56, 3.0, 0.5)]  # fmt: skip
HIDDEN = [("every string ends early", 5, 6, 8, 10, 2, 2.0, -0.5),
          ("some strings never end", 5, 6, 8, 10, 44, 3.0, 0.5),
          ("short max_len", 5, 6, 8, 4, 6, 3.0, 0.5)]  # fmt: skip


def decoding_model(seed, E, H, gain, eos_bias) -> Seq2Seq:
    """A random Seq2Seq whose greedy decoding stops at varied steps (see SHAPES)."""
    model = seeded(seed, lambda: Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, E, H))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lstm.weight" in name:
                p.mul_(gain)
        model.decoder.out.weight.mul_(3)
        model.decoder.out.bias[EOS_ID] += eos_bias
    return model


def make_args(_, N, E, H, max_len, seed, gain, eos_bias, *, dtype, device):
    model = decoding_model(seed, E, H, gain, eos_bias).to(device=device, dtype=dtype)
    src = toy_translation(batch_size=N, seed=seed, max_len=6).src.to(device)
    return model, src, BOS_ID, EOS_ID, max_len


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden,
                       lambda N, E, H, max_len, *_: f"N={N}, max_len={max_len}")


def reference(model, src, bos, eos, max_len):
    return model.greedy_decode(src, bos, eos, max_len)


def runner(greedy_decode):
    def run(model, src, bos, eos, max_len):
        with forbid(methods=[(Seq2Seq, "greedy_decode")],
                    hint="Loop over model.encoder and model.decoder yourself."):
            return greedy_decode(model, src, bos, eos, max_len)

    return run


@torch.no_grad()
def greedy_variant(model, src, bos, eos, max_len, *, feed="own", carry=True, pad=True,
                   stop="all", remember=True, keep_eos=True, keep_last=True,
                   with_bos=False):  # fmt: skip
    """Greedy decoding written out step by step; the flags make the mistakes."""
    enc_outputs, initial, mask = model.encoder(src)
    state = initial
    token = torch.full((src.shape[1],), bos, dtype=torch.long, device=src.device)  # (N,)
    done = torch.zeros_like(token, dtype=torch.bool)
    tokens = [token] if with_bos else []
    for _ in range(max_len):
        fed = token if feed == "own" else torch.full_like(token, bos)
        logits, new_state, _ = model.decoder(fed.unsqueeze(0), state, enc_outputs, mask)
        state = new_state if carry else initial
        token = logits[0].argmax(-1)  # ŷ_t (N,)
        if pad:
            token = token.masked_fill(done, PAD_ID)
        done = done | (token == eos) if remember else token == eos
        finished = {"all": bool(done.all()), "any": bool(done.any()), "never": False}[stop]
        if finished and not keep_last:
            break
        tokens.append(token.masked_fill(token == eos, PAD_ID) if not keep_eos else token)
        if finished:
            break
    return torch.stack(tokens)


def _mistake(name: str, hint: str, **flags) -> Mistake:
    return Mistake(name, hint, lambda *args: greedy_variant(*args, **flags))


GREEDY = Check(
    name="greedy_decode",
    reference=reference,
    output_names=["tokens"],
    forbid=False,
    shape_hint="model.decoder takes tokens (1, N), one step for the whole batch; its logits "
               "are (1, N, V), and the argmax over V gives the next tokens (N,).",
    mistakes=[
        _mistake("BOS is fed at every step instead of the previous prediction",
                 "feed back ŷ_{t-1}, the argmax of the step before.", feed="bos"),
        _mistake("the decoder state is not carried from step to step",
                 "each step starts from the state the step before returned, not the encoder's.",
                 carry=False),
        _mistake("decoding goes on to max_len after every string has ended",
                 "stop as soon as every string has emitted EOS.", stop="never"),
        _mistake("decoding stops when the first string ends, not when every string has",
                 "stop when all strings have emitted EOS: finished.all(), not .any().",
                 stop="any"),
        _mistake("finished strings are not padded: tokens after EOS are kept",
                 "once a string has emitted EOS, its later tokens are PAD_ID.", pad=False),
        _mistake("a string's EOS is forgotten at the next step: finished = (token == eos)",
                 "accumulate: finished = finished | (token == eos).", remember=False),
        _mistake("EOS is left out of the output",
                 "keep the EOS token itself; only the tokens after it become PAD.",
                 keep_eos=False),
        _mistake("the last step, where the last string emits EOS, is dropped",
                 "append the step's tokens before you test whether every string is done.",
                 keep_last=False),
        Mistake("tokens is transposed: (N, T') where (T', N) belongs",
                "stack the steps along dim 0: torch.stack(steps) of N tokens each is (T', N).",
                lambda *args: greedy_variant(*args).T),
        _mistake("BOS is included as the first output",
                 "BOS is only the first input; the output starts with the first prediction.",
                 with_bos=True),
    ],
)  # fmt: skip

check_greedy_decode = TorchExercise(
    "greedy_decode", [Part(GREEDY, cases, runner)],
    doc="Check ``greedy_decode(model, src, bos, eos, max_len) -> tokens (T', N)``.")
