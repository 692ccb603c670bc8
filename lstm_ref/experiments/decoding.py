"""Greedy decoding against beam search on the chapter's trained translators (chapter 6).

One held-out set of digit strings (lengths 1 … 12, drawn apart from every training
batch and from the chapter's other held-out strings) is decoded by each model greedily
and with beams of several widths K, with and without GNMT's length penalty:

    held_out_set(examples)                        -> TranslationBatch
    compare_decoders(model, batch, widths, alphas) -> [Decoding], greedy first
    corpus_bleu(hypotheses, references)           -> sacrebleu's BLEUScore

BLEU comes from sacrebleu (Post 2018), over the digits as space-separated tokens with
sacrebleu's tokenizer off: the outputs are token ids already, not text to be split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import sacrebleu
import torch
from torch import Tensor

from lstm_ref.experiments.seq2seq import EVAL_SEED
from lstm_ref.nn import Seq2Seq
from lstm_ref.tasks import BOS_ID, EOS_ID, TranslationBatch, decode_digits, toy_translation

HELD_OUT_SEED = EVAL_SEED - 2
"""Seed of the held-out set; EVAL_SEED - 1 and EVAL_SEED + L are the chapter's others."""
EXTRA_STEPS = 5
"""Decoders may write up to S + EXTRA_STEPS tokens, S the longest source: room to overrun."""


def held_out_set(examples: int = 400, max_len: int = 12) -> TranslationBatch:
    """`examples` strings of 1 … max_len digits, never trained on."""
    return toy_translation(batch_size=examples, seed=HELD_OUT_SEED, max_len=max_len)


def as_text(tokens: Tensor) -> list[str]:
    """Token ids (T, N) -> N strings of space-separated digits, cut at EOS: '4 1 3'."""
    return [" ".join(decode_digits(column)) for column in tokens.T]


def corpus_bleu(hypotheses: list[str], references: list[str]) -> sacrebleu.BLEUScore:
    """Corpus BLEU (Papineni et al. 2002) of one reference per hypothesis, by sacrebleu.

    Modified n-gram precisions for n = 1 … 4 pooled over the corpus, their geometric
    mean, times the brevity penalty; ``tokenize="none"`` splits on spaces only.
    """
    return sacrebleu.metrics.BLEU(tokenize="none").corpus_score(hypotheses, [references])


def bleu_signature() -> str:
    """sacrebleu's record of the settings behind `corpus_bleu`, to report beside a score."""
    metric = sacrebleu.metrics.BLEU(tokenize="none")
    metric.corpus_score(["0"], [["0"]])  # sacrebleu records the number of references here
    return str(metric.get_signature())


@dataclass
class Decoding:
    """One decoder's results on the held-out set."""

    name: str  # "greedy", or "beam K=4, α=0.6"
    width: int  # K; 1 for greedy
    alpha: float  # α of the length penalty; 0 for greedy
    bleu: float  # corpus BLEU, 0 … 100
    exact: float  # fraction of outputs equal to the reference
    length_ratio: float  # output digits / reference digits, over the corpus
    hypotheses: list[str]  # the N outputs, as space-separated digits
    log_prob: Tensor  # (N,) log p(Y | X) of each output under the model
    exact_each: Tensor  # (N,) bool: output equals the reference
    search_errors: int  # wrong outputs the model finds less probable than the reference
    cpu_seconds: float  # process time of the decode (median of `repeats`)


def sequence_log_prob(model: Seq2Seq, batch: TranslationBatch, tokens: Tensor) -> Tensor:
    """log p(Y | X) (N,) of tokens (T, N), up to and including each EOS, by teacher forcing."""
    bos = torch.full_like(tokens[:1], BOS_ID)
    logits = model(batch.src, torch.cat([bos, tokens[:-1]]), batch.lengths)  # (T, N, V)
    log_p = logits.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (T, N)
    before_eos = torch.cumsum(tokens == EOS_ID, dim=0) - (tokens == EOS_ID).long() == 0
    return (log_p * before_eos).sum(0)  # PAD after EOS does not count


@torch.no_grad()
def compare_decoders(
    model: Seq2Seq,
    batch: TranslationBatch,
    widths: tuple[int, ...] = (1, 2, 4, 8),
    alphas: tuple[float, ...] = (0.0, 1.0),
    repeats: int = 1,
) -> list[Decoding]:
    """Decode `batch` greedily, then with every (K, α) beam; greedy comes first.

    Every decoder may write up to S + EXTRA_STEPS tokens. `cpu_seconds` is the median
    process time of `repeats` runs of the decode alone (not the scoring).
    """
    model.eval()
    references = as_text(batch.tgt_out)
    reference_log_prob = sequence_log_prob(model, batch, batch.tgt_out)  # (N,)
    max_len = batch.src.shape[0] + EXTRA_STEPS
    args = (batch.src, BOS_ID, EOS_ID, max_len)

    def greedy():
        return model.greedy_decode(*args, src_lengths=batch.lengths)

    def beam(K, alpha):
        return model.beam_decode(*args, K, alpha=alpha, src_lengths=batch.lengths).tokens

    decoders = [("greedy", 1, 0.0, greedy)]
    for alpha in alphas:
        for K in widths:
            decoders.append((f"beam K={K}, α={alpha:g}", K, alpha, partial(beam, K, alpha)))
    results = []
    for name, K, alpha, decode in decoders:
        seconds = []
        for _ in range(repeats):
            start = time.process_time()
            tokens = decode()
            seconds.append(time.process_time() - start)
        hypotheses = as_text(tokens)
        bleu = corpus_bleu(hypotheses, references)
        exact = torch.tensor([h == r for h, r in zip(hypotheses, references)])
        log_prob = sequence_log_prob(model, batch, tokens)
        search_errors = int((~exact & (log_prob < reference_log_prob)).sum())
        results.append(Decoding(
            name, K, alpha, bleu.score, exact.float().mean().item(), bleu.sys_len / bleu.ref_len,
            hypotheses, log_prob, exact, search_errors, sorted(seconds)[len(seconds) // 2],
        ))  # fmt: skip
    return results
