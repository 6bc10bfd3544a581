import pytest
import torch


@pytest.fixture(autouse=True)
def float64_by_default():
    """Engine tests compare against closed forms in float64; restore the default afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
