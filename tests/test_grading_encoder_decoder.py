"""Chapter 5's checks: correct code written differently passes, each known mistake is
named, and handing the work to lstm_ref's encoder–decoder or to torch's attention is
refused."""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import lstm_ref.nn
from lstm_ref.grading import GradingError
from lstm_ref.grading.encoder_decoder import (
    DECODER,
    DOT_ATTENTION,
    ENCODER,
    ENCODER_HIDDEN,
    ENCODER_SHAPES,
    GREEDY,
    GREEDY_HIDDEN,
    GREEDY_SHAPES,
    TRAIN_STEP,
    _cases,
    _encoder_args,
    check_decoder,
    check_dot_attention,
    check_encoder,
    check_greedy_decode,
    check_train_step,
    decoding_model,
)
from lstm_ref.tasks import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, toy_translation
from lstm_ref.train import train

HIDDEN = [False, True]


def passes(check, student, hidden, capsys):
    check(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓") and out.err == ""


def names(mistake):
    return "known mistake: " + re.escape(mistake.name)


# ---------------------------------------------------------------- the encoder


class PackingEncoder(nn.Module):
    """Correct: torch's LSTM on a packed batch."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers)

    def forward(self, src, src_lengths=None):
        embedded = self.embed(src)
        if src_lengths is None:
            outputs, state = self.lstm(embedded)
        else:
            packed = pack_padded_sequence(embedded, src_lengths, enforce_sorted=False)
            outputs, state = self.lstm(packed)
            outputs, _ = pad_packed_sequence(outputs, total_length=len(src))
        return outputs, state, src != PAD_ID


class OneStringAtATimeEncoder(nn.Module):
    """Correct, without packing: lstm_ref's LSTM on each string cut to its length."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = lstm_ref.nn.LSTM(embed_size, hidden_size, num_layers)

    def forward(self, src, src_lengths=None):
        S, N = src.shape
        lengths = [S] * N if src_lengths is None else src_lengths.tolist()
        outputs, hs, cs = [], [], []
        for n, length in enumerate(lengths):
            out, (h, c) = self.lstm(self.embed(src[:length, n : n + 1]))  # (length, 1, H)
            outputs.append(F.pad(out, (0, 0, 0, 0, 0, S - length)))  # zeros past the end
            hs.append(h)
            cs.append(c)
        mask = src.ne(PAD_ID)
        return torch.cat(outputs, dim=1), (torch.cat(hs, dim=1), torch.cat(cs, dim=1)), mask


@pytest.mark.parametrize("student", [PackingEncoder, OneStringAtATimeEncoder])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_correct_encoders_pass(student, hidden, capsys):
    passes(check_encoder, student, hidden, capsys)


def encoder_making(mistake):
    """A student's Encoder class whose forward is the mistake."""

    class Mistaken(PackingEncoder):
        def forward(self, src, src_lengths=None):
            outputs, h_n, c_n, mask = mistake.fn(self, src, src_lengths)
            return outputs, (h_n, c_n), mask

    return Mistaken


@pytest.mark.parametrize("mistake", ENCODER.mistakes, ids=lambda m: m.name)
def test_each_encoder_mistake_is_named(mistake):
    with pytest.raises(GradingError, match=names(mistake)):
        check_encoder(encoder_making(mistake))


def test_encoder_returning_h_only_is_named():
    class HOnly(PackingEncoder):
        def forward(self, src, src_lengths=None):
            outputs, (h_n, c_n), mask = super().forward(src, src_lengths)
            return outputs, h_n, mask

    with pytest.raises(GradingError, match=r"(?s)the final state is h only.*\(h_n, c_n\)"):
        check_encoder(HOnly)


def test_encoder_with_other_layer_names_is_told_the_names():
    class Renamed(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.LSTM(embed_size, hidden_size, num_layers)

    with pytest.raises(GradingError, match=r"(?s)embed\.weight missing.*self\.embed = "):
        check_encoder(Renamed)


def test_encoder_delegating_to_lstm_ref_is_refused():
    class Borrowed(lstm_ref.nn.Encoder):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
            super().__init__(vocab_size, embed_size, hidden_size, num_layers)

    with pytest.raises(GradingError, match=r"(?s)write it yourself.*seq2seq\.Encoder\.forward"):
        check_encoder(Borrowed)
    src = torch.tensor([[3], [4]])
    assert Borrowed(VOCAB_SIZE, 2, 3)(src)[0].shape == (2, 1, 3)  # forward is back


def test_encoder_stub_and_instance_are_explained():
    class Stub(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
            raise NotImplementedError()

    with pytest.raises(GradingError, match="still the stub"):
        check_encoder(Stub)
    with pytest.raises(GradingError, match="the class Encoder itself"):
        check_encoder(PackingEncoder(VOCAB_SIZE, 2, 3))


@pytest.mark.parametrize("shapes", [ENCODER_SHAPES, ENCODER_HIDDEN])
def test_encoder_cases_have_padding_and_strings_shorter_than_src(shapes):
    cases = _cases(_encoder_args, shapes, hidden=shapes is ENCODER_HIDDEN)
    padded = [(src, n) for _, src, n in (c.args for c in cases) if n is not None]
    assert any(bool((n < len(src)).any()) and n.max() == len(src) for src, n in padded)
    assert any(int(n.max()) < len(src) for src, n in padded)  # total_length matters
    assert any(n is None for _, _, n in (c.args for c in cases))


# ---------------------------------------------------------------- the decoder


class WholeSequenceDecoder(nn.Module):
    """Correct: torch's LSTM over all of tgt_in at once."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        s, state = self.lstm(self.embed(tgt_in), state)
        return self.out(s), state, None


class StepByStepDecoder(nn.Module):
    """Correct: lstm_ref's LSTM one token at a time, the state carried by hand."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = lstm_ref.nn.LSTM(embed_size, hidden_size, num_layers)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        logits = []
        for token in tgt_in:  # (N,)
            s, state = self.lstm(self.embed(token).unsqueeze(0), state)
            logits.append(s[0] @ self.out.weight.T + self.out.bias)
        return torch.stack(logits), state, None


@pytest.mark.parametrize("student", [WholeSequenceDecoder, StepByStepDecoder])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_correct_decoders_pass(student, hidden, capsys):
    passes(check_decoder, student, hidden, capsys)


def decoder_making(mistake):
    class Mistaken(WholeSequenceDecoder):
        def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
            logits, h_n, c_n = mistake.fn(self, tgt_in, state, enc_outputs, src_mask)
            return logits, (h_n, c_n), None

    return Mistaken


@pytest.mark.parametrize("mistake", DECODER.mistakes, ids=lambda m: m.name)
def test_each_decoder_mistake_is_named(mistake):
    with pytest.raises(GradingError, match=names(mistake)):
        check_decoder(decoder_making(mistake))


def test_decoder_returning_two_values_is_told_the_three():
    class TwoValues(WholeSequenceDecoder):
        def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
            return super().forward(tgt_in, state)[:2]

    with pytest.raises(GradingError, match=r"should return \(logits, \(h_n, c_n\), None\)"):
        check_decoder(TwoValues)


def test_decoder_delegating_to_lstm_ref_is_refused():
    class Borrowed(lstm_ref.nn.Decoder):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
            super().__init__(vocab_size, embed_size, hidden_size, num_layers)

    with pytest.raises(GradingError, match=r"(?s)write it yourself.*seq2seq\.Decoder\.forward"):
        check_decoder(Borrowed)


def test_decoder_shape_error_gets_the_chapters_hint():
    class BatchFirst(WholeSequenceDecoder):
        def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
            s, state = self.lstm(self.embed(tgt_in.T), state)  # (N, T, E) read as (T, N, E)
            return self.out(s).transpose(0, 1), state, None

    with pytest.raises(GradingError, match=r"(?s)tgt_in \(\d+, \d+\) = \(T, N\).*Hint: embed"):
        check_decoder(BatchFirst)


# ---------------------------------------------------------------- the training step


def train_step_cross_entropy(model, optimizer, src, tgt_in, tgt_out):
    """Correct: cross_entropy's own PAD handling."""
    optimizer.zero_grad()
    logits = model(src, tgt_in)
    loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD_ID)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step_by_hand(model, optimizer, src, tgt_in, tgt_out):
    """Correct: batch-first log-probabilities, a mask, zero_grad after the step."""
    logits = model(src, tgt_in).transpose(0, 1)  # (N, T, V)
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, tgt_out.T.unsqueeze(-1))[..., 0]
    real = tgt_out.T != PAD_ID  # (N, T)
    loss = -(log_p * real).sum() / real.sum()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    return float(loss.detach())


@pytest.mark.parametrize("student", [train_step_cross_entropy, train_step_by_hand])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_correct_train_steps_pass(student, hidden, capsys):
    passes(check_train_step, student, hidden, capsys)


@pytest.mark.parametrize("mistake", TRAIN_STEP.mistakes, ids=lambda m: m.name)
def test_each_train_step_mistake_is_named(mistake):
    with pytest.raises(GradingError, match=names(mistake)):
        check_train_step(mistake.fn.keywords["train_step"])


def test_train_step_returning_a_tensor_is_told_to_return_a_float():
    def tensor_loss(model, optimizer, src, tgt_in, tgt_out):
        train_step_cross_entropy(model, optimizer, src, tgt_in, tgt_out)
        return torch.tensor(0.0)

    with pytest.raises(GradingError, match=r"(?s)Python float.*loss\.item\(\)"):
        check_train_step(tensor_loss)


def test_unflattened_cross_entropy_gets_the_chapters_hint():
    def unflattened(model, optimizer, src, tgt_in, tgt_out):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(src, tgt_in), tgt_out, ignore_index=PAD_ID)
        loss.backward()
        optimizer.step()
        return loss.item()

    with pytest.raises(GradingError, match=r"(?s)Expected target size.*reshape both"):
        check_train_step(unflattened)


def test_train_step_through_the_course_loop_is_refused():
    def borrowed(model, optimizer, src, tgt_in, tgt_out):
        history = train(model, lambda step: ((src, tgt_in), tgt_out), F.cross_entropy, steps=1,
                        optimizer=optimizer, progress=False)  # fmt: skip
        return history.loss[0]

    with pytest.raises(GradingError, match=r"(?s)write it yourself.*lstm_ref\.train\.train"):
        check_train_step(borrowed)
    assert train.__code__.co_name == "train"  # the code is back


# ---------------------------------------------------------------- greedy decoding


@torch.no_grad()
def greedy_batched(model, src, bos, eos, max_len):
    """Correct: the whole batch at once, finished strings tracked with a mask."""
    enc_outputs, state, mask = model.encoder(src)
    token = torch.full_like(src[0], bos)
    finished = torch.zeros_like(token, dtype=torch.bool)
    out = []
    while len(out) < max_len and not finished.all():
        logits, state, _ = model.decoder(token[None], state, enc_outputs, mask)
        token = torch.where(finished, PAD_ID, logits[0].argmax(-1))
        finished = finished | (token == eos)
        out.append(token)
    return torch.stack(out)


@torch.no_grad()
def greedy_one_string_at_a_time(model, src, bos, eos, max_len):
    """Correct: each string decoded alone to its EOS, then padded to the longest."""
    strings = []
    for n in range(src.shape[1]):
        enc_outputs, state, mask = model.encoder(src[:, n : n + 1])
        token, string = torch.tensor([bos], device=src.device), []
        while len(string) < max_len and (not string or string[-1] != eos):
            logits, state, _ = model.decoder(token[None], state, enc_outputs, mask)
            token = logits[0].argmax(-1)
            string.append(int(token))
        strings.append(string)
    T = max(len(s) for s in strings)
    tokens = [s + [PAD_ID] * (T - len(s)) for s in strings]
    return torch.tensor(tokens, device=src.device).T


@pytest.mark.parametrize("student", [greedy_batched, greedy_one_string_at_a_time])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_correct_greedy_decoders_pass(student, hidden, capsys):
    passes(check_greedy_decode, student, hidden, capsys)


@pytest.mark.parametrize("mistake", GREEDY.mistakes, ids=lambda m: m.name)
def test_each_greedy_mistake_is_named(mistake):
    with pytest.raises(GradingError, match=names(mistake)):
        check_greedy_decode(mistake.fn)


def test_greedy_decode_delegating_to_seq2seq_is_refused():
    def borrowed(model, src, bos, eos, max_len):
        return model.greedy_decode(src, bos, eos, max_len)

    with pytest.raises(GradingError, match=r"(?s)write it yourself.*Seq2Seq\.greedy_decode"):
        check_greedy_decode(borrowed)


@pytest.mark.parametrize("shapes", [GREEDY_SHAPES, GREEDY_HIDDEN])
@torch.no_grad()
def test_greedy_cases_end_early_and_late_and_never_tie(shapes):
    """What makes the mistakes visible: some case stops before max_len, some string
    never ends, and no argmax along the way is a near tie."""
    stops_early = never_ends = False
    for _, N, E, H, max_len, seed, gain, eos_bias in shapes:
        model = decoding_model(seed, E, H, gain, eos_bias).double()
        src = toy_translation(batch_size=N, seed=seed, max_len=6).src
        tokens = model.greedy_decode(src, BOS_ID, EOS_ID, max_len)  # (T', N)
        stops_early |= len(tokens) < max_len
        never_ends |= not bool((tokens == EOS_ID).any(dim=0).all())
        enc_outputs, state, mask = model.encoder(src)
        fed = torch.cat([torch.full((1, N), BOS_ID), tokens[:-1]])  # what greedy_decode fed
        logits, _, _ = model.decoder(fed, state, enc_outputs, mask)  # (T', N, V)
        top2 = logits.topk(2, dim=-1).values
        eos = (tokens == EOS_ID).int()
        live = eos.cumsum(0) - eos == 0  # steps up to and including each string's EOS
        assert float((top2[..., 0] - top2[..., 1])[live].min()) > 1e-3
    assert stops_early and never_ends


# ---------------------------------------------------------------- dot-product attention


def attention_einsum(queries, keys, mask):
    """Correct: einsum, -inf at padding."""
    scores = torch.einsum("tnh,snh->tns", queries, keys)
    weights = torch.softmax(scores.masked_fill(~mask.T, float("-inf")), dim=-1)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_bmm_batch_first(queries, keys, mask):
    """Correct: batch-first bmm, a large finite fill, softmax then renormalised."""
    q, k = queries.transpose(0, 1), keys.transpose(0, 1)  # (N, T, H), (N, S, H)
    scores = torch.bmm(q, k.transpose(1, 2)).masked_fill(~mask.T[:, None, :], -1e9)
    weights = torch.softmax(scores, dim=2) * mask.T[:, None, :]
    weights = weights / weights.sum(dim=2, keepdim=True)
    return torch.bmm(weights, k).transpose(0, 1), weights.transpose(0, 1)


def attention_loops(queries, keys, mask):
    """Correct: loops over t and n, a max-subtracted softmax over the real tokens only."""
    T, N, _ = queries.shape
    context, weights = torch.zeros_like(queries), queries.new_zeros(T, N, keys.shape[0])
    for n in range(N):
        real = keys[mask[:, n], n]  # (S_n, H)
        for t in range(T):
            score = real @ queries[t, n]
            alpha = torch.exp(score - score.max())
            alpha = alpha / alpha.sum()
            weights[t, n, mask[:, n]] = alpha
            context[t, n] = alpha @ real
    return context, weights


@pytest.mark.parametrize("student", [attention_einsum, attention_bmm_batch_first, attention_loops])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_correct_attention_passes(student, hidden, capsys):
    passes(check_dot_attention, student, hidden, capsys)


@pytest.mark.parametrize("mistake", DOT_ATTENTION.mistakes, ids=lambda m: m.name)
def test_each_attention_mistake_is_named(mistake):
    with pytest.raises(GradingError, match=names(mistake)):
        check_dot_attention(mistake.fn)


def test_softmax_over_a_masked_axis_gets_a_nan_hint():
    def wrong_axis_inf(queries, keys, mask):
        scores = torch.einsum("tnh,snh->tns", queries, keys).masked_fill(~mask.T, -torch.inf)
        weights = torch.softmax(scores, dim=0)
        return torch.einsum("tns,snh->tnh", weights, keys), weights

    with pytest.raises(GradingError, match=r"(?s)nan.*the last axis of \(T, N, S\)"):
        check_dot_attention(wrong_axis_inf)


def test_naive_exp_overflow_gets_a_hint():
    def naive_exp(queries, keys, mask):
        e = torch.exp(torch.einsum("tnh,snh->tns", queries, keys)) * mask.T
        weights = e / e.sum(dim=-1, keepdim=True)
        return torch.einsum("tns,snh->tnh", weights, keys), weights

    with pytest.raises(GradingError, match=r"(?s)float32.*inf comes from exp\(\)"):
        check_dot_attention(naive_exp)


def test_untransposed_mask_gets_the_chapters_shape_hint():
    def untransposed(queries, keys, mask):
        scores = torch.einsum("tnh,snh->tns", queries, keys).masked_fill(~mask, -torch.inf)
        weights = torch.softmax(scores, dim=-1)
        return torch.einsum("tns,snh->tnh", weights, keys), weights

    with pytest.raises(GradingError, match=r"(?s)mask \(5, 4\) = \(S, N\).*mask\.T is \(N, S\)"):
        check_dot_attention(untransposed)


@pytest.mark.parametrize(
    "borrowed, culprit",
    [(lambda q, k, m: lstm_ref.nn.DotAttention(q.shape[-1])(q, k, m), "DotAttention.forward"),
     (lambda q, k, m: F.scaled_dot_product_attention(q, k, k), "scaled_dot_product_attention")],
)  # fmt: skip
def test_attention_delegation_is_refused(borrowed, culprit):
    with pytest.raises(GradingError, match="(?s)write it yourself.*" + culprit):
        check_dot_attention(borrowed)
    q = torch.randn(1, 2, 3)
    assert F.scaled_dot_product_attention(q, q, q).shape == (1, 2, 3)  # restored


def test_checks_leave_the_thread_count_as_it_was():
    before = torch.get_num_threads()
    check_dot_attention(attention_einsum)
    assert torch.get_num_threads() == before
