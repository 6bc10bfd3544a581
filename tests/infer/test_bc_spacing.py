"""A boundary condition's identity includes the timestep spacing: recorded, read back (old files as their
former default), applied with the BC's own spacing unless the run names one, and noted otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.infer.bc import (
    BoundaryCondition,
    bc_sampler_config,
    bc_sampler_note,
    load_bc,
    save_bc,
)
from srkit.infer.pipeline import super_resolve_image
from srkit.infer.seeding import cpu_generator
from srkit.io.checkpoints import CheckpointMeta, save_checkpoint
from srkit.recipes import SamplerConfig, load_recipe
from srkit.weights.builtin import WEIGHTS_DIR
from tests.infer.test_pipeline import STEPS, local_model, smooth_image  # noqa: F401  (fixture)


def _old_file(path: Path, sampler: str, order: int = 1) -> Path:
    """A BC file as srkit wrote it before the spacing was recorded."""
    meta = {"model": "", "recipe_name": "tiny", "sampler": sampler, "steps": "20", "order": str(order), "shape": "[3, 8, 8]",
            "metric": "psnr", "score": "1.0", "median_score": "0.5"}
    save_checkpoint(path, {"x_T": torch.zeros(3, 8, 8)}, CheckpointMeta(kind="bc", extra=meta))
    return path


def test_a_bc_file_keeps_its_spacing_and_old_files_read_as_the_default_they_were_made_with(tmp_path: Path) -> None:
    bc = BoundaryCondition(torch.zeros(3, 8, 8), "", "tiny", "ddim", 20, spacing="logsnr")
    assert load_bc(save_bc(tmp_path / "new.safetensors", bc)).spacing == "logsnr"
    assert load_bc(_old_file(tmp_path / "ddim.safetensors", "ddim")).spacing == "uniform"
    old_dpm = load_bc(_old_file(tmp_path / "dpm.safetensors", "dpm_solver", order=2))
    assert (old_dpm.spacing, old_dpm.solver_type) == ("logsnr", "heun")


def test_the_shipped_sr3_bc_stays_tied_to_the_uniform_ddim_20_grid_it_was_found_with() -> None:
    bc = load_bc(WEIGHTS_DIR / "sr3.bc.safetensors")
    assert (bc.sampler, bc.steps, bc.spacing) == ("ddim", 20, "uniform")
    run = load_recipe("builtin/sr3").sampler
    assert run.spacing == "default"
    assert bc_sampler_config(bc, run).spacing == "uniform"  # the default run samples it as it was searched
    assert bc_sampler_note(bc, run) is None
    note = bc_sampler_note(bc, SamplerConfig(kind="ddim", steps=20, spacing="trailing"))
    assert note is not None and "uniform spacing" in note and "trailing spacing" in note


def test_a_bc_is_sampled_with_its_own_spacing_unless_the_run_names_one(local_model) -> None:  # noqa: F811
    rgb = smooth_image(8, 8)
    lr = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    bc = BoundaryCondition(torch.randn(3, 32, 32, generator=cpu_generator(9)), "", "tiny", "ddim", STEPS, spacing="uniform")

    def direct(spacing: str) -> np.ndarray:
        sr, _ = local_model.super_resolve(lr, sampler=SamplerConfig(kind="ddim", steps=STEPS, spacing=spacing), noise=bc.x_T[None])
        return sr[0].permute(1, 2, 0).numpy()

    assert not np.array_equal(direct("uniform"), direct("trailing"))
    np.testing.assert_array_equal(super_resolve_image(local_model, rgb, seed=0, bc=bc).rgb, direct("uniform"))
    trailing = SamplerConfig(kind="ddim", steps=STEPS, spacing="trailing")
    np.testing.assert_array_equal(super_resolve_image(local_model, rgb, seed=0, bc=bc, sampler=trailing).rgb, direct("trailing"))
    assert "uniform spacing" in bc_sampler_note(bc, trailing)


def test_a_bc_found_with_the_former_dpm_solver_order2_form_is_noted() -> None:
    old = BoundaryCondition(torch.zeros(3, 8, 8), "", "tiny", "dpm_solver", 20, order=2, spacing="logsnr", solver_type="heun")
    note = bc_sampler_note(old, SamplerConfig(kind="dpm_solver", steps=20, order=2))
    assert note is not None and "heun" in note
    new = BoundaryCondition(torch.zeros(3, 8, 8), "", "tiny", "dpm_solver", 20, order=2, spacing="logsnr", solver_type="midpoint")
    assert bc_sampler_note(new, SamplerConfig(kind="dpm_solver", steps=20, order=2)) is None


@pytest.mark.parametrize("kind, expected", [("ddim", "trailing"), ("dpm_solver", "logsnr")])
def test_a_run_at_the_default_spacing_uses_the_bc_only_when_it_was_found_with_another(kind: str, expected: str) -> None:
    bc = BoundaryCondition(torch.zeros(3, 8, 8), "", "tiny", kind, 20, spacing=expected)
    cfg = SamplerConfig(kind=kind, steps=20)  # type: ignore[arg-type]
    assert bc_sampler_config(bc, cfg) is cfg and bc_sampler_note(bc, cfg) is None


def test_spacing_option_reaches_the_sampler_config_and_is_checked() -> None:
    from srkit.cli.options import sampler_overrides
    from srkit.errors import UsageError

    base = load_recipe("builtin/sr3").sampler
    assert sampler_overrides(base, spacing="trailing").spacing == "trailing"
    assert sampler_overrides(base).spacing == "default"
    with pytest.raises(UsageError, match="--spacing must be default, uniform, logsnr or trailing"):
        sampler_overrides(base, spacing="karras")
