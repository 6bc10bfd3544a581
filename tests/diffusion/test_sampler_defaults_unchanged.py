"""Settings whose behaviour did not change with the trailing/2M defaults give the outputs recorded before them
(srkit commit dfd315c): DDIM on the `uniform` grid (eta 0 and > 0), DPM-Solver++ order 1, DDPM."""

from __future__ import annotations

import pytest
import torch

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.samplers import get_sampler

from .helpers import AffineNet, vp

RECORDED = [  # (sampler, options, output sum, output element 5), float64
    ("ddim", {"steps": 7, "eta": 0.0, "spacing": "uniform"}, -132.86675488470559, 13.685010873703659),
    ("ddim", {"steps": 7, "eta": 0.5, "spacing": "uniform"}, -134.73791295069316, 10.019603507623776),
    ("dpm_solver", {"steps": 7, "order": 1}, -173.7459911284929, 17.07743523794545),
    ("dpm_solver", {"steps": 7, "order": 1, "spacing": "uniform"}, -132.86675488470559, 13.685010873703659),
    ("ddpm", {"steps": 7}, -88.91780385615672, 2.579127819318781),
]


@pytest.mark.parametrize("name, options, total, element", RECORDED)
def test_unchanged_sampler_settings_reproduce_the_outputs_recorded_before_the_new_defaults(name, options, total, element):
    process = vp()
    gen = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, 4, 4, generator=gen) * 2 - 1
    noise = torch.randn(1, 3, 4, 4, generator=gen)
    out = get_sampler(name).fn(Denoiser(AffineNet(), process, "eps"), process, y, noise=noise,
                               generator=torch.Generator().manual_seed(3), clip_x0=False, **options).x0
    assert out.sum().item() == pytest.approx(total, rel=1e-12)
    assert out.flatten()[5].item() == pytest.approx(element, rel=1e-12)
