"""Checkpoints: safetensors round trip with metadata, model ids, pickle refusal, loading into modules."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import srkit.io.checkpoints as checkpoints
from srkit._version import __version__
from srkit.errors import UsageError, WeightsError
from srkit.io.checkpoints import (
    CheckpointMeta,
    load_checkpoint,
    load_state_into,
    load_weights,
    model_id,
    save_checkpoint,
)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)


def _tiny(seed: int = 0) -> Tiny:
    torch.manual_seed(seed)
    return Tiny()


META = CheckpointMeta(
    kind="denoiser",
    step=1234,
    recipe={"name": "resshift-x4", "process": {"kappa": 2.0, "steps": [15]}},
    network={"channels": 64, "mults": [1, 2, 2, 4]},
    extra={"note": "ema weights"},
)


def _one_line_error(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_round_trip_keeps_tensors_and_metadata(tmp_path: Path) -> None:
    state = _tiny().state_dict()
    saved = save_checkpoint(tmp_path / "m.safetensors", state, META)
    tensors, meta = load_checkpoint(tmp_path / "m.safetensors")
    assert tensors.keys() == state.keys()
    for name, tensor in state.items():
        assert tensors[name].dtype == tensor.dtype and torch.equal(tensors[name], tensor)
    assert meta == saved
    assert (meta.kind, meta.step, meta.recipe, meta.network) == (META.kind, META.step, META.recipe, META.network)
    assert meta.extra == {"note": "ema weights"}
    assert meta.srkit_version == __version__
    assert meta.model_id == model_id(state)


def test_metadata_may_be_a_plain_dict_with_extra_fields(tmp_path: Path) -> None:
    meta = save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(2)}, {"kind": "bc", "step": 7, "scale": 4})
    assert (meta.kind, meta.step, meta.extra) == ("bc", 7, {"scale": "4"})
    assert load_checkpoint(tmp_path / "m.safetensors")[1].extra == {"scale": "4"}


@dataclass(frozen=True)
class _Recipe:
    name: str
    data: Path
    scales: tuple[int, ...]


def test_recipe_dataclass_is_stored_as_plain_json(tmp_path: Path) -> None:
    meta = CheckpointMeta(kind="denoiser", recipe=_Recipe("x4", Path("data/train"), (2, 4)))  # type: ignore[arg-type]
    save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(1)}, meta)
    recipe = load_checkpoint(tmp_path / "m.safetensors")[1].recipe
    assert recipe == {"name": "x4", "data": "data/train", "scales": [2, 4]}


def test_model_id_is_sha256_prefix_of_names_dtypes_shapes_and_bytes() -> None:
    tensor = torch.tensor([[1.0, -2.0]], dtype=torch.float32)
    expected = hashlib.sha256(b"w\0float32\x001,2\0" + tensor.numpy().tobytes()).hexdigest()[:12]
    assert model_id({"w": tensor}) == expected


def test_model_id_ignores_dict_order_but_sees_every_change() -> None:
    a, b = torch.arange(6.0).reshape(2, 3), torch.zeros(3, dtype=torch.int64)
    reference = model_id({"a": a, "b": b})
    assert re.fullmatch(r"[0-9a-f]{12}", reference)
    assert model_id({"b": b, "a": a}) == reference
    changed = [
        {"a": a + 1e-6, "b": b},
        {"a": a.reshape(3, 2), "b": b},
        {"a": a.double(), "b": b},
        {"a2": a, "b": b},
    ]
    assert all(model_id(other) != reference for other in changed)


def test_fp16_storage_casts_back_to_module_dtype(tmp_path: Path) -> None:
    source = _tiny(0)
    path = tmp_path / "half.safetensors"
    save_checkpoint(path, source.state_dict(), META, dtype=torch.float16)
    tensors, _ = load_checkpoint(path)
    assert tensors["conv.weight"].dtype == torch.float16
    assert tensors["norm.num_batches_tracked"].dtype == torch.int64
    target = _tiny(1)
    load_state_into(target, tensors)
    assert target.conv.weight.dtype == torch.float32
    torch.testing.assert_close(target.conv.weight, source.conv.weight.half().float(), rtol=0, atol=0)
    torch.testing.assert_close(target.conv.weight, source.conv.weight, rtol=1e-3, atol=1e-4)


def test_tied_and_view_tensors_can_be_saved(tmp_path: Path) -> None:
    shared = torch.randn(4, 4)
    save_checkpoint(tmp_path / "t.safetensors", {"a": shared, "b": shared, "row": shared[1]}, META)
    tensors, _ = load_checkpoint(tmp_path / "t.safetensors")
    assert torch.equal(tensors["b"], shared) and torch.equal(tensors["row"], shared[1])


def test_save_requires_safetensors_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.safetensors"):
        save_checkpoint(tmp_path / "m.pt", {"w": torch.ones(1)}, META)


def test_save_refuses_reserved_extra_field(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="model_id"):
        save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(1)}, CheckpointMeta(extra={"model_id": "x"}))


def test_failed_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"partial")
        raise RuntimeError("killed")

    monkeypatch.setattr(checkpoints, "save_file", crash)
    with pytest.raises(RuntimeError):
        save_checkpoint(tmp_path / "m.safetensors", {"w": torch.ones(1)}, META)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
@pytest.mark.parametrize("name", ["model.pt", "model.ckpt", "disguised.safetensors"])
def test_pickle_checkpoint_is_refused_with_conversion_command(tmp_path: Path, name: str, legacy: bool) -> None:
    path = tmp_path / name
    torch.save({"state_dict": _tiny().state_dict()}, path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(WeightsError) as caught:
        load_checkpoint(path)
    message = _one_line_error(caught)
    assert message.startswith(f"{path} is a pickle checkpoint; srkit only loads safetensors")
    assert 'python -c "' in message and "srkit convert --from NAME" in message


def test_pickle_conversion_command_produces_loadable_safetensors(tmp_path: Path) -> None:
    source = _tiny()
    pickled = tmp_path / "model.pth"
    torch.save({"state_dict": source.state_dict()}, pickled)
    with pytest.raises(WeightsError) as caught:
        load_checkpoint(pickled)
    code = re.search(r'python -c "(.*)"$', str(caught.value)).group(1)
    exec(code, {})  # the exact command the message tells users to run
    target = _tiny(1)
    load_weights(target, tmp_path / "model.safetensors")
    assert torch.equal(target.head.weight, source.head.weight)


def test_missing_checkpoint_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as caught:
        load_checkpoint(tmp_path / "absent.safetensors")
    assert _one_line_error(caught) == f"checkpoint not found: {tmp_path / 'absent.safetensors'}"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"plain text, not weights", "not a safetensors file"), ("truncated", "truncated")],
)
def test_unreadable_checkpoint_is_one_line_weights_error(tmp_path: Path, content: bytes | str, reason: str) -> None:
    path = tmp_path / "bad.safetensors"
    if content == "truncated":
        save_checkpoint(path, _tiny().state_dict(), META)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 100])
    else:
        path.write_bytes(content)
    with pytest.raises(WeightsError) as caught:
        load_checkpoint(path)
    message = _one_line_error(caught)
    assert str(path) in message and reason in message


def test_altered_tensor_bytes_fail_model_id_check(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, {"w": torch.zeros(64)}, META)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="corrupt: content hash"):
        load_checkpoint(path)
    assert load_checkpoint(path, verify=False)[0]["w"][-1] != 0


def test_prefixes_from_ddp_and_compile_are_stripped() -> None:
    source = _tiny()
    wrapped = {f"_orig_mod.module.{k}": v for k, v in source.state_dict().items()}
    target = _tiny(1)
    load_state_into(target, wrapped)
    assert torch.equal(target.conv.weight, source.conv.weight)


def test_missing_and_unexpected_keys_are_named_in_one_line() -> None:
    state = _tiny().state_dict()
    del state["head.weight"], state["head.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError) as caught:
        load_state_into(_tiny(), state, source="w.safetensors")
    message = _one_line_error(caught)
    assert message.startswith("weights in w.safetensors do not fit Tiny: ")
    assert "missing 2 (head.weight, head.bias)" in message
    assert "unexpected 1 (extra.weight)" in message


def test_long_key_lists_are_shortened() -> None:
    with pytest.raises(WeightsError, match=r"missing 9 \(conv\.weight, conv\.bias, norm\.weight, \.\.\.\)"):
        load_state_into(_tiny(), {})


def test_shape_mismatch_is_named_even_when_not_strict() -> None:
    state = _tiny().state_dict()
    state["head.weight"] = torch.zeros(3, 4)
    with pytest.raises(WeightsError, match=r"wrong shape 1 \(head\.weight: file 3x4 vs model 2x4\)"):
        load_state_into(_tiny(), state, strict=False)


def test_non_strict_load_reports_what_it_skipped() -> None:
    source = _tiny()
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    state["unused"] = torch.zeros(1)
    target = _tiny(1)
    report = load_state_into(target, state, strict=False)
    assert report.missing == ("head.weight", "head.bias")
    assert report.unexpected == ("unused",)
    assert torch.equal(target.conv.weight, source.conv.weight)
    assert not torch.equal(target.head.weight, source.head.weight)
