"""End-to-end training on CPU with the tiny network: every recipe, overfitting, resume, DREAM, init, ranks."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from srkit.errors import UsageError, WeightsError
from srkit.io.checkpoints import load_checkpoint, load_state_into
from srkit.train import train
from srkit.train.distributed import DistContext
from tests.train.conftest import TINY_AUTOENCODER, TINY_UNET, tiny_recipe, write_photo

LATENT_UNET = {**TINY_UNET, "in_channels": 4, "cond_channels": 4, "out_channels": 4}


def logged(run: Path, key: str = "loss") -> list[tuple[int, float]]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r[key]) for r in records if key in r]


def check_loadable_model(path: Path, steps: int) -> None:
    """The checkpoint loads as an SRModel and super-resolves an LR image to the right size in [0, 1]."""
    from srkit.model import load_model

    model = load_model(path)
    assert model.step == steps
    lr = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    sr, nfe = model.super_resolve(lr, generator=torch.Generator().manual_seed(1))
    assert sr.shape == (1, 3, 6 * model.scale, 5 * model.scale) and nfe >= 1
    assert float(sr.min()) >= 0.0 and float(sr.max()) <= 1.0


@pytest.mark.parametrize("name", ["sr3", "sr3-dream", "resshift", "resshift-dream", "dossr", "ccsr", "optimal-bc"])
def test_every_diffusion_recipe_trains_and_writes_a_loadable_checkpoint(name: str, photos: Path, tmp_path: Path) -> None:
    summary = train(tiny_recipe(name), out=tmp_path / "run", data=photos)
    assert summary["step"] == 3 and not summary["interrupted"]
    assert [step for step, _ in logged(tmp_path / "run")] == [1, 2, 3]
    assert all(np.isfinite(loss) for _, loss in logged(tmp_path / "run"))
    _, meta = load_checkpoint(tmp_path / "run" / "final.safetensors")
    assert meta.kind == "srkit-model" and meta.step == 3 and meta.recipe["name"] == name
    check_loadable_model(tmp_path / "run" / "final.safetensors", steps=3)
    assert (tmp_path / "run" / "checkpoints" / "step_0000003.state.safetensors").is_file()
    assert (tmp_path / "run" / "loss.png").is_file() and (tmp_path / "run" / "recipe.yaml").is_file()


@pytest.fixture(scope="module")
def ccsr_stage1(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ccsr") / "stage1"
    train(tiny_recipe("ccsr"), out=out, data=photos)
    return out / "final.safetensors"


def test_ccsr_stage2_freezes_stage1_and_saves_the_decoder(ccsr_stage1: Path, photos: Path, val_photos: Path,
                                                           tmp_path: Path) -> None:
    recipe = tiny_recipe("ccsr", stage2={"steps": 2}, train={"val_every": 2})
    summary = train(recipe, out=tmp_path / "s2", data=photos, val=val_photos, init=ccsr_stage1, stage=2)
    assert summary["step"] == 2 and set(summary["validation"]) == {"val_psnr", "val_ssim"}
    stage1, stage2 = load_file(str(ccsr_stage1)), load_file(str(tmp_path / "s2" / "final.safetensors"))
    nets = [k for k in stage2 if k.startswith("net.")]
    assert nets and all(torch.equal(stage1[k], stage2[k]) for k in nets)
    head = [k for k in stage2 if k.startswith("decoder.")]
    assert head and any(stage2[k].abs().sum() > 0 for k in head if k.endswith("head.4.weight"))
    check_loadable_model(tmp_path / "s2" / "final.safetensors", steps=2)
    assert (tmp_path / "s2" / "samples" / "step_0000002.png").is_file()


def test_stage2_without_init_is_a_one_line_usage_error(photos: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--init"):
        train(tiny_recipe("ccsr"), out=tmp_path / "s2", data=photos, stage=2)


@pytest.fixture(scope="module")
def autoencoder_run(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ae") / "run"
    train(tiny_recipe("autoencoder", train={"steps": 4}), out=out, data=photos)
    return out


def test_autoencoder_recipe_saves_calibrated_autoencoder_weights(autoencoder_run: Path) -> None:
    from srkit.nets.build import build_network
    from srkit.recipes import recipe_from_mapping

    tensors, meta = load_checkpoint(autoencoder_run / "final.safetensors")
    assert meta.kind == "srkit-autoencoder" and all(k.startswith("autoencoder.") for k in tensors)
    assert float(tensors["autoencoder.scale_factor"]) != 1.0  # calibrated, not the initial value
    assert [s for s, _ in logged(autoencoder_run, "d_loss")] == [3, 4]  # discriminator from half-way on
    network = recipe_from_mapping(meta.recipe).network
    load_state_into(build_network(network), {k.removeprefix("autoencoder."): v for k, v in tensors.items()})


def test_resumed_autoencoder_keeps_the_first_runs_discriminator_start(photos: Path, tmp_path: Path) -> None:
    train(tiny_recipe("autoencoder", train={"steps": 2}), out=tmp_path / "ae", data=photos)  # starts after step 1
    train(tiny_recipe("autoencoder", train={"steps": 4}), out=tmp_path / "ae", data=photos, resume=True)
    assert [s for s, _ in logged(tmp_path / "ae", "d_loss")] == [2, 3, 4]  # not from step 3 (half of 4)


def test_latent_mode_trains_through_the_frozen_autoencoder(autoencoder_run: Path, photos: Path, tmp_path: Path) -> None:
    recipe = tiny_recipe("resshift", mode="latent", network=LATENT_UNET, autoencoder=TINY_AUTOENCODER,
                         autoencoder_weights=str(autoencoder_run / "final.safetensors"))
    train(recipe, out=tmp_path / "latent", data=photos)
    tensors = load_file(str(tmp_path / "latent" / "final.safetensors"))
    ae = load_file(str(autoencoder_run / "final.safetensors"))
    assert all(torch.equal(tensors[k], ae[k]) for k in ae)  # the autoencoder travels with the model, unchanged
    check_loadable_model(tmp_path / "latent" / "final.safetensors", steps=3)


@pytest.fixture(scope="module")
def overfit_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("one")
    write_photo(folder / "only.png", 16, 16, seed=7)
    return folder


@pytest.mark.parametrize("name", ["sr3", "sr3-dream", "resshift", "dossr", "ccsr"])
def test_loss_falls_when_overfitting_one_fixed_batch(name: str, overfit_photo: Path, tmp_path: Path) -> None:
    """One 16 px photo, no augmentation, deterministic bicubic LR: the same batch every step."""
    recipe = tiny_recipe(
        name, train={"steps": 30, "lr": 3e-3, "batch_size": 4, "grad_clip": 0.0, "ema_decay": 0.0},
        data={"crop": 16, "flips": False, "rotations": False, "degradation": "bicubic"},
    )
    train(recipe, out=tmp_path / "run", data=overfit_photo)
    losses = [loss for _, loss in logged(tmp_path / "run")]
    first, last = np.mean(losses[:6]), np.mean(losses[-6:])
    assert last < 0.75 * first, (first, last)


def test_resume_reproduces_the_uninterrupted_losses_exactly(photos: Path, tmp_path: Path) -> None:
    recipe = tiny_recipe("sr3-dream", train={"steps": 4, "grad_accum": 2, "warmup_steps": 3})
    train(recipe, out=tmp_path / "full", data=photos)
    stopped = train(recipe, out=tmp_path / "cut", data=photos, should_stop=lambda step: step == 2)
    assert stopped["interrupted"] and stopped["step"] == 2 and stopped["final"] is None
    assert not (tmp_path / "cut" / "final.safetensors").exists()
    resumed = train(recipe, out=tmp_path / "cut", data=photos, resume=True)
    assert resumed["start_step"] == 2 and resumed["step"] == 4
    assert logged(tmp_path / "cut") == logged(tmp_path / "full")
    full, cut = load_file(str(tmp_path / "full" / "final.safetensors")), load_file(str(tmp_path / "cut" / "final.safetensors"))
    assert all(torch.equal(full[k], cut[k]) for k in full)


def test_ctrl_c_finishes_the_step_saves_a_checkpoint_then_raises(photos: Path, tmp_path: Path) -> None:
    def press_ctrl_c(step: int, total: int, values: dict) -> None:
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_recipe("sr3", train={"steps": 5}), out=tmp_path / "run", data=photos, progress=press_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is restored
    assert (tmp_path / "run" / "checkpoints" / "step_0000002.state.safetensors").is_file()
    assert not (tmp_path / "run" / "final.safetensors").exists()
    summary = train(tiny_recipe("sr3", train={"steps": 5}), out=tmp_path / "run", data=photos, resume=True)
    assert summary["start_step"] == 2 and summary["step"] == 5


def test_resume_refuses_a_recipe_that_changes_the_maths(photos: Path, tmp_path: Path) -> None:
    train(tiny_recipe("sr3", train={"steps": 1}), out=tmp_path / "run", data=photos)
    with pytest.raises(UsageError, match="train.lr"):
        train(tiny_recipe("sr3", train={"steps": 2, "lr": 1e-3}), out=tmp_path / "run", data=photos, resume=True)


def test_a_new_run_refuses_a_folder_holding_a_run(photos: Path, tmp_path: Path) -> None:
    train(tiny_recipe("sr3", train={"steps": 1}), out=tmp_path / "run", data=photos)
    with pytest.raises(UsageError, match="--resume"):
        train(tiny_recipe("sr3", train={"steps": 1}), out=tmp_path / "run", data=photos)


@pytest.mark.parametrize(("name", "calls_per_step", "no_grad_calls"), [("sr3", 1, 0), ("sr3-dream", 2, 1)])
def test_dream_adds_one_no_grad_forward_per_step(name: str, calls_per_step: int, no_grad_calls: int, photos: Path,
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from srkit.nets.unet import ConditionalUNet

    calls: list[bool] = []
    original = ConditionalUNet.forward

    def counting_forward(self: ConditionalUNet, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append(torch.is_grad_enabled())
        return original(self, x, y, t)

    monkeypatch.setattr(ConditionalUNet, "forward", counting_forward)
    train(tiny_recipe(name, train={"steps": 3}), out=tmp_path / "run", data=photos)
    assert len(calls) == 3 * calls_per_step
    assert calls.count(False) == 3 * no_grad_calls
    if name == "sr3-dream":
        assert calls == [False, True] * 3  # the no-grad pass comes first


def test_init_loads_the_prior_and_refuses_another_network(photos: Path, tmp_path: Path) -> None:
    train(tiny_recipe("sr3", train={"steps": 1}), out=tmp_path / "sr3", data=photos)
    prior = tmp_path / "sr3" / "final.safetensors"
    # condition_skip defines no weights, so a fine-tune may switch it on
    recipe = tiny_recipe("dossr", train={"steps": 1, "lr": 1e-12, "ema_decay": 0.0}, network={"condition_skip": True})
    train(recipe, out=tmp_path / "dossr", data=photos, init=prior)
    before, after = load_file(str(prior)), load_file(str(tmp_path / "dossr" / "final.safetensors"))
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in before if k.startswith("net."))
    wider = tiny_recipe("dossr", network={"base_channels": 8})
    with pytest.raises(WeightsError, match="base_channels"):
        train(wider, out=tmp_path / "wider", data=photos, init=prior)


class SecondRank(DistContext):
    """Rank 1 of 2 without a process group: collectives are identities (only what rank 1 writes matters)."""

    @property
    def enabled(self) -> bool:
        return False


def test_only_rank_zero_writes_logs_checkpoints_and_samples(photos: Path, val_photos: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("srkit.train.api.setup_distributed", lambda device: SecondRank(rank=1, world=2))
    summary = train(tiny_recipe("sr3", train={"steps": 2, "ckpt_every": 1, "val_every": 1}), out=tmp_path / "run",
                    data=photos, val=val_photos)
    assert summary["step"] == 2
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").rglob("*"))


def test_paired_data_trains_on_existing_pairs(tmp_path: Path) -> None:
    from srkit.degrade.bicubic import downsample_bicubic
    from srkit.io.images import read_image, write_image

    for i in range(3):
        write_photo(tmp_path / "hr" / f"p{i}.png", 48, 40, seed=i)
        hr = torch.from_numpy(read_image(tmp_path / "hr" / f"p{i}.png").rgb).permute(2, 0, 1)[None]
        write_image(tmp_path / "lr" / f"p{i}.png", downsample_bicubic(hr, 4)[0].permute(1, 2, 0).clamp(0, 1).numpy())
    summary = train(tiny_recipe("sr3"), out=tmp_path / "run", paired=(tmp_path / "lr", tmp_path / "hr"))
    assert summary["step"] == 3 and np.isfinite(summary["loss"])


def test_data_and_paired_together_are_refused(photos: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="either --data"):
        train(tiny_recipe("sr3"), out=tmp_path / "run", data=photos, paired=(photos, photos))
