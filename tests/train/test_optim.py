"""Warm-up rule, optimiser choice and the updater's clipping."""

from __future__ import annotations

import pytest
import torch

from srkit.recipes import TrainConfig
from srkit.train.optim import Updater, build_optimizer, warmup_factor


def test_warmup_rises_linearly_then_stays_at_one() -> None:
    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0


def test_optimizer_follows_the_recipe() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    adam = build_optimizer(params, TrainConfig(optimizer="adam", lr=3e-4, betas=(0.8, 0.9)))
    assert type(adam) is torch.optim.Adam and adam.param_groups[0]["betas"] == (0.8, 0.9)
    assert type(build_optimizer(params, TrainConfig(), lr=1e-3)) is torch.optim.AdamW


def test_updater_clips_the_global_norm_and_applies_the_warmup_learning_rate() -> None:
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    updater = Updater({"net": optimizer}, {"net": 0.5}, grad_clip=1.0, warmup_steps=2)
    updater.backward((weight * torch.tensor([30.0, 40.0])).sum())  # gradient (30, 40), norm 50
    norms = updater.step(0)
    assert float(norms["net"]) == pytest.approx(50.0)
    # clipped to norm 1 -> (0.6, 0.8); lr = 0.5 * warm-up 1/2
    torch.testing.assert_close(weight.detach(), -0.25 * torch.tensor([0.6, 0.8]))
    assert weight.grad is None
