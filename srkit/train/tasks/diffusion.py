"""Stage-1 training of every diffusion recipe: the recipe's objective on (x0, y) pairs.

``x0`` is the HR crop and ``y`` the condition image (the same
:func:`srkit.model.condition.condition_image` inference uses: the bicubic
upsampling, or with a ``preprocess`` section the frozen preprocessor's output P),
both in [-1, 1]; in latent mode both are encoded by the frozen autoencoder named by
``recipe.autoencoder_weights``. With a preprocessor, the data crops are
``preprocess.train_margin`` pixels larger on every side; P is computed on the
whole degraded crop in one batched call and the margin is cut off ``x0`` and ``y``,
so the network trains on P as whole-image inference makes it; each such batch serves
``preprocess.train_reuse`` consecutive steps (fresh timesteps and noise each), which
keeps the preprocessor from dominating the step time. ``objective.perceptual``
adds an LPIPS term on the data estimate (:mod:`srkit.metrics.lpips_net`). The objective (eps/x0 regression, DREAM,
CCSR non-uniform timestep learning) comes from :func:`srkit.diffusion.build.build_objective`
and calls the network as often as its method says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor, nn

from srkit.diffusion.build import build_objective, build_process, build_sampler
from srkit.errors import UsageError
from srkit.io.checkpoints import load_state_into
from srkit.metrics.lpips_net import lpips_distance
from srkit.model import build_preprocessor, condition_image, model_from_modules
from srkit.nets.build import build_network
from srkit.recipes import Recipe
from srkit.train.data import TrainBatch
from srkit.train.seeding import Stream, derive_seed
from srkit.train.tasks.base import Logs, Task, freeze, prefixed, to_engine
from srkit.train.weights import load_prefixed_weights


def load_frozen_autoencoder(recipe: Recipe, device: torch.device) -> nn.Module:
    """The trained autoencoder of a latent-mode recipe (``recipe.autoencoder_weights``), frozen on ``device``."""
    if not recipe.autoencoder_weights:
        raise UsageError(f"recipe '{recipe.name}' runs in latent space: set autoencoder_weights to a checkpoint "
                         f"trained with `srkit train --recipe autoencoder`")
    autoencoder = build_network(recipe.autoencoder)
    weights = load_prefixed_weights(recipe.autoencoder_weights, "autoencoder", section="autoencoder",
                                    expected=recipe.to_dict()["autoencoder"], flag="autoencoder_weights")
    load_state_into(autoencoder, weights, source=recipe.autoencoder_weights)
    return freeze(autoencoder.to(device))


class DiffusionTask(Task):
    """Train the denoiser ``net`` with the recipe's objective (from scratch or from ``--init`` weights)."""

    label = "diffusion"

    def __init__(self, recipe: Recipe, device: torch.device, *, seed: int, init: str | Path | None = None) -> None:
        super().__init__(recipe, device)
        net = build_network(recipe.network, seed=derive_seed(seed, Stream.INIT))
        if init is not None:
            weights = load_prefixed_weights(init, "net", section="network", expected=recipe.to_dict()["network"], flag="--init")
            load_state_into(net, weights, source=init)
        self.net = net.to(device).train()
        self.process = build_process(recipe.process)
        perceptual = recipe.objective.perceptual
        distance = lpips_distance(perceptual.removeprefix("lpips-"), device) if perceptual != "none" else None
        sampler = build_sampler(recipe.sampler, self.process) if recipe.objective.rollout_p > 0 else None
        self.objective = build_objective(recipe.objective, self.process, distance, sampler)
        self.preprocess = None
        if recipe.preprocess is not None:
            self.preprocess = build_preprocessor(recipe.preprocess, device, cached=False)
            self.crop_margin = recipe.preprocess.train_margin
            self.batch_reuse = recipe.preprocess.train_reuse
        self._pair: tuple[TrainBatch, Tensor, Tensor] | None = None
        self.autoencoder = load_frozen_autoencoder(recipe, device) if recipe.mode == "latent" else None
        self.trainables = {"net": self.net}

    def learning_rates(self) -> dict[str, float]:
        return {"net": self.recipe.train.lr}

    def total_steps(self) -> int:
        return self.recipe.train.steps

    @torch.no_grad()
    def state_pair(self, lr: Tensor, hr: Tensor) -> tuple[Tensor, Tensor]:
        """``(x0, y)`` in the sampler's state space: pixels in [-1, 1], or their latents (``y``: the model layer's condition stage)."""
        x0, y = to_engine(hr), condition_image(lr, self.recipe.scale, self.preprocess)
        if m := self.crop_margin:
            x0, y = x0[..., m:-m, m:-m], y[..., m:-m, m:-m]
        if self.autoencoder is not None:
            x0, y = self.autoencoder.encode(x0), self.autoencoder.encode(y)
        return x0, y

    def loss(self, batch: TrainBatch, step: int, generator: torch.Generator) -> tuple[Tensor, Logs]:
        assert batch.lr is not None, "diffusion training needs LR inputs"
        if self._pair is not None and self._pair[0] is batch:  # a reused batch (batch_reuse): P is made once
            x0, y = self._pair[1:]
        else:
            x0, y = self.state_pair(batch.lr, batch.hr)
            self._pair = (batch, x0, y)
        loss, parts = self.objective(self.runner("net"), self.process, x0, y, generator)
        return loss, {"loss": loss.detach(), **{name: value.detach() for name, value in parts.items() if name != "loss"}}

    def checkpoint_tensors(self, averaged: Mapping[str, nn.Module], reference: TrainBatch) -> dict[str, Tensor]:
        tensors = prefixed("net", averaged["net"])
        if self.autoencoder is not None:
            tensors.update(prefixed("autoencoder", self.autoencoder))
        return tensors

    def validation_output(self, averaged: Mapping[str, nn.Module], lr: Tensor, hr: Tensor,
                          generator: torch.Generator) -> Tensor:
        model = model_from_modules(self.recipe, averaged["net"], self.autoencoder, preprocess=self.preprocess)
        return model.super_resolve(lr, generator=generator)[0]
