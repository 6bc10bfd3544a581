"""Whole-image super-resolution: tiled == untiled in tile interiors, no seams, BCs applied per tile."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from srkit.infer.bc import BoundaryCondition
from srkit.infer.pipeline import Tiling, plan_for, super_resolve_image
from srkit.infer.seeding import cpu_generator
from srkit.model import model_from_modules
from srkit.recipes import SamplerConfig
from srkit.released.base import OfficialChop
from tests.infer.tiny_model import tiny_recipe

STEPS = 3


class LocalNet(nn.Module):
    """A 3x3 conv then a 1x1 conv on cat(x, y): each output pixel sees a 3x3 neighbourhood."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Conv2d(6, 16, 3, padding=1), nn.SiLU(), nn.Conv2d(16, 3, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.body(torch.cat([x, y], dim=1))


class TileMeanNet(nn.Module):
    """x0 prediction ``y + 2 * mean(y)``: depends on the whole tile, so hard-pasted tiles would show seams."""

    def forward(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return y + 2.0 * y.mean(dim=(1, 2, 3), keepdim=True)


@pytest.fixture(scope="module")
def local_model():
    return model_from_modules(tiny_recipe(), LocalNet().eval())


def smooth_image(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    return np.stack([0.5 + 0.3 * np.sin(4 * xx + yy), 0.5 + 0.3 * np.cos(3 * yy + xx), 0.2 + 0.6 * xx], -1).astype(np.float32)


def interior_mask(plan, scale: int, margin: int) -> np.ndarray:
    """Output pixels covered by exactly one tile and >= ``margin`` pixels from that tile's inner edges."""
    h, w = plan.lr_height * scale, plan.lr_width * scale
    cover = np.zeros((h, w), int)
    inner = np.zeros((h, w), bool)
    for t in plan.tiles():
        top, left, bottom, right = t.top * scale, t.left * scale, (t.top + t.height) * scale, (t.left + t.width) * scale
        cover[top:bottom, left:right] += 1
        r0 = top if top == 0 else top + margin
        c0 = left if left == 0 else left + margin
        r1 = bottom if bottom == h else bottom - margin
        c1 = right if right == w else right - margin
        inner[r0:r1, c0:c1] = True
    return (cover == 1) & inner


def test_tiled_equals_untiled_in_tile_interiors(local_model) -> None:
    rgb = smooth_image(24, 40)
    tiling = Tiling(tile=64, overlap=16, batch=3)
    whole = super_resolve_image(local_model, rgb, seed=5)
    tiled = super_resolve_image(local_model, rgb, seed=5, tiling=tiling)
    assert whole.tiles == 1 and tiled.tiles == 6
    # influence radius: bicubic condition (2 LR px = 8) + one 3x3 conv per DDIM step
    mask = interior_mask(plan_for(local_model, 24, 40, tiling, None), 4, margin=8 + STEPS + 1)
    assert mask.sum() > 0.2 * mask.size
    np.testing.assert_allclose(tiled.rgb[mask], whole.rgb[mask], atol=1e-5)
    assert tiled.nfe == whole.nfe == STEPS and tiled.network_calls == 2 * STEPS  # 6 tiles in batches of 3


def test_a_stochastic_sampler_gives_one_result_whatever_the_tiling_and_batching(local_model) -> None:
    """Per-step noise is keyed by position: away from tile edges, any tiling and batching sample alike."""
    rgb = smooth_image(24, 40)
    ddpm = SamplerConfig(kind="ddpm", steps=STEPS)
    a = super_resolve_image(local_model, rgb, seed=5, sampler=ddpm, tiling=Tiling(tile=64, overlap=16, batch=3))
    b = super_resolve_image(local_model, rgb, seed=5, sampler=ddpm, tiling=Tiling(tile=64, overlap=16, batch=1))
    c = super_resolve_image(local_model, rgb, seed=5, sampler=ddpm, tiling=Tiling(tile=96, overlap=32, batch=2))
    np.testing.assert_array_equal(a.rgb, b.rgb)
    margin = 8 + STEPS + 1
    mask = interior_mask(plan_for(local_model, 24, 40, Tiling(tile=64, overlap=16), None), 4, margin)
    mask &= interior_mask(plan_for(local_model, 24, 40, Tiling(tile=96, overlap=32), None), 4, margin)
    assert mask.sum() > 0.05 * mask.size
    np.testing.assert_allclose(a.rgb[mask], c.rgb[mask], atol=1e-5)
    other = super_resolve_image(local_model, rgb, seed=6, sampler=ddpm, tiling=Tiling(tile=64, overlap=16, batch=3))
    assert np.abs(other.rgb - a.rgb).max() > 1e-3  # the noise does matter


def test_tiles_with_context_dependent_outputs_blend_without_a_seam() -> None:
    recipe = tiny_recipe(objective={"prediction": "x0"})
    model = model_from_modules(recipe, TileMeanNet())
    rgb = np.repeat(np.linspace(0.1, 0.5, 48, dtype=np.float32)[None, :, None], 8, axis=0).repeat(3, axis=2)
    tiled = super_resolve_image(model, rgb, seed=0, tiling=Tiling(tile=96, overlap=32)).rgb
    plan = plan_for(model, 8, 48, Tiling(tile=96, overlap=32), None)
    assert len(plan.cols) == 3
    means = [float(rgb[:, c : c + plan.tile_width].mean()) for c in plan.cols]
    hard_jump = 2.0 * 2.0 * (means[1] - means[0]) / 2  # offset difference of neighbours, in [0, 1] units
    steps = np.abs(np.diff(tiled[4, :, 0]))
    smooth = np.abs(np.diff(np.repeat(np.linspace(0.1, 0.5, 48), 4)))  # the input ramp's own steps
    assert hard_jump > 0.1  # a pasted seam would be this large
    assert steps.max() < smooth.max() + 0.2 * hard_jump


@pytest.mark.parametrize("mode", ["mosaic", "tile"])
def test_a_bc_of_the_image_size_is_the_start_noise_of_the_single_tile(local_model, mode: str) -> None:
    rgb = smooth_image(8, 8)
    bc = BoundaryCondition(torch.randn(3, 32, 32, generator=cpu_generator(9)), "", "tiny", "ddim", STEPS, mode=mode)
    out = super_resolve_image(local_model, rgb, seed=0, bc=bc)
    lr = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    expected, _ = local_model.super_resolve(lr, noise=bc.x_T[None])
    assert out.tiles == 1
    np.testing.assert_array_equal(out.rgb, expected[0].permute(1, 2, 0).numpy())


def test_a_bc_in_mosaic_mode_repeats_over_the_whole_image_sampled_once(local_model) -> None:
    rgb = smooth_image(12, 30)
    bc = BoundaryCondition(torch.randn(3, 32, 32, generator=cpu_generator(9)), "", "tiny", "ddim", STEPS)
    out = super_resolve_image(local_model, rgb, seed=0, bc=bc)
    periodic = bc.x_T.repeat(1, 2, 4)[:, :48, :120]
    expected, _ = local_model.super_resolve(torch.from_numpy(rgb).permute(2, 0, 1)[None], noise=periodic[None])
    assert out.tiles == 1
    np.testing.assert_array_equal(out.rgb, expected[0].permute(1, 2, 0).numpy())


def test_a_bc_in_tile_mode_is_applied_per_tile_of_its_size_on_larger_images(local_model) -> None:
    rgb = smooth_image(8, 30)
    bc = BoundaryCondition(torch.randn(3, 32, 32, generator=cpu_generator(9)), "", "tiny", "ddim", STEPS, mode="tile")
    tiling = Tiling(tile=None, overlap=8)
    out = super_resolve_image(local_model, rgb, seed=0, bc=bc, tiling=tiling)
    plan = plan_for(local_model, 8, 30, tiling, bc)
    assert out.tile_size == (32, 32) and out.tiles == len(plan.cols) >= 4
    lr = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    mask = interior_mask(plan, 4, margin=0)
    for tile in plan.tiles():
        alone, _ = local_model.super_resolve(lr[..., :, tile.left : tile.left + 8], noise=bc.x_T[None])
        cols = slice(tile.left * 4, tile.left * 4 + 32)
        np.testing.assert_allclose(out.rgb[:, cols][mask[:, cols]], alone[0].permute(1, 2, 0).numpy()[mask[:, cols]], atol=1e-6)


def test_an_image_smaller_than_the_bc_is_padded_to_it_and_cropped_back_in_tile_mode(local_model) -> None:
    rgb = smooth_image(5, 6)
    bc = BoundaryCondition(torch.randn(3, 32, 32, generator=cpu_generator(9)), "", "tiny", "ddim", STEPS, mode="tile")
    out = super_resolve_image(local_model, rgb, seed=0, bc=bc)
    assert out.rgb.shape == (20, 24, 3) and out.tiles == 1


def test_an_unknown_bc_mode_is_a_one_line_usage_error() -> None:
    from srkit.errors import UsageError

    with pytest.raises(UsageError, match="bc mode must be one of mosaic, tile"):
        BoundaryCondition(torch.zeros(3, 4, 4), "", "tiny", "ddim", 2, mode="stripes")


def test_bc_sampler_note_only_when_the_run_differs_from_the_search():
    from srkit.infer.bc import bc_sampler_note
    from srkit.recipes import SamplerConfig

    bc = BoundaryCondition(torch.zeros(3, 8, 8), "", "tiny", "ddim", 20)
    assert bc_sampler_note(bc, SamplerConfig(kind="ddim", steps=20)) is None
    assert "ddim with 7 steps" in bc_sampler_note(bc, SamplerConfig(kind="ddim", steps=7))
    assert "dpm-solver with 20 steps (order 2)" in bc_sampler_note(bc, SamplerConfig(kind="dpm_solver", steps=20, order=2))


class ChoppingModel:
    """A released-model stand-in whose script chops large images: nearest x2 plus one draw per call,
    and a record of the LR tiles it was given."""

    scale, latent_factor, model_id, licence = 2, 1, "chopper", "test"
    official_chop = OfficialChop(8, 6)
    device = torch.device("cpu")

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def start_shape(self, lr_shape):
        return (lr_shape[0], 3, lr_shape[2] * 2, lr_shape[3] * 2)

    def super_resolve(self, lr, *, noise=None, generator=None, callback=None):
        self.calls.append((*lr.shape[-2:], noise is None))
        offset = torch.rand(lr.shape[0], 1, 1, 1, generator=generator) if noise is None else 0.0
        return lr.repeat_interleave(2, -2).repeat_interleave(2, -1) * 0.5 + offset, 1


def test_an_official_chop_runs_tiles_in_order_from_one_generator_and_averages_them_uniformly() -> None:
    from srkit.infer.run import UpscaleRun
    from srkit.infer.seeding import derive_seed

    rgb = np.random.default_rng(0).random((11, 7, 3)).astype(np.float32)  # rows 0, 3 (6 moved back to 11 - 8); one column
    model = ChoppingModel()
    run = UpscaleRun.build(model, tile="auto")
    assert run.describe()["official_chop"] == {"size": 8, "stride": 6}
    result = run.super_resolve(rgb, seed=5, batch=4)
    assert model.calls == [(8, 7, True), (8, 7, True)] and result.tiles == 2  # no start noise given: drawn in order
    g = cpu_generator(derive_seed(5, "steps", 0))
    first, second = float(torch.rand(1, generator=g)), float(torch.rand(1, generator=g))
    offset = np.zeros((22, 14, 1), np.float32)
    offset[:16] += first
    offset[6:] += second
    offset[6:16] /= 2  # both tiles: a plain average
    want = rgb.repeat(2, 0).repeat(2, 1) * 0.5 + offset
    np.testing.assert_allclose(result.rgb, want, rtol=0, atol=1e-6)
    model.calls.clear()
    UpscaleRun.build(model, tile=8, overlap=2).super_resolve(rgb, seed=5)  # a tile size of one's own: srkit's tiling
    assert all(call == (4, 4, False) for call in model.calls)  # position-keyed start noise
