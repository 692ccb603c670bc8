"""Chapter 6's checks: correct code written differently passes, each known mistake is
named, and handing the work to lstm_ref's encoder–decoder or to torch's attention is
refused. CORRECT and BUGS are the student-like corpus (tests/test_grading_corpus.py)."""

import math
import re
import warnings

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
    GREEDY,
    TRAIN_STEP,
    check_decoder,
    check_dot_attention,
    check_encoder,
    check_greedy_decode,
    check_train_step,
    decoding_model,
)
from lstm_ref.grading.encoder_decoder import encoder as encoder_exercise
from lstm_ref.grading.encoder_decoder import greedy_decode as greedy_exercise
from lstm_ref.grading.run import run_cases
from lstm_ref.tasks import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE, toy_translation
from lstm_ref.train import train
from tests.support.grading import Bug, unguarded, verdict

HIDDEN = [False, True]


def judged(exercise, outputs_fn, hidden=False):
    """The verdict on outputs that ``outputs_fn(*case.args)`` computes, as if a student's
    class had returned them: for a class exercise's mistakes, which are functions."""
    part = exercise.parts[0]
    got = run_cases(part.check, outputs_fn, part.cases(hidden), guarded=False)
    return exercise.judge([got], hidden)


# ================================================================ exercise 1: the encoder


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
    """Correct, without packing: lstm_ref's LSTM on each string cut to its length, and no
    padding_idx (the outputs are the same)."""

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


class SortedEncoder(nn.Module):
    """Correct: sorts the batch by length itself (enforce_sorted=True), then unsorts."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers=num_layers)

    def forward(self, src, src_lengths=None):
        mask = src != PAD_ID
        if src_lengths is None:
            outputs, (h, c) = self.lstm(self.embed(src))
            return outputs, (h, c), mask
        lengths, order = torch.sort(src_lengths, descending=True)
        packed = pack_padded_sequence(self.embed(src[:, order]), lengths)
        outputs, (h, c) = self.lstm(packed)
        outputs, _ = pad_packed_sequence(outputs, total_length=src.size(0))
        back = torch.argsort(order)
        print("encoded", tuple(outputs.shape))  # a student's print: fine
        return outputs[:, back], (h[:, back], c[:, back]), mask


class NoPackingEncoder(PackingEncoder):
    def forward(self, src, src_lengths=None):
        outputs, (h, c) = self.lstm(self.embed(src))  # runs over the padding too
        return outputs, (h, c), src != PAD_ID


class PadMaskEncoder(PackingEncoder):
    def forward(self, src, src_lengths=None):
        outputs, state, _ = super().forward(src, src_lengths)
        return outputs, state, src == PAD_ID


class NoTotalLengthEncoder(PackingEncoder):
    def forward(self, src, src_lengths=None):
        embedded = self.embed(src)
        if src_lengths is None:
            outputs, state = self.lstm(embedded)
        else:
            packed = pack_padded_sequence(embedded, src_lengths, enforce_sorted=False)
            outputs, state = self.lstm(packed)
            outputs, _ = pad_packed_sequence(outputs)
        return outputs, state, src != PAD_ID


class CellFirstEncoder(PackingEncoder):
    def forward(self, src, src_lengths=None):
        outputs, (h, c), mask = super().forward(src, src_lengths)
        return outputs, (c, h), mask


class DetachedEncoder(PackingEncoder):
    def forward(self, src, src_lengths=None):
        outputs, state, mask = super().forward(src, src_lengths)
        return outputs.detach(), state, mask  # "the outputs are only read"


class NoGradEncoder(PackingEncoder):
    @torch.no_grad()
    def forward(self, src, src_lengths=None):
        return super().forward(src, src_lengths)


class Float32BufferEncoder(OneStringAtATimeEncoder):
    def forward(self, src, src_lengths=None):
        S, N = src.shape
        lengths = [S] * N if src_lengths is None else src_lengths.tolist()
        outputs = torch.zeros(S, N, self.lstm.hidden_size)  # float32, whatever the weights
        hs, cs = [], []
        for n, length in enumerate(lengths):
            out, (h, c) = self.lstm(self.embed(src[:length, n : n + 1]))
            outputs[:length, n] = out[:, 0]
            hs.append(h)
            cs.append(c)
        return outputs, (torch.cat(hs, dim=1), torch.cat(cs, dim=1)), src != PAD_ID


class BatchFirstEncoder(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)

    def forward(self, src, src_lengths=None):
        embedded = self.embed(src.T)  # (N, S, E)
        if src_lengths is None:
            outputs, state = self.lstm(embedded)
        else:
            packed = pack_padded_sequence(embedded, src_lengths, batch_first=True,
                                          enforce_sorted=False)  # fmt: skip
            outputs, state = self.lstm(packed)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=len(src))
        return outputs, state, src != PAD_ID  # outputs (N, S, H)


class OneLayerEncoder(PackingEncoder):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
        super().__init__(vocab_size, embed_size, hidden_size)  # num_layers forgotten


# ================================================================ exercise 2: the decoder


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
    """Correct: lstm_ref's LSTM one token at a time, the state carried by hand, no
    padding_idx (its only effect is that PAD's embedding is not trained)."""

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


class UnpackingDecoder(WholeSequenceDecoder):
    """Correct: the state unpacked and packed again, logits by einsum."""

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        h_0, c_0 = state
        s, (h_n, c_n) = self.lstm(self.embed(tgt_in), (h_0, c_0))
        logits = torch.einsum("tnh,vh->tnv", s, self.out.weight) + self.out.bias
        return logits, (h_n, c_n), None


class ZeroStartDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        s, state = self.lstm(self.embed(tgt_in))
        return self.out(s), state, None


class LogSoftmaxDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        s, state = self.lstm(self.embed(tgt_in), state)
        return F.log_softmax(self.out(s), dim=-1), state, None


class OldStateDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        s, _ = self.lstm(self.embed(tgt_in), state)
        return self.out(s), state, None


class CellFirstDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        s, (h, c) = self.lstm(self.embed(tgt_in), state)
        return self.out(s), (c, h), None


class MisunpackedDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        c, h = state
        s, (h_n, c_n) = self.lstm(self.embed(tgt_in), (h, c))
        return self.out(s), (h_n, c_n), None


class NoGradDecoder(WholeSequenceDecoder):
    @torch.no_grad()
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        return super().forward(tgt_in, state)


class DetachedStateDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        state = tuple(part.detach() for part in state)  # "the encoder is trained apart"
        return super().forward(tgt_in, state)


class HOnlyDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        h_0 = state[0]
        s, state = self.lstm(self.embed(tgt_in), (h_0, torch.zeros_like(h_0)))
        return self.out(s), state, None


class NoOutputLayerDecoder(WholeSequenceDecoder):
    def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
        s, state = self.lstm(self.embed(tgt_in), state)
        return s, state, None


# ================================================================ exercise 3: a training step


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


def train_step_unreduced(model, optimizer, src, tgt_in, tgt_out):
    """Correct: model.train(), per-token losses averaged over the real tokens."""
    model.train()
    optimizer.zero_grad()
    V = VOCAB_SIZE
    per_token = F.cross_entropy(model(src, tgt_in).view(-1, V), tgt_out.view(-1),
                                reduction="none")  # fmt: skip
    real = (tgt_out.view(-1) != PAD_ID).to(per_token.dtype)
    loss = (per_token * real).sum() / real.sum()
    value = loss.item()
    loss.backward()
    optimizer.step()
    return value


def _flat_loss(logits, target, **kwargs):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), **kwargs)


def feeds_tgt_out(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_out), tgt_out, ignore_index=PAD_ID)
    loss.backward()
    optimizer.step()
    return loss.item()


def targets_tgt_in(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_in, ignore_index=PAD_ID)
    loss.backward()
    optimizer.step()
    return loss.item()


def pad_in_loss(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_out)
    loss.backward()
    optimizer.step()
    return loss.item()


def summed_loss(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID, reduction="sum")
    loss.backward()
    optimizer.step()
    return loss.item()


def mean_over_all_positions(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    per_token = _flat_loss(model(src, tgt_in), tgt_out, reduction="none")
    loss = (per_token * (tgt_out.reshape(-1) != PAD_ID)).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model, optimizer, src, tgt_in, tgt_out):
    loss = _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID)
    loss.backward()
    optimizer.step()
    return loss.item()


def tensor_loss(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID)
    loss.backward()
    optimizer.step()
    return loss


def no_step(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID)
    loss.backward()
    return loss.item()


def step_before_backward(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID)
    optimizer.step()
    loss.backward()
    return loss.item()


def loss_after_update(model, optimizer, src, tgt_in, tgt_out):
    optimizer.zero_grad()
    loss = _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID)
    loss.backward()
    optimizer.step()
    with torch.no_grad():  # "the loss of the updated model"
        return _flat_loss(model(src, tgt_in), tgt_out, ignore_index=PAD_ID).item()


# ================================================================ exercise 4: greedy decoding


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


def greedy_eval_mode(model, src, bos, eos, max_len):
    """Correct: model.eval() and torch.no_grad() inside, model.train() restored after."""
    model.eval()
    with torch.no_grad():
        enc_outputs, state, mask = model.encoder(src)
        tokens = []
        token = torch.full((src.size(1),), bos, dtype=torch.long, device=src.device)
        done = torch.zeros(src.size(1), dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            logits, state, _ = model.decoder(token.view(1, -1), state, enc_outputs, mask)
            token = logits.squeeze(0).argmax(dim=-1)
            token[done] = PAD_ID
            tokens.append(token)
            done |= token == eos
            if done.all():
                break
    model.train()
    return torch.stack(tokens, dim=0)


def greedy_eval_no_no_grad(model, src, bos, eos, max_len):
    """Correct: model.eval() only, no torch.no_grad() (gradients are not needed)."""
    model.eval()
    enc_outputs, state, mask = model.encoder(src)
    token = torch.full((src.shape[1],), bos, device=src.device)
    alive = torch.ones_like(token, dtype=torch.bool)
    steps = []
    for _ in range(max_len):
        logits, state, _ = model.decoder(token.unsqueeze(0), state, enc_outputs, mask)
        token = torch.where(alive, logits[0].argmax(-1), torch.full_like(token, PAD_ID))
        steps.append(token)
        alive = alive & (token != eos)
        if not alive.any():
            break
    return torch.stack(steps)


def _greedy(model, src, bos, eos, max_len, *, feed_bos=False, carry=True, pad=True,
            stop="all", remember=True, keep_eos=True):  # fmt: skip
    """The loop a student writes; each bug below changes one line of it."""
    with torch.no_grad():
        enc_outputs, state, mask = model.encoder(src)
        first_state = state
        token = torch.full((src.shape[1],), bos, dtype=torch.long)
        done = torch.zeros(src.shape[1], dtype=torch.bool)
        out = []
        for _ in range(max_len):
            fed = torch.full_like(token, bos) if feed_bos else token
            logits, new_state, _ = model.decoder(fed[None], state, enc_outputs, mask)
            state = new_state if carry else first_state
            token = logits[0].argmax(-1)
            if pad:
                token[done] = PAD_ID
            done = (done | (token == eos)) if remember else (token == eos)
            out.append(token if keep_eos else token.masked_fill(token == eos, PAD_ID))
            if stop == "all" and done.all() or stop == "any" and done.any():
                break
        return torch.stack(out)


def greedy_feeds_bos(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, feed_bos=True)


def greedy_encoder_state_each_step(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, carry=False)


def greedy_to_max_len(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, stop="never")


def greedy_stops_at_first_eos(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, stop="any")


def greedy_no_padding(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, pad=False)


def greedy_forgets_finished(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, remember=False)


def greedy_without_eos(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len, keep_eos=False)


def greedy_with_bos(model, src, bos, eos, max_len):
    tokens = _greedy(model, src, bos, eos, max_len)
    return torch.cat([torch.full_like(tokens[:1], bos), tokens])


def greedy_batch_first(model, src, bos, eos, max_len):
    return _greedy(model, src, bos, eos, max_len).T  # (N, T')


@torch.no_grad()
def greedy_checks_before_append(model, src, bos, eos, max_len):
    enc_outputs, state, mask = model.encoder(src)
    token = torch.full((src.shape[1],), bos)
    done = torch.zeros_like(token, dtype=torch.bool)
    out = []
    for _ in range(max_len):
        logits, state, _ = model.decoder(token[None], state, enc_outputs, mask)
        token = logits[0].argmax(-1).masked_fill(done, PAD_ID)
        done = done | (token == eos)
        if done.all():
            break
        out.append(token)
    return torch.stack(out)


# ================================================================ exercise 5: dot attention


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


def _scores(queries, keys):
    return torch.einsum("tnh,snh->tns", queries, keys)


def attention_softmax_over_queries(queries, keys, mask):
    weights = torch.softmax(_scores(queries, keys).masked_fill(~mask.T, -1e9), dim=0)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_softmax_over_queries_inf(queries, keys, mask):
    weights = F.softmax(_scores(queries, keys).masked_fill(~mask.T, -math.inf), dim=0)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_no_mask(queries, keys, mask):
    weights = torch.softmax(_scores(queries, keys), dim=-1)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_inverted_mask(queries, keys, mask):
    weights = torch.softmax(_scores(queries, keys).masked_fill(mask.T, -torch.inf), dim=-1)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_zero_fill(queries, keys, mask):
    weights = torch.softmax(_scores(queries, keys) * mask.T, dim=-1)  # 0 at padding
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_zeroed_after(queries, keys, mask):
    weights = torch.softmax(_scores(queries, keys), dim=-1) * mask.T
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_scaled(queries, keys, mask):
    scores = _scores(queries, keys) / math.sqrt(queries.shape[-1])
    weights = torch.softmax(scores.masked_fill(~mask.T, -torch.inf), dim=-1)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_naive_exp(queries, keys, mask):
    e = torch.exp(_scores(queries, keys)) * mask.T
    weights = e / e.sum(dim=-1, keepdim=True)
    return torch.einsum("tns,snh->tnh", weights, keys), weights


def attention_detached_weights(queries, keys, mask):
    scores = _scores(queries, keys).masked_fill(~mask.T, -torch.inf)
    weights = torch.softmax(scores, dim=-1).detach()  # "the weights are only a readout"
    return torch.einsum("tns,snh->tnh", weights, keys), weights


@torch.no_grad()
def attention_no_grad(queries, keys, mask):
    return attention_einsum(queries, keys, mask)


def attention_float32_buffer(queries, keys, mask):
    T, N, H = queries.shape
    context = torch.zeros(T, N, H)  # float32, whatever the inputs
    weights = torch.zeros_like(queries[..., :1]).repeat(1, 1, keys.shape[0])  # (T, N, S)
    for n in range(N):
        scores = queries[:, n] @ keys[:, n].T  # (T, S)
        alpha = torch.softmax(scores.masked_fill(~mask[:, n], -torch.inf), dim=-1)
        weights[:, n] = alpha
        context[:, n] = alpha @ keys[:, n]
    return context, weights


def attention_bmm_forgot_transpose(queries, keys, mask):
    q, k = queries.transpose(0, 1), keys.transpose(0, 1)  # (N, T, H), (N, S, H)
    scores = torch.bmm(q, k.transpose(1, 2)).masked_fill(~mask.T[:, None, :], -torch.inf)
    weights = torch.softmax(scores, dim=-1)
    return torch.bmm(weights, k), weights  # both still (N, T, ...)


# ================================================================ the corpus

CORRECT = {
    check_encoder: [PackingEncoder, OneStringAtATimeEncoder, SortedEncoder],
    check_decoder: [WholeSequenceDecoder, StepByStepDecoder, UnpackingDecoder],
    check_train_step: [train_step_cross_entropy, train_step_by_hand, train_step_unreduced],
    check_greedy_decode: [greedy_batched, greedy_one_string_at_a_time, greedy_eval_mode,
                          greedy_eval_no_no_grad],
    check_dot_attention: [attention_einsum, attention_bmm_batch_first, attention_loops],
}  # fmt: skip
BUGS = {
    check_encoder: [
        Bug(NoPackingEncoder, "the final state is taken after the padding"),
        Bug(PadMaskEncoder, "the mask marks the padding"),
        Bug(NoTotalLengthEncoder, "the outputs stop at the longest string"),
        Bug(CellFirstEncoder, "h_n and c_n are returned in each other's place"),
        Bug(DetachedEncoder, "the gradient is cut"),
        Bug(NoGradEncoder, "the gradient is cut"),
        Bug(Float32BufferEncoder, "not in the inputs' dtype"),
        Bug(BatchFirstEncoder, "outputs is batch-first"),
        Bug(OneLayerEncoder, "lstm.weight_ih_l1 missing"),
    ],
    check_decoder: [
        Bug(ZeroStartDecoder, "starts from zeros"),
        Bug(LogSoftmaxDecoder, "the logits go through a softmax"),
        Bug(OldStateDecoder, "the state passed in is returned"),
        Bug(CellFirstDecoder, "h_n and c_n are returned in each other's place"),
        Bug(MisunpackedDecoder, "the state is unpacked as (c, h)"),
        Bug(NoGradDecoder, "the gradient is cut"),
        Bug(DetachedStateDecoder, "the gradient is cut"),
        Bug(HOnlyDecoder, "only h is handed over"),
        Bug(NoOutputLayerDecoder, "the output layer is not applied"),
    ],
    check_train_step: [
        Bug(feeds_tgt_out, "teacher forcing off by one"),
        Bug(targets_tgt_in, "compared with tgt_in"),
        Bug(pad_in_loss, "PAD is not ignored"),
        Bug(summed_loss, "summed instead of averaged"),
        Bug(mean_over_all_positions, "divided by every position"),
        Bug(no_zero_grad, "zero_grad() is missing"),
        Bug(tensor_loss, "should be a Python float"),
        Bug(no_step, "the parameters are not updated"),
        Bug(step_before_backward, "the parameters are not updated"),
        Bug(loss_after_update, "computed after the update"),
    ],
    check_greedy_decode: [
        Bug(greedy_feeds_bos, "BOS is fed at every step"),
        Bug(greedy_encoder_state_each_step, "state is not carried"),
        Bug(greedy_to_max_len, "goes on to max_len"),
        Bug(greedy_stops_at_first_eos, "stops when the first string ends"),
        Bug(greedy_no_padding, "finished strings are not padded"),
        Bug(greedy_forgets_finished, "EOS is forgotten at the next step"),
        Bug(greedy_without_eos, "EOS is left out"),
        Bug(greedy_with_bos, "BOS is included"),
        Bug(greedy_batch_first, "tokens is transposed"),
        Bug(greedy_checks_before_append, "the last step"),
    ],
    check_dot_attention: [
        Bug(attention_softmax_over_queries, "over the queries"),
        Bug(attention_softmax_over_queries_inf, "over the queries"),
        Bug(attention_no_mask, "the mask is not applied"),
        Bug(attention_inverted_mask, "the mask is inverted"),
        Bug(attention_zero_fill, "scored 0 instead of -inf"),
        Bug(attention_zeroed_after, "without renormalising"),
        Bug(attention_scaled, "scaled by 1/√H"),
        Bug(attention_naive_exp, "exp() of large scores overflows"),
        Bug(attention_detached_weights, "the gradient is cut"),
        Bug(attention_no_grad, "the gradient is cut"),
        Bug(attention_float32_buffer, "not in the inputs' dtype"),
        Bug(attention_bmm_forgot_transpose, "batch-first"),
    ],
}


# ================================================================ the checks' own tests


def passes(check, student, hidden, capsys):
    check(student, hidden=hidden)
    out = capsys.readouterr()
    assert out.out.startswith("✓") and out.err == ""


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("check, student",
                         [(check, student) for check, students in CORRECT.items()
                          for student in students],
                         ids=lambda x: getattr(x, "__name__", repr(x)))  # fmt: skip
def test_correct_variants_pass_in_the_notebook(check, student, hidden, capsys):
    check(student, hidden=hidden)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("exercise, check", [(check_encoder, ENCODER), (check_decoder, DECODER)],
                         ids=["Encoder", "Decoder"])  # fmt: skip
def test_each_class_mistake_is_named(exercise, check):
    for mistake in check.mistakes:
        result = judged(exercise, mistake.fn)
        assert not result.passed and result.mistake == mistake.name, result.message


@pytest.mark.parametrize("mistake", GREEDY.mistakes, ids=lambda m: m.name)
def test_each_greedy_mistake_is_named(mistake):
    result = verdict(unguarded(check_greedy_decode), mistake.fn)
    assert not result.passed and result.mistake == mistake.name, result.message


@pytest.mark.parametrize("mistake", DOT_ATTENTION.mistakes, ids=lambda m: m.name)
def test_each_attention_mistake_is_named(mistake):
    result = verdict(unguarded(check_dot_attention), mistake.fn)
    assert not result.passed and result.mistake == mistake.name, result.message


@pytest.mark.parametrize("mistake", TRAIN_STEP.mistakes, ids=lambda m: m.name)
def test_each_train_step_mistake_is_named(mistake):
    result = verdict(unguarded(check_train_step), mistake.fn.keywords["train_step"])
    assert not result.passed and result.mistake == mistake.name, result.message


# ---------------------------------------------------------------- what the issue reported


@pytest.mark.parametrize("student", [greedy_eval_mode, greedy_eval_no_no_grad])
def test_greedy_decode_may_call_eval_train_and_no_grad(student, capsys):
    """Decoding needs no gradients: model.eval(), model.train() and torch.no_grad() pass
    (an older parse-time scan refused model.eval() as tampering)."""
    check_greedy_decode(student)
    check_greedy_decode(student, hidden=True)
    assert capsys.readouterr().out.count("✓ greedy_decode") == 2


@pytest.mark.parametrize("check, student, cut", [
    (check_encoder, NoGradEncoder, "no gradient reaches parameters"),
    (check_encoder, DetachedEncoder, "the gradient is cut"),
    (check_decoder, NoGradDecoder, "no gradient reaches parameters"),
    (check_decoder, DetachedStateDecoder, "the gradient is cut"),
    (check_dot_attention, attention_no_grad, "the gradient is cut"),
])  # fmt: skip
def test_a_cut_gradient_fails_and_is_named(check, student, cut):
    result = verdict(check, student)
    assert not result.passed and result.mistake == "the gradient is cut", result.message
    assert len(result.message.splitlines()) <= 5


def test_gradients_are_judged_as_extra_outputs():
    assert ENCODER.all_output_names[-1] == "∂L/∂parameters"
    assert DECODER.all_output_names[-2:] == ["∂L/∂parameters", "∂L/∂state"]
    assert DOT_ATTENTION.all_output_names[-2:] == ["∂L/∂queries", "∂L/∂keys"]


def test_train_step_returning_a_tensor_is_told_to_return_a_float():
    with pytest.raises(GradingError, match=r"(?s)should be a Python float.*loss\.item\(\)"):
        check_train_step(tensor_loss)


@pytest.mark.parametrize("check", [check_encoder, check_decoder, check_dot_attention])
def test_cases_come_in_both_dtypes(check):
    dtypes = {str(case.dtype) for case in check.parts[0].cases(True)}
    assert dtypes == {"float32", "float64"}


# ---------------------------------------------------------------- the encoder


def test_encoder_returning_h_only_is_explained():
    class HOnly(PackingEncoder):
        def forward(self, src, src_lengths=None):
            outputs, (h_n, c_n), mask = super().forward(src, src_lengths)
            return outputs, h_n, mask

    with pytest.raises(GradingError, match=r"the state h only.*\(h_n, c_n\)"):
        check_encoder(HOnly)


def test_encoder_with_other_layer_names_is_told_the_names():
    class Renamed(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.LSTM(embed_size, hidden_size, num_layers)

    with pytest.raises(GradingError, match=r"embed\.weight missing.*self\.embed = "):
        check_encoder(Renamed)


def test_encoder_delegating_to_lstm_ref_is_refused():
    class Borrowed(lstm_ref.nn.Encoder):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1):
            super().__init__(vocab_size, embed_size, hidden_size, num_layers)

    with pytest.raises(GradingError, match=r"write it yourself.*seq2seq\.Encoder\.forward"):
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


@pytest.mark.parametrize("hidden", HIDDEN)
def test_encoder_cases_have_padding_and_strings_shorter_than_src(hidden):
    args = [case.args for case in encoder_exercise.cases(hidden)]
    padded = [(src, n) for _, _, src, n in args if n is not None]
    assert any(bool((n < len(src)).any()) and n.max() == len(src) for src, n in padded)
    assert any(int(n.max()) < len(src) for src, n in padded)  # total_length matters
    assert any(n is None for *_, n in args)


# ---------------------------------------------------------------- the decoder


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

    with pytest.raises(GradingError, match=r"write it yourself.*seq2seq\.Decoder\.forward"):
        check_decoder(Borrowed)


def test_decoder_shape_error_gets_the_chapters_hint():
    class BatchFirst(WholeSequenceDecoder):
        def forward(self, tgt_in, state, enc_outputs=None, src_mask=None):
            s, state = self.lstm(self.embed(tgt_in.T), state)  # (N, T, E) read as (T, N, E)
            return self.out(s).transpose(0, 1), state, None

    with pytest.raises(GradingError, match=r"(?s)Hint: embed tgt_in \(T, N\).*Case: typical"):
        check_decoder(BatchFirst)


# ---------------------------------------------------------------- the training step


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

    with pytest.raises(GradingError, match=r"write it yourself.*lstm_ref\.train\.train"):
        check_train_step(borrowed)
    assert train.__code__.co_name == "train"  # the code is back


# ---------------------------------------------------------------- greedy decoding


def test_greedy_decode_delegating_to_seq2seq_is_refused():
    def borrowed(model, src, bos, eos, max_len):
        return model.greedy_decode(src, bos, eos, max_len)

    with pytest.raises(GradingError, match=r"write it yourself.*Seq2Seq\.greedy_decode"):
        check_greedy_decode(borrowed)


@pytest.mark.parametrize("shapes", [greedy_exercise.SHAPES, greedy_exercise.HIDDEN])
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


def test_untransposed_mask_gets_the_chapters_shape_hint():
    def untransposed(queries, keys, mask):
        scores = torch.einsum("tnh,snh->tns", queries, keys).masked_fill(~mask, -torch.inf)
        weights = torch.softmax(scores, dim=-1)
        return torch.einsum("tns,snh->tnh", weights, keys), weights

    with pytest.raises(GradingError, match=r"(?s)mask\.T is \(N, S\).*S=5"):
        check_dot_attention(untransposed)


@pytest.mark.parametrize(
    "borrowed, culprit",
    [(lambda q, k, m: lstm_ref.nn.DotAttention(q.shape[-1])(q, k, m), "DotAttention.forward"),
     (lambda q, k, m: F.scaled_dot_product_attention(q, k, k), "scaled_dot_product_attention")],
)  # fmt: skip
def test_attention_delegation_is_refused(borrowed, culprit):
    with pytest.raises(GradingError, match="write it yourself.*" + re.escape(culprit)):
        check_dot_attention(borrowed)
    q = torch.randn(1, 2, 3)
    assert F.scaled_dot_product_attention(q, q, q).shape == (1, 2, 3)  # restored


def test_checks_leave_the_thread_count_and_warnings_as_they_were():
    before = torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_dot_attention(attention_einsum)
    assert torch.get_num_threads() == before
