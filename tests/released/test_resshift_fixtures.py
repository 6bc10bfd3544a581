"""ResShift converted by srkit reproduces the official code (fixtures recorded from it; tolerances from case.json)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.samplers.ancestral import ancestral_chain
from srkit.diffusion.samplers.common import Run
from srkit.released.resshift.sampling import OfficialSchedule, official_arrays
from srkit.released.resshift.swin import shift_mask
from srkit.released.resshift.vq import quantise, vq_decode, vq_encode
from tests.released.fixtures import load_case

TEACHER_FORCED = {"atol": 1e-6, "rtol": 1e-4}  # case.json notes: one step from the recorded state
DBG_MODULES = ("time_embed", "input_blocks.0", "input_blocks.1", "input_blocks.1.1", "input_blocks.3",
               "input_blocks.10", "middle_block", "output_blocks.2", "output_blocks.9", "output_blocks.11")


class RecordedNoise:
    """Hands out ``<run>.noise.000``, ``.001``, ... in order (the official draw order)."""

    def __init__(self, case, run: str) -> None:
        self.draws = [case[k] for k in sorted(k for k in case.tensors if k.startswith(f"{run}.noise."))]
        self.used = 0

    def randn_like(self, x: torch.Tensor) -> torch.Tensor:
        draw = self.draws[self.used]
        assert draw.shape == x.shape
        self.used += 1
        return draw.clone()


def test_unet_forward_matches_official_at_build_size_and_other_size(resshift_pipelines) -> None:
    case, unet = load_case("resshift_unet"), resshift_pipelines["v3"].unet
    with torch.no_grad():
        for run in ("a", "b"):
            case.check(f"out.{run}", unet(case[f"in.{run}.x"], case[f"in.{run}.t"], case[f"in.{run}.lq"]))


def test_unet_intermediate_activations_match_official(resshift_pipelines) -> None:
    case, unet = load_case("resshift_unet"), resshift_pipelines["v3"].unet
    seen = {}
    modules = dict(unet.named_modules())
    hooks = [modules[name].register_forward_hook(lambda m, i, o, name=name: seen.update({name: o[0]})) for name in DBG_MODULES]
    try:
        with torch.no_grad():
            unet(case["in.a.x"], case["in.a.t"], case["in.a.lq"])
    finally:
        for hook in hooks:
            hook.remove()
    for name in DBG_MODULES:
        case.check(f"dbg.a.{name}", seen[name])


@pytest.mark.parametrize("name", [k for k in load_case("resshift_unet").tensors if k.startswith("aux.shift_mask.")])
def test_shift_mask_is_the_official_one(name: str) -> None:
    size, window, shift = name.split(".")[2:5]
    height, width = map(int, size.split("x"))
    load_case("resshift_unet").check(name, shift_mask(height, width, int(window[1:]), int(shift[1:])))


def test_vq_encode_indices_and_decode_match_official(resshift_pipelines) -> None:
    case, vq = load_case("resshift_vq"), resshift_pipelines["v3"].vq
    with torch.no_grad():
        case.check("out.latent", vq_encode(vq, case["in.image"]))
        quant, indices = quantise(case["out.latent"], vq.quantize.embedding.weight)
        case.check("out.indices", indices)
        case.check("out.quant", quant)
        case.check("out.decoded", vq_decode(vq, case["out.latent"]))
        case.check("out.decoded_noquant", vq_decode(vq, case["out.latent"], quantised=False))


@pytest.mark.parametrize("run, schedule", [("v3", OfficialSchedule(4, 0.2)), ("v12", OfficialSchedule(15, 0.04))])
def test_schedule_arrays_match_official(run: str, schedule: OfficialSchedule) -> None:
    case = load_case("resshift_sample")
    for name, values in official_arrays(schedule.process()).items():
        case.check(f"{run}.sched.{name}", torch.from_numpy(np.asarray(values)))


def test_converted_families_carry_the_official_schedules(resshift_pipelines) -> None:
    assert resshift_pipelines["v3"].schedule == OfficialSchedule(4, 0.2)
    assert resshift_pipelines["v12"].schedule == OfficialSchedule(15, 0.04)


def test_lr_preparation_matches_official(resshift_pipelines) -> None:
    case = load_case("resshift_sample")
    lq_padded, z_y = resshift_pipelines["v3"].prepare(case["in.lq"])
    case.check("int.lq_padded", lq_padded)
    case.check("int.z_y", z_y)


@pytest.mark.parametrize("run", ["v3", "v12"])
def test_each_step_from_the_recorded_state_matches_official(resshift_pipelines, run: str) -> None:
    case, pipe = load_case("resshift_sample"), resshift_pipelines[run]
    process, lq = pipe.process, case["int.lq_padded"]
    z_y = case["int.z_y"]
    case.check(f"{run}.int.x_T", process.prior_sample(z_y, case[f"{run}.noise.000"]))
    denoiser = Denoiser(lambda x_in, _y, t: pipe.unet(x_in, t.long(), lq), process, prediction="x0")
    x = case[f"{run}.int.x_T"]
    for k in range(process.T):
        t = int(case[f"{run}.step.{k:02d}.t"])
        assert t == process.T - 1 - k
        seen: dict = {}
        noise = RecordedNoise(case, run)
        noise.used = k + 1
        run_state = Run(denoiser, 1, noise, lambda info, seen=seen: seen.update(info) or True)
        ancestral_chain(run_state, process, x, z_y, [t] + ([t - 1] if t else []), clip_x0=False)
        case.check(f"{run}.step.{k:02d}.pred_x0", seen["x0_hat"], rule=TEACHER_FORCED)
        case.check(f"{run}.step.{k:02d}.sample", seen["x"], rule=TEACHER_FORCED)
        x = case[f"{run}.step.{k:02d}.sample"]
    with torch.no_grad():
        decoded = vq_decode(pipe.vq, x)
    # The recorded tensor shares memory with the official in-place clamp of the crop, so inside the
    # crop it holds clamped values (outside, the raw decode): compare like with like.
    height, width = case.info["runs"][run]["lq_shape"][-2:]
    decoded[..., : 4 * height, : 4 * width].clamp_(-1.0, 1.0)
    case.check(f"{run}.out.decoded", decoded, rule=TEACHER_FORCED)


@pytest.mark.parametrize("run", ["v3", "v12"])
def test_free_running_chain_with_recorded_noise_matches_official(resshift_pipelines, run: str) -> None:
    case, pipe = load_case("resshift_sample"), resshift_pipelines[run]
    noise = RecordedNoise(case, run)
    steps: list[dict] = []
    sr, nfe = pipe.super_resolve((case["in.lq"] + 1.0) / 2.0, generator=noise, callback=steps.append)
    assert nfe == pipe.process.T == len(steps)
    assert noise.used == len(noise.draws) == case.info["runs"][run]["num_noise_draws"]
    for k, info in enumerate(steps):
        case.check(f"{run}.step.{k:02d}.t", torch.tensor([info["t"]]))
        case.check(f"{run}.step.{k:02d}.pred_x0", info["x0_hat"])
        case.check(f"{run}.step.{k:02d}.sample", info["x"])
    case.check(f"{run}.out.image", sr * 2.0 - 1.0)
