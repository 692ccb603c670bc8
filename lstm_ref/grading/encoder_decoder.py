"""Checks for chapter 5's exercises: an encoder–decoder, its training step, greedy
decoding, and dot-product attention.

Student code, in torch; sequences are time-major token ids, src (S, N) and tgt (T, N):

    Encoder(vocab_size, embed_size, hidden_size, num_layers)
        .forward(src, src_lengths=None) -> outputs (S, N, H), (h_n, c_n), mask (S, N)
    Decoder(vocab_size, embed_size, hidden_size, num_layers)
        .forward(tgt_in, state, enc_outputs, src_mask) -> logits (T, N, V), (h_n, c_n), None
    train_step(model, optimizer, src, tgt_in, tgt_out) -> loss, a float
    greedy_decode(model, src, bos, eos, max_len) -> tokens (T', N)
    dot_attention(queries, keys, mask) -> context (T, N, H), weights (T, N, S)

Here the layers are allowed (nn.Embedding, nn.LSTM or lstm_ref.nn.LSTM, nn.Linear): the
exercise is the architecture, not the cell. A class is checked by loading the weights of
lstm_ref's Encoder or Decoder into a fresh instance, so its attribute names are fixed
(embed, lstm, out). train_step and greedy_decode get an lstm_ref.nn.Seq2Seq without
attention. Calling lstm_ref's own Encoder, Decoder, greedy_decode, training loop or
attention, or torch's attention, fails the check.
"""

from __future__ import annotations

import contextlib
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lstm_ref.nn.attention as ref_attention
from lstm_ref.experiments.seq2seq import sequence_loss
from lstm_ref.nn import Decoder as RefDecoder
from lstm_ref.nn import DotAttention, Seq2Seq
from lstm_ref.nn import Encoder as RefEncoder
from lstm_ref.tasks import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, toy_translation
from lstm_ref.train import train

from . import guard
from .cases import devices
from .core import Case, Check, GradingError, Mistake
from .exercise import run_check
from .messages import SHAPE_ERRORS

DTYPES = [torch.float64, torch.float32]


# ---------------------------------------------------------------- running student code


BUILD_IT = "Build it from nn.Embedding, nn.LSTM and nn.Linear."


@contextlib.contextmanager
def forbid(methods=(), functions=(), attributes=(), hint: str = BUILD_IT):
    """:func:`lstm_ref.grading.guard.forbid`, with cuDNN in full float32 (no TF32) as in
    the reference, so a float32 nn.LSTM on CUDA can match it."""
    allow_tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        with guard.forbid(methods, attributes, functions, hint):
            yield
    finally:
        torch.backends.cudnn.allow_tf32 = allow_tf32


SEQ2SEQ_CLASSES = [(RefEncoder, "forward"), (RefDecoder, "forward"), (Seq2Seq, "forward"),
                   (Seq2Seq, "greedy_decode")]  # fmt: skip
ATTENTION = dict(
    methods=[(DotAttention, "forward"), (ref_attention.AdditiveAttention, "forward"),
             (nn.MultiheadAttention, "forward")],
    functions=[ref_attention._attend],
    attributes=[(F, "scaled_dot_product_attention"), (F, "multi_head_attention_forward")],
)  # fmt: skip


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}: ({', '.join(map(_describe, value))})"
    return type(value).__name__


def _unpack(result, what: str, expected: str, count: int) -> tuple:
    if not isinstance(result, tuple | list) or len(result) != count:
        raise GradingError(f"{what} should return {expected}, got {_describe(result)}")
    return tuple(result)


def _state(state, what: str) -> tuple[Tensor, Tensor]:
    """(h_n, c_n) from a returned state, or a message that says what is wrong with it."""
    if isinstance(state, Tensor):
        raise GradingError(
            f"{what}: the final state is h only ({_describe(state)}).\n  Hint: an LSTM's "
            "state is the pair (h_n, c_n); return both, as nn.LSTM does."
        )
    return _unpack(state, what + "'s state", "the pair (h_n, c_n)", 2)


# besides core's: what nn.LSTM, einsum, cross_entropy and indexing say of shapes that do not fit
LAYOUT_ERRORS = (*SHAPE_ERRORS, "Expected hidden", "input.size(-1)", "Dimension out of range",
                 "einsum()", "shape '[", "Expected target size",
                 "Expected input batch_size")  # fmt: skip


def _shape_error(error: Exception, what: str, shapes: str, hint: str):
    """Re-raise a shape error with the chapter's shapes; other errors pass unchanged."""
    if isinstance(error, RuntimeError | ValueError | IndexError) and any(
        marker in str(error) for marker in LAYOUT_ERRORS
    ):
        raise GradingError(
            f"{what} raised {type(error).__name__}: {error}\n  with {shapes}\n  Hint: {hint}"
        ) from None
    raise error


def _instance(cls, reference: nn.Module, sizes: tuple, what: str, names: str) -> nn.Module:
    """A fresh ``cls(*sizes)`` holding the reference's weights, on its device and dtype."""
    module = cls(*sizes)
    if not isinstance(module, nn.Module):
        raise GradingError(f"{what}(...) should make an nn.Module, got {_describe(module)}")
    weight = reference.embed.weight
    module.to(device=weight.device, dtype=weight.dtype)
    expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    if got != expected:
        wrong = [f"{k} {got.get(k, 'missing')}" for k in expected if got.get(k) != expected[k]]
        extra = [f"{k} (not expected)" for k in got if k not in expected]
        raise GradingError(
            f"{what}{sizes}: the parameters do not match lstm_ref's: "
            f"{', '.join(wrong + extra)}.\n  Expected {expected}.\n  Hint: {names}"
        )
    module.load_state_dict(reference.state_dict())
    return module


def _cases(make, shapes, hidden: bool) -> list[Case]:
    """One case per shape × dtype × device; ``make(seed, *sizes, dtype, device)`` -> args."""
    cases = []
    for k, (label, *sizes) in enumerate(shapes):
        for dtype in DTYPES:
            for device in devices("torch"):
                args = make(k + (1000 if hidden else 0), *sizes, dtype=dtype, device=device)
                name = str(dtype).removeprefix("torch.")
                cases.append(Case(f"{label}, {name}, {device}", args, np.dtype(name), device))
    return cases


def _run(check: Check, runner, cases: list[Case]) -> None:
    """run_check on one CPU thread: these models are tiny, and on a busy machine two
    threads contending for two cores are many times slower than one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_check(check, runner, cases)
    finally:
        torch.set_num_threads(threads)


def _seeded(seed: int, build):
    """``build()`` with torch's global generator seeded, then restored as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


# ---------------------------------------------------------------- exercise 1: the encoder

ENCODER_NAMES = ("name the layers self.embed = nn.Embedding(vocab_size, embed_size) and "
                 "self.lstm = nn.LSTM(embed_size, hidden_size, num_layers).")  # fmt: skip
# (label, N, embed size E, hidden size H, layers, max_len, lengths): "given" passes each
# string's length, "shorter" also adds a PAD row so every string ends before S, and
# "none" passes no lengths and no padding.
ENCODER_SHAPES = [("padded batch", 4, 4, 5, 1, 6, "given"), ("batch 1", 1, 3, 4, 1, 5, "shorter"),
                  ("two layers", 3, 4, 5, 2, 6, "given"), ("no lengths", 2, 3, 4, 1, 4, "none"),
                  ("every string shorter than src", 3, 5, 3, 1, 5, "shorter")]  # fmt: skip
ENCODER_HIDDEN = [("padded batch", 5, 6, 7, 1, 7, "given"), ("all sizes 1", 1, 1, 1, 1, 3, "given"),
                  ("three layers", 2, 3, 4, 3, 5, "shorter"), ("no lengths", 3, 2, 6, 2, 5, "none"),
                  ("every string shorter than src", 4, 4, 4, 1, 6, "shorter")]  # fmt: skip


def _encoder_args(seed, N, E, H, layers, max_len, lengths, *, dtype, device):
    encoder = _seeded(seed, lambda: RefEncoder(VOCAB_SIZE, E, H, layers))
    min_len = max_len if lengths == "none" else 1
    batch = toy_translation(batch_size=N, seed=seed, min_len=min_len, max_len=max_len)
    src = batch.src
    if lengths == "shorter":
        src = torch.cat([src, torch.full((1, N), PAD_ID)])  # (S + 1, N)
    src_lengths = None if lengths == "none" else batch.lengths
    return encoder.to(device=device, dtype=dtype), src.to(device), src_lengths


def _encoder_reference(encoder, src, src_lengths):
    outputs, (h_n, c_n), mask = encoder(src, src_lengths)
    return outputs, h_n, c_n, mask


def _encoder_runner(Encoder):
    def run(reference, src, src_lengths):
        sizes = (VOCAB_SIZE, reference.embed.embedding_dim, reference.lstm.hidden_size,
                 reference.lstm.num_layers)  # fmt: skip
        with forbid(methods=SEQ2SEQ_CLASSES):
            encoder = _instance(Encoder, reference, sizes, "Encoder", ENCODER_NAMES)
            try:
                result = encoder(src, src_lengths)
            except Exception as error:  # noqa: BLE001 - a shape error gets the chapter's hint
                _shape_error(error, "Encoder", f"src {tuple(src.shape)} = (S, N)",
                             "src is time-major, (S, N); the embedding makes it (S, N, E), "
                             "which nn.LSTM reads as (L, N, input_size).")  # fmt: skip
        outputs, state, mask = _unpack(result, "Encoder.forward",
                                       "(outputs, (h_n, c_n), mask)", 3)  # fmt: skip
        return (outputs, *_state(state, "Encoder"), mask)

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


ENCODER = Check(
    name="Encoder",
    reference=_encoder_reference,
    output_names=["outputs", "h_n", "c_n", "mask"],
    forbid=False,
    mistakes=[
        Mistake("the final state is taken after the padding, not at each string's end",
                "pack the embedded batch with pack_padded_sequence(emb, src_lengths, "
                "enforce_sorted=False) before the LSTM, then unpack its outputs.",
                lambda *args: encode(*args, pack=False)),
        Mistake("the mask marks the padding instead of the real tokens",
                "mask is True at real tokens: src != PAD_ID.",
                lambda *args: encode(*args, mask_real=False)),
        Mistake("the outputs stop at the longest string instead of covering all of src",
                "pad_packed_sequence(..., total_length=src.shape[0]) keeps the outputs (S, N, H).",
                lambda *args: encode(*args, full_length=False)),
    ],
)  # fmt: skip


def check_encoder(Encoder, hidden: bool = False) -> None:
    """Check the class ``Encoder`` with lstm_ref.nn.Encoder's weights loaded into it."""
    _require_module_class(Encoder, "Encoder")
    cases = _cases(_encoder_args, ENCODER_HIDDEN if hidden else ENCODER_SHAPES, hidden)
    _run(ENCODER, _encoder_runner(Encoder), cases)


def _require_module_class(cls, what: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise GradingError(f"check the class {what} itself (a subclass of nn.Module), "
                           f"got {_describe(cls)}")  # fmt: skip


# ---------------------------------------------------------------- exercise 2: the decoder

DECODER_NAMES = ("name the layers self.embed = nn.Embedding(vocab_size, embed_size), "
                 "self.lstm = nn.LSTM(embed_size, hidden_size, num_layers) and "
                 "self.out = nn.Linear(hidden_size, vocab_size).")  # fmt: skip
# (label, N, E, H, layers, max_len): tgt_in is BOS + up to max_len digits + PAD
DECODER_SHAPES = [("typical", 3, 4, 5, 1, 5), ("batch 1", 1, 3, 4, 1, 4),
                  ("two layers", 2, 4, 5, 2, 5)]  # fmt: skip
DECODER_HIDDEN = [("other sizes", 4, 6, 3, 1, 6), ("all sizes 1", 1, 1, 1, 1, 1),
                  ("three layers", 3, 3, 4, 3, 4)]  # fmt: skip


def _decoder_args(seed, N, E, H, layers, max_len, *, dtype, device):
    decoder = _seeded(seed, lambda: RefDecoder(VOCAB_SIZE, E, H, layers))
    batch = toy_translation(batch_size=N, seed=seed, max_len=max_len)
    generator = torch.Generator().manual_seed(seed)
    h_0, c_0 = torch.randn(2, layers, N, H, generator=generator, dtype=torch.float64)
    enc_outputs = torch.randn(max_len, N, H, generator=generator, dtype=torch.float64)
    typed = [t.to(device=device, dtype=dtype) for t in (h_0, c_0, enc_outputs)]
    decoder = decoder.to(device=device, dtype=dtype)
    src_mask = (batch.src != PAD_ID).to(device)
    return decoder, batch.tgt_in.to(device), (typed[0], typed[1]), typed[2], src_mask


def _decoder_reference(decoder, tgt_in, state, enc_outputs, src_mask):
    logits, (h_n, c_n), _ = decoder(tgt_in, state, enc_outputs, src_mask)
    return logits, h_n, c_n


def _decoder_runner(Decoder):
    def run(reference, tgt_in, state, enc_outputs, src_mask):
        sizes = (VOCAB_SIZE, reference.embed.embedding_dim, reference.lstm.hidden_size,
                 reference.lstm.num_layers)  # fmt: skip
        with forbid(methods=SEQ2SEQ_CLASSES):
            decoder = _instance(Decoder, reference, sizes, "Decoder", DECODER_NAMES)
            try:
                result = decoder(tgt_in, state, enc_outputs, src_mask)
            except Exception as error:  # noqa: BLE001 - a shape error gets the chapter's hint
                _shape_error(error, "Decoder", f"tgt_in {tuple(tgt_in.shape)} = (T, N), "
                             f"h_0 and c_0 {tuple(state[0].shape)} = (layers, N, H)",
                             "embed tgt_in to (T, N, E), run the LSTM from state, and map "
                             "its outputs (T, N, H) to logits with self.out.")  # fmt: skip
        logits, new_state, _ = _unpack(result, "Decoder.forward",
                                       "(logits, (h_n, c_n), None)", 3)  # fmt: skip
        return (logits, *_state(new_state, "Decoder"))

    return run


def _decoder_variant(decoder, tgt_in, state, *, start="state", softmax=False, same=False):
    h_0, c_0 = state
    initial = {"state": state, "zeros": None, "h only": (h_0, torch.zeros_like(c_0))}[start]
    s, (h_n, c_n) = decoder.lstm(decoder.embed(tgt_in), initial)
    logits = decoder.out(s)
    if softmax:
        logits = torch.softmax(logits, dim=-1)
    return (logits, h_0, c_0) if same else (logits, h_n, c_n)


DECODER = Check(
    name="Decoder",
    reference=_decoder_reference,
    output_names=["logits", "h_n", "c_n"],
    forbid=False,
    mistakes=[
        Mistake("the decoder starts from zeros instead of the encoder's final state",
                "pass state to the LSTM: self.lstm(embedded, state).",
                lambda d, tgt_in, state, *_: _decoder_variant(d, tgt_in, state, start="zeros")),
        Mistake("only h is handed over: the decoder's cell state starts at zero",
                "pass the whole state (h, c) to the LSTM, not just h.",
                lambda d, tgt_in, state, *_: _decoder_variant(d, tgt_in, state, start="h only")),
        Mistake("the logits go through a softmax",
                "return the raw scores self.out(s); cross_entropy and argmax take logits.",
                lambda d, tgt_in, state, *_: _decoder_variant(d, tgt_in, state, softmax=True)),
        Mistake("the state passed in is returned instead of the new one",
                "return the (h_n, c_n) the LSTM gives back: decoding step by step carries it.",
                lambda d, tgt_in, state, *_: _decoder_variant(d, tgt_in, state, same=True)),
    ],
)  # fmt: skip


def check_decoder(Decoder, hidden: bool = False) -> None:
    """Check the class ``Decoder`` with lstm_ref.nn.Decoder's weights loaded into it."""
    _require_module_class(Decoder, "Decoder")
    cases = _cases(_decoder_args, DECODER_HIDDEN if hidden else DECODER_SHAPES, hidden)
    _run(DECODER, _decoder_runner(Decoder), cases)


# ---------------------------------------------------------------- exercise 3: a training step

LR = 0.5  # plain SGD; large enough that every mistake moves the parameters visibly
# (label, N, E, H, max_len): two batches of toy translation, one SGD step on each
TRAIN_SHAPES = [("typical", 4, 4, 5, 5), ("batch 1", 1, 3, 4, 4), ("longer strings", 3, 3, 4, 7)]
TRAIN_HIDDEN = [("other sizes", 5, 5, 6, 6), ("all sizes 1", 1, 1, 1, 2),
                ("wide batch", 8, 4, 3, 5)]  # fmt: skip
PARAMETERS = [name for name, _ in _seeded(0, lambda: Seq2Seq(1, 1, 1, 1)).named_parameters()]


def _train_args(seed, N, E, H, max_len, *, dtype, device):
    model = _seeded(seed, lambda: Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, E, H))
    batches = []
    for step in range(2):
        batch = toy_translation(batch_size=N, seed=2 * seed + step, max_len=max_len)
        batches.append(tuple(t.to(device) for t in batch[:3]))  # src, tgt_in, tgt_out
    return model.to(device=device, dtype=dtype), batches


def _train_reference(model, batches):
    """Two steps of the course's training loop, lstm_ref.train.train, with plain SGD."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    history = train(
        model, lambda step: (batches[step][:2], batches[step][2]), sequence_loss, steps=2,
        optimizer=optimizer, seed=None, progress=False,
    )  # fmt: skip
    return (*history.loss, *[p.detach() for p in model.parameters()])


def _two_steps(model, batches, train_step):
    """``train_step`` on each batch with one SGD optimiser: the losses, then the weights."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    losses = [train_step(model, optimizer, *batch) for batch in batches]
    return (*losses, *[p.detach() for p in model.parameters()])


def _train_runner(train_step):
    def checked_step(model, optimizer, src, tgt_in, tgt_out) -> float:
        try:
            with forbid(functions=[train, sequence_loss]):
                loss = train_step(model, optimizer, src, tgt_in, tgt_out)
        except Exception as error:  # noqa: BLE001 - a shape error gets the chapter's hint
            _shape_error(error, "train_step", f"src {tuple(src.shape)} = (S, N), tgt_in and "
                         f"tgt_out {tuple(tgt_in.shape)} = (T, N), logits (T, N, V)",
                         "F.cross_entropy takes logits (T·N, V) and targets (T·N,): "
                         "reshape both.")  # fmt: skip
        if not isinstance(loss, float):
            raise GradingError(
                f"train_step should return the loss as a Python float, got "
                f"{_describe(loss)}.\n  Hint: return loss.item()."
            )
        return loss

    return lambda model, batches: _two_steps(model, batches, checked_step)


def _variant_loss(logits, target, loss: str) -> Tensor:
    """The mean cross-entropy over real tokens, or one of its wrong cousins."""
    flat, ids = logits.reshape(-1, logits.shape[-1]), target.reshape(-1)  # (T·N, V), (T·N,)
    if loss == "with PAD":
        return F.cross_entropy(flat, ids)
    total = F.cross_entropy(flat, ids, ignore_index=PAD_ID, reduction="sum")
    count = {"mean": (ids != PAD_ID).sum(), "sum": 1, "over all positions": ids.numel()}[loss]
    return total / count


def train_step_variant(
    model, optimizer, src, tgt_in, tgt_out, *, feed="tgt_in", target="tgt_out", loss="mean",
    zero_grad=True, step=True,
) -> float:  # fmt: skip
    """One training step written out; the keywords make the mistakes."""
    batch = {"tgt_in": tgt_in, "tgt_out": tgt_out}
    if zero_grad:
        optimizer.zero_grad()
    logits = model(src, batch[feed])  # (T, N, V)
    value = _variant_loss(logits, batch[target], loss)
    value.backward()
    if step:
        optimizer.step()
    return value.item()


def _train_mistake(name: str, hint: str, **flags) -> Mistake:
    """A mistake whose ``fn.keywords["train_step"]`` is the mistaken train_step itself."""
    return Mistake(name, hint, partial(_two_steps, train_step=partial(train_step_variant, **flags)))


TRAIN_STEP = Check(
    name="train_step",
    reference=_train_reference,
    output_names=["loss of step 1", "loss of step 2", *[f"{p} after 2 steps" for p in PARAMETERS]],
    forbid=False,
    mistakes=[
        _train_mistake("teacher forcing off by one: tgt_out is fed to the decoder",
                       "feed tgt_in = [BOS, y_1, ...] and score against tgt_out = [y_1, ..., EOS].",
                       feed="tgt_out"),
        _train_mistake("the logits are compared with tgt_in instead of tgt_out",
                       "the decoder reading y_{t-1} predicts y_t: the targets are tgt_out.",
                       target="tgt_in"),
        _train_mistake("PAD is not ignored in the loss",
                       "F.cross_entropy(..., ignore_index=PAD_ID) leaves padding out of the loss.",
                       loss="with PAD"),
        _train_mistake("the loss is summed instead of averaged",
                       "average over the real target tokens (cross_entropy's default reduction).",
                       loss="sum"),
        _train_mistake("the loss is divided by every position, PAD included",
                       "divide by the number of real target tokens, not by T·N.",
                       loss="over all positions"),
        _train_mistake("optimizer.zero_grad() is missing: gradients pile up from step to step",
                       "call optimizer.zero_grad() before loss.backward().", zero_grad=False),
        _train_mistake("the parameters are not updated",
                       "call optimizer.step() after loss.backward(), zero_grad() before backward.",
                       step=False),
    ],
)  # fmt: skip


def check_train_step(train_step, hidden: bool = False) -> None:
    """Check ``train_step(model, optimizer, src, tgt_in, tgt_out) -> float`` on two steps."""
    cases = _cases(_train_args, TRAIN_HIDDEN if hidden else TRAIN_SHAPES, hidden)
    _run(TRAIN_STEP, _train_runner(train_step), cases)


# ---------------------------------------------------------------- exercise 4: greedy decoding

# (label, N, E, H, max_len, seed, gain, EOS bias): random weights are too tame to stop, so
# the LSTM weights are multiplied by `gain`, the output layer's by 3, and the EOS logit
# shifted, at seeds where the strings end at different steps. Chosen so the greedy
# choices never tie: the top two logits differ by more than 1e-3 along every path.
GREEDY_SHAPES = [("every string ends early", 5, 6, 8, 10, 39, 2.0, 0.5),
                 ("one string never ends", 5, 6, 8, 10, 6, 2.0, 0.5),
                 ("batch 1", 1, 6, 8, 10, 56, 3.0, 0.5)]  # fmt: skip
GREEDY_HIDDEN = [("every string ends early", 5, 6, 8, 10, 2, 2.0, -0.5),
                 ("some strings never end", 5, 6, 8, 10, 44, 3.0, 0.5),
                 ("short max_len", 5, 6, 8, 4, 6, 3.0, 0.5)]  # fmt: skip


def decoding_model(seed, E, H, gain, eos_bias) -> Seq2Seq:
    """A random Seq2Seq whose greedy decoding stops at varied steps (see GREEDY_SHAPES)."""
    model = _seeded(seed, lambda: Seq2Seq(VOCAB_SIZE, VOCAB_SIZE, E, H))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lstm.weight" in name:
                p.mul_(gain)
        model.decoder.out.weight.mul_(3)
        model.decoder.out.bias[EOS_ID] += eos_bias
    return model


def _greedy_args(_, N, E, H, max_len, seed, gain, eos_bias, *, dtype, device):
    model = decoding_model(seed, E, H, gain, eos_bias).to(device=device, dtype=dtype)
    src = toy_translation(batch_size=N, seed=seed, max_len=6).src.to(device)
    return model, src, BOS_ID, EOS_ID, max_len


def _greedy_reference(model, src, bos, eos, max_len):
    return model.greedy_decode(src, bos, eos, max_len)


DECODE_IT = "Loop over model.encoder and model.decoder yourself."


def _greedy_runner(greedy_decode):
    def run(model, src, bos, eos, max_len):
        with forbid(methods=[(Seq2Seq, "greedy_decode")], hint=DECODE_IT):
            return greedy_decode(model, src, bos, eos, max_len)

    return run


@torch.no_grad()
def greedy_variant(model, src, bos, eos, max_len, *, feed="own", carry=True, pad=True,
                   stop=True, keep_eos=True, keep_last=True, with_bos=False):  # fmt: skip
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
        done = done | (token == eos)
        if stop and not keep_last and bool(done.all()):
            break
        tokens.append(token.masked_fill(token == eos, PAD_ID) if not keep_eos else token)
        if stop and bool(done.all()):
            break
    return torch.stack(tokens)


GREEDY = Check(
    name="greedy_decode",
    reference=_greedy_reference,
    output_names=["tokens"],
    forbid=False,
    mistakes=[
        Mistake("BOS is fed at every step instead of the previous prediction",
                "feed back ŷ_{t-1}, the argmax of the step before.",
                lambda *a: greedy_variant(*a, feed="bos")),
        Mistake("the decoder state is not carried from step to step",
                "each step starts from the state the step before returned, not the encoder's.",
                lambda *a: greedy_variant(*a, carry=False)),
        Mistake("decoding goes on to max_len after every string has ended",
                "stop as soon as every string has emitted EOS.",
                lambda *a: greedy_variant(*a, stop=False)),
        Mistake("finished strings are not padded: tokens after EOS are kept",
                "once a string has emitted EOS, its later tokens are PAD_ID.",
                lambda *a: greedy_variant(*a, pad=False)),
        Mistake("EOS is left out of the output",
                "keep the EOS token itself; only the tokens after it become PAD.",
                lambda *a: greedy_variant(*a, keep_eos=False)),
        Mistake("the last step, where the last string emits EOS, is dropped",
                "append the step's tokens before you test whether every string is done.",
                lambda *a: greedy_variant(*a, keep_last=False)),
        Mistake("BOS is included as the first output",
                "BOS is only the first input; the output starts with the first prediction.",
                lambda *a: greedy_variant(*a, with_bos=True)),
    ],
)  # fmt: skip


def check_greedy_decode(greedy_decode, hidden: bool = False) -> None:
    """Check ``greedy_decode(model, src, bos, eos, max_len) -> tokens (T', N)``."""
    cases = _cases(_greedy_args, GREEDY_HIDDEN if hidden else GREEDY_SHAPES, hidden)
    _run(GREEDY, _greedy_runner(greedy_decode), cases)


# ---------------------------------------------------------------- exercise 5: dot attention

# (label, T, N, S, H, scale): the first cases have padding, every string >= 1 token
ATTENTION_SHAPES = [("typical", 3, 4, 5, 4, 1.0), ("batch 1", 2, 1, 4, 3, 1.0),
                    ("one query", 1, 3, 5, 4, 1.0), ("large scores", 4, 2, 6, 5, 40.0)]  # fmt: skip
ATTENTION_HIDDEN = [("other sizes", 5, 3, 4, 6, 1.0), ("H = 1", 2, 2, 3, 1, 1.0),
                    ("long source", 2, 3, 12, 4, 1.0),
                    ("large scores", 3, 4, 7, 3, 50.0)]  # fmt: skip


def _attention_args(seed, T, N, S, H, scale, *, dtype, device):
    generator = torch.Generator().manual_seed(seed)
    queries = torch.randn(T, N, H, generator=generator, dtype=torch.float64) * scale
    keys = torch.randn(S, N, H, generator=generator, dtype=torch.float64)
    lengths = torch.randint(1, S + 1, (N,), generator=generator)
    lengths[0] = max(1, S - 2)  # the first string is always padded
    mask = torch.arange(S).unsqueeze(1) < lengths  # (S, N)
    return (queries.to(device=device, dtype=dtype), keys.to(device=device, dtype=dtype),
            mask.to(device))  # fmt: skip


def _attention_reference(queries, keys, mask):
    return DotAttention(queries.shape[-1])(queries, keys, mask)


def _attention_runner(dot_attention):
    def run(queries, keys, mask):
        try:
            with forbid(**ATTENTION, hint="Use tensor operations (einsum, softmax, ...)."):
                result = dot_attention(queries, keys, mask)
        except Exception as error:  # noqa: BLE001 - a shape error gets the chapter's hint
            _shape_error(error, "dot_attention", f"queries {tuple(queries.shape)} = (T, N, H), "
                         f"keys {tuple(keys.shape)} = (S, N, H), mask {tuple(mask.shape)} = (S, N)",
                         "scores[t, n, j] = queries[t, n] · keys[j, n]: "
                         "torch.einsum('tnh,snh->tns', ...); mask.T is (N, S).")  # fmt: skip
        context, weights = _unpack(result, "dot_attention", "(context, weights)", 2)
        for name, value in (("weights", weights), ("context", context)):
            if isinstance(value, Tensor) and not bool(torch.isfinite(value).all()):
                dtype = str(queries.dtype).removeprefix("torch.")
                raise GradingError(
                    f"dot_attention: {name} contains nan or inf, with queries "
                    f"{tuple(queries.shape)} and keys {tuple(keys.shape)} in {dtype}.\n"
                    "  Hint: nan comes from a softmax over an axis where every entry is -inf: "
                    "take it over the source positions j, the last axis of (T, N, S). inf "
                    "comes from exp() of large scores: use torch.softmax."
                )
        return context, weights

    return run


def attention_variant(queries, keys, mask, *, scale=1.0, fill=-torch.inf, axis=-1,
                      renormalise=True):  # fmt: skip
    """Dot attention written out; the keywords make the mistakes (fill None: no mask)."""
    scores = torch.einsum("tnh,snh->tns", queries, keys) * scale  # (T, N, S)
    hidden = ~mask.T.unsqueeze(0)  # (1, N, S): True at padding
    if fill is not None and renormalise:
        scores = scores.masked_fill(hidden, fill)
    weights = torch.softmax(scores, dim=axis)  # α
    if fill is not None and not renormalise:
        weights = weights.masked_fill(hidden, 0.0)
    return torch.einsum("tns,snh->tnh", weights, keys), weights  # Σ_j α_tj h_j


DOT_ATTENTION = Check(
    name="dot_attention",
    reference=_attention_reference,
    output_names=["context", "weights"],
    forbid=False,
    mistakes=[
        Mistake("the softmax runs over the queries (axis T), not over the source positions",
                "normalise over j, the last axis of the (T, N, S) scores: each row sums to 1.",
                lambda q, k, m: attention_variant(q, k, m, fill=-1e9, axis=0)),
        Mistake("the mask is not applied: padding gets weight",
                "fill the scores at padding (mask False) with -inf before the softmax.",
                lambda q, k, m: attention_variant(q, k, m, fill=None)),
        Mistake("padding is scored 0 instead of -inf",
                "a score of 0 still gets weight exp(0); use masked_fill(..., float('-inf')).",
                lambda q, k, m: attention_variant(q, k, m, fill=0.0)),
        Mistake("the weights at padding are zeroed after the softmax without renormalising",
                "mask the scores before the softmax, so the real tokens' weights sum to 1.",
                lambda q, k, m: attention_variant(q, k, m, renormalise=False)),
        Mistake("the scores are scaled by 1/√H",
                "this exercise asks for Luong's unscaled dot product, score = s_t · h_j.",
                lambda q, k, m: attention_variant(q, k, m, scale=q.shape[-1] ** -0.5)),
    ],
)  # fmt: skip


def check_dot_attention(dot_attention, hidden: bool = False) -> None:
    """Check ``dot_attention(queries, keys, mask) -> (context, weights)``, from scratch."""
    cases = _cases(_attention_args, ATTENTION_HIDDEN if hidden else ATTENTION_SHAPES, hidden)
    _run(DOT_ATTENTION, _attention_runner(dot_attention), cases)
