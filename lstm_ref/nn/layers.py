"""The public recurrent layers. The loop over layers, directions and time is in
:mod:`lstm_ref.nn.recurrent`, the equations of one step in :mod:`lstm_ref.nn.functional`."""

from __future__ import annotations

from .recurrent import RNNBase


class RNN(RNNBase):
    """Elman RNN, a twin of ``torch.nn.RNN``: h_t = φ(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    Args:
        input_size, hidden_size, num_layers, nonlinearity ('tanh' or 'relu'), bias,
        batch_first, dropout, bidirectional: as ``torch.nn.RNN``.

    Returns ``(output, h_n)``; shapes in :mod:`lstm_ref.nn.recurrent`.

    Example:
        >>> import torch
        >>> rnn = RNN(8, 16, num_layers=2)
        >>> output, h_n = rnn(torch.randn(5, 3, 8))
        >>> tuple(output.shape), tuple(h_n.shape)
        ((5, 3, 16), (2, 3, 16))
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
        batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
    ) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
            num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype,
        )  # fmt: skip


class LSTM(RNNBase):
    """Long short-term memory, a twin of ``torch.nn.LSTM``.

    Per layer and direction, gate blocks stacked in the order (i, f, g, o)::

        i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)                   (then W_hr h_t when proj_size > 0)

    torch keeps two bias vectors, b_ih and b_hh; only their sum matters, but both are
    parameters, so a layer has 4(H(H+I) + 2H) of them where the textbook counts 4(H(H+I) + H).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
        proj_size: as ``torch.nn.LSTM``.

    Returns ``(output, (h_n, c_n))``; shapes in :mod:`lstm_ref.nn.recurrent`.

    Example:
        >>> import torch
        >>> lstm = LSTM(8, 16, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(torch.randn(3, 5, 8))
        >>> tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape)
        ((3, 5, 32), (2, 3, 16), (2, 3, 16))
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None,
    ) -> None:  # fmt: skip
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype,
        )  # fmt: skip


class GRU(RNNBase):
    """Gated recurrent unit, a twin of ``torch.nn.GRU`` (gate blocks r, z, n)::

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    Three gate blocks where the LSTM has four: exactly 25% fewer parameters at equal sizes.
    Returns ``(output, h_n)``.

    Example:
        >>> import torch
        >>> output, h_n = GRU(8, 16)(torch.randn(5, 8))   # unbatched (L, I)
        >>> tuple(output.shape), tuple(h_n.shape)
        ((5, 16), (1, 16))
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None,
    ) -> None:  # fmt: skip
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip


class PeepholeLSTM(RNNBase):
    """LSTM with diagonal peephole connections (Gers & Schmidhuber 2000); torch has none.

    The LSTM of :class:`LSTM`, except that the gates also see the cell state::

        i_t = σ(... + w_ci ⊙ c_{t-1})     f_t = σ(... + w_cf ⊙ c_{t-1})
        o_t = σ(... + w_co ⊙ c_t)         (the output gate sees the *new* cell state)

    Each layer-direction adds ``weight_ci_l{k}``, ``weight_cf_l{k}`` and ``weight_co_l{k}``,
    each of shape (H,), to the LSTM's parameters; with all three zero the layer equals
    :class:`LSTM`, so ``PeepholeLSTM.from_lstm(lstm)`` starts from a trained LSTM.
    No ``proj_size``. Returns ``(output, (h_n, c_n))``.
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device=None, dtype=None,
    ) -> None:  # fmt: skip
        super().__init__(
            "PEEPHOLE_LSTM", input_size, hidden_size, num_layers, bias, batch_first,
            dropout, bidirectional, 0, device, dtype,
        )  # fmt: skip

    @classmethod
    def from_lstm(cls, lstm) -> PeepholeLSTM:
        """A peephole LSTM that computes what ``lstm`` does: its weights, zero peepholes."""
        if getattr(lstm, "proj_size", 0):
            raise ValueError("a PeepholeLSTM has no projection; got an LSTM with proj_size > 0")
        like = next(lstm.parameters())
        model = cls(
            lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias, lstm.batch_first,
            lstm.dropout, lstm.bidirectional, device=like.device, dtype=like.dtype,
        )  # fmt: skip
        missing = model.load_state_dict(lstm.state_dict(), strict=False).missing_keys
        for name in missing:  # only the peephole weights are new
            getattr(model, name).data.zero_()
        return model
