"""CCSR v2 against the official ControlNet (``condition_conv_in``) and pipeline (case ``ccsr_v2``, runs ``s1`` and ``s6``)."""

from __future__ import annotations

import pytest
import torch

from srkit.degrade.ops import to_uint8
from srkit.released.sd import families, sizes
from srkit.released.sd.samplers import ccsr_v2_scheduler, ddpm_step
from tests.released.sd.conftest import converted, load, pipeline
from tests.released.sd.fixture_rules import ReplayNoise

torch.set_num_threads(2)
RUNS = {
    "s1": {"steps": 1, "t_max": 0.6666, "t_min": 0.0, "guidance": 1.0},
    "s6": {"steps": 6, "t_max": 0.6667, "t_min": 0.5, "guidance": 4.5},
}


def _u8(image: torch.Tensor) -> torch.Tensor:
    return image[0].permute(1, 2, 0).float()


def test_controlnet_and_unet_forward_match() -> None:
    case, model, pipe = pipeline("ccsr-v2")
    assert model.ignored == ()
    nets = pipe.nets
    x, t, ctx, cond = case["fwd.x"], case["fwd.t"], case["fwd.encoder_hidden_states"], case["fwd.vae_cond"]
    down, mid = nets.controlnet(x, t, encoder_hidden_states=ctx, controlnet_cond=cond, return_dict=False)
    for i, residual in enumerate(down):
        case.check(f"fwd.down.{i:02d}", residual)
    case.check("fwd.mid", mid)
    eps = nets.unet(x, t, encoder_hidden_states=ctx, down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    case.check("fwd.eps", eps)


def test_scheduler_matches() -> None:
    case, _, _ = pipeline("ccsr-v2")
    scheduler = ccsr_v2_scheduler()
    case.check("sched.alphas_cumprod", scheduler.alphas_cumprod)
    case.check("sched.betas", scheduler.betas)
    scheduler.set_timesteps(6)
    assert scheduler.timesteps.tolist() == [831, 665, 499, 333, 167, 1]


def test_ddpm_step_teacher_forced() -> None:
    case, _, _ = pipeline("ccsr-v2")
    scheduler = ccsr_v2_scheduler()
    scheduler.set_timesteps(6)
    noise = case["s6.noise.005"]
    prev = ddpm_step(scheduler, case["s6.step.0.model_output"], int(case["s6.step.0.t"]), case["s6.step.0.sample"], lambda like: noise)
    case.check("s6.step.0.prev_sample", prev, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_free_running_pipeline_matches_with_the_recorded_noise(run: str) -> None:
    case, model = converted("ccsr-v2")
    pipe = load(families.CCSR_V2, model, **RUNS[run])
    control = (case["in.image_u8"] / 255.0).permute(2, 0, 1)[None]
    mean, logvar = pipe.nets.posterior(torch.cat([control] * case[f"{run}.int.posterior_mean"].shape[0]))
    case.check(f"{run}.int.posterior_mean", mean)
    case.check(f"{run}.int.posterior_logvar", logvar)
    source = ReplayNoise(case, prefix=f"{run}.")
    records = []
    decoded = pipe.sample_latent_image(control, source, callback=records.append)
    assert source.exhausted and len(records) == RUNS[run]["steps"] // 6 + 1
    for i, record in enumerate(records):
        case.check(f"{run}.x0.{i}.out", record["x0_hat"])
        case.check(f"{run}.x0.{i}.t", torch.tensor([record["t"]]))
    case.check(f"{run}.add_noise.1.out", records[0]["x"])
    case.check(f"{run}.out.latent", records[-1]["x0_hat"])
    case.check(f"{run}.out.decoded", pipe.nets.decode(records[-1]["x0_hat"]) * 2 - 1)
    case.check(f"{run}.out.image_u8", _u8(to_uint8(decoded)))
    # srkit's own step 4 of the script's sizes: round, AdaIN on 8 bits, truncate (same size, so no resize)
    fixed = sizes.v2_output_image(decoded, control, *control.shape[-2:])
    case.check(f"{run}.out.adain_u8", _u8(fixed * 255))
