"""Every claim of chapter 2 (book/02_lstm_cell.md), asserted on the same functions."""

import numpy as np
import pytest
import torch

from lstm_ref.experiments.worked_example import (
    GATES,
    cell_check,
    fold_biases,
    latch_params,
    lstm_cell_from,
    run_latch,
    worked_inputs,
    worked_params,
    worked_sequence,
    worked_step,
)
from lstm_ref.nn import LSTM, LSTMCell
from lstm_ref.params import cell_param_count

WRITE, HOLD, READ = 3, 8, 1  # the chapter's latch phases


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_worked_step_equals_lstm_ref_cell():
    step = worked_step()
    h, c = cell_check(step, worked_params())
    np.testing.assert_allclose(h, step.h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c, step.c, rtol=0, atol=1e-12)


def test_worked_step_equals_torch_lstm_cell():
    step, params = worked_step(), worked_params()
    theirs = torch.nn.LSTMCell(2, 2, dtype=torch.float64)
    theirs.load_state_dict(lstm_cell_from(params).state_dict())
    x, h_prev, c_prev = (torch.from_numpy(a) for a in worked_inputs())
    with torch.no_grad():
        h, c = theirs(x, (h_prev, c_prev))
    np.testing.assert_allclose(h.numpy(), step.h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.numpy(), step.c, rtol=0, atol=1e-12)


def test_every_intermediate_follows_the_equations():
    step, p = worked_step(), worked_params()
    a = step.x @ p["W_ih"].T + step.h_prev @ p["W_hh"].T + p["b_ih"] + p["b_hh"]  # (1, 8)
    np.testing.assert_allclose(step.input_term, step.x @ p["W_ih"].T)
    np.testing.assert_allclose(step.recurrent_term, step.h_prev @ p["W_hh"].T)
    blocks = dict(zip(GATES, np.split(a, 4, axis=1)))
    for gate in GATES:
        np.testing.assert_allclose(getattr(step, f"a_{gate}"), blocks[gate])
    np.testing.assert_allclose(step.i, sigmoid(blocks["i"]))
    np.testing.assert_allclose(step.f, sigmoid(blocks["f"]))
    np.testing.assert_allclose(step.g, np.tanh(blocks["g"]))
    np.testing.assert_allclose(step.o, sigmoid(blocks["o"]))
    np.testing.assert_allclose(step.kept, step.f * step.c_prev)
    np.testing.assert_allclose(step.written, step.i * step.g)
    np.testing.assert_allclose(step.c, step.kept + step.written)
    np.testing.assert_allclose(step.tanh_c, np.tanh(step.c))
    np.testing.assert_allclose(step.h, step.o * np.tanh(step.c))


def test_worked_cell_is_as_described():
    """Sizes 2 and 2, batch 1; weights multiples of 0.5; forget bias 1; b_hh zero."""
    p = worked_params()
    assert p["W_ih"].shape == (8, 2) and p["W_hh"].shape == (8, 2)
    assert all(a.shape == (1, 2) for a in worked_inputs())
    for value in p.values():
        assert np.array_equal(2 * value, np.round(2 * value))
    np.testing.assert_array_equal(p["b_ih"][2:4], [1.0, 1.0])  # the f block
    assert not p["b_hh"].any()


def test_the_narrated_units():
    step = worked_step()
    assert (step.f > 0.5).all()  # the forget bias lifts both forget gates above one half
    assert (sigmoid(step.a_f - 1.0) < 0.5).all()  # without it, both would be below
    assert step.o[0, 0] < 0.5  # unit 1's output gate shows less than half of tanh(c_t)
    assert step.c_prev[0, 1] < 0 < step.c[0, 1]  # unit 2's cell state changes sign


def test_output_gate_changes_h_but_never_c():
    params = worked_params()
    for o_bias in (-5.0, 0.0, 5.0):
        changed = {k: v.copy() for k, v in params.items()}
        changed["b_ih"][6:8] = o_bias  # the o block
        step = worked_step(params=changed)
        np.testing.assert_array_equal(step.c, worked_step().c)
    low = {k: v.copy() for k, v in params.items()}
    low["b_ih"][6:8] = -5.0
    assert np.abs(worked_step(params=low).h).max() < np.abs(worked_step().h).max()


def test_h_stays_inside_minus_one_one_while_c_does_not():
    rng = np.random.default_rng(0)
    params = {k: 3 * rng.standard_normal(v.shape) for k, v in worked_params().items()}
    steps = worked_sequence(3 * rng.standard_normal((50, 4, 2)), params)
    assert max(np.abs(s.h).max() for s in steps) < 1
    assert max(np.abs(s.c).max() for s in steps) > 1
    latch = run_latch(value=3.0, write_steps=WRITE, hold_steps=HOLD, read_steps=READ)
    assert max(abs(s.c.item()) for s in latch) > 2
    assert max(abs(s.h.item()) for s in latch) < 1


def test_small_output_gate_hides_large_cell_state():
    steps = run_latch(value=3.0, write_steps=WRITE, hold_steps=HOLD, read_steps=READ)
    assert len(steps) == WRITE + HOLD + READ
    for s in steps[WRITE : WRITE + HOLD]:  # hold: a full cell, a closed output gate
        assert s.c.item() > 2.5
        assert s.o.item() < 0.01
        assert abs(s.h.item()) < 0.01
    assert steps[-1].o.item() > 0.99  # read: the gate opens and h shows the memory
    assert steps[-1].h.item() > 0.9


def test_latch_forget_gate_is_constant_near_one_and_cell_still_decays():
    steps = run_latch(value=3.0, write_steps=WRITE, hold_steps=HOLD, read_steps=READ)
    forget = [s.f.item() for s in steps]
    assert min(forget) == max(forget) > 0.99
    assert steps[-1].c.item() < steps[WRITE - 1].c.item()


def test_latch_gates_follow_the_flags():
    steps = run_latch(value=3.0, write_steps=WRITE, hold_steps=HOLD, read_steps=READ)
    assert all(s.i.item() > 0.99 for s in steps[:WRITE])
    assert all(s.i.item() < 0.01 for s in steps[WRITE:])
    assert all(s.o.item() < 0.01 for s in steps[: WRITE + HOLD])
    assert latch_params()["W_hh"].shape == (4, 1) and not latch_params()["W_hh"].any()


def test_only_the_sum_of_the_two_biases_matters():
    params = worked_params()
    params["b_hh"] = np.linspace(-1, 1, 8)  # make b_hh count
    folded = fold_biases(params)
    assert not folded["b_hh"].any()
    np.testing.assert_allclose(worked_step(params=folded).h, worked_step(params=params).h)
    np.testing.assert_array_equal(worked_step(params=fold_biases(worked_params())).h,
                                  worked_step().h)  # fmt: skip


def test_worked_sequence_equals_lstm_layer():
    rng = np.random.default_rng(1)
    params = {k: rng.standard_normal(v.shape) for k, v in worked_params().items()}
    inputs = rng.standard_normal((7, 3, 2))  # (L, N, I)
    steps = worked_sequence(inputs, params)
    layer = LSTM(2, 2, dtype=torch.float64)
    cell = lstm_cell_from(params)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    with torch.no_grad():
        output, _ = layer(torch.from_numpy(inputs))
    np.testing.assert_allclose(np.stack([s.h for s in steps]), output.numpy(), atol=1e-12)


@pytest.mark.parametrize("m, d", [(2, 2), (10, 20), (32, 128), (300, 512)])
def test_parameter_counts(m, d):
    textbook = cell_param_count("LSTM", m, d, bias_vectors=1)
    with_two_biases = cell_param_count("LSTM", m, d)
    assert textbook == 4 * (d * (d + m) + d)
    assert with_two_biases == 4 * (d * (d + m) + 2 * d)
    assert with_two_biases - textbook == 4 * d  # b_hh
    assert with_two_biases == numel(LSTMCell(m, d)) == numel(torch.nn.LSTMCell(m, d))


def test_the_example_counts():
    assert cell_param_count("LSTM", 10, 20, bias_vectors=1) == 2480
    assert cell_param_count("LSTM", 10, 20) == 2560
