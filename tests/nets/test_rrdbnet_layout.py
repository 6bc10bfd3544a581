"""RRDBNet runs channels-last for speed without changing its values, names or output layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from srkit.nets.rrdbnet import NEGATIVE_SLOPE, RRDBNet


def _contiguous_forward(net: RRDBNet, x: torch.Tensor) -> torch.Tensor:
    """RRDBNet's computation on contiguous tensors and weights (the layout before the channels-last change)."""
    if net.unshuffle > 1:
        x = F.pixel_unshuffle(x, net.unshuffle)
    feat = net.conv_first(x.contiguous())
    feat = feat + net.conv_body(net.body(feat))
    for conv in (net.conv_up1, net.conv_up2):
        feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), NEGATIVE_SLOPE)
    return net.conv_last(F.leaky_relu(net.conv_hr(feat), NEGATIVE_SLOPE))


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_channels_last_rrdbnet_equals_the_contiguous_computation(scale: int) -> None:
    torch.manual_seed(0)
    net = RRDBNet(scale=scale, num_feat=16, num_block=2, num_grow_ch=8).eval()
    assert net.conv_first.weight.is_contiguous(memory_format=torch.channels_last)
    reference = RRDBNet(scale=scale, num_feat=16, num_block=2, num_grow_ch=8).eval()
    reference.to(memory_format=torch.contiguous_format)
    reference.load_state_dict(net.state_dict())
    x = torch.rand(2, 3, 16, 20)
    with torch.no_grad():
        ours, theirs = net(x), _contiguous_forward(reference, x)
    assert ours.is_contiguous() and ours.shape == (2, 3, 16 * scale, 20 * scale)
    assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-5)


def test_state_dict_names_are_unchanged() -> None:
    keys = list(RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).state_dict())
    assert keys[0] == "conv_first.weight" and "body.0.rdb1.conv1.weight" in keys and keys[-1] == "conv_last.bias"
