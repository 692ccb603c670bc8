"""Chapter 5's checks: correct code written differently passes, each known mistake is
named (those that raise too), and calling lstm_ref.text's own function is refused.
CORRECT and BUGS are the student-like corpus (tests/test_grading_corpus.py)."""

import math

import pytest
import torch
import torch.nn.functional as F

from lstm_ref import text
from lstm_ref.grading import GradingError
from lstm_ref.grading.language_models import (
    BATCHIFY,
    PERPLEXITY,
    SAMPLE_NEXT,
    TRAIN_STEP,
    check_batchify,
    check_perplexity,
    check_sample_next,
    check_train_step,
)
from lstm_ref.grading.language_models import sample_next as sample_exercise
from tests.support.grading import Bug, unguarded, verdict

HIDDEN = [False, True]
INF = float("-inf")

# ================================================================ exercise 1: batchify


def batchify_view(ids, batch_size):
    """Correct: trim, view as (N, S), transpose."""
    S = len(ids) // batch_size
    return ids[: S * batch_size].view(batch_size, S).t()


def batchify_stack(ids, batch_size):
    """Correct: one slice per stream, stacked as columns."""
    S = ids.shape[0] // batch_size
    return torch.stack([ids[n * S : (n + 1) * S] for n in range(batch_size)], dim=1)


def batchify_loop(ids, batch_size):
    """Correct: a buffer of ids' dtype and device, filled column by column."""
    T, N = ids.shape[0], batch_size
    S = T // N
    data = torch.empty((S, N), dtype=ids.dtype, device=ids.device)
    for n in range(N):
        data[:, n] = ids[n * S : n * S + S]
    return data


def batchify_chunks(ids, batch_size):
    """Correct: narrow, then equal chunks side by side, made contiguous."""
    S = ids.size(0) // batch_size
    chunks = torch.chunk(ids.narrow(0, 0, S * batch_size), batch_size)
    return torch.stack(chunks, dim=-1).contiguous()


def batchify_unflatten(ids, batch_size):
    """Correct: unflatten and permute."""
    S = ids.numel() // batch_size
    return ids[: S * batch_size].unflatten(0, (batch_size, S)).permute(1, 0)


def batchify_rows(ids, batch_size):
    S = len(ids) // batch_size
    return ids[: S * batch_size].view(batch_size, S)


def batchify_interleaved(ids, batch_size):
    S = len(ids) // batch_size
    return ids[: S * batch_size].reshape(S, batch_size)


def batchify_strided(ids, batch_size):
    S = len(ids) // batch_size
    return torch.stack([ids[n::batch_size][:S] for n in range(batch_size)], dim=1)


def batchify_padded(ids, batch_size):
    S = math.ceil(len(ids) / batch_size)
    padded = F.pad(ids, (0, S * batch_size - len(ids)))
    return padded.view(batch_size, S).t()


def batchify_last_ids(ids, batch_size):
    S = len(ids) // batch_size
    return ids[-S * batch_size :].view(batch_size, -1).T


def batchify_minus_one(ids, batch_size):
    S = (len(ids) - 1) // batch_size  # "one left over for the targets"
    return ids[: S * batch_size].view(batch_size, S).t()


def batchify_float_buffer(ids, batch_size):
    S = len(ids) // batch_size
    data = torch.zeros(S, batch_size, device=ids.device)  # float32
    for n in range(batch_size):
        data[:, n] = ids[n * S : (n + 1) * S]
    return data


def batchify_untrimmed(ids, batch_size):
    return ids.view(batch_size, -1).t()


def batchify_by_reference(ids, batch_size):
    return text.batchify(ids, batch_size)


# ================================================================ exercise 2: perplexity


def perplexity_cross_entropy(logits, targets):
    """Correct: F.cross_entropy on flattened positions, math.exp."""
    V = logits.shape[-1]
    return math.exp(F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)).item())


def perplexity_gather(logits, targets):
    """Correct: log_softmax, gather, torch.exp."""
    log_p = torch.log_softmax(logits, dim=-1).gather(2, targets[..., None])[..., 0]
    return torch.exp(-log_p.mean()).item()


def perplexity_classes_on_dim_1(logits, targets):
    """Correct: F.cross_entropy with the classes moved to dim 1, float()."""
    return float(torch.exp(F.cross_entropy(logits.permute(0, 2, 1), targets)))


def perplexity_loop(logits, targets):
    """Correct: a loop over positions, logsumexp written by hand."""
    L, N, _ = logits.shape
    total = 0.0
    for t in range(L):
        for n in range(N):
            z = logits[t, n]
            total += (torch.logsumexp(z, 0) - z[targets[t, n]]).item()
    return math.exp(total / (L * N))


def perplexity_in_bits(logits, targets):
    """Correct: bits per symbol, then 2 to that power."""
    log2_p = torch.log_softmax(logits, -1) / math.log(2)
    bits = -log2_p.gather(-1, targets.unsqueeze(-1)).mean().item()
    return 2**bits


def perplexity_categorical(logits, targets):
    """Correct: torch.distributions, as a statistician would."""
    log_p = torch.distributions.Categorical(logits=logits).log_prob(targets)  # (L, N)
    return math.exp(-log_p.mean().item())


def _flat(logits, targets, **kwargs):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), **kwargs)


def perplexity_no_exp(logits, targets):
    return _flat(logits, targets).item()


def perplexity_bits(logits, targets):
    return _flat(logits, targets).item() / math.log(2)


def perplexity_time_softmax(logits, targets):
    log_p = F.log_softmax(logits, dim=0).gather(2, targets.unsqueeze(2))
    return math.exp(-log_p.mean().item())


def perplexity_batch_softmax(logits, targets):
    log_p = torch.log(torch.softmax(logits, dim=1)).gather(2, targets.unsqueeze(2))
    return torch.exp(-log_p.mean()).item()


def perplexity_log2_then_exp(logits, targets):
    p = torch.softmax(logits, -1).gather(-1, targets.unsqueeze(-1))
    return math.exp(-torch.log2(p).mean().item())


def perplexity_two_to_nats(logits, targets):
    return 2 ** _flat(logits, targets).item()


def perplexity_mean_of_exp(logits, targets):
    V = logits.shape[-1]
    per_symbol = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none")
    return per_symbol.exp().mean().item()


def perplexity_per_stream(logits, targets):
    L, N, V = logits.shape
    values = [math.exp(F.cross_entropy(logits[:, n], targets[:, n]).item()) for n in range(N)]
    return sum(values) / N


def perplexity_summed(logits, targets):
    return math.exp(_flat(logits, targets, reduction="sum").item())


def perplexity_no_log(logits, targets):
    p = torch.softmax(logits, -1).gather(-1, targets.unsqueeze(-1))
    return math.exp(-p.mean().item())


def perplexity_nll_on_logits(logits, targets):
    V = logits.shape[-1]
    return math.exp(F.nll_loss(logits.reshape(-1, V), targets.reshape(-1)).item())


def perplexity_shifted(logits, targets):
    V = logits.shape[-1]
    loss = F.cross_entropy(logits[:-1].reshape(-1, V), targets[1:].reshape(-1))
    return math.exp(loss.item())


def perplexity_tensor(logits, targets):
    return torch.exp(_flat(logits, targets))


def perplexity_unflattened(logits, targets):
    return math.exp(F.cross_entropy(logits, targets).item())


# ================================================================ exercise 3: sample_next


def sample_masked(logits, temperature=1.0, top_k=None, generator=None):
    """Correct: the logits below the k-th largest masked with -inf."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    z = logits / temperature
    if top_k is not None:
        kth = torch.topk(z, top_k, dim=-1).values[:, -1:]
        z = z.masked_fill(z < kth, INF)
    return torch.multinomial(torch.softmax(z, dim=-1), 1, generator=generator).squeeze(1)


def sample_power(logits, temperature=1.0, top_k=None, generator=None):
    """Correct: softmax(logits) ** (1 / T), left unnormalised (multinomial normalises),
    the other probabilities zeroed for top-k."""
    if not temperature:
        return torch.argmax(logits, dim=1)
    probs = torch.softmax(logits, dim=-1) ** (1 / temperature)
    if top_k is not None:
        _, keep = probs.topk(top_k, dim=-1)
        probs = torch.zeros_like(probs).scatter(-1, keep, probs.gather(-1, keep))
    return torch.multinomial(probs, num_samples=1, generator=generator).view(-1)


def sample_scatter(logits, temperature=1.0, top_k=None, generator=None):
    """Correct: top-k by scatter into -inf, renormalised by hand, replacement=True."""
    if temperature == 0.0:
        return logits.max(dim=-1).indices
    z = logits / temperature
    if top_k:
        values, where = z.topk(top_k)
        z = torch.full_like(z, -math.inf).scatter(-1, where, values)
    probs = F.softmax(z, dim=-1)
    probs = probs / probs.sum(dim=-1, keepdim=True)
    return torch.multinomial(probs, 1, replacement=True, generator=generator)[:, 0]


def sample_sorted(logits, temperature=1.0, top_k=None, generator=None):
    """Correct: a threshold from sorting, in place on a copy, exp weights not normalised."""
    if temperature == 0:
        return logits.argmax(-1)
    z = logits.clone() / temperature
    if top_k is not None:
        threshold = z.sort(dim=-1, descending=True).values[:, top_k - 1 : top_k]
        z[z < threshold] = -math.inf
    weights = torch.exp(z - z.max(dim=-1, keepdim=True).values)
    return weights.multinomial(1, generator=generator).flatten()


def sample_row_by_row(logits, temperature=1.0, top_k=None, generator=None):
    """Correct: the whole batch drawn at once, after a row loop for top-k."""
    if temperature == 0:
        return torch.stack([row.argmax() for row in logits])
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_k is not None:
        probs = probs.clone()
        for row in probs:
            row[row.argsort(descending=True)[top_k:]] = 0.0
    return probs.multinomial(1, generator=generator).squeeze(-1)


def _top_k(z, top_k, fill=INF, k=None):
    if top_k is None:
        return z
    kth = z.topk(k or top_k, dim=-1).values[:, -1:]
    return torch.where(z >= kth, z, torch.full_like(z, fill))


def _draw(z, generator, **kwargs):
    return torch.multinomial(torch.softmax(z, -1), 1, generator=generator, **kwargs).squeeze(-1)


def sample_always_greedy(logits, temperature=1.0, top_k=None, generator=None):
    return _top_k(logits, top_k).argmax(-1)


def sample_times_temperature(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    return _draw(_top_k(logits * temperature, top_k), generator)


def sample_probs_over_temperature(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(_top_k(logits, top_k), -1) / temperature
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def sample_k_plus_one(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    z = logits / temperature
    if top_k is not None:
        threshold = z.sort(dim=-1, descending=True).values[:, top_k : top_k + 1]  # 0-based
        z = z.masked_fill(z < threshold, INF)
    return _draw(z, generator)


def sample_k_minus_one(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    z = logits / temperature
    if top_k is not None:
        threshold = z.sort(dim=-1, descending=True).values[:, top_k - 1 : top_k]
        z = z.masked_fill(z <= threshold, INF)
    return _draw(z, generator)


def sample_ignores_top_k(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    return _draw(logits / temperature, generator)


def sample_zero_fill(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    return _draw(_top_k(logits / temperature, top_k, fill=0.0), generator)


def sample_without_generator(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(_top_k(logits / temperature, top_k), -1)
    return torch.multinomial(probs, 1).squeeze(-1)


def sample_categorical(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    z = _top_k(logits / temperature, top_k)
    return torch.distributions.Categorical(logits=z).sample()


def sample_keeps_axis(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1, keepdim=True)
    probs = torch.softmax(_top_k(logits / temperature, top_k), -1)
    return torch.multinomial(probs, 1, generator=generator)


def sample_squeezed(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(_top_k(logits / temperature, top_k), -1)
    return torch.multinomial(probs, 1, generator=generator).squeeze()


def sample_from_logits(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    z = _top_k(logits / temperature, top_k)
    return torch.multinomial(z, 1, generator=generator).squeeze(-1)


def sample_from_log_probs(logits, temperature=1.0, top_k=None, generator=None):
    if temperature == 0:
        return logits.argmax(-1)
    log_p = torch.log_softmax(_top_k(logits / temperature, top_k), -1)
    return torch.multinomial(log_p, 1, generator=generator).squeeze(-1)


def sample_divides_by_zero(logits, temperature=1.0, top_k=None, generator=None):
    return _draw(_top_k(logits / temperature, top_k), generator)  # no greedy case


def sample_inverse_temperature(logits, temperature=1.0, top_k=None, generator=None):
    beta = 1.0 / temperature  # ZeroDivisionError at temperature 0
    return _draw(_top_k(logits * beta, top_k), generator)


def sample_by_reference(logits, temperature=1.0, top_k=None, generator=None):
    return text.sample_next(logits, temperature, top_k, generator)


# ================================================================ exercise 4: train_step


def step_cross_entropy(model, optimizer, inputs, targets, state):
    """Correct: as the chapter writes it."""
    optimizer.zero_grad()
    logits, (h, c) = model(inputs, state)
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()
    optimizer.step()
    return loss.item(), (h.detach(), c.detach())


def step_by_hand(model, optimizer, inputs, targets, state):
    """Correct: log-probabilities gathered, zero_grad after the step, a tuple detached."""
    model.train()
    logits, state = model(inputs, state)
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1))
    loss = -log_p.mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss), tuple(s.detach() for s in state)


def step_batch_first_loss(model, optimizer, inputs, targets, state):
    """Correct: model.zero_grad(), the loss over (N, V, L), .data for the state."""
    model.zero_grad()
    logits, (h, c) = model(inputs, state)
    loss = F.cross_entropy(logits.permute(1, 2, 0), targets.T)
    value = loss.item()
    loss.backward()
    optimizer.step()
    return value, (h.data, c.data)


def step_explicit_zeros(model, optimizer, inputs, targets, state):
    """Correct: a zero state made by hand for the first window, detached on the way in
    and on the way out."""
    if state is None:
        layers, H = model.lstm.num_layers, model.lstm.hidden_size
        zeros = torch.zeros(layers, inputs.shape[1], H, dtype=model.out.weight.dtype,
                            device=inputs.device)  # fmt: skip
        state = (zeros, zeros.clone())
    state = (state[0].detach(), state[1].detach())
    optimizer.zero_grad()
    logits, (h_n, c_n) = model(inputs, state)
    loss = F.nll_loss(F.log_softmax(logits, -1).flatten(0, 1), targets.flatten())
    loss.backward()
    optimizer.step()
    return loss.item(), (h_n.detach(), c_n.detach())


def step_via_lstm_ref_loss(model, optimizer, inputs, targets, state):
    """Correct: the course's cross_entropy (allowed: only train_step is the exercise),
    and the state detached with lstm_ref.text.detach_state."""
    optimizer.zero_grad()
    logits, state = model(inputs, state)
    loss = text.cross_entropy(logits, targets)
    loss.backward()
    optimizer.step()
    return loss.item(), text.detach_state(state)


def _step(model, optimizer, inputs, targets, state, **flags):
    """The step a student writes; each bug below changes one line of it."""
    if flags.get("zero_grad", True):
        optimizer.zero_grad()
    logits, (h, c) = model(inputs, None if flags.get("reset") else state)
    V = logits.shape[-1]
    z, y = flags.get("pair", lambda z, x, y: (z, y))(logits, inputs, targets)
    loss = F.cross_entropy(
        z.reshape(-1, V), y.reshape(-1), reduction=flags.get("reduction", "mean")
    )
    loss.backward(retain_graph=flags.get("retain", False))
    if flags.get("update", True):
        optimizer.step()
    if flags.get("detach", True):
        h, c = h.detach(), c.detach()
    return loss.item(), (h, c)


def step_undetached(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, detach=False)


def step_undetached_retained(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, detach=False, retain=True)


def step_detaches_on_entry_only(model, optimizer, inputs, targets, state):
    if state is not None:
        state = tuple(s.detach() for s in state)
    return _step(model, optimizer, inputs, targets, state, detach=False)


def step_reset(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, reset=True)


def step_no_zero_grad(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, zero_grad=False)


def step_scores_inputs(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, pair=lambda z, x, y: (z, x))


def step_shifts_targets(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, pair=lambda z, x, y: (z[:-1], y[1:]))


def step_targets_from_inputs(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, pair=lambda z, x, y: (z[:-1], x[1:]))


def step_summed(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, reduction="sum")


def step_no_update(model, optimizer, inputs, targets, state):
    return _step(model, optimizer, inputs, targets, state, update=False)


def step_loss_after_update(model, optimizer, inputs, targets, state):
    _, new_state = _step(model, optimizer, inputs, targets, state)
    with torch.no_grad():
        logits, _ = model(inputs, state)
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten()).item(), new_state


def step_cell_first(model, optimizer, inputs, targets, state):
    loss, (h, c) = _step(model, optimizer, inputs, targets, state)
    return loss, (c, h)


def step_tensor_loss(model, optimizer, inputs, targets, state):
    optimizer.zero_grad()
    logits, (h, c) = model(inputs, state)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()
    optimizer.step()
    return loss, (h.detach(), c.detach())


def step_loss_only(model, optimizer, inputs, targets, state):
    loss, _ = _step(model, optimizer, inputs, targets, state)
    return loss


def step_by_reference(model, optimizer, inputs, targets, state):
    return text.train_step(model, optimizer, inputs, targets, state)


# ================================================================ the corpus

CORRECT = {
    check_batchify: [batchify_view, batchify_stack, batchify_loop, batchify_chunks,
                     batchify_unflatten],
    check_perplexity: [perplexity_cross_entropy, perplexity_gather, perplexity_classes_on_dim_1,
                       perplexity_loop, perplexity_in_bits, perplexity_categorical],
    check_sample_next: [sample_masked, sample_power, sample_scatter, sample_sorted,
                        sample_row_by_row],
    check_train_step: [step_cross_entropy, step_by_hand, step_batch_first_loss,
                       step_explicit_zeros, step_via_lstm_ref_loss],
}  # fmt: skip
BUGS = {
    check_batchify: [
        Bug(batchify_rows, "the streams are the rows"),
        Bug(batchify_interleaved, "the ids are interleaved"),
        Bug(batchify_strided, "the ids are interleaved"),
        Bug(batchify_padded, "the tail is kept"),
        Bug(batchify_last_ids, "dropped instead of the last"),
        Bug(batchify_minus_one, "held back for the targets"),
        Bug(batchify_float_buffer, "not int64"),
        Bug(batchify_untrimmed, "T need not be a multiple of batch_size"),  # the shape hint
    ],
    check_perplexity: [
        Bug(perplexity_no_exp, "the exp is missing"),
        Bug(perplexity_bits, "bits per character"),
        Bug(perplexity_time_softmax, "the softmax runs over the wrong axis"),
        Bug(perplexity_batch_softmax, "the softmax runs over the wrong axis"),
        Bug(perplexity_log2_then_exp, "the bases disagree"),
        Bug(perplexity_two_to_nats, "the bases disagree"),
        Bug(perplexity_mean_of_exp, "exp is taken before the mean"),
        Bug(perplexity_per_stream, "exp is taken before the mean"),
        Bug(perplexity_summed, "summed instead of averaged"),
        Bug(perplexity_no_log, "the log is missing"),
        Bug(perplexity_nll_on_logits, "the log-softmax is missing"),
        Bug(perplexity_shifted, "the targets are shifted"),
        Bug(perplexity_tensor, "should be a Python float, got a tensor"),
        Bug(perplexity_unflattened, "classes on dim 1"),  # the shape hint
    ],
    check_sample_next: [
        Bug(sample_always_greedy, "greedy at every temperature"),
        Bug(sample_times_temperature, "multiplies the logits"),
        Bug(sample_probs_over_temperature, "the temperature has no effect"),
        Bug(sample_k_plus_one, "k + 1 symbols"),
        Bug(sample_k_minus_one, "k - 1 symbols"),
        Bug(sample_ignores_top_k, "top_k is ignored"),
        Bug(sample_zero_fill, "to 0 instead of -inf"),
        Bug(sample_without_generator, "the generator is not used"),
        Bug(sample_categorical, "the generator is not used"),
        Bug(sample_keeps_axis, "(N, 1) instead of (N,)"),
        Bug(sample_squeezed, "squeezed to a scalar when N = 1"),
        Bug(sample_from_logits, "multinomial is given logits"),
        Bug(sample_from_log_probs, "multinomial is given logits"),
        Bug(sample_divides_by_zero, "temperature 0 is not handled"),
        Bug(sample_inverse_temperature, "temperature 0 is not handled"),
    ],
    check_train_step: [
        Bug(step_undetached, "the state is not detached"),
        Bug(step_undetached_retained, "the state is not detached"),
        Bug(step_detaches_on_entry_only, "the state is not detached"),
        Bug(step_reset, "reset to zeros"),
        Bug(step_no_zero_grad, "zero_grad() is missing"),
        Bug(step_scores_inputs, "scored against the inputs"),
        Bug(step_shifts_targets, "shifted once more"),
        Bug(step_targets_from_inputs, "made from the inputs"),
        Bug(step_summed, "summed instead of averaged"),
        Bug(step_no_update, "not updated"),
        Bug(step_loss_after_update, "computed after the update"),
        Bug(step_cell_first, "returned as (c, h)"),
        Bug(step_tensor_loss, "should be a Python float, got a tensor"),
        Bug(step_loss_only, "should return (loss, (h, c))"),
    ],
}

EXERCISES = [(check_batchify, BATCHIFY), (check_perplexity, PERPLEXITY),
             (check_sample_next, SAMPLE_NEXT), (check_train_step, TRAIN_STEP)]  # fmt: skip


def _as_student(exercise, mistake):
    """A mistake as the student's function it stands for (sample_next's and train_step's
    wrap one: a generator made from the case's seed; the windows run in turn)."""
    if exercise is check_sample_next:
        return mistake.fn.keywords["sample_next"]
    if exercise is check_train_step:
        return mistake.fn.keywords["train_step"]
    return mistake.fn


# ================================================================ the checks' own tests


@pytest.mark.parametrize("exercise, check", EXERCISES, ids=lambda x: getattr(x, "name", ""))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_each_mistake_is_named_as_itself(exercise, check, hidden):
    """Each mistake fails, and no earlier one in the list explains it instead."""
    for mistake in check.mistakes:
        result = verdict(unguarded(exercise), _as_student(exercise, mistake), hidden)
        assert not result.passed and result.mistake == mistake.name, result.message


@pytest.mark.parametrize("hidden", HIDDEN)
def test_no_draw_is_near_a_tie(hidden):
    """torch.multinomial draws argmax_i p_i / q_i, q ~ Exp(1): rounding cannot change a
    draw whose top two ratios differ by far more than float32's precision."""
    for case in sample_exercise.cases(hidden):
        logits, temperature, top_k, seed = case.args
        z = logits.double()
        if temperature == 0:
            top = z.topk(2, dim=-1).values
            assert (top[:, 0] - top[:, 1]).min() > 1e-3, case.label
            continue
        generator = torch.Generator(device=logits.device).manual_seed(seed)
        q = torch.empty_like(logits).exponential_(1, generator=generator).double()
        probs = torch.softmax(_top_k(z / temperature, top_k), dim=-1)
        ratios = (probs / q).topk(2, dim=-1).values
        assert ((ratios[:, 0] - ratios[:, 1]) / ratios[:, 0]).min() > 1e-4, case.label


@pytest.mark.parametrize("hidden", HIDDEN)
def test_cases_stay_inside_the_instructions(hidden):
    for case in check_batchify.parts[0].cases(hidden):
        ids, N = case.args
        assert ids.dtype == torch.long and 1 <= N <= len(ids)
    assert any(len(c.args[0]) % c.args[1] for c in check_batchify.parts[0].cases(hidden))
    for case in sample_exercise.cases(hidden):
        logits, temperature, top_k, _ = case.args
        assert temperature >= 0 and (top_k is None or 2 <= top_k < logits.shape[-1])
    for case in check_perplexity.parts[0].cases(hidden):
        logits, targets = case.args
        L, N, V = logits.shape
        assert targets.shape == (L, N) and N != V  # F.cross_entropy(logits, targets) raises
    for case in check_train_step.parts[0].cases(hidden):
        model, windows = case.args
        assert len(windows) == 3
        for (_, y), (next_x, _) in zip(windows, windows[1:]):
            assert torch.equal(y[-1], next_x[0])  # consecutive windows continue each other


def test_float_ids_are_named_on_an_otherwise_right_answer():
    result = verdict(check_batchify, batchify_float_buffer)
    assert result.mistake == "the ids are not int64 (torch.long)"
    assert "data is float32" in result.message


@pytest.mark.parametrize("exercise, student, culprit", [
    (check_batchify, batchify_by_reference, "lstm_ref.text.batchify"),
    (check_perplexity, lambda z, y: text.perplexity(z, y), "lstm_ref.text.perplexity"),
    (check_perplexity, lambda z, y: math.exp(text.cross_entropy(z, y).item()),
     "lstm_ref.text.cross_entropy"),
    (check_sample_next, sample_by_reference, "lstm_ref.text.sample_next"),
    (check_train_step, step_by_reference, "lstm_ref.text.train_step"),
], ids=["batchify", "perplexity", "cross_entropy", "sample_next", "train_step"])  # fmt: skip
def test_calling_lstm_ref_text_is_refused(exercise, student, culprit):
    with pytest.raises(GradingError, match=f"write it yourself, but your code called {culprit}"):
        exercise(student)


def test_an_undetached_state_is_named_from_the_error_it_raises():
    result = verdict(check_train_step, step_undetached)
    assert result.mistake == "the state is not detached"
    assert "raised RuntimeError, a sign of a known mistake" in result.message
    assert "h.detach()" in result.message


def test_multinomial_errors_are_told_apart_by_the_temperature():
    on_logits = verdict(check_sample_next, sample_from_logits)
    no_greedy = verdict(check_sample_next, sample_divides_by_zero)
    assert "temperature=1" in on_logits.message and "logits" in on_logits.mistake
    assert "temperature=0" in no_greedy.message and "temperature 0" in no_greedy.mistake


def test_a_stub_is_explained():
    def stub(*args):
        raise NotImplementedError()

    for exercise, _ in EXERCISES:
        with pytest.raises(GradingError, match="still the stub"):
            exercise(stub)


def test_checks_restore_torchs_global_generator():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    check_sample_next(sample_masked)
    assert torch.equal(torch.random.get_rng_state(), before)
