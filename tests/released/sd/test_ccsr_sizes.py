"""The CCSR scripts' sizes: v1 (x4, short side up to the process size, multiples of 64) and v2 (short side up to
process size / 4, x4, multiples of 8), with their 8-bit round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from srkit.errors import UsageError
from srkit.released.sd import families, sizes
from tests.released.sd.synthetic import tiny_ccsr_v2, tiny_controlldm

torch.set_num_threads(2)


@pytest.mark.parametrize("lr, process_size, expected", [
    ((10, 13), 512, (512, 640)),     # 40x52 -> r = 12.8 -> 512x666 -> floor to 64
    ((100, 150), 512, (512, 768)),   # 400x600 -> 512x768
    ((200, 300), 512, (768, 1152)),  # short side 800 >= 512: only the floor to 64
    ((10, 13), 64, (64, 64)),        # 40x52 -> r = 1.6 -> 64x84 -> 64x64
    ((33, 17), 512, (960, 512)),     # portrait: 132x68 -> r = 7.53 -> 994x512 -> 960x512
])
def test_v1_control_size_follows_the_script(lr, process_size, expected) -> None:
    assert sizes.v1_control_size(*lr, 4, process_size) == expected


def test_v1_no_grid_is_an_error() -> None:
    with pytest.raises(ValueError, match="no 64-pixel grid"):
        sizes.v1_control_size(3, 40, 4, 0)


def test_v1_control_image_is_pillow_on_8_bit_and_keeps_flat_colours() -> None:
    flat = torch.full((1, 3, 9, 12), 77 / 255)
    flat[:, 1] = 200 / 255
    control = sizes.v1_control_image(flat, 4, 64)
    assert control.shape == (1, 3, 64, 64)
    assert torch.equal(control[0, 0], torch.full((64, 64), 77 / 255)) and torch.equal(control[0, 1], torch.full((64, 64), 200 / 255))
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    lr = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    # the three Pillow steps of the script on the file's own 8 bits: 48x80 -> bicubic 64x107 (r = 1.333) -> lanczos 64x64
    step1 = Image.fromarray(pixels).resize((80, 48), Image.BICUBIC)
    step2 = step1.resize((107, 64), Image.BICUBIC)
    want = np.asarray(step2.resize((64, 64), Image.LANCZOS), dtype=np.float32) / 255
    torch.testing.assert_close(sizes.v1_control_image(lr, 4, 64)[0].permute(1, 2, 0), torch.from_numpy(want), rtol=0, atol=0)


def test_v1_output_image_truncates_to_8_bits_then_resizes() -> None:
    image = torch.full((1, 3, 64, 64), 0.5)
    image[:, 2] = 0.999 / 255
    out = sizes.v1_output_image(image, 40, 52)
    assert out.shape == (1, 3, 40, 52)
    assert torch.equal(out[0, 0], torch.full((40, 52), 127 / 255))  # 127.5 truncates to 127
    assert torch.equal(out[0, 2], torch.zeros(40, 52))


def test_v1_pipeline_samples_at_the_control_size_and_returns_x4() -> None:
    model = families.CCSR_V1.convert(tiny_controlldm(dossr=False))
    config = json.loads(json.dumps(model.config))
    config["procedure"] = {**config["procedure"], "t_min": 0.6, "process_size": 64}
    pipe = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    lr = torch.rand(1, 3, 10, 13, generator=torch.Generator().manual_seed(0))
    seen = []
    sr, nfe = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(1), callback=lambda info: seen.append(info))
    assert sr.shape == (1, 3, 40, 52) and nfe == 5
    assert torch.equal((sr * 255).round(), sr * 255)  # the script's 8-bit output
    assert pipe.start_shape(lr.shape) == (1, 4, 32, 32)  # the 64x64 control, VAE factor 2 here
    control = sizes.v1_control_image(lr, 4, 64)
    image = pipe.sample_image(control, torch.Generator().manual_seed(1))
    torch.testing.assert_close(sr, sizes.v1_output_image(image, 40, 52), rtol=0, atol=0)
    config["procedure"]["process_size"] = 0  # srkit's padded float path
    padded = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    assert padded.start_shape(lr.shape) == (1, 4, 20, 26)  # x4, padded to the tiny UNet's multiple


# --- CCSR v2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lr, process_size, expected", [
    ((10, 13), 512, (512, 664)),     # a side below 128: r = 12.8 -> 128x166 -> x4 = 512x664
    ((100, 150), 512, (512, 768)),   # r = 1.28 -> 128x192 -> 512x768
    ((150, 100), 512, (768, 512)),   # portrait
    ((200, 301), 512, (800, 1200)),  # both sides >= 128: x4 = 800x1204, floored to 8
    ((12, 20), 64, (64, 104)),       # r = 16/12 -> 16x27 -> 64x108 -> 64x104
    ((33, 17), 0, (128, 64)),        # process size 0: x4 floored to 8
])
def test_v2_control_size_follows_the_script(lr, process_size, expected) -> None:
    assert sizes.v2_control_size(*lr, 4, process_size) == expected


def test_v2_no_grid_is_an_error() -> None:
    with pytest.raises(ValueError, match="no 8-pixel grid"):
        sizes.v2_control_size(1, 40, 4, 4)


def _lr_u8(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return pixels, torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("lr, process_size, steps", [
    # 12x20 -> bicubic 16x27 (r = 4/3) -> x4 64x108 -> 64x104
    ((12, 20), 64, [(27, 16), (108, 64), (104, 64)]),
    # 2x3 at process size 12: r = 1.5, 3 x 1.5 = 4.5 rounds half to even -> 3x4 -> x4 12x16 -> 8x16
    ((2, 3), 12, [(4, 3), (16, 12), (16, 8)]),
    # 9x10 at 16 (low 4): no upsizing -> x4 36x40 -> 32x40
    ((9, 10), 16, [(40, 36), (40, 32)]),
])
def test_v2_control_image_is_pillow_bicubic_on_8_bits(lr, process_size, steps) -> None:
    pixels, lr_tensor = _lr_u8(*lr)
    want = Image.fromarray(pixels)
    for size in steps:  # Pillow's default filter for RGB, as the script calls resize()
        want = want.resize(size, Image.BICUBIC)
    want = torch.from_numpy(np.asarray(want, dtype=np.float32) / 255)
    got = sizes.v2_control_image(lr_tensor, 4, process_size)
    assert got.shape[-2:] == sizes.v2_control_size(*lr, 4, process_size)
    torch.testing.assert_close(got[0].permute(1, 2, 0), want, rtol=0, atol=0)


def _official_adain_u8(image_u8: np.ndarray, style_u8: np.ndarray) -> np.ndarray:
    """AdaIN as the official PIL wrapper does it, in float64 numpy: unbiased variance + 1e-5, clamp, x255 truncated."""
    content, style = image_u8.astype(np.float64) / 255, style_u8.astype(np.float64) / 255
    c_mean, s_mean = content.mean((0, 1)), style.mean((0, 1))
    c_std = np.sqrt(content.var((0, 1), ddof=1) + 1e-5)
    s_std = np.sqrt(style.var((0, 1), ddof=1) + 1e-5)
    out = ((content - c_mean) / c_std * s_std + s_mean).clip(0, 1)
    return (out * 255).astype(np.uint8)


def test_v2_output_image_rounds_fixes_truncates_and_resizes() -> None:
    rng = np.random.default_rng(3)
    decoded = torch.from_numpy(rng.random((1, 3, 16, 24), dtype=np.float32)) * 0.6 + 0.1
    control_u8 = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    control = torch.from_numpy(control_u8).permute(2, 0, 1)[None].float() / 255
    image_u8 = (decoded[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # the pipeline's PIL output
    fixed = _official_adain_u8(image_u8, control_u8)
    same_size = sizes.v2_output_image(decoded, control, 16, 24)
    differs = np.abs(same_size[0].permute(1, 2, 0).numpy() * 255 - fixed)
    assert differs.max() <= 1 and (differs > 0).mean() < 0.01  # float32 vs float64 may move a truncation by one level
    want = np.array(Image.fromarray((same_size[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).resize((20, 13), Image.BICUBIC))
    resized = sizes.v2_output_image(decoded, control, 13, 20)
    assert resized.shape == (1, 3, 13, 20)
    torch.testing.assert_close(resized[0].permute(1, 2, 0) * 255, torch.from_numpy(want).float(), rtol=0, atol=0)


def test_v2_pipeline_samples_at_the_control_size_and_returns_x4() -> None:
    model = families.CCSR_V2.convert(tiny_ccsr_v2())
    assert model.config["procedure"]["process_size"] == 512  # the script's
    config = json.loads(json.dumps(model.config))
    config["procedure"]["process_size"] = 64
    pipe = families.CCSR_V2.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    lr = torch.rand(1, 3, 10, 13, generator=torch.Generator().manual_seed(0))
    sr, nfe = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(1))
    assert sr.shape == (1, 3, 40, 52) and nfe == 2
    assert torch.equal((sr * 255).round(), sr * 255)  # the script's 8-bit output
    assert pipe.start_shape(lr.shape) == (1, 4, 32, 40)  # 10x13 -> 16x21 -> x4 64x84 -> 64x80, VAE factor 2 here
    control = sizes.v2_control_image(lr, 4, 64)
    decoded = pipe.sample_latent_image(control, torch.Generator().manual_seed(1))
    assert decoded.shape[-2:] == (64, 80)
    torch.testing.assert_close(sr, sizes.v2_output_image(decoded, control, 40, 52), rtol=0, atol=0)
    config["procedure"]["process_size"] = 0  # srkit's padded float path
    padded = families.CCSR_V2.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    assert padded.start_shape(lr.shape) == (1, 4, 20, 26)
    with pytest.raises(UsageError, match="process_size"):
        families.CCSR_V2.load(model.tensors, {**config, "procedure": {**config["procedure"], "process_size": -1}},
                              device=torch.device("cpu"), precision="fp32")
