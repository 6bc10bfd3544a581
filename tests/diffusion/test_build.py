import math

import pytest
import torch

from srkit.diffusion import (
    Denoiser,
    DoSSRProcess,
    DreamObjective,
    NutlObjective,
    RegressionObjective,
    ResShiftProcess,
    VPProcess,
    build_objective,
    build_process,
    build_sampler,
)
from srkit.errors import UsageError
from srkit.recipes import ObjectiveConfig, ProcessConfig, SamplerConfig

from .helpers import OracleNet


def test_build_process_reads_each_kind_from_the_recipe_config():
    sr3 = build_process(ProcessConfig(kind="vp", T=2000, beta_start=1e-6, beta_end=1e-2))
    assert isinstance(sr3, VPProcess) and sr3.T == 2000 and sr3.betas[0] == 1e-6
    shift = build_process(ProcessConfig(kind="resshift", T=15, kappa=2.0, power=0.3))
    assert isinstance(shift, ResShiftProcess) and shift.T == 15 and shift.sqrt_etas[0] == pytest.approx(0.02)
    dos = build_process(ProcessConfig(kind="dossr", T=1000))
    assert isinstance(dos, DoSSRProcess) and dos.t1 == 500
    assert build_process(ProcessConfig(kind="dossr", T=1000, t1=300)).start_index == 298


def test_build_objective_picks_regression_dream_or_nutl():
    vp = build_process(ProcessConfig())
    assert isinstance(build_objective(ObjectiveConfig(), vp), RegressionObjective)
    assert isinstance(build_objective(ObjectiveConfig(dream_p=math.inf), vp), RegressionObjective)
    dream = build_objective(ObjectiveConfig(dream_p=1.0, prediction="x0", loss="l1"), vp)
    assert dream == DreamObjective(1.0, "x0", "l1")
    nutl = build_objective(ObjectiveConfig(nutl=True, nutl_t_max=0.5), vp)
    assert isinstance(nutl, NutlObjective) and nutl.t_max == 0.5


def test_build_objective_refuses_nutl_with_dream_or_off_vp():
    shift = build_process(ProcessConfig(kind="resshift", T=15))
    with pytest.raises(UsageError):
        build_objective(ObjectiveConfig(nutl=True), shift)
    with pytest.raises(UsageError):
        build_objective(ObjectiveConfig(nutl=True, dream_p=1.0), build_process(ProcessConfig()))


def test_bound_sampler_runs_with_recipe_settings_and_reports_determinism():
    process = build_process(ProcessConfig(T=100))
    x0 = torch.rand(1, 3, 4, 4) * 2 - 1
    for cfg, nfe, deterministic in [
        (SamplerConfig(kind="ddpm", sections="5,3,2"), 10, False),
        (SamplerConfig(kind="ddim", steps=7), 7, True),
        (SamplerConfig(kind="ddim", steps=7, eta=0.5), 7, False),
        (SamplerConfig(kind="dpm_solver", steps=6, order=3), 6, True),
        (SamplerConfig(kind="ccsr", steps=4), 5, False),
    ]:
        sampler = build_sampler(cfg)
        assert sampler.deterministic is deterministic
        result = sampler(Denoiser(OracleNet(process, x0, "eps"), process, "eps"), process, torch.zeros_like(x0))
        assert result.nfe == nfe
        torch.testing.assert_close(result.x0, x0)


@pytest.mark.parametrize("cfg", [
    SamplerConfig(kind="ddim", order=2),
    SamplerConfig(kind="ddpm", eta=0.5),
    SamplerConfig(kind="dpm_solver", sections="5,5"),
])
def test_build_sampler_refuses_settings_the_sampler_does_not_use(cfg):
    with pytest.raises(UsageError):
        build_sampler(cfg)
