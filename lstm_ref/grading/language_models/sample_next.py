"""Exercise 5.3: the next symbol, drawn with a temperature and top-k, from a seeded generator.

    sample_next(logits, temperature, top_k, generator) -> ids
    logits (N, V) float; temperature τ >= 0; top_k an int k < V, or None; ids (N,) int64

τ = 0 is greedy: the argmax of each row, no draw. Otherwise p = softmax(z) of z =
logits / τ, where top-k first sets every logit but the k largest of its row to -inf;
the draw is ``torch.multinomial(p, 1, generator=generator)``. The case holds a seed: the
runner, the reference and every mistake each make ``torch.Generator(device).manual_seed``
of it, and seed torch's global generator alike, so that a draw that ignores the
generator is reproducible too (and named).

``torch.multinomial`` draws one sample as argmax_i p_i / q_i with q_i ~ Exp(1) from the
generator, so any positive multiple of p draws the same symbol: probabilities left
unnormalised after top-k, or softmax(logits) ** (1 / τ), are as right as the reference.
"""

from __future__ import annotations

from functools import partial

import torch

from lstm_ref import text

from ..core import Check, Mistake
from ..exercise import Part
from ..torch_cases import torch_cases
from ._common import KnownError, TextExercise, forbid_text

SCALE = 1.5  # logits ~ SCALE·N(0, 1)
GLOBAL = 7919  # torch's global generator is seeded with GLOBAL + the case's seed
# (label, N, V, temperature, top_k): many rows, so that each mistake draws differently.
# k >= 2 and k < V: the off-by-one mistakes k - 1 and k + 1 are then both top-k draws.
SHAPES = [("temperature 1", 200, 10, 1.0, None), ("temperature 0.5, top-k 3", 200, 10, 0.5, 3),
          ("temperature 2, top-k 5", 200, 12, 2.0, 5), ("temperature 0: greedy", 50, 10, 0.0, None),
          ("batch 1", 1, 8, 0.8, None)]  # fmt: skip
HIDDEN = [("temperature 0.7, top-k 4", 150, 9, 0.7, 4), ("temperature 1.5", 180, 11, 1.5, None),
          ("temperature 1, top-k 2", 100, 7, 1.0, 2), ("temperature 0 with top-k", 40, 12, 0.0, 3),
          ("batch 1, top-k", 1, 10, 1.3, 2)]  # fmt: skip


def make_args(seed, N, V, temperature, top_k, *, dtype, device):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(N, V, generator=generator, dtype=torch.float64) * SCALE
    return logits.to(device=device, dtype=dtype), temperature, top_k, seed


def _sizes(N, V, temperature, top_k):
    return f"N={N}, V={V}, temperature={temperature:g}, top_k={top_k}"


def cases(hidden: bool):
    return torch_cases(make_args, HIDDEN if hidden else SHAPES, hidden, _sizes)


def seeded_draw(logits, temperature, top_k, seed, *, sample_next):
    """``sample_next(logits, temperature, top_k, generator)`` on a case's arguments: a
    fresh generator on the logits' device made from the seed, the global one seeded too
    (and restored afterwards)."""
    generator = torch.Generator(device=logits.device).manual_seed(seed)
    index = logits.device.index or 0
    with torch.random.fork_rng(devices=[index] if logits.is_cuda else []):
        cuda = logits.is_cuda  # the global generator of the logits' device, seeded too
        default = torch.cuda.default_generators[index] if cuda else torch.default_generator
        default.manual_seed(GLOBAL + seed)
        return sample_next(logits, temperature, top_k, generator)


reference = partial(seeded_draw, sample_next=text.sample_next)


def runner(sample_next):
    def guarded(logits, temperature, top_k, generator):
        with forbid_text(text.sample_next):  # text.generate draws with it too
            return sample_next(logits, temperature, top_k, generator)

    return partial(seeded_draw, sample_next=guarded)


def draw(logits, temperature, top_k, generator, *, greedy=False, scale="divide", k_shift=0,
         fill=float("-inf"), use_generator=True, squeeze="sample"):  # fmt: skip
    """sample_next written out; the keywords make the mistakes (k_shift None: no top-k;
    squeeze: which axes of multinomial's (N, 1) go, "sample", "none" or "all")."""
    if greedy or temperature == 0:
        drawn = logits.argmax(dim=-1, keepdim=True)  # (N, 1)
    else:
        z = {"divide": logits / temperature, "multiply": logits * temperature,
             "none": logits}[scale]  # fmt: skip
        if top_k is not None and k_shift is not None and top_k + k_shift < z.shape[-1]:
            kth = z.topk(top_k + k_shift, dim=-1).values[:, -1:]  # (N, 1)
            z = z.masked_fill(z < kth, fill)
        probs = torch.softmax(z, dim=-1)  # (N, V)
        source = generator if use_generator else None
        drawn = torch.multinomial(probs, 1, generator=source)  # (N, 1)
    return {"sample": drawn.squeeze(-1), "none": drawn, "all": drawn.squeeze()}[squeeze]


def _mistake(name: str, hint: str, **flags) -> Mistake:
    """A mistake whose ``fn.keywords["sample_next"]`` is the mistaken sample_next itself."""
    return Mistake(name, hint, partial(seeded_draw, sample_next=partial(draw, **flags)))


TOP_K = "top-k keeps {} symbols instead of k"
TOP_K_HINT = ("keep the k largest logits of each row: torch.topk(z, k).values[:, -1:] is the "
              "k-th largest; set the logits below it to -inf.")  # fmt: skip
SAMPLE_NEXT = Check(
    name="sample_next",
    reference=reference,
    output_names=["ids"],
    forbid=False,  # the guard in runner() blocks lstm_ref.text's sampling
    arg_names=("logits", "temperature", "top_k", "seed"),
    shape_hint="logits is (N, V): the softmax and top-k run over V (dim=-1), and "
               "torch.multinomial(probs, 1) gives (N, 1); squeeze it to (N,).",
    mistakes=[
        _mistake("greedy at every temperature: the argmax is returned instead of a draw",
                 "only temperature 0 is greedy; otherwise draw with torch.multinomial.",
                 greedy=True),
        _mistake("the temperature multiplies the logits instead of dividing them",
                 "z = logits / temperature: a low temperature sharpens the distribution.",
                 scale="multiply"),
        _mistake("the temperature has no effect: it is applied after the softmax (probs / "
                 "temperature), and torch.multinomial renormalises", "divide the logits by "
                 "the temperature before the softmax: softmax(logits / temperature).",
                 scale="none"),
        _mistake(TOP_K.format("k + 1"), TOP_K_HINT, k_shift=1),
        _mistake(TOP_K.format("k - 1"), TOP_K_HINT, k_shift=-1),
        _mistake("top_k is ignored: every symbol can be drawn",
                 "with top_k set, give every logit below the k-th largest -inf before the "
                 "softmax.", k_shift=None),
        _mistake("top-k sets the other logits to 0 instead of -inf: they keep some "
                 "probability", "exp(0) = 1 is no zero probability; fill with "
                 "float('-inf'), which the softmax turns into exactly 0.", fill=0.0),
        _mistake("the generator is not used: the draws come from torch's global random "
                 "numbers", "pass it on: torch.multinomial(probs, 1, generator=generator); "
                 "then the same seed gives the same text.", use_generator=False),
        _mistake("the ids keep multinomial's sample axis: (N, 1) instead of (N,)",
                 "torch.multinomial(probs, 1) is (N, 1): .squeeze(-1) makes it (N,).",
                 squeeze="none"),
        _mistake("the ids are squeezed to a scalar when N = 1: .squeeze() drops the batch "
                 "axis too", "squeeze only the sample axis: .squeeze(-1), so that N = 1 "
                 "gives shape (1,).", squeeze="all"),
    ],
)  # fmt: skip


def _invalid_probabilities(error_type: str, error: str) -> bool:
    return "probability tensor contains" in error or "invalid multinomial" in error


ERRORS = [
    KnownError("temperature 0 is not handled: logits / 0 is inf or nan",
               "temperature 0 means greedy: return logits.argmax(dim=-1) before any "
               "division.",
               lambda case, kind, error: case.args[1] == 0 and (
                   kind == "ZeroDivisionError" or _invalid_probabilities(kind, error))),
    KnownError("torch.multinomial is given logits (or log-probabilities), not probabilities",
               "multinomial needs non-negative weights: draw from torch.softmax(z, dim=-1).",
               lambda case, kind, error: case.args[1] != 0
               and _invalid_probabilities(kind, error)),
]  # fmt: skip

check_sample_next = TextExercise(
    "sample_next",
    [Part(SAMPLE_NEXT, cases, runner)],
    errors=ERRORS,
    ids=["ids"],
    doc="Check ``sample_next(logits (N, V), temperature, top_k, generator) -> ids (N,)``.",
)
