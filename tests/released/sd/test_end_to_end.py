"""Convert -> save -> load -> super_resolve for every SD family, on tiny synthetic official checkpoints.

The tiny configs differ from the fixtures' (two levels, widths 32/64, attention at level 0
only, a 2-layer text tower baked at conversion), so sizes really come from the weights.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from srkit.errors import WeightsError
from srkit.released.base import ConvertedModel
from srkit.released.sd import SD_FAMILIES, families
from tests.released.sd.fixture_rules import load_case
from tests.released.sd.official_keys import controlldm_keys
from tests.released.sd.synthetic import TINY, tiny_ccsr_v2, tiny_controlldm

torch.set_num_threads(2)


def _round_trip(model: ConvertedModel, tmp_path) -> tuple[dict, dict]:
    """Through a safetensors file, as ``srkit convert`` writes and ``upscale`` reads it."""
    path = tmp_path / "model.safetensors"
    save_file(model.tensors, path, metadata={"config": json.dumps(model.config)})
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        config = json.loads(f.metadata()["config"])
    return load_file(path), config


@pytest.mark.parametrize("family", SD_FAMILIES, ids=lambda f: f.name)
def test_convert_save_load_and_super_resolve(family, tmp_path) -> None:
    state = tiny_ccsr_v2() if family.layout == "diffusers" else tiny_controlldm(dossr=family.preprocessor)
    assert family.looks_like(set(state))
    model = family.convert(state)
    assert model.tensors["text.context"].shape == (1, 77, 64)
    tensors, config = _round_trip(model, tmp_path)
    if family is families.CCSR_V1:  # a shorter chain (tau index 29 down to 26) keeps it fast
        config["procedure"] = {**config["procedure"], "t_min": 0.6}
    if family in (families.CCSR_V1, families.CCSR_V2):  # the scripts' sizes, at a 64-px process size to keep it fast
        assert config["procedure"]["process_size"] == 512  # the script's
        config["procedure"] = {**config["procedure"], "process_size": 64}
    pipe = family.load(tensors, config, device=torch.device("cpu"), precision="fp32")
    lr = torch.rand(1, 3, 10, 13, generator=torch.Generator().manual_seed(0))
    sr, nfe = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(1))
    assert sr.shape == (1, 3, 40, 52) and torch.isfinite(sr).all() and 0.0 <= float(sr.min()) and float(sr.max()) <= 1.0
    if family is families.DOSSR_ONESTEP:  # every draw comes from the generator
        assert torch.equal(sr, pipe.super_resolve(lr, generator=torch.Generator().manual_seed(1))[0])
    assert nfe == {"dossr": 5, "dossr-onestep": 1, "ccsr-v1": 5, "ccsr-v2": 2}[family.name]
    # VAE factor 2 here; CCSR v1 samples at its control size (40x52 upsized to 64x84, floored to 64x64),
    # CCSR v2 at its own (10x13 upsized to 16x21, x4 64x84, floored to 64x80)
    shapes = {"ccsr-v1": (1, 4, 32, 32), "ccsr-v2": (1, 4, 32, 40)}
    assert pipe.start_shape(lr.shape) == shapes.get(family.name, (1, 4, 20, 26))
    assert pipe.position_keyed == (family.name not in shapes) if hasattr(pipe, "position_keyed") else True
    assert pipe.licence.startswith("CreativeML Open RAIL++-M") and pipe.model_id == family.name


def test_families_tell_dossr_from_ccsr_v1() -> None:
    dossr_keys = set(controlldm_keys(TINY, dossr=True))
    ccsr_keys = set(controlldm_keys(TINY, dossr=False))
    assert families.DOSSR.looks_like(dossr_keys) and not families.CCSR_V1.looks_like(dossr_keys)
    assert families.CCSR_V1.looks_like(ccsr_keys) and not families.DOSSR.looks_like(ccsr_keys)
    assert not families.CCSR_V2.looks_like(dossr_keys)


def test_extra_and_missing_keys_are_named() -> None:
    state = tiny_controlldm(dossr=False)
    state["model.diffusion_model.input_blocks.1.0.in_layers.0.wieght"] = torch.zeros(32)
    with pytest.raises(WeightsError, match=r"'model.diffusion_model.input_blocks.1.0.in_layers.0.wieght'.*closest expected: 'unet.down_blocks.0.resnets.0.norm1.weight'"):
        families.CCSR_V1.convert(state)
    state = tiny_controlldm(dossr=False)
    state["model_ema.decay"] = torch.zeros(())
    with pytest.raises(WeightsError, match=r"unexpected key 'model_ema.decay'"):
        families.CCSR_V1.convert(state)
    state = tiny_controlldm(dossr=False)
    del state["control_model.zero_convs.1.0.weight"]
    with pytest.raises(WeightsError, match="zero_convs.1.0.weight|controlnet_down_blocks.1.weight"):
        families.CCSR_V1.convert(state)
    state = tiny_controlldm(dossr=False)
    state["decoder_loss.discriminator.main.0.weight"] = torch.zeros(8, 3, 4, 4)  # training-only: ignored
    assert "decoder_loss.discriminator.main.0.weight" in families.CCSR_V1.convert(state).ignored


def test_a_wrong_schedule_buffer_is_refused() -> None:
    state = tiny_controlldm(dossr=False)
    state["alphas_cumprod"] = torch.linspace(0.99, 0.01, 1000)
    with pytest.raises(WeightsError, match="alphas_cumprod"):
        families.CCSR_V1.convert(state)


def test_converting_without_a_text_tower_needs_the_contexts() -> None:
    case = load_case("ccsr_v1")
    with pytest.raises(WeightsError, match="text tower"):
        families.CCSR_V1.convert(case.group("state."), heads=[2, 2, 2, 2])


def test_ccsr_v2_folders_are_read_by_their_role(tmp_path) -> None:
    from srkit.errors import InputError
    from srkit.released.sd.convert import read_diffusers_folders

    state = tiny_ccsr_v2()
    classes = {"controlnet": "ControlNetModel", "unet": "UNet2DConditionModel", "vae": "AutoencoderKL", "text_encoder": None}
    folders = []
    for role, cls in classes.items():
        folder = tmp_path / f"folder_{role}"
        folder.mkdir()
        config = {"_class_name": cls} if cls else {"architectures": ["CLIPTextModel"]}
        (folder / "config.json").write_text(json.dumps(config))
        name = "model.safetensors" if cls is None else "diffusion_pytorch_model.safetensors"
        save_file({k[len(role) + 1:]: v for k, v in state.items() if k.startswith(role + ".")}, folder / name)
        folders.append(folder)
    read = read_diffusers_folders(folders)
    assert read.keys() == state.keys() and all(torch.equal(read[k], state[k]) for k in state)
    with pytest.raises(InputError, match="not a diffusers folder"):
        read_diffusers_folders([tmp_path])


def test_half_precision_runs_and_agrees_with_fp32() -> None:
    """The fp16 path (what CUDA uses by default) runs end to end; on random tiny weights it stays near fp32."""
    family = families.CCSR_V2
    model = family.convert(tiny_ccsr_v2())
    lr = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    out = {}
    config = {**model.config, "procedure": {**model.config["procedure"], "process_size": 32}}  # 8x8 -> 32x32, no upsizing
    for precision in ("fp32", "fp16"):
        pipe = family.load(model.tensors, config, device=torch.device("cpu"), precision=precision)
        out[precision] = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(2))[0]
    assert out["fp16"].dtype == torch.float32
    assert float((out["fp16"] - out["fp32"]).abs().max()) < 2e-2


def test_tiled_ccsr_v2_runs_with_its_guidance_batch(tmp_path) -> None:
    """Tiled on srkit's padded path (``process_size: 0``), CCSR v2's guidance batch (twice the tiles)
    takes position-keyed draws like every tile batch."""
    import numpy as np

    from srkit.infer.run import UpscaleRun

    tensors, config = _round_trip(families.CCSR_V2.convert(tiny_ccsr_v2()), tmp_path)
    config["procedure"]["process_size"] = 0
    pipe = families.CCSR_V2.load(tensors, config, device=torch.device("cpu"), precision="fp32")
    assert pipe.position_keyed
    rgb = np.random.default_rng(0).random((20, 24, 3)).astype(np.float32)
    result = UpscaleRun.build(pipe, tile=64, overlap=16, batch=2).super_resolve(rgb, seed=1)
    assert result.tiles > 1 and result.rgb.shape == (80, 96, 3) and np.isfinite(result.rgb).all()


@pytest.mark.parametrize("family", [families.CCSR_V1, families.CCSR_V2], ids=lambda f: f.name)
def test_script_sized_ccsr_runs_tiled_and_whole_through_upscale(family, tmp_path) -> None:
    """With the scripts' sizes, each tile is one script run with its own generator: an odd-sized
    image needs no padding, whole == the pipeline on the image, and ``--batch`` changes nothing."""
    import numpy as np

    from srkit.infer.run import UpscaleRun
    from srkit.infer.seeding import cpu_generator, derive_seed

    state = tiny_controlldm(dossr=False) if family is families.CCSR_V1 else tiny_ccsr_v2()
    tensors, config = _round_trip(family.convert(state), tmp_path)
    config["procedure"] = {**config["procedure"], "process_size": 64} | ({"t_min": 0.6} if family is families.CCSR_V1 else {})
    pipe = family.load(tensors, config, device=torch.device("cpu"), precision="fp32")
    assert not pipe.position_keyed
    rgb = np.random.default_rng(0).random((19, 23, 3)).astype(np.float32)
    whole = UpscaleRun.build(pipe, tile=None).super_resolve(rgb, seed=1)
    assert whole.tiles == 1 and whole.rgb.shape == (76, 92, 3)
    lr = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    direct, _ = pipe.super_resolve(lr, generator=cpu_generator(derive_seed(1, "steps", 0)))
    np.testing.assert_array_equal(whole.rgb, direct[0].permute(1, 2, 0).numpy())
    one, two = (UpscaleRun.build(pipe, tile=48, overlap=16, batch=b).super_resolve(rgb, seed=1) for b in (1, 2))
    assert one.tiles > 1 and one.rgb.shape == (76, 92, 3) and np.isfinite(one.rgb).all()
    np.testing.assert_array_equal(one.rgb, two.rgb)
