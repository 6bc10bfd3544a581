"""The CCSR scripts' optional tiled diffusion: the official windows and weights, an exact blend, and both pipelines."""

from __future__ import annotations

import json
import math

import pytest
import torch

from srkit.errors import UsageError
from srkit.released.sd import families
from srkit.released.sd.tiled_diffusion import (
    sliding_windows,
    tile_weights,
    tiled_prediction,
)
from tests.released.sd.synthetic import tiny_ccsr_v2

torch.set_num_threads(2)


@pytest.mark.parametrize("size, tile, stride, starts", [
    (64, 64, 32, [0]),
    (96, 64, 32, [0, 32]),
    (100, 64, 32, [0, 32, 36]),     # 64 would run past 100: one more window ending at the border
    (128, 64, 48, [0, 48, 64]),
])
def test_windows_follow_the_official_sliding_windows(size: int, tile: int, stride: int, starts: list[int]) -> None:
    windows = sliding_windows(size, 64, tile, stride)
    assert [w[0] for w in windows[:: len(windows) // len(starts)]] == starts  # rows outer
    assert {(w[2], w[3]) for w in windows} == {(0, 64)} and all(w[1] - w[0] == tile for w in windows)


def test_a_latent_smaller_than_the_tile_is_refused() -> None:
    with pytest.raises(UsageError, match="at least 64"):
        sliding_windows(40, 80, 64, 32)


def test_weights_are_the_official_gaussians_with_the_height_midpoint_at_t_over_2() -> None:
    w = tile_weights(8).numpy()
    gauss = [[math.exp(-((y - 4) ** 2) / 64 / 0.02) * math.exp(-((x - 3.5) ** 2) / 64 / 0.02) for x in range(8)] for y in range(8)]
    assert torch.allclose(torch.from_numpy(w), torch.tensor(gauss, dtype=torch.float64), rtol=1e-12, atol=0)
    assert w[0, 0] == pytest.approx(w[0, 7]) and w[0, 0] != pytest.approx(w[7, 0])  # centred in width only


def test_a_pointwise_predictor_gives_the_untiled_result_also_with_one_window() -> None:
    x = torch.randn(2, 4, 100, 72, generator=torch.Generator().manual_seed(0))
    c = torch.randn(2, 4, 100, 72, generator=torch.Generator().manual_seed(1))
    seen = []

    def predict(x_: torch.Tensor, window: tuple[int, int, int, int]) -> torch.Tensor:
        seen.append(window)
        top, bottom, left, right = window
        return torch.tanh(x_) * c[..., top:bottom, left:right]

    torch.testing.assert_close(tiled_prediction(predict, x, 64, 32), torch.tanh(x) * c, rtol=1e-6, atol=1e-6)
    assert seen == [(r, r + 64, col, col + 64) for r in (0, 32, 36) for col in (0, 8)]  # rows outer
    whole = torch.randn(1, 4, 64, 64)
    torch.testing.assert_close(tiled_prediction(lambda x_, w: x_ * 3, whole, 64, 32), whole * 3, rtol=1e-6, atol=0)


def test_a_context_dependent_predictor_is_the_weighted_blend() -> None:
    x = torch.zeros(1, 1, 8, 12)
    calls = iter([1.0, 5.0])  # the two windows at columns 0 and 4 predict constants
    out = tiled_prediction(lambda x_, w: torch.full_like(x_, next(calls)), x, 8, 4)
    w = tile_weights(8)
    left, right = torch.zeros(8, 12, dtype=torch.float64), torch.zeros(8, 12, dtype=torch.float64)
    left[:, :8], right[:, 4:] = w, w
    torch.testing.assert_close(out[0, 0].double(), (1 * left + 5 * right) / (left + right), rtol=1e-6, atol=1e-6)


def test_the_pipeline_tiles_every_evaluation_counts_one_nfe_each_and_takes_the_whole_image_on_auto() -> None:
    from srkit.infer.run import UpscaleRun

    model = families.CCSR_V2.convert(tiny_ccsr_v2())
    config = json.loads(json.dumps(model.config))
    config["procedure"].update(process_size=0, tile_diffusion=32, tile_stride=16)  # VAE factor 2 here: 16-px latent tiles
    pipe = families.CCSR_V2.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    calls = []
    forward = pipe.nets.forward
    pipe.nets.forward = lambda x, t, c, ctx: calls.append(tuple(x.shape)) or forward(x, t, c, ctx)
    lr = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(0))  # x4 48x40 -> latent 24x20
    sr, nfe = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(1))
    assert sr.shape == (1, 3, 48, 40) and nfe == 2
    assert calls == [(1, 4, 16, 16)] * 4 + [(2, 4, 16, 16)] * 4  # t = 999, then the CFG step; rows 0, 8 x columns 0, 4
    assert pipe.tiles_internally and UpscaleRun.build(pipe, tile="auto").tile_size(2048, 2048) is None
    with pytest.raises(UsageError, match="tile_diffusion"):
        families.CCSR_V2.load(model.tensors, {**config, "procedure": {**config["procedure"], "tile_stride": 64}},
                              device=torch.device("cpu"), precision="fp32")


class CountingNoise:
    """A noise source that counts its draws."""

    def __init__(self, seed: int) -> None:
        self.g, self.draws = torch.Generator().manual_seed(seed), 0

    def randn_like(self, x: torch.Tensor) -> torch.Tensor:
        self.draws += 1
        return torch.randn(x.shape, generator=self.g)


def test_ccsr_v1_tiled_script_sizes_round_up_to_the_next_multiple_of_64() -> None:
    from srkit.released.sd import sizes

    assert sizes.v1_control_size(10, 13, 4, 64, tiled=True) == (128, 128)  # 40x52 -> 64x84 -> up to 128x128
    assert sizes.v1_control_size(32, 48, 4, 64, tiled=True) == (192, 256)  # 128x192, already multiples: one more 64
    assert sizes.v1_control_size(32, 48, 4, 64) == (128, 192)  # the non-tiled script floors


def test_ccsr_v1_tiled_encodes_each_windows_pixels_and_skips_the_unused_draw() -> None:
    from tests.released.sd.synthetic import tiny_controlldm

    model = families.CCSR_V1.convert(tiny_controlldm(dossr=False))
    config = json.loads(json.dumps(model.config))
    config["procedure"].update(t_min=0.6, tile_diffusion=64, tile_stride=32)  # VAE factor 2: 32-px latent windows every 16
    pipe = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    assert pipe.tiles_internally and pipe.start_shape((1, 3, 10, 13)) == (1, 4, 64, 64)  # the tiled script's 128x128
    encoded = []
    encode = pipe.nets.condition_latent
    pipe.nets.condition_latent = lambda image: encoded.append(tuple(image.shape[-2:])) or encode(image)
    control = torch.rand(1, 3, 96, 64, generator=torch.Generator().manual_seed(0))
    noise = CountingNoise(1)
    pipe.sample_image(control, noise)
    assert encoded == [(64, 64)] * 2  # each window's own pixels, once: rows 0 and 16 (latent 48x32, windows 32)
    assert noise.draws == 1 + 1 + 4  # x_T, the re-noise, one per DDPM step (tau 29 -> 26); no unused draw
    config["procedure"]["tile_diffusion"] = 0
    untiled = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    noise = CountingNoise(1)
    untiled.sample_image(control, noise)
    assert noise.draws == 1 + 1 + 1 + 4  # the official non-tiled sampler's unused draw


def test_ccsr_v1_tiled_equals_untiled_when_one_window_covers_the_latent() -> None:
    """One window: the same calls and weights cancel, so only the draw order differs; with it replayed, equal outputs."""
    from tests.released.sd.synthetic import tiny_controlldm

    model = families.CCSR_V1.convert(tiny_controlldm(dossr=False))
    config = json.loads(json.dumps(model.config))
    config["procedure"].update(t_min=0.6, tile_diffusion=64, tile_stride=32)
    tiled = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    config["procedure"]["tile_diffusion"] = 0
    untiled = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    control = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    draws = [torch.randn(1, 4, 32, 32, generator=torch.Generator().manual_seed(i)) for i in range(6)]

    class Replay:
        def __init__(self, order: list[int]) -> None:
            self.order = iter(order)

        def randn_like(self, x: torch.Tensor) -> torch.Tensor:
            return draws[next(self.order)]

    a = tiled.sample_image(control, Replay([0, 1, 2, 3, 4, 5]))
    b = untiled.sample_image(control, Replay([0, 5, 1, 2, 3, 4, 5]))  # its unused draw in second place
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
