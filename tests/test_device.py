"""default_device: the environment override, its validation, and the CUDA fallback."""

import pytest
import torch

from lstm_ref.device import ENV_VAR, available_devices, default_device


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_cpu_without_cuda(monkeypatch, no_cuda):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_device() == torch.device("cpu")
    assert available_devices() == [torch.device("cpu")]


def test_cuda_when_available(monkeypatch, two_gpus):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_device().type == "cuda"
    assert available_devices() == [torch.device("cpu"), torch.device("cuda")]


@pytest.mark.parametrize("value", ["cpu", " cpu "])
def test_env_forces_cpu_even_with_cuda(monkeypatch, two_gpus, value):
    monkeypatch.setenv(ENV_VAR, value)
    assert default_device() == torch.device("cpu")


def test_env_picks_a_cuda_index(monkeypatch, two_gpus):
    monkeypatch.setenv(ENV_VAR, "cuda:1")
    assert default_device() == torch.device("cuda", 1)


def test_empty_env_counts_as_unset(monkeypatch, no_cuda):
    monkeypatch.setenv(ENV_VAR, "")
    assert default_device() == torch.device("cpu")


@pytest.mark.parametrize("value", ["gpu", "CPU", "cuda:x", "meta", "cpu,cuda"])
def test_bad_env_value_rejected(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValueError, match=f"expected {ENV_VAR} to be 'cpu', 'cuda'"):
        default_device()


def test_cuda_requested_without_cuda_rejected(monkeypatch, no_cuda):
    monkeypatch.setenv(ENV_VAR, "cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        default_device()


def test_cuda_index_out_of_range_rejected(monkeypatch, two_gpus):
    monkeypatch.setenv(ENV_VAR, "cuda:2")
    with pytest.raises(ValueError, match="device index < 2"):
        default_device()
