"""Beam search (lstm_ref.nn.beam) against its oracles: greedy decoding at K = 1,
exhaustive search over every hypothesis when nothing is pruned, and hand-built models
whose best hypotheses are known."""

import itertools
import math

import pytest
import torch

from lstm_ref.nn import Seq2Seq
from lstm_ref.nn.beam import beam_search, length_penalty

PAD, BOS, EOS = 0, 1, 2
ATTENTION = [None, "dot", "additive"]


def random_model(attention, vocab=10, seed=0, sharpness=1.0):
    """A random two-layer Seq2Seq in float64, every parameter multiplied by `sharpness`
    (a random model at the usual scale writes much the same thing for every source)."""
    torch.manual_seed(seed)
    model = Seq2Seq(vocab, vocab, embed_size=6, hidden_size=8, num_layers=2,
                    attention=attention).double()  # fmt: skip
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(sharpness)
    return model


def random_source(vocab=10, length=7, batch=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    src = torch.randint(3, vocab, (length, batch), generator=g)
    src[torch.arange(length).unsqueeze(1) >= lengths] = PAD
    return src, lengths


def table_model(table, vocab=8, floor=1e-6):
    """A decoder that ignores the source: p(y_t | y_<t) from ``table[prefix]``.

    ``table`` maps a prefix (a tuple of tokens after BOS) to {token: probability}; every
    token it leaves out gets probability `floor`. The state is the prefix itself, (t, B).
    """

    def step(token, state):
        prefix = torch.cat([state[0], token.unsqueeze(0)])  # (t, B), BOS first
        rows = []
        for column in prefix.T.tolist():
            p = torch.full((vocab,), floor, dtype=torch.float64)
            for y, q in table.get(tuple(column[1:]), {}).items():
                p[y] = q
            rows.append((p / p.sum()).log())
        return torch.stack(rows), (prefix,)

    return step


def run_table(table, beam_width, alpha=0.0, max_len=6, vocab=8):
    empty = (torch.empty(0, 1, dtype=torch.long),)  # no tokens yet, one sequence
    out = beam_search(table_model(table, vocab), empty, beam_width=beam_width, bos_idx=BOS,
                      eos_idx=EOS, pad_idx=PAD, max_len=max_len, alpha=alpha)  # fmt: skip
    return out.tokens[:, 0].tolist(), out.log_prob.item()


def exhaustive(model, src, lengths, max_len, alpha):
    """Score every hypothesis of at most `max_len` tokens: those that end at their first EOS,
    and those cut at max_len without one. Returns the best (tokens, log p) per source."""
    V = model.decoder.out.out_features
    others = [y for y in range(V) if y != EOS]
    hypotheses = [(*prefix, EOS) for m in range(max_len)
                  for prefix in itertools.product(others, repeat=m)]  # fmt: skip
    hypotheses += list(itertools.product(others, repeat=max_len))
    best = []
    for n in range(src.shape[1]):
        scored = []
        for m in range(1, max_len + 1):
            group = torch.tensor([y for y in hypotheses if len(y) == m]).T  # (m, G)
            G = group.shape[1]
            tgt_in = torch.cat([torch.full((1, G), BOS), group[:-1]])
            logits = model(src[:, n : n + 1].expand(-1, G), tgt_in, lengths[n : n + 1].expand(G))
            log_p = logits.log_softmax(-1).gather(-1, group.unsqueeze(-1)).sum((0, 2))  # (G,)
            scored += zip((log_p / length_penalty(torch.tensor(m), alpha)).tolist(),
                          group.T.tolist(), log_p.tolist())  # fmt: skip
        _, tokens, log_p = max(scored)
        best.append((tokens, log_p))
    return best


@pytest.mark.parametrize("attention", ATTENTION)
@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_width_one_is_greedy_decoding(attention, alpha, device):
    """K = 1 keeps argmax at every step, and all its candidates have the same length."""
    model = random_model(attention, seed=1, sharpness=3.0).to(device)
    src, lengths = random_source(batch=50)
    src = src.to(device)
    greedy = model.greedy_decode(src, BOS, EOS, max_len=9, src_lengths=lengths)
    beam = model.beam_decode(src, BOS, EOS, max_len=9, beam_width=1, alpha=alpha,
                             src_lengths=lengths)  # fmt: skip
    assert torch.equal(beam.tokens, greedy)
    assert len({tuple(column) for column in greedy.T.tolist()}) >= 5  # not one output for all


@pytest.mark.parametrize(
    "attention, seed, alpha", [(None, 3, 0.0), ("dot", 2, 1.0), ("additive", 3, 0.0)]
)
def test_a_beam_that_prunes_nothing_is_exhaustive_search(attention, seed, alpha):
    """Seeds where the best hypotheses differ from source to source (asserted), so the
    beam's bookkeeping of states and sources is exercised."""
    V, T = 5, 4  # PAD, BOS, EOS and two digits: 4 + 16 + 64 + 256 hypotheses
    model = random_model(attention, vocab=V, seed=seed, sharpness=4.0)
    src, lengths = random_source(vocab=V, length=4, batch=8, seed=seed)
    wide = model.beam_decode(src, BOS, EOS, max_len=T, beam_width=(V - 1) ** T + 100,
                             alpha=alpha, src_lengths=lengths)  # fmt: skip
    best = exhaustive(model, src, lengths, T, alpha)
    assert len({tuple(tokens) for tokens, _ in best}) >= 3
    for n, (tokens, log_p) in enumerate(best):
        assert wide.tokens[: len(tokens), n].tolist() == tokens
        assert (wide.tokens[len(tokens) :, n] == PAD).all()
        assert wide.length[n] == len(tokens)
        assert math.isclose(wide.log_prob[n].item(), log_p, rel_tol=1e-9)
    for K in (1, 2, 4):  # a narrower beam finds no better hypothesis than exhaustive search
        narrow = model.beam_decode(src, BOS, EOS, max_len=T, beam_width=K, alpha=alpha,
                                   src_lengths=lengths)  # fmt: skip
        score = narrow.log_prob / length_penalty(narrow.length, alpha)
        assert (score <= wide.log_prob / length_penalty(wide.length, alpha) + 1e-9).all()


def random_table_log_probs(sequence, prefix, vocab, seed):
    """A fixed random distribution for each (sequence, prefix), peaked by a factor of 3."""
    g = torch.Generator().manual_seed(hash((seed, sequence, *prefix)) % 2**31)
    return (3 * torch.randn(vocab, generator=g, dtype=torch.float64)).log_softmax(0)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_beam_search_of_a_random_table_model_against_exhaustive_search(alpha):
    """Every prefix of every sequence has its own random next-token distribution, so
    greedy, narrow beams and exhaustive search disagree often; only the wide beam is exact."""
    V, T, N, seed = 5, 4, 20, 7

    def step(token, state, sequence):  # the sequence id rides in the context, (1, B)
        prefix = torch.cat([state[0], token.unsqueeze(0)])  # (t, B)
        rows = [random_table_log_probs(n, p[1:], V, seed)
                for n, p in zip(sequence[0].tolist(), prefix.T.tolist())]  # fmt: skip
        return torch.stack(rows), (prefix,)

    def search(K):
        empty, ids = torch.empty(0, N, dtype=torch.long), torch.arange(N).unsqueeze(0)
        return beam_search(step, (empty,), (ids,), beam_width=K, bos_idx=BOS, eos_idx=EOS,
                           pad_idx=PAD, max_len=T, alpha=alpha)  # fmt: skip

    def score(tokens, n):  # s(Y) of one hypothesis, from the table
        log_p = sum(random_table_log_probs(n, tokens[:t], V, seed)[y].item()
                    for t, y in enumerate(tokens))  # fmt: skip
        return log_p / ((5 + len(tokens)) / 6) ** alpha

    others = [y for y in range(V) if y != EOS]
    hypotheses = [(*p, EOS) for m in range(T) for p in itertools.product(others, repeat=m)]
    hypotheses += list(itertools.product(others, repeat=T))
    best = [max(hypotheses, key=lambda y: score(y, n)) for n in range(N)]
    wide = search((V - 1) ** T + 100)
    misses = {}
    for K in (1, 2, 4, 8):
        out = search(K)
        found = [tuple(out.tokens[: out.length[n], n].tolist()) for n in range(N)]
        assert all(score(f, n) <= score(b, n) + 1e-9 for n, (f, b) in enumerate(zip(found, best)))
        misses[K] = sum(f != b for f, b in zip(found, best))
    assert [tuple(wide.tokens[: wide.length[n], n].tolist()) for n in range(N)] == best
    assert misses[1] >= 2  # the oracle is not trivial: greedy often misses the best


def test_a_wider_beam_can_find_a_worse_hypothesis():
    """Greedy's path a-x-EOS (p = 0.2) is pruned at K = 2 by b-u and b-v (0.225 each),
    whose continuations are poor; K = 3 keeps it. The model score is not monotone in K."""
    a, b, x, u, v = 3, 4, 5, 6, 7
    spread = {y: 0.25 for y in (EOS, a, b, x)}  # every continuation of b-u, b-v is poor
    table = {
        (): {a: 0.5, b: 0.45, EOS: 0.05},
        (a,): {x: 0.4, u: 0.3, v: 0.3},
        (a, x): {EOS: 1.0},
        (b,): {u: 0.5, v: 0.5},
        (b, u): spread,
        (b, v): spread,
    }
    greedy, greedy_score = run_table(table, 1)
    assert greedy == [a, x, EOS] and math.isclose(greedy_score, math.log(0.2), rel_tol=1e-4)
    two, two_score = run_table(table, 2)
    assert two[:2] in ([b, u], [b, v]) and two_score < greedy_score - 1.0
    three, three_score = run_table(table, 3)
    assert three == greedy and math.isclose(three_score, greedy_score)


def test_length_normalisation_can_prefer_the_longer_hypothesis():
    """[EOS] has p = 0.4; [a, b, EOS] has p = 0.384 but lp(3) = (8/6)^α divides it."""
    a, b = 3, 4
    table = {(): {EOS: 0.4, a: 0.6}, (a,): {b: 0.8, EOS: 0.2}, (a, b): {EOS: 0.8, a: 0.2}}
    assert run_table(table, 2, alpha=0.0)[0] == [EOS]
    assert run_table(table, 2, alpha=1.0)[0] == [a, b, EOS]
    assert math.log(0.384) / (8 / 6) > math.log(0.4)  # the comparison the beam makes


def test_finished_hypotheses_are_padded_and_decoding_stops_early():
    a = 3
    table = {(): {a: 0.9, EOS: 0.1}, (a,): {EOS: 0.99}}
    empty = (torch.empty(0, 2, dtype=torch.long),)
    out = beam_search(table_model(table), empty, beam_width=3, bos_idx=BOS, eos_idx=EOS,
                      pad_idx=PAD, max_len=10)  # fmt: skip
    assert out.tokens.T.tolist() == [[a, EOS], [a, EOS]]  # T = 2, not max_len
    assert out.length.tolist() == [2, 2]


def test_a_hypothesis_without_eos_is_cut_at_max_len():
    a = 3
    table = {(): {a: 0.9}, (a,): {a: 0.9}, (a, a): {a: 0.9}}
    tokens, _ = run_table(table, 2, max_len=3)
    assert tokens == [a, a, a]


def test_length_penalty_is_gnmt():
    length = torch.tensor([1, 2, 10])
    torch.testing.assert_close(length_penalty(length, 0.7), ((5 + length) / 6) ** 0.7)
    assert length_penalty(torch.tensor(1), 0.7) == 1 and (length_penalty(length, 0.0) == 1).all()


def test_bad_arguments_are_rejected():
    model = random_model(None)
    src, lengths = random_source()
    with pytest.raises(ValueError, match="beam_width ≥ 1"):
        model.beam_decode(src, BOS, EOS, max_len=5, beam_width=0)
    with pytest.raises(ValueError, match="alpha ≥ 0"):
        model.beam_decode(src, BOS, EOS, max_len=5, beam_width=2, alpha=-1.0)
