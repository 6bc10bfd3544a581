import pytest
import torch

from srkit.nets.build import build_network
from srkit.nets.config import DiscriminatorConfig

from .helpers import randn


def test_patchgan_three_layers_gives_30x30_logits_for_256_input():
    d = build_network(DiscriminatorConfig(base_channels=8), seed=0).eval()
    with torch.no_grad():
        assert d(torch.zeros(2, 3, 256, 256)).shape == (2, 1, 30, 30)


def test_patchgan_three_layers_sees_a_70x70_patch():
    d = build_network(DiscriminatorConfig(base_channels=4, norm="none"), seed=0)
    x = torch.zeros(1, 3, 140, 140, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    rows = x.grad[0].abs().sum(dim=(0, 2)).nonzero()
    assert int(rows.max() - rows.min()) + 1 == 70


@pytest.mark.parametrize("norm", ["batch", "group", "spectral", "none"])
def test_patchgan_norm_variants_give_finite_logits_with_gradients(norm):
    d = build_network(DiscriminatorConfig(base_channels=8, num_layers=2, norm=norm), seed=0).train()
    d(randn(2, 3, 48, 48, seed=1)).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())
