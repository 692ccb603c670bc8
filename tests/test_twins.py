"""The NumPy and torch halves of lstm_ref, written independently, agree with each other.

For the peephole LSTM this is the oracle: torch has no peephole layer to compare with.
"""

import numpy as np
import pytest
import torch

import lstm_ref.numpy_ref as npr
from lstm_ref.nn import PeepholeLSTM

TORCH_NAMES = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0",
               "b_hh": "bias_hh_l0", "w_ci": "weight_ci_l0", "w_cf": "weight_cf_l0",
               "w_co": "weight_co_l0"}  # fmt: skip


@pytest.mark.parametrize("L,N,I,H", [(6, 3, 4, 5), (1, 1, 1, 1), (9, 2, 3, 2)])
def test_peephole_layer_equals_numpy_peephole_forward_and_bptt(L, N, I, H):
    rng = np.random.default_rng(L * 100 + H)
    params = npr.init_params("peephole_lstm", I, H, rng=rng)
    params = {k: v * 3 for k, v in params.items()}  # larger weights: saturating gates too
    x, h0, c0 = rng.normal(size=(L, N, I)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    d_out, dh_n, dc_n = rng.normal(size=(L, N, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    out, h_n, c_n, caches = npr.peephole_lstm_forward(x, h0, c0, params)
    dx, dh0, dc0, grads = npr.peephole_lstm_backward(d_out, dh_n, dc_n, caches)

    model = PeepholeLSTM(I, H).double()
    model.load_state_dict({TORCH_NAMES[k]: torch.from_numpy(v) for k, v in params.items()})
    tx, th0, tc0 = (torch.from_numpy(a).requires_grad_() for a in (x, h0, c0))
    t_out, (t_hn, t_cn) = model(tx, (th0[None], tc0[None]))
    loss = (t_out * torch.from_numpy(d_out)).sum() + (t_hn[0] * torch.from_numpy(dh_n)).sum()
    (loss + (t_cn[0] * torch.from_numpy(dc_n)).sum()).backward()

    close = dict(rtol=1e-10, atol=1e-12)
    for ours, theirs in [(out, t_out), (h_n, t_hn[0]), (c_n, t_cn[0]), (dx, tx.grad),
                         (dh0, th0.grad), (dc0, tc0.grad)]:  # fmt: skip
        np.testing.assert_allclose(ours, theirs.detach().numpy(), **close)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, getattr(model, TORCH_NAMES[name]).grad.numpy(), **close,
                                   err_msg=name)  # fmt: skip
