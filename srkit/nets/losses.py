"""Losses for training the autoencoder and the CCSR stage-2 decoder.

Reconstruction (L1 plus an optional perceptual term), the KL term of the
autoencoder posterior, hinge and non-saturating GAN losses, and VQGAN's
adaptive adversarial weight. The perceptual term is a hook, not a dependency:
pass any ``perceptual(x_rec, x) -> loss`` callable (e.g. LPIPS, when its weights
are present offline); with ``None`` it is skipped. All losses are means over
elements, so their weights do not depend on image size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

from srkit.errors import UsageError

PerceptualFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
GanLossKind = Literal["hinge", "nonsaturating"]
GAN_LOSS_KINDS: tuple[str, ...] = ("hinge", "nonsaturating")


def reconstruction_loss(
    x_rec: torch.Tensor, x: torch.Tensor, perceptual: PerceptualFn | None = None, perceptual_weight: float = 1.0
) -> torch.Tensor:
    """``mean|x - x_rec| + perceptual_weight * mean(perceptual(x_rec, x))``."""
    loss = (x_rec - x).abs().mean()
    if perceptual is not None and perceptual_weight > 0:
        loss = loss + perceptual_weight * perceptual(x_rec, x).mean()
    return loss


def kl_loss(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, exp(logvar)) || N(0, 1))`` per element: ``0.5 * mean(mean^2 + var - 1 - logvar)``."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss (Lim & Ye 2017): ``0.5 * (E relu(1 - D(x)) + E relu(1 + D(G(z))))``."""
    return 0.5 * (F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean())


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss: ``-E D(G(z))``."""
    return -fake_logits.mean()


def nonsaturating_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator logistic loss (Goodfellow et al. 2014): ``0.5 * (E softplus(-D(x)) + E softplus(D(G(z))))``."""
    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())


def nonsaturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``E softplus(-D(G(z))) = -E log sigmoid(D(G(z)))``."""
    return F.softplus(-fake_logits).mean()


def _check_kind(kind: str) -> None:
    if kind not in GAN_LOSS_KINDS:
        raise UsageError(f"unknown GAN loss {kind!r}; choose one of {', '.join(GAN_LOSS_KINDS)}")


def discriminator_loss(kind: GanLossKind, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator loss of the chosen GAN objective."""
    _check_kind(kind)
    fn = hinge_d_loss if kind == "hinge" else nonsaturating_d_loss
    return fn(real_logits, fake_logits)


def generator_loss(kind: GanLossKind, fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss of the chosen GAN objective."""
    _check_kind(kind)
    return hinge_g_loss(fake_logits) if kind == "hinge" else nonsaturating_g_loss(fake_logits)


def adaptive_adversarial_weight(
    rec_loss: torch.Tensor,
    gan_loss: torch.Tensor,
    last_layer_weight: torch.Tensor,
    max_weight: float = 1e4,
    delta: float = 1e-4,
) -> torch.Tensor:
    """VQGAN's balance (Esser et al. 2021, Eq. 7): ``||grad_L rec|| / (||grad_L gan|| + delta)``.

    Gradients are taken with respect to the decoder's last layer ``L``; the
    result is clamped to ``[0, max_weight]`` and detached. Multiply it by the
    recipe's adversarial weight (and zero it before the discriminator starts).
    """
    rec_grad = torch.autograd.grad(rec_loss, last_layer_weight, retain_graph=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer_weight, retain_graph=True)[0]
    weight = rec_grad.norm() / (gan_grad.norm() + delta)
    return weight.clamp(0.0, max_weight).detach()
