import hashlib

import pytest
import torch
from torch import nn

from srkit.errors import WeightsError
from srkit.nets.decoder_stage import ResidualHead
from srkit.io.checkpoints import model_id, strip_wrapper_prefixes
from srkit.nets.measure import forward_flops, param_count
from srkit.nets.state import load_weights


def test_model_id_ignores_wrapper_prefixes_order_and_memory_format():
    w = torch.randn(4, 3, 3, 3, generator=torch.Generator().manual_seed(0))
    plain = {"conv.weight": w, "conv.bias": torch.zeros(4)}
    wrapped = {
        "module._orig_mod.conv.bias": torch.zeros(4),
        "module._orig_mod.conv.weight": w.to(memory_format=torch.channels_last),
    }
    assert model_id(plain) == model_id(wrapped)


def test_model_id_changes_when_one_weight_changes_by_one_ulp():
    w = torch.ones(10)
    changed = w.clone()
    changed[3] = torch.nextafter(changed[3], torch.tensor(2.0))
    assert model_id({"w": w}) != model_id({"w": changed})


def test_model_id_distinguishes_dtype_with_equal_bytes():
    bits = torch.zeros(4, dtype=torch.int16)
    assert model_id({"w": bits}) != model_id({"w": bits.view(torch.bfloat16)})


def test_strip_prefixes_removes_ddp_and_compile_prefixes_only():
    sd = {"module._orig_mod.a.weight": 1, "unet._orig_mod.module.b": 2, "c": 3}
    assert strip_wrapper_prefixes(sd) == {"a.weight": 1, "unet.module.b": 2, "c": 3}


def test_strip_prefixes_rejects_keys_that_collide_once_stripped():
    with pytest.raises(WeightsError, match="twice"):
        strip_wrapper_prefixes({"module.a": 1, "a": 2})


def test_load_weights_names_missing_and_unexpected_keys():
    head = ResidualHead(3, 8)
    sd = dict(head.state_dict())
    sd["extra.weight"] = sd.pop("head.0.weight")
    with pytest.raises(WeightsError, match=r"missing 1 \(head\.0\.weight\); unexpected 1 \(extra\.weight\)"):
        load_weights(head, sd)


def test_load_weights_reports_shape_mismatch_even_when_not_strict():
    sd = ResidualHead(3, 16).state_dict()
    with pytest.raises(WeightsError, match=r"wrong shape 5 \(head\.0\.weight: file 16x3x3x3 vs model 8x3x3x3"):
        load_weights(ResidualHead(3, 8), sd, strict=False)


def test_param_count_matches_closed_form_for_residual_head():
    # convs 3->8, 8->8, 8->3 with 3x3 kernels and biases
    expected = (3 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 3 * 9 + 3)
    assert param_count(ResidualHead(3, 8, num_layers=3)) == expected


def test_param_count_can_skip_frozen_parameters():
    conv = nn.Conv2d(3, 8, 3)
    conv.bias.requires_grad_(False)
    assert param_count(conv, trainable_only=True) == 3 * 8 * 9


def test_forward_flops_of_a_convolution_matches_two_flops_per_multiply_add():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert forward_flops(conv, torch.zeros(1, 3, 16, 16)) == 2 * 3 * 9 * 8 * 16 * 16
