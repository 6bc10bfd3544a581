"""The trained SR model as a pipeline of named stages: :class:`SRModel`.

Stages of :meth:`SRModel.super_resolve`, in order (docs/architecture.md, "the model layer"):

1. ``preprocess`` (optional): an LR restorer/upscaler whose output replaces the bicubic
   upsampling as the condition (e.g. Real-ESRGAN x4plus, DoSSR's RRDBNet);
2. ``condition``: ``y`` = that image (or the bicubic upsampling by ``recipe.scale``)
   in [-1, 1], encoded by the ``autoencoder`` in latent mode (:mod:`srkit.model.condition`);
3. ``sample``: the network with its process and objective (a :class:`~srkit.diffusion.denoiser.Denoiser`),
   walked back by a sampler built once per run, from a start noise;
4. ``decode``: the autoencoder's decoder in latent mode, then the CCSR decoder head, clamp;
5. ``color_fix`` (optional, by name): the output's colours matched to the condition image
   (the preprocessor's output P, or the bicubic upsampling), per tile.

Training uses the same ``condition`` stage (``srkit.train.tasks.diffusion``); released
models plug in beside this class by offering the same surface
(:class:`srkit.released.base.ReleasedPipeline`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

from srkit.diffusion.build import BoundSampler, build_sampler
from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise
from srkit.errors import UsageError
from srkit.model.color_fix import color_fix_by_name
from srkit.model.condition import Preprocessor, reference_image
from srkit.precision import precision_autocast
from srkit.recipes import Recipe, SamplerConfig

StepCallback = Callable[[dict[str, Any]], Any]


@dataclass
class SRModel:
    """A denoiser network with its process, optional preprocessor, autoencoder, CCSR decoder and colour fix.

    ``precision`` is ``fp32``, ``bf16`` or ``fp16``: weights stay float32 and
    the network runs under autocast in the lower precision (CUDA; bf16 also on
    CPU). ``model_id`` is the checkpoint's content hash.
    """

    recipe: Recipe
    net: nn.Module
    process: Any
    autoencoder: nn.Module | None = None
    decoder: nn.Module | None = None
    model_id: str = "in-memory"
    precision: str = "fp32"
    step: int = 0
    preprocess: Preprocessor | None = None
    color_fix: str = "none"

    @property
    def name(self) -> str:
        """The method's name (its recipe's)."""
        return self.recipe.name

    @property
    def stages(self) -> list[str]:
        """The names of the stages this model runs, in order (module docstring)."""
        return [name for name, present in (
            ("preprocess", self.preprocess is not None), ("condition", True), ("encode", self.autoencoder is not None),
            ("sample", True), ("decode", self.autoencoder is not None or self.decoder is not None),
            ("color_fix", self.color_fix != "none"),
        ) if present]

    @property
    def device(self) -> torch.device:
        return module_device(self.net)

    @property
    def scale(self) -> int:
        return int(self.recipe.scale)

    @property
    def latent_factor(self) -> int:
        """Spatial factor between the output image and the sampler's state (1 in pixel mode)."""
        return int(self.autoencoder.factor) if self.autoencoder is not None else 1

    @property
    def state_channels(self) -> int:
        if self.autoencoder is not None:
            return int(self.autoencoder.cfg.latent_channels)
        return int(getattr(self.recipe.network, "in_channels", 3))

    def state_size(self, out_height: int, out_width: int) -> tuple[int, int]:
        """Spatial size of the sampler's state for an output of ``out_height x out_width`` pixels."""
        f = self.latent_factor
        return math.ceil(out_height / f), math.ceil(out_width / f)

    def start_shape(self, lr_shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]:
        """Shape ``(B, C, H, W)`` of the start noise (x_T) for an LR batch of shape ``(B, 3, h, w)``."""
        batch, _, height, width = lr_shape
        return (int(batch), self.state_channels, *self.state_size(height * self.scale, width * self.scale))

    def sampler(self, cfg: SamplerConfig | None = None) -> BoundSampler:
        """``cfg`` (default: the recipe's sampler) bound and checked against this model's process."""
        return build_sampler(cfg if cfg is not None else self.recipe.sampler, self.process)

    def _bound(self, sampler: BoundSampler | SamplerConfig | None) -> BoundSampler:
        return sampler if isinstance(sampler, BoundSampler) else self.sampler(sampler)

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return precision_autocast(self.device, self.precision)

    @torch.no_grad()
    def reference(self, lr: Tensor) -> Tensor:
        """The condition image in [0, 1]-scale pixels: the preprocessor's output P, or the bicubic upsampling."""
        return reference_image(lr.to(self.device, torch.float32), self.scale, self.preprocess)

    @torch.no_grad()
    def condition(self, lr: Tensor, reference: Tensor | None = None) -> Tensor:
        """``y`` in state space: :meth:`reference` (or the one given) mapped to [-1, 1], encoded in latent mode."""
        y = (self.reference(lr) if reference is None else reference) * 2.0 - 1.0
        if self.autoencoder is None:
            return y
        with self._autocast():
            return self.autoencoder.encode(y).float()

    @torch.no_grad()
    def sample_state(
        self,
        lr: Tensor,
        *,
        sampler: BoundSampler | SamplerConfig | None = None,
        noise: Tensor | None = None,
        generator: Noise | None = None,
        callback: StepCallback | None = None,
        reference: Tensor | None = None,
    ) -> tuple[Tensor, int]:
        """Run the sampler on ``lr`` (B,3,h,w in [0,1]); returns the x0 estimate in state space and the NFE.

        ``sampler``: a sampler built once per run (:meth:`sampler`), a config to
        bind now, or None for the recipe's. ``noise`` is the standard-normal start
        noise of shape :meth:`start_shape` (the process maps it to x_T; for VP it
        *is* x_T); ``generator`` drives every other random draw. Stage-1 output for
        CCSR stage-2 training. ``reference``: :meth:`reference` of ``lr`` when already made.
        """
        bound = self._bound(sampler)
        y = self.condition(lr, reference)
        if noise is not None and tuple(noise.shape) != self.start_shape(lr.shape):
            raise UsageError(f"start noise has shape {tuple(noise.shape)}, this model needs {self.start_shape(lr.shape)}")
        denoiser = Denoiser(self.net, self.process, self.recipe.objective.prediction)
        with self._autocast():
            result = bound(denoiser, self.process, y, noise=noise, generator=generator, callback=callback)
        return result.x0.float(), int(result.nfe)

    @torch.no_grad()
    def decode_state(self, state: Tensor, out_height: int, out_width: int) -> Tensor:
        """State-space x0 -> image in [-1, 1] of ``out_height x out_width``: autoencoder/decoder, then the head.

        Pixel mode: ``decoder`` (the CCSR ResidualHead) if present. Latent mode:
        ``decoder`` (the fine-tuned autoencoder decoder) replaces
        ``autoencoder.decode``. The result is clamped to [-1, 1].
        """
        with self._autocast():
            if self.autoencoder is not None:
                decode = self.decoder if self.decoder is not None else self.autoencoder.decode
                image = decode(state)[..., :out_height, :out_width]
            else:
                image = self.decoder(state) if self.decoder is not None else state
        return image.float().clamp(-1.0, 1.0)

    @torch.no_grad()
    def super_resolve(
        self,
        lr: Tensor,
        *,
        sampler: BoundSampler | SamplerConfig | None = None,
        noise: Tensor | None = None,
        generator: Noise | None = None,
        callback: StepCallback | None = None,
    ) -> tuple[Tensor, int]:
        """``lr`` (B,3,h,w) in [0,1] -> (``sr`` (B,3,h*s,w*s) in [0,1], NFE)."""
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise UsageError(f"super_resolve expects an RGB batch (B, 3, h, w), got {tuple(lr.shape)}")
        reference = self.reference(lr)
        state, nfe = self.sample_state(
            lr, sampler=sampler, noise=noise, generator=generator, callback=callback, reference=reference
        )
        image = self.decode_state(state, lr.shape[-2] * self.scale, lr.shape[-1] * self.scale)
        sr = (image + 1.0) * 0.5
        fix = color_fix_by_name(self.color_fix)
        if fix is not None:
            sr = fix(sr, reference.clamp(0.0, 1.0))
        return sr, nfe




def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (CPU for a module with neither)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")
