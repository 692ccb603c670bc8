"""train / evaluate / accuracy on problems whose answer is known."""

import copy

import pytest
import torch
from torch import nn

from lstm_ref.device import available_devices
from lstm_ref.train import accuracy, evaluate, train

W_TRUE = torch.tensor([[2.0], [-1.0], [0.5]])


def linear_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """y = x W + 0.3, x ~ N(0, 1), drawn from the step number."""
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(step))
    return x, x @ W_TRUE + 0.3


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(3, 1)


def test_loss_decreases_on_linear_regression():
    model = make_model()
    history = train(model, linear_batch, nn.functional.mse_loss, steps=150, lr=0.05, progress=False)
    assert len(history.loss) == len(history.grad_norm) == 150
    assert sum(history.loss[-10:]) / 10 < 1e-2 * history.loss[0]
    torch.testing.assert_close(model.weight.detach().T, W_TRUE, atol=0.05, rtol=0)


def test_same_seed_same_run_with_dropout():
    def run(seed):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.5), nn.Linear(16, 1))
        return train(
            model, linear_batch, nn.functional.mse_loss, steps=20, seed=seed, progress=False
        ).loss

    assert run(seed=1) == run(seed=1)
    assert run(seed=1) != run(seed=2)  # only dropout differs


def test_clipping_bounds_the_update_and_records_the_raw_norm():
    model = make_model()
    start = copy.deepcopy(model)

    def loss_fn(output, target):
        return 1e3 * nn.functional.mse_loss(output, target)  # a large gradient

    clip = 1e-3
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)  # Δθ = -g
    history = train(
        model,
        linear_batch,
        loss_fn,
        steps=1,
        optimizer=optimizer,
        clip_grad_norm=clip,
        progress=False,
    )
    x, y = linear_batch(0)
    loss_fn(start(x), y).backward()
    raw_norm = torch.cat([p.grad.flatten() for p in start.parameters()]).norm()
    assert history.grad_norm[0] == pytest.approx(raw_norm.item(), rel=1e-5)
    assert history.grad_norm[0] > 100 * clip  # so the clipping had work to do
    step = torch.cat(
        [
            (p - q).detach().flatten()
            for p, q in zip(model.parameters(), start.parameters(), strict=True)
        ]
    )
    assert step.norm().item() == pytest.approx(clip, rel=1e-4)


def test_progress_false_is_silent_and_true_draws_a_bar(capsys):
    train(make_model(), linear_batch, nn.functional.mse_loss, steps=5, progress=False)
    silent = capsys.readouterr()
    assert silent.err == "" and silent.out == ""
    train(make_model(), linear_batch, nn.functional.mse_loss, steps=5, progress=True)
    assert "loss=" in capsys.readouterr().err


def test_tuple_inputs_are_unpacked_into_the_model():
    class Sum(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.zeros(()))

        def forward(self, a, b):
            return self.scale * (a + b)

    def batch(step):
        a, b = torch.randn(8), torch.randn(8)
        return (a, b), 3.0 * (a + b)

    model = Sum()
    train(model, batch, nn.functional.mse_loss, steps=200, lr=0.1, progress=False)
    assert model.scale.item() == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("device", available_devices(), ids=str)
def test_model_moved_to_device_and_batches_follow(device):
    model = make_model()
    history = train(
        model, linear_batch, nn.functional.mse_loss, steps=3, device=device, progress=False
    )
    assert model.weight.device.type == device.type and len(history.loss) == 3


def test_evaluate_averages_batches_and_restores_mode():
    model = make_model()
    model.train()

    def batch(index):
        return torch.zeros(4, 3), torch.full((4,), float(index))

    seen_modes = []

    def metric(output, target):
        seen_modes.append(model.training)
        return target.mean()

    assert evaluate(model, batch, metric, batches=5) == pytest.approx(sum(range(5)) / 5)
    assert seen_modes == [False] * 5 and model.training


def test_accuracy_against_a_count():
    logits = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 4, (50,), generator=torch.Generator().manual_seed(1))
    hits = sum(int(logits[n].argmax() == target[n]) for n in range(50))
    assert accuracy(logits, target) == pytest.approx(hits / 50)
    assert accuracy(nn.functional.one_hot(target, 4).float(), target) == 1.0
    with pytest.raises(ValueError, match=r"expected target of shape \(50,\), got \(49,\)"):
        accuracy(logits, target[:49])


def test_bad_arguments_rejected():
    with pytest.raises(ValueError, match="expected steps >= 1, got 0"):
        train(make_model(), linear_batch, nn.functional.mse_loss, steps=0)
    with pytest.raises(ValueError, match="expected clip_grad_norm > 0, got 0"):
        train(make_model(), linear_batch, nn.functional.mse_loss, steps=1, clip_grad_norm=0)
