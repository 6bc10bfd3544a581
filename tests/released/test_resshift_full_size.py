"""Full-size ResShift: synthetic checkpoints of zeros with every official key and shape convert (memory-mapped)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from srkit.convert.api import convert_checkpoint
from srkit.io.checkpoints import load_checkpoint
from srkit.released.registry import FAMILIES, load_released
from srkit.released.resshift.swin import relative_position_index
from srkit.released.resshift.unet import SwinUNetConfig
from srkit.released.resshift.vq import VQConfig
from tests.released.fixtures import load_case
from tests.released.official_keys import (
    Shapes,
    official_unet_shapes,
    official_vq_shapes,
)

FULL_UNET = SwinUNetConfig()  # the official model_channels 160, [1,2,2,4], Swin 192 / 6 heads / window 8, size 64
FULL_VQ = VQConfig()  # ch 128, [1,2,4], 8192 codes


def _recorded(case: str, group: str) -> dict[str, tuple[int, ...]]:
    return {t["name"][len(group):]: tuple(t["shape"]) for t in load_case(case).info["tensors"] if t["name"].startswith(group)}


def test_key_generators_reproduce_the_recorded_reduced_key_sets() -> None:
    info = load_case("resshift_unet").info
    reduced = SwinUNetConfig(model_channels=32, channel_mult=(1, 1, 1, 1), swin_embed_dim=32, num_heads=4,
                             window_size=4, image_size=32)
    recorded = _recorded("resshift_unet", "state.unet.")
    recorded.update({b["key"]: tuple(b["shape"]) for b in info["omitted_buffers"]["keys"]})
    assert {k: s for k, (s, _) in official_unet_shapes(reduced).items()} == recorded
    vq = VQConfig(ch=32, ch_mult=(1, 1, 2), n_embed=256)
    assert {k: s for k, (s, _) in official_vq_shapes(vq).items()} == _recorded("resshift_vq", "state.vq.")


def test_full_size_key_sets_have_the_official_counts() -> None:
    """FINDINGS.md: UNet 564 state-dict entries, 118.59 M parameters; VQGAN 205 entries, 55.32 M."""
    unet, vq = official_unet_shapes(FULL_UNET), official_vq_shapes(FULL_VQ)
    assert len(unet) == 564 and len(vq) == 205
    params = sum(torch.Size(s).numel() for k, (s, _) in unet.items() if not k.endswith(("attn_mask", "position_index")))
    assert round(params / 1e6, 2) == 118.59
    assert round(sum(torch.Size(s).numel() for s, _ in vq.values()) / 1e6, 2) == 55.32


def test_full_size_key_sets_map_strictly_with_every_size_inferred() -> None:
    """The mapping and size inference at full size, on meta tensors (no memory): the slow test writes real files."""
    state = {}
    for role, shapes in (("unet", official_unet_shapes(FULL_UNET)), ("vq", official_vq_shapes(FULL_VQ))):
        for key, (shape, dtype) in shapes.items():
            real = key.endswith("relative_position_index")
            state[f"{role}.{key}"] = relative_position_index(int(shape[0] ** 0.5)) if real else torch.empty(shape, dtype=dtype, device="meta")
    converted = FAMILIES["resshift-v2"].convert(state)
    assert SwinUNetConfig.from_dict(converted.config["unet"]) == FULL_UNET
    assert VQConfig.from_dict(converted.config["vq"]) == FULL_VQ
    assert converted.config["diffusion"]["steps"] == 15 and converted.config["diffusion"]["min_noise_level"] == 0.04
    assert len(converted.tensors) == 564 - 18 - 6 + 205  # the Swin index and mask buffers are not kept
    without_masks = {k: v for k, v in state.items() if not k.endswith("attn_mask")}  # the build size from the window rule
    assert FAMILIES["resshift-v2"].convert(without_masks).config["unet"]["image_size"] == 64


def zeros_checkpoint(shapes: Shapes, path: Path, wrap: bool) -> Path:
    """A torch.save (zip) file of zeros with these keys; index buffers get their real values."""
    state = {}
    for key, (shape, dtype) in shapes.items():
        if key.endswith("relative_position_index"):
            state[key] = relative_position_index(int(shape[0] ** 0.5))
        else:
            state[key] = torch.zeros(shape, dtype=dtype)
    torch.save({"state_dict": state} if wrap else state, path)
    return path


@pytest.mark.slow
def test_full_size_synthetic_checkpoints_convert_memory_mapped_and_run(tmp_path: Path) -> None:
    unet = zeros_checkpoint(official_unet_shapes(FULL_UNET), tmp_path / "resshift_realsrx4_s4_v3.pth", wrap=True)
    vq = zeros_checkpoint(official_vq_shapes(FULL_VQ), tmp_path / "autoencoder_vq_f4.pth", wrap=False)
    out = tmp_path / "resshift-v3.safetensors"
    report = convert_checkpoint("resshift-v3", [unet, vq], out)
    assert report.memory_needed < 1 << 30  # memory-mapped: the sources are not held in memory
    tensors, meta = load_checkpoint(out)
    assert meta.extra["config"] and len(tensors) == report.tensors
    pipe = load_released(tensors, meta, device="cpu", precision="fp32")
    assert pipe.unet.cfg == FULL_UNET and pipe.vq.config.num_vq_embeddings == 8192
    assert pipe.start_shape((1, 3, 40, 70)) == (1, 3, 64, 128)
    sr, nfe = pipe.super_resolve(torch.rand(1, 3, 16, 16), generator=torch.Generator().manual_seed(0))
    assert sr.shape == (1, 3, 64, 64) and nfe == 4 and torch.isfinite(sr).all()
