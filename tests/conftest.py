"""Fixtures shared by the test suite."""

import pytest
import torch

from tests.support.site import browser, server, site  # noqa: F401  (fixtures)

NO_CUDA = "no CUDA device on this machine; the CPU run covers the same checks"


@pytest.fixture(
    params=[
        "cpu",
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA),
            ],
        ),
    ],  # fmt: skip
)
def device(request) -> torch.device:
    """Every test that takes ``device`` runs on the CPU, and on CUDA when there is one."""
    return torch.device(request.param)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests, as the chapters run their small models."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
