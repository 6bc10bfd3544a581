"""CCSR stage 2 (CCSR Sec. 3.3): fine-tune the decoder adversarially on frozen stage-1 outputs.

Stage 1 (``--init STAGE1_CKPT``, frozen) runs the recipe's truncated CCSR
sampler under ``no_grad`` on the LR batch and returns its x0 estimate at
``t_min``; the decoder maps it to an image: in pixel mode a
:class:`~srkit.nets.decoder_stage.ResidualHead` (``recipe.decoder``, identity at
start), in latent mode the autoencoder's decoder (a trainable copy). Loss:
reconstruction (``stage2.rec_loss``) against the HR crop plus the adaptive
adversarial term of a PatchGAN (``recipe.discriminator``), see
:mod:`srkit.train.adversarial`. The checkpoint holds ``net.*`` (stage 1,
unchanged), ``decoder.*`` and, in latent mode, ``autoencoder.*``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srkit.errors import UsageError
from srkit.model import load_model, model_from_modules
from srkit.nets.build import build_network
from srkit.nets.decoder_stage import LatentDecoder
from srkit.recipes import Recipe
from srkit.train.adversarial import adversarial_losses
from srkit.train.data import TrainBatch
from srkit.train.seeding import Stream, derive_seed
from srkit.train.tasks.base import Logs, Task, freeze, prefixed, to_engine


class DecoderTask(Task):
    """Adversarial fine-tuning of the CCSR stage-2 decoder; stage 1 stays frozen."""

    label = "CCSR stage-2 decoder"

    def __init__(self, recipe: Recipe, device: torch.device, *, seed: int, init: str | Path | None) -> None:
        super().__init__(recipe, device)
        if recipe.stage2 is None or recipe.discriminator is None:
            raise UsageError(f"recipe '{recipe.name}' has no stage2/discriminator blocks; --stage 2 is for CCSR recipes")
        if init is None:
            raise UsageError("--stage 2 fine-tunes the decoder of a trained stage 1: pass --init STAGE1_CHECKPOINT")
        self.stage1 = load_model(init, recipe=recipe, device=device)
        freeze(self.stage1.net)
        if self.stage1.autoencoder is not None:
            self.decoder: nn.Module = LatentDecoder(copy.deepcopy(self.stage1.autoencoder))
        elif recipe.decoder is not None:
            self.decoder = build_network(recipe.decoder, seed=derive_seed(seed, Stream.INIT, 1))
        else:
            raise UsageError(f"recipe '{recipe.name}' has no decoder block for pixel-mode stage 2 (add `decoder: {{kind: residual_head}}`)")
        self.decoder.to(device).train().requires_grad_(True)
        discriminator = build_network(recipe.discriminator, seed=derive_seed(seed, Stream.INIT, 2))
        self.trainables = {"decoder": self.decoder, "discriminator": discriminator.to(device).train()}

    @property
    def averaged(self) -> tuple[str, ...]:
        return ("decoder",)

    def learning_rates(self) -> dict[str, float]:
        return {"decoder": self.recipe.stage2.lr, "discriminator": self.recipe.stage2.lr}

    def total_steps(self) -> int:
        return self.recipe.stage2.steps

    def loss(self, batch: TrainBatch, step: int, generator: torch.Generator) -> tuple[Tensor, Logs]:
        assert batch.lr is not None, "stage 2 needs LR inputs"
        cfg = self.recipe.stage2
        state, _ = self.stage1.sample_state(batch.lr, generator=generator)
        real = to_engine(batch.hr)
        fake = self.runner("decoder")(state)[..., : real.shape[-2], : real.shape[-1]]
        rec = F.l1_loss(fake, real) if cfg.rec_loss == "l1" else F.mse_loss(fake, real)
        total, parts = adversarial_losses(
            fake, real, rec, discriminator=self.trainables["discriminator"], runner=self.runner("discriminator"),
            last_layer=self.decoder.last_layer_weight, adv_weight=cfg.adv_weight, kind=cfg.gan_loss,
        )
        return total, {"loss": (rec + parts["adv_weight"] * parts["g_adv"]).detach(), "rec": rec.detach(), **parts}

    def checkpoint_tensors(self, averaged: Mapping[str, nn.Module], reference: TrainBatch) -> dict[str, Tensor]:
        tensors = {**prefixed("net", self.stage1.net), **prefixed("decoder", averaged["decoder"])}
        if self.stage1.autoencoder is not None:
            tensors.update(prefixed("autoencoder", self.stage1.autoencoder))
        return tensors

    def validation_output(self, averaged: Mapping[str, nn.Module], lr: Tensor, hr: Tensor,
                          generator: torch.Generator) -> Tensor:
        model = model_from_modules(self.recipe, self.stage1.net, self.stage1.autoencoder, averaged["decoder"])
        return model.super_resolve(lr, generator=generator)[0]

