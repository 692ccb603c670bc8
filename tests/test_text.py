"""lstm_ref.text against oracles: plain loops, torch.nn.functional, hand counts, tokenize."""

import io
import math
import tokenize

import pytest
import torch
import torch.nn.functional as F

from lstm_ref.nn import LSTM as RefLSTM
from lstm_ref.text import (
    CharLSTM,
    CharVocab,
    NGramModel,
    ascii_only,
    batchify,
    bits_per_char,
    cross_entropy,
    evaluate,
    generate,
    lstm_states,
    perplexity,
    python_structure,
    random_windows,
    sample_next,
    split_text,
    stdlib_corpus,
    stdlib_files,
    tbptt_batches,
    train_step,
)

# --- corpus and vocabulary ------------------------------------------------------------


def test_stdlib_corpus_follows_its_rule(tmp_path):
    for name, text in [("b.py", "bb\n"), ("_private.py", "no"), ("a.py", "aé\r\nA\n"),
                       ("c.txt", "no"), ("d.py", "dddd")]:  # fmt: skip
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    assert [p.name for p in stdlib_files(tmp_path)] == ["a.py", "b.py", "d.py"]
    assert stdlib_corpus(8, tmp_path) == "a?\nA\nbb\n"  # é -> ?, \r\n -> \n, cut at 8
    assert stdlib_corpus(10, tmp_path) == "a?\nA\nbb\ndd"
    with pytest.raises(ValueError, match="only 12 characters"):
        stdlib_corpus(13, tmp_path)
    with pytest.raises(FileNotFoundError):
        stdlib_files(tmp_path / "c.txt")


def test_real_stdlib_corpus_is_ascii_and_exact():
    text = stdlib_corpus(20_000)
    assert len(text) == 20_000 and text == stdlib_corpus(20_000)
    assert set(text) <= set("\n" + "".join(map(chr, range(32, 127))))
    assert text.startswith(stdlib_files()[0].read_text(encoding="utf-8")[:100])


def test_ascii_only_and_split_text():
    assert ascii_only("a\tb\n~\x7fé") == "a?b\n~??"
    text = "".join(chr(97 + i % 26) for i in range(1000))
    train, valid, test = split_text(text, valid=0.1, test=0.05)
    assert (len(train), len(valid), len(test)) == (850, 100, 50)
    assert train + valid + test == text
    for bad in [(0, 0.1), (0.1, 0), (0.5, 0.5)]:
        with pytest.raises(ValueError):
            split_text(text, *bad)


def test_vocab_round_trip_and_errors():
    vocab = CharVocab("hello, world\n")
    assert vocab.chars == "".join(sorted(set("hello, world\n"))) and len(vocab) == 10
    ids = vocab.encode("world")
    assert ids.dtype == torch.long and [vocab.chars[i] for i in ids] == list("world")
    assert vocab.decode(ids) == vocab.decode(ids.tolist()) == "world"
    with pytest.raises(KeyError, match="'z'"):
        vocab.encode("z")
    with pytest.raises(ValueError):
        CharVocab("")


# --- batches ---------------------------------------------------------------------------


@pytest.mark.parametrize("T, N", [(10, 3), (12, 4), (7, 7), (100, 1)])
def test_batchify_equals_a_plain_loop(T, N):
    ids = torch.arange(T) * 10
    data = batchify(ids, N)
    S = T // N
    assert data.shape == (S, N)
    for n in range(N):
        for t in range(S):
            assert data[t, n] == ids[n * S + t]


def test_batchify_errors():
    with pytest.raises(ValueError, match="at least batch_size"):
        batchify(torch.arange(3), 4)
    with pytest.raises(ValueError, match=r"\(T,\)"):
        batchify(torch.zeros(2, 3, dtype=torch.long), 2)
    with pytest.raises(ValueError):
        batchify(torch.arange(3), 0)


@pytest.mark.parametrize("S, bptt", [(10, 3), (10, 9), (10, 20), (33, 8)])
def test_tbptt_windows_continue_each_other(S, bptt):
    data = batchify(torch.arange(4 * S), 4)  # (S, 4)
    windows = list(tbptt_batches(data, bptt))
    inputs = torch.cat([x for x, _ in windows])
    targets = torch.cat([y for _, y in windows])
    assert torch.equal(inputs, data[:-1]) and torch.equal(targets, data[1:])
    assert all(x.shape == y.shape and 1 <= x.shape[0] <= bptt for x, y in windows)
    assert [x.shape[0] for x, _ in windows[:-1]] == [bptt] * (len(windows) - 1)
    for (_, y), (x, _) in zip(windows, windows[1:]):  # window k+1 starts where k ended
        assert torch.equal(x[0], y[-1])
    with pytest.raises(ValueError):
        next(tbptt_batches(data, 0))


def test_random_windows_are_shifted_stretches_of_the_stream():
    ids = torch.arange(50) * 3
    g = torch.Generator().manual_seed(0)
    inputs, targets = random_windows(ids, 16, 7, g)
    assert inputs.shape == targets.shape == (7, 16)
    assert torch.equal(targets, inputs + 3)  # the next symbol
    assert torch.equal(inputs[1:], inputs[:-1] + 3)  # contiguous
    with pytest.raises(ValueError):
        random_windows(ids, 4, 50)


# --- metrics ---------------------------------------------------------------------------


def test_metrics_against_functional_and_a_loop():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 3, 11, generator=g, dtype=torch.float64)
    targets = torch.randint(11, (5, 3), generator=g)
    loop = (
        -sum(logits[t, n].log_softmax(-1)[targets[t, n]] for t in range(5) for n in range(3)) / 15
    )
    expected = F.cross_entropy(logits.reshape(15, 11), targets.reshape(15))
    assert torch.allclose(cross_entropy(logits, targets), expected)
    assert torch.allclose(cross_entropy(logits, targets), loop)
    assert math.isclose(perplexity(logits, targets), math.exp(loop.item()), rel_tol=1e-9)
    assert math.isclose(bits_per_char(logits, targets), loop.item() / math.log(2), rel_tol=1e-9)
    assert math.isclose(perplexity(torch.zeros(2, 2, 11), targets[:2, :2]), 11, rel_tol=1e-6)
    with pytest.raises(ValueError, match="match logits"):
        cross_entropy(logits, targets.T)


# --- sampling --------------------------------------------------------------------------


def frequencies(logits, draws=20_000, **kwargs):
    g = torch.Generator().manual_seed(0)
    picked = sample_next(logits.repeat(draws, 1), generator=g, **kwargs)
    return torch.bincount(picked, minlength=logits.shape[-1]).double() / draws


def test_sampling_frequencies_follow_the_tempered_softmax():
    logits = torch.tensor([[1.0, 0.0, 2.0, -1.0, 0.5]], dtype=torch.float64)
    for tau in (0.5, 1.0, 2.0):
        expected = torch.softmax(logits[0] / tau, -1)  # temperature before the softmax
        assert (frequencies(logits, temperature=tau) - expected).abs().max() < 0.015


def test_top_k_keeps_the_k_largest_and_renormalises():
    logits = torch.tensor([[1.0, 0.0, 2.0, -1.0, 0.5]], dtype=torch.float64)
    found = frequencies(logits, top_k=2)
    kept = torch.tensor([0, 2])
    expected = torch.zeros(5, dtype=torch.float64)
    expected[kept] = torch.softmax(logits[0, kept], -1)
    assert (found - expected).abs().max() < 0.015 and found[[1, 3, 4]].sum() == 0
    assert torch.equal(frequencies(logits, top_k=5), frequencies(logits))  # k = V: all kept
    assert torch.equal(frequencies(logits, top_k=50), frequencies(logits))


def test_sampling_draws_as_torch_multinomial_with_the_same_generator():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 9, generator=g)
    probs = torch.softmax(logits / 0.7, -1)
    expected = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(5))
    found = sample_next(logits, 0.7, generator=torch.Generator().manual_seed(5))
    assert found.shape == (6,) and torch.equal(found, expected[:, 0])


def test_greedy_and_errors():
    logits = torch.randn(4, 7, generator=torch.Generator().manual_seed(2))
    assert torch.equal(sample_next(logits, temperature=0), logits.argmax(-1))
    assert torch.equal(sample_next(logits, temperature=0, top_k=3), logits.argmax(-1))
    for kwargs in [{"temperature": -0.1}, {"top_k": 0}]:
        with pytest.raises(ValueError):
            sample_next(logits, **kwargs)
    with pytest.raises(ValueError, match=r"\(N, V\)"):
        sample_next(logits[0])


def tiny_model(seed=0, layers=1):
    torch.manual_seed(seed)
    return CharLSTM(vocab_size=7, embedding_dim=5, hidden_size=6, num_layers=layers)


def test_generate_feeds_its_draws_back():
    vocab = CharVocab("abcdefg")
    model = tiny_model()
    greedy = generate(model, vocab, "abc", 12, temperature=0, num_samples=3)
    assert len(greedy) == 3 and len(set(greedy)) == 1 and len(greedy[0]) == 12
    text = "abc"  # the same by hand: run the whole text again for every symbol
    for _ in range(12):
        logits, _ = model(vocab.encode(text)[:, None])
        text += vocab.chars[logits[-1, 0].argmax()]
    assert greedy[0] == text[3:]
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    assert generate(model, vocab, "a", 20, generator=g1) == generate(
        model, vocab, "a", 20, generator=g2
    )
    with pytest.raises(ValueError):
        generate(model, vocab, "", 5)


# --- the model and one step of truncated BPTT ------------------------------------------


def test_char_lstm_shapes_and_its_lstm_ref_twin():
    model = tiny_model(layers=2)
    inputs = torch.randint(7, (9, 4))
    logits, (h, c) = model(inputs)
    assert logits.shape == (9, 4, 7) and h.shape == c.shape == (2, 4, 6)
    twin = RefLSTM(5, 6, num_layers=2)
    twin.load_state_dict(model.lstm.state_dict())
    output, _ = twin(model.embedding(inputs))
    assert torch.allclose(model.out(output), logits, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(L, N\)"):
        model(inputs[:, 0])


def test_train_step_detaches_and_carries_the_state():
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = batchify(torch.randint(7, (200,), generator=torch.Generator().manual_seed(0)), 4)
    windows = tbptt_batches(data, 10)
    (x1, y1), (x2, y2) = next(windows), next(windows)
    with torch.no_grad():
        expected_loss = cross_entropy(model(x1)[0], y1).item()
    loss, state = train_step(model, optimizer, x1, y1, None)
    assert math.isclose(loss, expected_loss, rel_tol=1e-6)
    assert not any(s.requires_grad for s in state)
    loss2, state2 = train_step(model, optimizer, x2, y2, state)  # no "backward twice"
    assert math.isfinite(loss2) and not any(s.requires_grad for s in state2)


def test_train_step_continues_from_the_state_it_was_given():
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # parameters stay
    x = torch.randint(7, (12, 3), generator=torch.Generator().manual_seed(1))
    y = torch.randint(7, (12, 3), generator=torch.Generator().manual_seed(2))
    _, state = train_step(model, optimizer, x[:5], y[:5], None)
    loss, state = train_step(model, optimizer, x[5:], y[5:], state)
    with torch.no_grad():
        logits, whole = model(x)  # the two windows in one pass
    assert math.isclose(loss, cross_entropy(logits[5:], y[5:]).item(), rel_tol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(state, whole))


def test_train_step_clips_the_gradient():
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    x = torch.randint(7, (8, 2), generator=torch.Generator().manual_seed(3))
    train_step(model, optimizer, x, x, None, clip=1e-3)
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert 0 < step.norm() <= 1e-3 * (1 + 1e-4)  # Δθ = -lr · g, ‖g‖ clipped to 1e-3


def test_evaluate_equals_one_pass_over_each_column():
    model = tiny_model()
    data = batchify(torch.randint(7, (120,), generator=torch.Generator().manual_seed(4)), 3)
    with torch.no_grad():
        logits, _ = model(data[:-1])
    expected = bits_per_char(logits, data[1:])
    assert math.isclose(evaluate(model, data, bptt=7), expected, rel_tol=1e-5)


def test_lstm_states_match_torch_outputs():
    for layers in (1, 2):
        model = tiny_model(layers=layers)
        ids = torch.randint(7, (30,), generator=torch.Generator().manual_seed(5))
        h, c = lstm_states(model, ids)
        with torch.no_grad():
            output, (h_n, c_n) = model.lstm(model.embedding(ids[:, None]))
        assert h.shape == c.shape == (30, 6)
        assert torch.allclose(h, output[:, 0], atol=1e-6)
        assert torch.allclose(c[-1], c_n[-1, 0], atol=1e-6)


# --- n-gram models ---------------------------------------------------------------------


def test_bigram_by_hand():
    # "abababab": bigrams ab ×4, ba ×3; n1 = 0 -> 1, n2 = 0, so D = 1 at both orders.
    # Continuation counts: a after b once, b after a once: p_1(b) = (1 - 1)/2 + 1·2/2 · 1/2.
    # p_2(b | a) = (4 - 1)/4 + 1·1/4 · p_1(b) = 0.75 + 0.125.
    model = NGramModel(2).fit("abababab")
    assert torch.allclose(model.log_probs("ab").exp(), torch.tensor([0.5, 0.875]).double())


def test_unigram_is_the_discounted_frequency():
    text = "aaaaabbbc"  # counts 5, 3, 1: n1 = 1, n2 = 0, D = 1
    model = NGramModel(1).fit(text, alphabet="abcd")
    p = model.log_probs("abcd").exp()
    V, N, D = 4, 9, 1.0
    expected = [(max(c - D, 0) + D * 3 / V) / N for c in (5, 3, 1, 0)]
    assert torch.allclose(p, torch.tensor(expected).double())


def kneser_ney(text, order, history, w, alphabet):
    """A plain recursive interpolated Kneser–Ney, written from the formula."""
    grams = {k: [text[i : i + k] for i in range(len(text) - k + 1)] for k in range(1, order + 1)}

    def counts(k, top):
        if top:
            return {g: grams[k].count(g) for g in set(grams[k])}
        return {g[1:]: len({x[0] for x in set(grams[k + 1]) if x[1:] == g[1:]})
                for g in set(grams[k + 1])}  # fmt: skip

    def discount(c):
        n1 = max(sum(v == 1 for v in c.values()), 1)
        return n1 / (n1 + 2 * sum(v == 2 for v in c.values()))

    def p(k, h):
        if k == 0:
            return 1 / len(alphabet)
        c = counts(k, top=(k == order))
        after = {g[-1]: v for g, v in c.items() if g[:-1] == h}
        lower = p(k - 1, h[1:])
        if not after:
            return lower
        D, total = discount(c), sum(after.values())
        return (max(after.get(w, 0) - D, 0) + D * len(after) * lower) / total

    return p(order, history)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_ngram_equals_the_formula_and_sums_to_one(order):
    g = torch.Generator().manual_seed(order)
    text = "".join("abcab "[i] for i in torch.randint(6, (60,), generator=g).tolist())
    alphabet = "abc xy"
    model = NGramModel(order).fit(text, alphabet=alphabet)
    for history in ["ab", "ca", "b ", "xy", "  "]:
        h = history[len(history) - (order - 1) :] if order > 1 else ""
        probs = [model.log_probs(history + w).exp()[-1].item() for w in alphabet]
        assert math.isclose(sum(probs), 1.0, rel_tol=1e-9)
        for w, found in zip(alphabet, probs):
            expected = kneser_ney(text, order, h, w, alphabet)
            assert math.isclose(found, expected, rel_tol=1e-9), (history, w)


def test_ngram_lower_order_evaluation_and_errors():
    text = "the cat sat on the mat. " * 20
    model = NGramModel(4).fit(text)
    assert torch.allclose(model.log_probs("the hat", order=2),
                          NGramModel(2).fit(text).log_probs("the hat"))  # fmt: skip
    assert model.bits_per_char(text) < model.bits_per_char(text, order=1)
    with pytest.raises(KeyError, match="'Z'"):
        model.log_probs("Z")
    with pytest.raises(ValueError):
        model.log_probs("the", order=5)
    with pytest.raises(ValueError):
        NGramModel(0)


# --- structure labels ------------------------------------------------------------------

SOURCE = '''def f(x, y=[1, 2]):
    """A docstring with 'quotes' and (brackets)."""
    s = "a\\"b(" + 'c#d'  # a comment (with a bracket
    return {"k": (x,
                  y)}
'''


def test_python_structure_matches_tokenize():
    labels = python_structure(SOURCE)
    lines = SOURCE.splitlines(keepends=True)
    offset = [0]
    for line in lines:
        offset.append(offset[-1] + len(line))
    string = torch.zeros(len(SOURCE))
    comment = torch.zeros(len(SOURCE))
    for token in tokenize.generate_tokens(io.StringIO(SOURCE).readline):
        start = offset[token.start[0] - 1] + token.start[1]
        end = offset[token.end[0] - 1] + token.end[1]
        if token.type == tokenize.STRING:
            string[start : end - 1] = 1  # the closing quote reads 0
            if token.string.endswith(('"""', "'''")):
                string[end - 3 : end] = 0  # all three closing quotes read 0
        elif token.type == tokenize.COMMENT:
            comment[start:end] = 1
    assert torch.equal(labels["string"], string)
    assert torch.equal(labels["comment"], comment)


def test_python_structure_counts_lines_and_brackets():
    labels = python_structure(SOURCE)
    depth, column, indent, leading = 0, 0, 0, True
    in_code = (labels["string"] == 0) & (labels["comment"] == 0)
    for t, ch in enumerate(SOURCE):
        if in_code[t] and ch in "([{":
            depth += 1
        elif in_code[t] and ch in ")]}":
            depth -= 1
        column, indent, leading = (
            (0, 0, True) if ch == "\n" else (column + 1, indent + (leading and ch == " "),
                                              leading and ch == " ")
        )  # fmt: skip
        assert labels["brackets"][t] == (depth > 0), t
        assert labels["column"][t] == column and labels["indent"][t] == indent, t
