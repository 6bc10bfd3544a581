"""Training the factor-4 autoencoder of latent mode (``task: autoencoder`` recipes).

Loss of the LDM autoencoder (Rombach et al. 2022, App. G; its ``kl-f4``
configuration): ``L1(x_rec, x) + KL_WEIGHT * KL(q(z|x) || N(0, I))``, plus the
adaptive adversarial term of a PatchGAN (``recipe.discriminator``, see
:mod:`srkit.train.adversarial`) from ``DISC_START_FRACTION`` of the run on.
The saved checkpoint (kind ``srkit-autoencoder``, tensors ``autoencoder.*``)
holds the EMA weights with ``scale_factor`` calibrated to unit latent variance
on a fixed training batch (:meth:`Autoencoder.calibrate_scale`).
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from srkit.errors import UsageError
from srkit.nets.autoencoder import Autoencoder
from srkit.nets.build import build_network
from srkit.nets.losses import kl_loss, reconstruction_loss
from srkit.recipes import Recipe
from srkit.train.adversarial import adversarial_losses
from srkit.train.data import TrainBatch
from srkit.train.seeding import Stream, derive_seed
from srkit.train.tasks.base import Logs, Task, from_engine, prefixed, to_engine
from srkit.train.weights import AUTOENCODER_KIND

#: LDM ``kl-f4``: ``kl_weight: 1.0e-06``, ``disc_weight: 0.5``; the discriminator starts half-way.
KL_WEIGHT = 1e-6
ADV_WEIGHT = 0.5
DISC_START_FRACTION = 0.5
GAN_LOSS = "hinge"


class AutoencoderTask(Task):
    """Reconstruction (+ KL, + adversarial after the start step) training of ``recipe.network``."""

    label = "autoencoder"
    checkpoint_kind = AUTOENCODER_KIND
    needs_lr = False

    def __init__(self, recipe: Recipe, device: torch.device, *, seed: int) -> None:
        super().__init__(recipe, device)
        autoencoder = build_network(recipe.network, seed=derive_seed(seed, Stream.INIT))
        if not isinstance(autoencoder, Autoencoder):
            raise UsageError(f"recipe '{recipe.name}' has task: autoencoder but its network block is not kind: autoencoder")
        self.autoencoder = autoencoder.to(device).train()
        self.trainables = {"autoencoder": self.autoencoder}
        if recipe.discriminator is not None:
            discriminator = build_network(recipe.discriminator, seed=derive_seed(seed, Stream.INIT, 2))
            self.trainables["discriminator"] = discriminator.to(device).train()
        self.disc_start = int(DISC_START_FRACTION * recipe.train.steps)

    @property
    def averaged(self) -> tuple[str, ...]:
        return ("autoencoder",)

    def extra_state(self) -> dict[str, Any]:
        return {"disc_start": self.disc_start}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Keep the first run's discriminator start when a resumed run changes ``train.steps``."""
        self.disc_start = int(state.get("disc_start", self.disc_start))

    def learning_rates(self) -> dict[str, float]:
        return {name: self.recipe.train.lr for name in self.trainables}

    def total_steps(self) -> int:
        return self.recipe.train.steps

    def loss(self, batch: TrainBatch, step: int, generator: torch.Generator) -> tuple[Tensor, Logs]:
        x = to_engine(batch.hr)
        out = self.runner("autoencoder")(x, generator=generator)
        reconstruction = out.reconstruction[..., : x.shape[-2], : x.shape[-1]]
        rec = reconstruction_loss(reconstruction, x)
        kl = kl_loss(out.mean, out.logvar)
        nll = rec + KL_WEIGHT * kl
        logs: Logs = {"rec": rec.detach(), "kl": kl.detach()}
        if "discriminator" not in self.trainables or step < self.disc_start:
            return nll, {"loss": nll.detach(), **logs}
        total, parts = adversarial_losses(
            reconstruction, x, nll, discriminator=self.trainables["discriminator"], runner=self.runner("discriminator"),
            last_layer=self.autoencoder.decoder.last_layer_weight, adv_weight=ADV_WEIGHT, kind=GAN_LOSS,
        )
        return total, {"loss": (nll + parts["adv_weight"] * parts["g_adv"]).detach(), **logs, **parts}

    def checkpoint_tensors(self, averaged: Mapping[str, nn.Module], reference: TrainBatch) -> dict[str, Tensor]:
        calibrated = copy.deepcopy(averaged["autoencoder"])
        calibrated.calibrate_scale(to_engine(reference.hr))
        return prefixed("autoencoder", calibrated)

    @torch.no_grad()
    def validation_output(self, averaged: Mapping[str, nn.Module], lr: Tensor, hr: Tensor,
                          generator: torch.Generator) -> Tensor:
        autoencoder = averaged["autoencoder"]
        x = to_engine(hr)
        return from_engine(autoencoder.decode(autoencoder.encode(x))[..., : x.shape[-2], : x.shape[-1]])
