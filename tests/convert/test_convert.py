"""srkit convert: safe reading, strict key mapping, kind detection, memory check, atomic output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from srkit.convert.api import convert_checkpoint
from srkit.convert.memory import NotEnoughMemory, check_memory
from srkit.convert.rules import apply_rules, ignore, keep, rename
from srkit.convert.sources import read_source
from srkit.convert.writer import write_safetensors
from srkit.errors import SrkitError, UsageError, WeightsError
from srkit.io.checkpoints import load_checkpoint
from srkit.released import registry
from srkit.released.base import RELEASED_KIND
from tests.released.conftest import write_official_files
from tests.released.fixtures import load_case


class _Hostile:
    """Pickles as a call to os.system: loading it unsafely would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_official_files(tmp_path_factory.mktemp("official"))


def test_hostile_pickle_is_refused_without_running_it(tmp_path: Path, files) -> None:
    marker = tmp_path / "ran"
    bad = tmp_path / "resshift_unet.pth"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "hook": _Hostile(marker)}, bad)
    with pytest.raises(WeightsError, match="posix.system|os.system|never loads"):
        convert_checkpoint("resshift-v3", [bad, files[1]], tmp_path / "out.safetensors")
    assert not marker.exists()
    assert not (tmp_path / "out.safetensors").exists()


def test_not_a_checkpoint_is_named(tmp_path: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(WeightsError, match="notes.pth is not a checkpoint"):
        convert_checkpoint("resshift-v3", [text], tmp_path / "out.safetensors")


def test_wrappers_are_unwrapped(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    torch.save({"params_ema": {"_orig_mod.a.weight": torch.ones(2), "module.b": torch.zeros(1)}, "iter": 3}, path)
    source = read_source(path)
    assert set(source.tensors) == {"a.weight", "b"} and source.mapped and len(source.sha256) == 64


def test_missing_and_extra_keys_are_named_with_the_closest_expected(tmp_path: Path, files) -> None:
    state = torch.load(files[0], weights_only=True)["state_dict"]
    state["module.input_blocks.1.0.in_layer.2.weight"] = state.pop("module.input_blocks.1.0.in_layers.2.weight")
    broken = tmp_path / "unet.pth"
    torch.save(state, broken)
    with pytest.raises(WeightsError) as err:
        convert_checkpoint("resshift-v3", [broken, files[1]], tmp_path / "out.safetensors")
    message = str(err.value)
    assert "unexpected key(s): unet.input_blocks.1.0.in_layer.2.weight (closest expected: unet.input_blocks.1.0.in_layers.2.weight)" in message
    assert "missing key(s): unet.input_blocks.1.0.in_layers.2.weight" in message
    assert "\n" not in message and not (tmp_path / "out.safetensors").exists()


def test_wrong_shape_is_named(tmp_path: Path, files) -> None:
    state = torch.load(files[0], weights_only=True)["state_dict"]
    state["module.out.2.bias"] = torch.zeros(4)
    broken = tmp_path / "unet.pth"
    torch.save(state, broken)
    with pytest.raises(WeightsError, match=r"wrong shape\(s\): unet.out.2.bias .*: 4 instead of 3"):
        convert_checkpoint("resshift-v3", [broken, files[1]], tmp_path / "out.safetensors")


def test_checkpoint_of_another_family_is_recognised(tmp_path: Path, files, monkeypatch) -> None:
    class SdLike:
        name, licence, description = "fake-sd", "", ""

        def looks_like(self, keys: set[str]) -> bool:
            return any(k.startswith("model.diffusion_model.") for k in keys)

    monkeypatch.setitem(registry.FAMILIES, "fake-sd", SdLike())
    other = tmp_path / "dossr.ckpt"
    torch.save({"state_dict": {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1)}}, other)
    with pytest.raises(WeightsError, match="dossr.ckpt is not a resshift-v3 checkpoint; it looks like fake-sd"):
        convert_checkpoint("resshift-v3", [other, files[1]], tmp_path / "out.safetensors")
    unknown = tmp_path / "esrgan.pth"
    torch.save({"conv_first.weight": torch.zeros(1)}, unknown)
    with pytest.raises(WeightsError, match="matches no model srkit converts"):
        convert_checkpoint("resshift-v3", [unknown], tmp_path / "out.safetensors")


def test_too_little_memory_says_how_much_is_needed(files) -> None:
    with pytest.raises(NotEnoughMemory, match=r"needs about \d+\.\d GiB of memory but only 0\.0 GiB is free"):
        check_memory([read_source(files[0])], available=1000)
    assert issubclass(NotEnoughMemory, SrkitError)


def test_converted_file_is_an_ordinary_srkit_checkpoint(tmp_path: Path, files) -> None:
    out = tmp_path / "model.safetensors"
    report = convert_checkpoint("resshift-bicsr", files, out, storage="fp16")
    tensors, meta = load_checkpoint(out)  # verifies the model_id against the content
    assert meta.kind == RELEASED_KIND and meta.model_id == report.model_id
    assert meta.extra["family"] == "resshift-bicsr" and "non-commercial" in meta.extra["licence"]
    assert meta.extra["source_name"] == f"{files[0].name},{files[1].name}"
    assert len(meta.extra["source_sha256"].split(",")[0]) == 64
    assert meta.recipe == {"name": "resshift-bicsr"}
    assert tensors["unet.out.2.weight"].dtype == torch.float16
    assert len(report.ignored) == 18  # the Swin blocks' relative_position_index buffers
    expected = load_case("resshift_unet").group("state.unet.")["out.2.weight"].half()
    assert torch.equal(tensors["unet.out.2.weight"], expected)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.safetensors"

    def boom(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_safetensors(out, {"a": torch.zeros(3), "b": torch.ones(2)}, {"kind": "t"}, progress=boom)
    assert list(tmp_path.iterdir()) == []


def test_writer_output_reads_back_with_safetensors(tmp_path: Path) -> None:
    out = tmp_path / "x.safetensors"
    tensors = {"b": torch.arange(6, dtype=torch.int64).reshape(2, 3), "a": torch.randn(4, dtype=torch.bfloat16), "c": torch.zeros(0)}
    size, model_id = write_safetensors(out, tensors, {"kind": "t"})
    assert size == out.stat().st_size
    with safe_open(str(out), framework="pt") as handle:
        assert handle.metadata()["model_id"] == model_id
        for name, value in tensors.items():
            assert torch.equal(handle.get_tensor(name), value)


def test_rules_consume_every_key_or_refuse() -> None:
    state = {"a.w": torch.zeros(2), "skip.me": torch.zeros(1), "b.w": torch.zeros(3)}
    rules = [rename(r"a\.(w)", r"x.\1"), ignore(r"skip\..*", "unused"), keep(r"b\..*")]
    mapped = apply_rules(state, rules, {"x.w": (2,), "b.w": (3,)}, what="test")
    assert set(mapped.tensors) == {"x.w", "b.w"} and mapped.ignored == ("skip.me",)
    with pytest.raises(WeightsError, match="1 unexpected key"):
        apply_rules(state, rules[:2], {"x.w": (2,), "b.w": (3,)}, what="test")
    with pytest.raises(WeightsError, match="filled twice"):
        apply_rules({"a.w": torch.zeros(2), "x.w": torch.zeros(2)}, [rename(r"a\.w", "x.w"), keep(r".*")], {"x.w": (2,)}, what="t")


def test_unknown_family_and_bad_output_name(tmp_path: Path, files) -> None:
    with pytest.raises(UsageError, match="unknown released model 'nope'"):
        convert_checkpoint("nope", files, tmp_path / "o.safetensors")
    with pytest.raises(UsageError, match=r"must be named \*\.safetensors"):
        convert_checkpoint("resshift-v3", files, tmp_path / "o.pth")
