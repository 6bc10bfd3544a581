"""ResShift pipeline pieces that the fixtures do not reach: padding of any LR size, the script's chop of large images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srkit.infer.run import UpscaleRun
from srkit.infer.seeding import cpu_generator, derive_seed
from srkit.released.base import OfficialChop
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


def test_resshift_declares_the_scripts_chop(resshift_pipelines) -> None:
    assert resshift_pipelines["v3"].official_chop == OfficialChop(512, 448)  # --chop_size 512, stride 512 - 64


def test_auto_tiling_chops_as_the_script_does(resshift_pipelines, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--tile auto``: the script's tiles (here a smaller chop), sampled in order from one generator, averaged uniformly."""
    pipe = resshift_pipelines["v3"]
    monkeypatch.setattr(type(pipe), "official_chops", property(lambda self: (OfficialChop(16, 12),)))
    rgb = np.random.default_rng(1).random((20, 14, 3)).astype(np.float32)  # rows 0 and 4; one column
    result = UpscaleRun.build(pipe, tile="auto").super_resolve(rgb, seed=3)
    assert result.tiles == 2
    lr = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    g = cpu_generator(derive_seed(3, "steps", 0))
    first, _ = pipe.super_resolve(lr[..., :16, :], generator=g)
    second, _ = pipe.super_resolve(lr[..., 4:, :], generator=g)
    want = torch.zeros(3, 80, 56)
    want[:, :64] += first[0]
    want[:, 16:] += second[0]
    want[:, 16:64] /= 2
    np.testing.assert_allclose(result.rgb, want.permute(1, 2, 0).numpy(), rtol=0, atol=1e-6)


def test_auto_picks_the_largest_script_chop_that_fits_the_free_memory(resshift_pipelines) -> None:
    from srkit.released.resshift.pipeline import BYTES_PER_LR_PIXEL

    pipe = resshift_pipelines["v3"]
    assert [(c.size, c.stride) for c in pipe.official_chops] == [(512, 448), (256, 224), (64, 48)]  # --chop_size 512|256|64
    assert pipe.official_chop_for(600, 900, 512 * 512 * BYTES_PER_LR_PIXEL) == OfficialChop(512, 448)
    assert pipe.official_chop_for(600, 900, 512 * 512 * BYTES_PER_LR_PIXEL - 1) == OfficialChop(256, 224)
    assert pipe.official_chop_for(300, 200, 300 * 200 * BYTES_PER_LR_PIXEL) == OfficialChop(512, 448)  # runs whole
    assert pipe.official_chop_for(600, 900, 1) == OfficialChop(64, 48)  # nothing fits: the smallest
