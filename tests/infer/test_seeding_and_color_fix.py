"""Position-keyed start noise, derived seeds, and the two colour fixes (closed forms)."""

from __future__ import annotations

import pytest
import torch

from srkit.errors import UsageError
from srkit.model.color_fix import (
    adain,
    atrous_blur,
    color_fix_by_name,
    low_frequency,
    wavelet,
)
from srkit.infer.seeding import NoiseField, TiledStepNoise, derive_seed


def test_noise_field_crops_are_slices_of_the_full_field() -> None:
    field = NoiseField(seed=7, channels=3, height=150, width=97, block=32)
    full = field.full()
    for top, left, h, w in [(0, 0, 150, 97), (31, 33, 40, 50), (64, 0, 1, 97), (149, 96, 1, 1)]:
        assert torch.equal(field.crop(top, left, h, w), full[:, top : top + h, left : left + w])


def test_noise_field_is_standard_normal_and_seed_dependent() -> None:
    a = NoiseField(1, 4, 128, 128).full()
    assert abs(a.mean().item()) < 0.02 and abs(a.std().item() - 1) < 0.02
    assert not torch.equal(a, NoiseField(2, 4, 128, 128).full())
    assert torch.equal(a, NoiseField(1, 4, 128, 128).full())


def test_tiled_step_noise_agrees_where_tiles_overlap_and_changes_every_draw() -> None:
    like = torch.empty(1, 2, 40, 36)
    left = TiledStepNoise(3, 2, 40, 60, [(0, 0, 40, 36)]).randn_like(like)[0]
    right = TiledStepNoise(3, 2, 40, 60, [(0, 24, 40, 36)]).randn_like(like)[0]
    assert torch.equal(left[:, :, 24:], right[:, :, :12])  # the shared columns 24..35
    both = TiledStepNoise(3, 2, 40, 60, [(0, 24, 40, 36), (0, 0, 40, 36)]).randn_like(torch.empty(2, 2, 40, 36))
    assert torch.equal(both[0], right) and torch.equal(both[1], left)  # batching does not change a tile's noise
    source = TiledStepNoise(3, 2, 40, 60, [(0, 0, 40, 36)])
    draws = [source.randn_like(like) for _ in range(2)]
    assert torch.equal(draws[0][0], left) and not torch.equal(draws[0], draws[1])
    with pytest.raises(ValueError, match="asked for"):
        source.randn_like(torch.empty(1, 2, 40, 30))  # another tile size than the boxes'


def test_derived_seeds_are_stable_and_key_dependent() -> None:
    assert derive_seed(0, "a.png") == derive_seed(0, "a.png")
    assert len({derive_seed(0, "a.png"), derive_seed(1, "a.png"), derive_seed(0, "b.png")}) == 3
    assert 0 <= derive_seed(123, "x", 4) < 2**63


def test_adain_matches_the_reference_channel_statistics() -> None:
    gen = torch.Generator().manual_seed(0)
    sr = 0.5 + 0.1 * torch.randn(2, 3, 32, 32, generator=gen)
    ref = 0.4 + 0.05 * torch.randn(2, 3, 32, 32, generator=gen)
    out = adain(sr, ref)
    torch.testing.assert_close(out.mean(dim=(-2, -1)), ref.mean(dim=(-2, -1)), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std(dim=(-2, -1), correction=0), ref.std(dim=(-2, -1), correction=0), atol=1e-4, rtol=0)
    # the normalised content is that of sr: out is an affine map of sr per channel
    corr = torch.corrcoef(torch.stack([out[0, 0].flatten(), sr[0, 0].flatten()]))[0, 1]
    assert corr > 0.9999


def test_atrous_blur_keeps_constants_and_linear_ramps_in_the_interior() -> None:
    ramp = torch.arange(40.0).repeat(1, 1, 40, 1) / 40
    out = atrous_blur(ramp, dilation=4)
    torch.testing.assert_close(out[..., 4:-4], ramp[..., 4:-4])
    const = torch.full((1, 3, 20, 20), 0.3)
    torch.testing.assert_close(low_frequency(const), const)


def test_wavelet_fix_takes_low_frequencies_from_the_reference_and_detail_from_the_output() -> None:
    detail = 0.1 * torch.sign(torch.sin(torch.arange(64.0)))[None, None, None, :].expand(1, 3, 64, 64)
    sr = 0.3 + detail  # wrong colour, with fine detail
    ref = torch.full((1, 3, 64, 64), 0.6)  # right colour, no detail
    out = wavelet(sr, ref)
    expected = sr - low_frequency(sr) + 0.6
    torch.testing.assert_close(out, expected.clamp(0, 1))
    assert abs(out.mean().item() - 0.6) < 0.01


def test_unknown_color_fix_is_a_usage_error() -> None:
    assert color_fix_by_name("none") is None
    with pytest.raises(UsageError, match="wavelet"):
        color_fix_by_name("histogram")


def test_tiled_step_noise_gives_a_guidance_batch_one_new_draw_per_repeat_of_the_tiles() -> None:
    boxes = [(0, 0, 4, 4), (0, 2, 4, 4)]
    plain = TiledStepNoise(5, 2, 4, 6, boxes)
    first, second = plain.randn_like(torch.empty(2, 2, 4, 4)), plain.randn_like(torch.empty(2, 2, 4, 4))
    doubled = TiledStepNoise(5, 2, 4, 6, boxes).randn_like(torch.empty(4, 2, 4, 4))
    assert torch.equal(doubled, torch.cat([first, second]))  # draws 0 and 1, in order
    assert not torch.equal(first, second)
    with pytest.raises(ValueError, match="asked for"):
        TiledStepNoise(5, 2, 4, 6, boxes).randn_like(torch.empty(3, 2, 4, 4))
