"""The encoder–decoder: its decoding paths agree, attention is a distribution over real
source tokens, and the model learns a toy task."""

import pytest
import torch

from lstm_ref.nn import AdditiveAttention, DotAttention, Seq2Seq

PAD, BOS, EOS, VOCAB = 0, 1, 2, 10
ATTENTION = [None, "dot", "additive"]


def model_and_batch(attention, seed=0, device="cpu"):
    torch.manual_seed(seed)
    model = Seq2Seq(VOCAB, VOCAB, embed_size=6, hidden_size=8, num_layers=2,
                    attention=attention).double().to(device)  # fmt: skip
    src = torch.randint(3, VOCAB, (7, 4), device=device)
    src[5:, 0] = PAD  # the first sequence is 5 tokens long
    lengths = torch.tensor([5, 7, 7, 7])
    return model, src, lengths


@pytest.mark.parametrize("attention", ATTENTION)
def test_teacher_forced_decoding_equals_step_by_step(attention, device):
    """Decoding all T steps in one call must equal feeding the same tokens one at a time."""
    model, src, lengths = model_and_batch(attention, device=device)
    tgt_in = torch.randint(3, VOCAB, (6, 4), device=device)
    together = model(src, tgt_in, lengths)
    enc_out, state, mask = model.encoder(src, lengths)
    steps = []
    for t in range(tgt_in.shape[0]):
        logits, state, _ = model.decoder(tgt_in[t : t + 1], state, enc_out, mask)
        steps.append(logits[0])
    torch.testing.assert_close(together, torch.stack(steps), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("attention", ATTENTION)
def test_greedy_decode_feeds_back_its_own_argmax(attention, device):
    """Re-scoring greedy's output under teacher forcing reproduces every greedy choice."""
    model, src, lengths = model_and_batch(attention, seed=3, device=device)
    tokens = model.greedy_decode(src, BOS, EOS, max_len=9, src_lengths=lengths)
    bos = torch.full((1, src.shape[1]), BOS, device=device)
    rescored = model(src, torch.cat([bos, tokens[:-1]]), lengths).argmax(-1)
    alive = torch.ones_like(tokens, dtype=torch.bool)  # positions up to and including EOS
    alive[1:] = (tokens[:-1] != EOS).cumprod(0).bool() & (tokens[:-1] != PAD)
    assert torch.equal(rescored[alive], tokens[alive])
    assert (tokens[~alive] == PAD).all() and tokens.shape[0] <= 9


def test_scheduled_sampling_at_ratio_one_and_zero():
    """teacher_forcing=0 feeds back argmax, so it equals greedy decoding's logits' choices."""
    model, src, _ = model_and_batch("dot", seed=5)
    tgt_in = torch.randint(3, VOCAB, (5, 4))
    tgt_in[0] = BOS
    free = model(src, tgt_in, teacher_forcing=0.0).argmax(-1)
    greedy_tokens = []
    enc_out, state, mask = model.encoder(src)
    token = tgt_in[0]
    for _ in range(5):
        logits, state, _ = model.decoder(token[None], state, enc_out, mask)
        token = logits[0].argmax(-1)
        greedy_tokens.append(token)
    assert torch.equal(free, torch.stack(greedy_tokens))
    torch.testing.assert_close(model(src, tgt_in, teacher_forcing=1.0),
                               model(src, tgt_in, teacher_forcing=1.0 - 1e-12,
                                     generator=torch.Generator().manual_seed(0)))  # fmt: skip


@pytest.mark.parametrize("attention", ["dot", "additive"])
def test_attention_is_a_distribution_over_real_tokens(attention):
    model, src, lengths = model_and_batch(attention)
    _, weights = model.greedy_decode(src, BOS, EOS, 4, lengths, return_attention=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:2]).double())
    assert (weights[:, 0, 5:] == 0).all()  # padding of the first sequence gets no weight
    assert (weights[:, 0, :5] > 0).all()


def test_dot_attention_by_hand():
    q, k = torch.randn(2, 3, 4).double(), torch.randn(5, 3, 4).double()
    context, weights = DotAttention(4, scaled=True)(q, k)
    for t in range(2):
        for n in range(3):
            alpha = torch.softmax(k[:, n] @ q[t, n] / 2.0, dim=0)  # / √4
            torch.testing.assert_close(weights[t, n], alpha)
            torch.testing.assert_close(context[t, n], alpha @ k[:, n])


def test_additive_attention_by_hand():
    torch.manual_seed(0)
    attn = AdditiveAttention(4, attention_size=3).double()
    q, k = torch.randn(1, 2, 4).double(), torch.randn(5, 2, 4).double()
    context, weights = attn(q, k)
    scores = torch.stack([attn.v(torch.tanh(attn.W_q(q[0, 1]) + attn.W_k(k[j, 1])))[0]
                          for j in range(5)])  # fmt: skip
    torch.testing.assert_close(weights[0, 1], torch.softmax(scores, 0))


def test_encoder_state_is_taken_at_each_sequence_end():
    model, src, lengths = model_and_batch(None)
    _, (h, c), mask = model.encoder(src, lengths)
    _, (h_alone, c_alone), _ = model.encoder(src[:5, :1])
    torch.testing.assert_close(h[:, :1], h_alone)
    torch.testing.assert_close(c[:, :1], c_alone)
    assert mask[:, 0].sum() == 5


def test_unknown_attention_is_rejected():
    with pytest.raises(ValueError, match="'dot' or 'additive'"):
        Seq2Seq(5, 5, attention="multihead")


def test_attention_model_learns_to_reverse_short_strings():
    """A few hundred steps on 4-digit strings reach near-perfect greedy reversal."""
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, VOCAB, embed_size=16, hidden_size=32, attention="dot")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)

    def batch(n):
        src = torch.randint(3, VOCAB, (4, n), generator=gen)
        tgt = torch.cat([src.flip(0), torch.full((1, n), EOS)])
        return src, torch.cat([torch.full((1, n), BOS), tgt[:-1]]), tgt

    for _ in range(300):
        src, tgt_in, tgt_out = batch(64)
        loss = torch.nn.functional.cross_entropy(
            model(src, tgt_in).flatten(0, 1), tgt_out.flatten()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    src, _, tgt_out = batch(200)
    tokens = model.greedy_decode(src, BOS, EOS, max_len=5)
    assert tokens.shape == tgt_out.shape
    assert (tokens == tgt_out).all(0).float().mean() > 0.9
