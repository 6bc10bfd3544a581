"""One adversarial update of a generator (decoder) and a PatchGAN discriminator, shared by two tasks.

Used by CCSR stage 2 (the decoder on frozen stage-1 outputs) and by the
autoencoder. Generator side: ``rec + w * L_G(D(fake))`` with VQGAN's adaptive
weight ``w = adv_weight * ||grad_L rec|| / (||grad_L L_G|| + 1e-4)`` on the
decoder's last layer ``L`` (Esser et al. 2021, eq. 7; the loss of the LDM VAE
that CCSR fine-tunes, CCSR Sec. 3.3). Discriminator side: ``L_D(D(real),
D(fake.detach()))``, hinge or non-saturating. The discriminator's parameters
are frozen while the generator's adversarial term is formed, so one backward
of the sum gives each network only its own gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from srkit.nets.losses import adaptive_adversarial_weight, discriminator_loss, generator_loss


def adversarial_losses(
    fake: Tensor,
    real: Tensor,
    rec_loss: Tensor,
    *,
    discriminator: nn.Module,
    runner: nn.Module,
    last_layer: Tensor,
    adv_weight: float,
    kind: str,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Generator and discriminator losses summed (``rec + w L_G + L_D``) and their parts for logging.

    ``discriminator`` is the raw module (its parameters are frozen for the
    generator term); ``runner`` is what to call (the module or its DDP wrapper).
    """
    discriminator.requires_grad_(False)
    try:
        g_adv = generator_loss(kind, runner(fake))
    finally:
        discriminator.requires_grad_(True)
    if torch.is_grad_enabled() and fake.requires_grad:
        weight = adv_weight * adaptive_adversarial_weight(rec_loss, g_adv, last_layer)
    else:
        weight = torch.zeros((), device=fake.device)
    d_loss = discriminator_loss(kind, runner(real), runner(fake.detach()))
    total = rec_loss + weight * g_adv + d_loss
    return total, {"g_adv": g_adv.detach(), "adv_weight": weight.detach(), "d_loss": d_loss.detach()}
