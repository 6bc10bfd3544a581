"""ResShift pipeline pieces that the fixtures do not reach: padding of any LR size, start-noise shape."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from srkit.released.resshift.pipeline import reflect_pad


def test_reflect_pad_is_the_official_single_reflection_when_it_fits() -> None:
    x = torch.randn(1, 3, 20, 28)
    assert torch.equal(reflect_pad(x, 32), F.pad(x, (0, 4, 0, 12), mode="reflect"))
    assert torch.equal(reflect_pad(x[..., :16, :16], 16), x[..., :16, :16])


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 70), (64, 64)])
def test_reflect_pad_reaches_the_multiple_for_tiny_images(size: tuple[int, int]) -> None:
    x = torch.randn(1, 3, *size)
    padded = reflect_pad(x, 64)
    assert padded.shape[-2] % 64 == 0 and padded.shape[-1] % 64 == 0
    assert padded.shape[-2] - size[0] < 64 and padded.shape[-1] - size[1] < 64
    assert torch.equal(padded[..., : size[0], : size[1]], x)
