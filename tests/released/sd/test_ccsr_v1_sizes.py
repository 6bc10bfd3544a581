"""CCSR v1's script sizes: x4, short side up to the process size, multiples of 64, 8-bit round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from srkit.released.sd import families, sizes
from tests.released.sd.synthetic import tiny_controlldm

torch.set_num_threads(2)


@pytest.mark.parametrize("lr, process_size, expected", [
    ((10, 13), 512, (512, 640)),     # 40x52 -> r = 12.8 -> 512x666 -> floor to 64
    ((100, 150), 512, (512, 768)),   # 400x600 -> 512x768
    ((200, 300), 512, (768, 1152)),  # short side 800 >= 512: only the floor to 64
    ((10, 13), 64, (64, 64)),        # 40x52 -> r = 1.6 -> 64x84 -> 64x64
    ((33, 17), 512, (960, 512)),     # portrait: 132x68 -> r = 7.53 -> 994x512 -> 960x512
])
def test_control_size_follows_the_script(lr, process_size, expected) -> None:
    assert sizes.control_size(*lr, 4, process_size) == expected


def test_no_grid_is_an_error() -> None:
    with pytest.raises(ValueError, match="no 64-pixel grid"):
        sizes.control_size(3, 40, 4, 0)


def test_control_image_is_pillow_on_8_bit_and_keeps_flat_colours() -> None:
    flat = torch.full((1, 3, 9, 12), 77 / 255)
    flat[:, 1] = 200 / 255
    control = sizes.control_image(flat, 4, 64)
    assert control.shape == (1, 3, 64, 64)
    assert torch.equal(control[0, 0], torch.full((64, 64), 77 / 255)) and torch.equal(control[0, 1], torch.full((64, 64), 200 / 255))
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    lr = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255
    # the three Pillow steps of the script on the file's own 8 bits: 48x80 -> bicubic 64x107 (r = 1.333) -> lanczos 64x64
    step1 = Image.fromarray(pixels).resize((80, 48), Image.BICUBIC)
    step2 = step1.resize((107, 64), Image.BICUBIC)
    want = np.asarray(step2.resize((64, 64), Image.LANCZOS), dtype=np.float32) / 255
    torch.testing.assert_close(sizes.control_image(lr, 4, 64)[0].permute(1, 2, 0), torch.from_numpy(want), rtol=0, atol=0)


def test_output_image_truncates_to_8_bits_then_resizes() -> None:
    image = torch.full((1, 3, 64, 64), 0.5)
    image[:, 2] = 0.999 / 255
    out = sizes.output_image(image, 40, 52)
    assert out.shape == (1, 3, 40, 52)
    assert torch.equal(out[0, 0], torch.full((40, 52), 127 / 255))  # 127.5 truncates to 127
    assert torch.equal(out[0, 2], torch.zeros(40, 52))


def test_pipeline_samples_at_the_control_size_and_returns_x4(tmp_path) -> None:
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
    control = sizes.control_image(lr, 4, 64)
    image = pipe.sample_image(control, torch.Generator().manual_seed(1))
    torch.testing.assert_close(sr, sizes.output_image(image, 40, 52), rtol=0, atol=0)
    config["procedure"]["process_size"] = 0  # srkit's padded float path
    padded = families.CCSR_V1.load(model.tensors, config, device=torch.device("cpu"), precision="fp32")
    assert padded.start_shape(lr.shape) == (1, 4, 20, 26)  # x4, padded to the tiny UNet's multiple
