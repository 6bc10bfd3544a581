"""CCSR v1 against the official ControlLDM and ``sample_ccsr`` (case ``ccsr_v1``)."""

from __future__ import annotations

import torch

from srkit.released.sd.samplers import CCSRv1Plan, ancestral_step
from tests.released.sd.conftest import pipeline
from tests.released.sd.fixture_rules import ReplayNoise

torch.set_num_threads(2)


def _setup():
    return pipeline("ccsr-v1")


def test_keys_forward_and_schedule_match() -> None:
    case, model, pipe = _setup()
    assert set(model.ignored) == {k for k in case.group("state.") if "." not in k}
    x, t, ctx, hint = case["fwd.x"], case["fwd.t"], case["fwd.context"], case["fwd.hint"]
    nets = pipe.nets
    down, mid = nets.controlnet(torch.cat([x, hint], 1), t, encoder_hidden_states=ctx, controlnet_cond=hint, return_dict=False)
    for i, residual in enumerate([*down, mid]):
        case.check(f"fwd.control.{i:02d}", residual)
    eps = nets.unet(x, t, encoder_hidden_states=ctx, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    case.check("fwd.eps", eps)
    s = CCSRv1Plan.official().schedule
    case.check("sched.timesteps", torch.from_numpy(s.timesteps))
    for name in ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
                 "posterior_variance", "posterior_mean_coef1", "posterior_mean_coef2"):
        case.check(f"sched.{name}", torch.from_numpy(getattr(s, name)))


def test_tau_jump_and_steps_teacher_forced() -> None:
    case, _, pipe = _setup()
    plan = CCSRv1Plan.official()
    s, c, ctx = plan.schedule, case["int.c_latent"], case["in.context"]
    case.check("int.c_latent", pipe.nets.condition_latent(case["int.control"]))
    case.check("tau.q_sample_index", torch.tensor([plan.tau_index]))
    case.check("tau.eps", pipe.nets.eps(case["noise.000"], 999, c, ctx), atol=1e-6, rtol=1e-4)
    for k in range(15):
        prev = case["tau.x"] if k == 0 else case[f"step.{k - 1:02d}.x_prev"]
        index = plan.tau_index - k
        case.check(f"step.{k:02d}.index", torch.tensor([index]))
        case.check(f"step.{k:02d}.t", torch.tensor([int(s.timesteps[index])]))
        if k in (0, 7, 14):  # the network at three of the steps (the free-running test evaluates every one)
            case.check(f"step.{k:02d}.eps", pipe.nets.eps(prev, int(s.timesteps[index]), c, ctx), atol=1e-6, rtol=1e-4)
        x0 = float(s.sqrt_recip_alphas_cumprod[index]) * prev - float(s.sqrt_recipm1_alphas_cumprod[index]) * case[f"step.{k:02d}.eps"]
        case.check(f"step.{k:02d}.pred_x0", x0, atol=1e-6, rtol=1e-4)
        step = ancestral_step(s, index, prev, x0, case[f"noise.{k + 3:03d}"])
        case.check(f"step.{k:02d}.x_prev", step, atol=1e-6, rtol=1e-4)


def test_free_running_process_matches_with_the_recorded_noise() -> None:
    case, _, pipe = _setup()
    source = ReplayNoise(case)
    records = []
    image = pipe.sample_image(case["int.control"], source, callback=records.append)
    assert source.exhausted and len(records) == 16
    case.check("tau.pred_x0", records[0]["x0_hat"])
    case.check("tau.x", records[0]["x"])
    for k, record in enumerate(records[1:]):
        case.check(f"step.{k:02d}.pred_x0", record["x0_hat"])
        case.check(f"step.{k:02d}.x_prev", record["x"])
    case.check("out.latent", records[-1]["x0_hat"])
    case.check("out.decoded", pipe.nets.decode(records[-1]["x0_hat"]) * 2 - 1)
    case.check("out.image", image)
    case.check("out.image_u8", (image.clamp(0, 1) * 255).to(torch.uint8)[0].permute(1, 2, 0).float())
