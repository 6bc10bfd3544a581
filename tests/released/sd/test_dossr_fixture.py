"""DoSSR against the official ControlLDM and ``process()`` (case ``dossr_controlldm``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srkit.released.sd.samplers import DoSSRSchedule, dossr_update, dossr_x0
from srkit.released.sd.schedules import dossr_official_etas
from tests.released.sd.conftest import pipeline
from tests.released.sd.fixture_rules import ReplayNoise

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def setup():
    return pipeline("dossr")


def test_every_official_key_is_consumed_or_ignored(setup) -> None:
    case, model, _ = setup
    assert set(model.ignored) == {k for k in case.group("state.") if "." not in k}  # the schedule buffers
    assert model.config["rrdb"]["num_block"] == 2 and model.config["controlnet"]["in_channels"] == 8


def test_controlnet_and_unet_forward_match(setup) -> None:
    case, _, pipe = setup
    nets = pipe.nets
    x, t, ctx, hint = case["fwd.x"], case["fwd.t"], case["fwd.context"], case["fwd.hint"]
    down, mid = nets.controlnet(torch.cat([x, hint], 1), t, encoder_hidden_states=ctx, controlnet_cond=hint, return_dict=False)
    for i, residual in enumerate([*down, mid]):
        case.check(f"fwd.control.{i:02d}", residual)
    eps = nets.unet(x, t, encoder_hidden_states=ctx, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    case.check("fwd.eps", eps)


def test_schedule_matches(setup) -> None:
    case, _, _ = setup
    s = DoSSRSchedule.official(5)
    case.check("sched.timesteps", torch.from_numpy(s.timesteps))
    for name, values in [("etas", s.etas), ("alphas_cumprod", s.alphas_cumprod), ("sigmas", s.sigmas),
                         ("alphas_multi_one_minus_etas", s.g), ("lambdas", s.lambdas)]:
        case.check(f"sched.{name}", torch.from_numpy(values))
    case.check("sched.original_etas_trunc_12", torch.from_numpy(dossr_official_etas()))


def test_preprocessing_and_start_match(setup) -> None:
    case, _, pipe = setup
    P = pipe.preprocess(case["int.rrdb_in"])
    case.check("int.P", P)
    case.check("int.c_latent", pipe.nets.condition_latent(case["int.P"]))
    mean, logvar = pipe.nets.posterior(case["int.P"])
    case.check("int.posterior_mean", mean)
    case.check("int.posterior_logvar", logvar)


def test_each_step_teacher_forced(setup) -> None:
    case, _, pipe = setup
    s = DoSSRSchedule.official(5)
    c, ctx, y = case["int.c_latent"], case["in.context"], case["int.x0_hat"]
    x, history, old_d1 = case["int.x_init"], [], None
    for i in range(5):
        j = 5 - i
        eps = pipe.nets.eps(x, int(s.timesteps[j]), c, ctx)
        case.check(f"step.{i}.eps", eps, atol=1e-6, rtol=1e-4)
        x0 = case[f"step.{i}.pred_x0"]
        case.check(f"step.{i}.pred_x0", dossr_x0(s, j, x, case[f"step.{i}.eps"]), atol=1e-6, rtol=1e-4)
        history = (history + [x0])[-3:]
        x_next, old_d1 = dossr_update(s, j, x, y, history, old_d1, case[f"noise.{i + 2:03d}"])
        case.check(f"step.{i}.x", x_next, atol=1e-6, rtol=1e-4)
        x = case[f"step.{i}.x"]


def test_free_running_process_matches_with_the_recorded_noise(setup) -> None:
    case, _, pipe = setup
    source = ReplayNoise(case)
    steps = []
    image = pipe.sample_image(case["int.rrdb_in"], source, callback=steps.append)
    assert source.exhausted
    for i, record in enumerate(steps):
        case.check(f"step.{i}.t", torch.tensor([record["t"]]))
        case.check(f"step.{i}.pred_x0", record["x0_hat"])
        case.check(f"step.{i}.x", record["x"])
    case.check("out.image", image)
    u8 = (image.clamp(0, 1) * 255).to(torch.uint8)[0].permute(1, 2, 0).float()
    case.check("out.image_u8", u8)


def test_super_resolve_is_the_process_on_lr_in_unit_range(setup) -> None:
    case, _, pipe = setup
    sr, nfe = pipe.super_resolve(case["in.lq_u8"].permute(2, 0, 1)[None] / 255.0, generator=ReplayNoise(case))
    assert nfe == 5 and sr.shape == (1, 3, 64, 128)
    assert np.abs((sr - case["out.image"].clamp(0, 1)).numpy()).max() < 1e-3  # the clamped official image
