"""An LSTM encoder–decoder (Sutskever et al. 2014; Cho et al. 2014) with optional attention.

The encoder reads the source and hands its final (h, c) to the decoder as the initial
state: without attention that pair is the *only* thing the decoder learns about the
source, a fixed-size bottleneck whatever the source length. With attention the decoder
also looks at every encoder output at every step (Luong et al. 2015's global attention):

    s_t = LSTM(embed(y_{t-1}), state)          decoder state, top layer
    a_t = Σ_j α_{t,j} h_j                       context (dot or additive scores)
    s̃_t = tanh(W_c [a_t ; s_t])                attentional state
    p(y_t | y_<t, x) = softmax(W_out s̃_t)       (W_out s_t without attention)

Training uses teacher forcing (the decoder is fed the true previous token y_{t-1});
inference feeds back its own choices: the greedy argmax p(y_t | ·), or the K best prefixes
of a beam search (:mod:`lstm_ref.nn.beam`). The gap between training and inference is
exposure bias. Sequences are time-major: src (S, N) and tgt (T, N) token ids, PAD-padded.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import AdditiveAttention, DotAttention
from .beam import BeamOutput, beam_search
from .layers import LSTM


class Encoder(nn.Module):
    """Embedding + LSTM. Returns outputs (S, N, H), the final (h, c), and the source mask."""

    def __init__(self, vocab_size, embed_size, hidden_size, num_layers=1, dropout=0.0, pad_idx=0):
        super().__init__()
        self.pad_idx = pad_idx
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_idx)
        self.lstm = LSTM(embed_size, hidden_size, num_layers, dropout=dropout)

    def forward(self, src: Tensor, src_lengths: Tensor | None = None):
        mask = src != self.pad_idx  # (S, N): True at real tokens
        emb = self.embed(src)  # (S, N, E)
        if src_lengths is None:
            outputs, state = self.lstm(emb)
        else:  # pack, so the final state is taken at each sequence's own last token
            packed = pack_padded_sequence(emb, src_lengths.cpu(), enforce_sorted=False)
            outputs, state = self.lstm(packed)
            outputs = pad_packed_sequence(outputs, total_length=src.shape[0])[0]
        return outputs, state, mask


class Decoder(nn.Module):
    """Embedding + LSTM (+ attention) + output layer; one call decodes T steps at once."""

    def __init__(
        self, vocab_size, embed_size, hidden_size, num_layers=1, attention=None, dropout=0.0,
        pad_idx=0,
    ) -> None:  # fmt: skip
        super().__init__()
        if attention not in (None, "dot", "additive"):
            raise ValueError(f"expected attention None, 'dot' or 'additive', got {attention!r}")
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=pad_idx)
        self.lstm = LSTM(embed_size, hidden_size, num_layers, dropout=dropout)
        self.attention = None
        if attention is not None:
            kind = DotAttention if attention == "dot" else AdditiveAttention
            self.attention = kind(hidden_size)
            self.combine = nn.Linear(2 * hidden_size, hidden_size)  # W_c
        self.out = nn.Linear(hidden_size, vocab_size)  # W_out

    def forward(self, tgt_in: Tensor, state, enc_outputs: Tensor, src_mask: Tensor):
        """Logits (T, N, V), the new state, and attention weights (T, N, S) or None."""
        s, state = self.lstm(self.embed(tgt_in), state)  # s (T, N, H)
        if self.attention is None:
            return self.out(s), state, None
        context, weights = self.attention(s, enc_outputs, src_mask)  # (T, N, H), (T, N, S)
        attended = torch.tanh(self.combine(torch.cat([context, s], dim=-1)))  # s̃_t
        return self.out(attended), state, weights


class Seq2Seq(nn.Module):
    """Encoder–decoder over token ids; ``attention`` is None, 'dot' or 'additive'.

    Example:
        >>> import torch
        >>> model = Seq2Seq(12, 12, embed_size=8, hidden_size=16, attention="dot")
        >>> src = torch.randint(3, 12, (5, 2))                    # (S, N)
        >>> logits = model(src, torch.randint(3, 12, (6, 2)))     # teacher forcing
        >>> tuple(logits.shape)
        (6, 2, 12)
        >>> tokens = model.greedy_decode(src, bos_idx=1, eos_idx=2, max_len=7)
        >>> tokens.shape[1], tokens.shape[0] <= 7
        (2, True)
        >>> best = model.beam_decode(src, bos_idx=1, eos_idx=2, max_len=7, beam_width=3)
        >>> tuple(best.log_prob.shape), bool((best.length <= 7).all())
        ((2,), True)
    """

    def __init__(
        self, src_vocab_size, tgt_vocab_size, embed_size=32, hidden_size=64, num_layers=1,
        attention=None, dropout=0.0, pad_idx=0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.pad_idx = pad_idx
        self.encoder = Encoder(
            src_vocab_size, embed_size, hidden_size, num_layers, dropout, pad_idx
        )
        self.decoder = Decoder(
            tgt_vocab_size, embed_size, hidden_size, num_layers, attention, dropout, pad_idx
        )

    def forward(self, src, tgt_in, src_lengths=None, teacher_forcing: float = 1.0, generator=None):
        """Logits (T, N, V) for predicting tgt_out from tgt_in = [BOS, y_1, ..., y_{T-1}].

        ``teacher_forcing`` is the probability of feeding the true previous token at each
        step (scheduled sampling, Bengio et al. 2015); below 1 the decoder sometimes
        feeds back its own argmax instead, one step at a time.
        """
        enc_outputs, state, mask = self.encoder(src, src_lengths)
        if teacher_forcing >= 1.0:  # every input known in advance: decode all T at once
            return self.decoder(tgt_in, state, enc_outputs, mask)[0]
        steps, token = [], tgt_in[0]
        for t in range(tgt_in.shape[0]):
            logits, state, _ = self.decoder(token.unsqueeze(0), state, enc_outputs, mask)
            steps.append(logits[0])
            if t + 1 < tgt_in.shape[0]:
                use_truth = torch.rand(token.shape, generator=generator) < teacher_forcing
                token = torch.where(use_truth.to(token.device), tgt_in[t + 1], logits[0].argmax(-1))
        return torch.stack(steps)

    @torch.no_grad()
    def greedy_decode(
        self, src, bos_idx, eos_idx, max_len, src_lengths=None, return_attention=False
    ):
        """Feed back argmax tokens from BOS until every sequence has emitted EOS or max_len.

        Returns tokens (T, N) with T <= max_len, PAD after each sequence's EOS; with
        ``return_attention`` also the weights (T, N, S) (None without attention).
        """
        enc_outputs, state, mask = self.encoder(src, src_lengths)
        token = torch.full((src.shape[1],), bos_idx, dtype=torch.long, device=src.device)
        done = torch.zeros_like(token, dtype=torch.bool)
        tokens, weights = [], []
        for _ in range(max_len):
            logits, state, attn = self.decoder(token.unsqueeze(0), state, enc_outputs, mask)
            token = logits[0].argmax(-1).masked_fill(done, self.pad_idx)  # (N,)
            tokens.append(token)
            weights.append(attn)
            done = done | (token == eos_idx)
            if bool(done.all()):
                break
        tokens = torch.stack(tokens)
        if not return_attention:
            return tokens
        return tokens, (None if weights[0] is None else torch.cat(weights))

    @torch.no_grad()
    def beam_decode(
        self, src, bos_idx, eos_idx, max_len, beam_width, alpha=0.0, src_lengths=None
    ) -> BeamOutput:
        """Beam search of width K = ``beam_width`` with GNMT's length penalty of exponent α.

        Returns :class:`lstm_ref.nn.beam.BeamOutput`: tokens (T, N) as ``greedy_decode``
        gives them (equal to them at K = 1), log p(Y | X) (N,) and |Y| (N,).
        """
        enc_outputs, (h, c), mask = self.encoder(src, src_lengths)

        def step(token, state, enc_outputs, mask):  # token (N·K,), state (h, c)
            logits, state, _ = self.decoder(token.unsqueeze(0), state, enc_outputs, mask)
            return logits[0].log_softmax(-1), state  # log p(y_t | y_<t, x): (N·K, V)

        return beam_search(
            step, (h, c), (enc_outputs, mask), beam_width=beam_width, bos_idx=bos_idx,
            eos_idx=eos_idx, pad_idx=self.pad_idx, max_len=max_len, alpha=alpha,
        )  # fmt: skip
