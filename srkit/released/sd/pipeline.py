"""DoSSR, CCSR v1 and CCSR v2 as :class:`~srkit.released.base.ReleasedPipeline` objects.

:class:`SDNetworks` holds the converted modules and makes the official network calls
(ControlNet + UNet, VAE posterior, condition encoder, decode). The three pipelines add
each method's own preparation, sampler and colour fix:

| model | condition image | start | sampler | colour fix |
| --- | --- | --- | --- | --- |
| DoSSR | ``P = clamp(RRDBNet(lr))`` | VAE posterior sample of ``P`` (a draw) | official DoS-SDE | wavelet against ``P`` |
| CCSR v1 | bicubic x4 of ``lr`` | ``x_T`` (a draw) | tau jump + 15 DDPM steps, last x0 | AdaIN against the condition |
| CCSR v2 | bicubic x4 of ``lr`` | posterior sample, ``add_noise`` at 999 | one-step or truncated DDPM with CFG | AdaIN against the condition |

Sizes: CCSR v1 and v2 make their scripts' sizes by default (8-bit PIL resizes around the
sampler, :mod:`srkit.released.sd.sizes`; v1: x4, short side up to 512, multiples of 64, and
back; v2: short side up to 128, x4, multiples of 8, 8-bit round trips around the colour fix,
and back). DoSSR pads the output grid to a multiple of 64 (the official UNet's requirement;
its script resizes instead), and so does either CCSR with ``process_size: 0`` (CCSR v2: a
multiple of 8, as its script floors); their output is cropped back to ``scale`` times the input.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import srkit.released.sd.networks as nets
import srkit.released.sd.sizes as sizes  # noqa: PLR0402 (a package import would cycle through srkit.released.sd)
from srkit.degrade.bicubic import upsample_bicubic
from srkit.diffusion.noise import Noise, default_generator, randn_like
from srkit.errors import UsageError
from srkit.model.color_fix import adain_transfer, wavelet_reconstruction
from srkit.nets.rrdbnet import RRDBNet
from srkit.released.base import StepCallback
from srkit.released.sd.samplers import (
    CCSRv1Plan,
    DoSSRSchedule,
    check_dossr_order,
    check_truncation,
    sample_ccsr_v1,
    sample_ccsr_v2,
    sample_dossr_official,
)
from srkit.released.sd.tiled_diffusion import Window, latent_tile, tiled_prediction

SCALE_FACTOR = 0.18215  # SD's latent scale
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``auto``: fp16 on CUDA, fp32 elsewhere (the official scripts' choice); or the named precision."""
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be auto, {', '.join(PRECISIONS)}; got {precision!r}")
    return PRECISIONS[precision]


def _load(module: nn.Module, tensors: Mapping[str, Tensor], prefix: str) -> nn.Module:
    own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    module.load_state_dict(own, strict=True, assign=True)
    return module


class SDNetworks:
    """The converted networks of one model on one device/dtype, and the official calls into them."""

    def __init__(self, tensors: Mapping[str, Tensor], config: Mapping[str, Any], device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype, self.config = device, dtype, config
        build = {"unet": nets.build_unet, "controlnet": nets.build_controlnet, "vae": nets.build_vae, "cond_encoder": nets.ConditionEncoder}
        modules: dict[str, nn.Module] = {}
        for name, factory in build.items():
            if config.get(name):
                modules[name] = _load(nets.build_on_meta(factory, config[name]), tensors, name + ".")
        if config.get("rrdb"):
            with torch.device("meta"):
                rrdb = RRDBNet(**config["rrdb"])
            modules["rrdb"] = _load(rrdb, tensors, "rrdb.")
        for module in modules.values():
            nn.Module.to(module, device=device, dtype=dtype).eval().requires_grad_(False)  # plain cast, no diffusers warning
        self.unet, self.controlnet, self.vae = modules["unet"], modules["controlnet"], modules["vae"]
        self.cond_encoder, self.rrdb = modules.get("cond_encoder"), modules.get("rrdb")
        self.context = tensors["text.context"].to(device=device, dtype=dtype)
        negative = tensors.get("text.negative_context")
        self.negative_context = negative.to(device=device, dtype=dtype) if negative is not None else None
        self.concat_hint = config["controlnet"]["hint"] == nets.HINT_CONCAT
        self.nfe = 0

    def eps(self, x: Tensor, t: int, c: Tensor, context: Tensor) -> Tensor:
        """One ControlNet + UNet evaluation (``ControlLDM.apply_model``; control scale 1), counted as one NFE."""
        self.nfe += 1
        return self.forward(x, t, c, context)

    def forward(self, x: Tensor, t: int, c: Tensor, context: Tensor) -> Tensor:
        """The ControlNet + UNet call itself, uncounted (a tiled evaluation counts once for all its tiles)."""
        timestep = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        sample = torch.cat([x, c], dim=1) if self.concat_hint else x
        down, mid = self.controlnet(sample, timestep, encoder_hidden_states=context, controlnet_cond=c, return_dict=False)
        return self.unet(
            x, timestep, encoder_hidden_states=context,
            down_block_additional_residuals=down, mid_block_additional_residual=mid, return_dict=False,
        )[0]

    def condition_latent(self, image: Tensor) -> Tensor:
        """``cond_encoder(2 image - 1)`` mode, scaled (DoSSR, CCSR v1's ControlNet condition)."""
        assert self.cond_encoder is not None
        return SCALE_FACTOR * self.cond_encoder(2.0 * image - 1.0)

    def posterior(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance (clamped to [-30, 20]) of the VAE posterior of ``2 image - 1``."""
        dist = self.vae.encode(2.0 * image - 1.0).latent_dist
        return dist.mean, dist.logvar

    def posterior_sample(self, image: Tensor, noise: Tensor) -> Tensor:
        """``0.18215 (mean + std noise)``: the scaled posterior sample with the given standard normal draw."""
        mean, logvar = self.posterior(image)
        return SCALE_FACTOR * (mean + torch.exp(0.5 * logvar) * noise)

    def decode(self, latent: Tensor) -> Tensor:
        """``(decode(latent / 0.18215) + 1) / 2``: the image in about [0, 1], unclamped."""
        return (self.vae.decode(latent / SCALE_FACTOR, return_dict=False)[0] + 1.0) / 2.0

    def contexts(self, batch: int) -> Tensor:
        return self.context.expand(batch, -1, -1)


def _randint(generator: Noise) -> Tensor | None:
    """One official ``randint(999, 1000)`` draw from ``generator`` (a source without ``randint`` skips it)."""
    if isinstance(generator, torch.Generator):
        return torch.randint(999, 1000, (1,), generator=generator, device=generator.device)
    take = getattr(generator, "randint", None)
    return take(999, 1000, (1,)) if take is not None else None


def _padded(size: int, multiple: int) -> int:
    return math.ceil(size / multiple) * multiple


def pad_to(image: Tensor, multiple: int) -> Tensor:
    """Pad ``image`` at the bottom/right to multiples of ``multiple``: reflect where it can, else replicate."""
    h, w = image.shape[-2:]
    ph, pw = _padded(h, multiple) - h, _padded(w, multiple) - w
    if ph == 0 and pw == 0:
        return image
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(image, (0, pw, 0, ph), mode=mode)


class _Pipeline:
    """Shared surface: scale, latent factor, device, start shape, callbacks and the output crop.

    A pipeline's settings (a converted file's ``procedure``) are the keyword-only arguments of
    its constructors; :meth:`check_settings` validates them without building any network.
    """

    scale = 4
    #: pad the output grid so the UNet's levels divide the latent (False: only whole latent pixels)
    pad_for_unet = True

    @classmethod
    def settings(cls) -> dict[str, str]:
        """The names a ``procedure`` may set and their types (``int`` or ``float``), from the constructors'
        keyword-only arguments (``model_id`` and ``licence`` come from the file itself)."""
        names: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            for name, param in inspect.signature(init).parameters.items():
                if param.kind is param.KEYWORD_ONLY and name not in ("model_id", "licence"):
                    names.setdefault(name, str(param.annotation))
        return names

    @classmethod
    def check_settings(cls, procedure: Mapping[str, Any]) -> None:
        """Refuse a setting the pipeline does not have (naming the closest), a value of the wrong type
        or one it cannot run, in one line."""
        known = cls.settings()
        for name, value in procedure.items():
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UsageError(f"{cls.method} has no setting {name!r}{hint}; its settings: {', '.join(known)}")
            kinds = (int,) if known[name] == "int" else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise UsageError(f"{cls.method} setting {name!r} must be {'an integer' if kinds == (int,) else 'a number'}, got {value!r}")
        cls.check_values(**procedure)

    @classmethod
    def check_values(cls, **settings: Any) -> None:
        """One-line UsageError for a value the pipeline cannot run (the constructor runs the same checks)."""

    def __init__(self, nets_: SDNetworks, *, model_id: str, licence: str) -> None:
        self.nets = nets_
        self.model_id = model_id
        self.licence = licence
        self.latent_factor = 2 ** (len(nets_.config["vae"]["block_out_channels"]) - 1)  # 8 for SD's VAE
        unet_levels = len(nets_.config["unet"]["block_out_channels"])
        #: the output grid is padded to a multiple of this many pixels (64 for SD-2.1 with pad_for_unet)
        self.out_multiple = self.latent_factor * (2 ** (unet_levels - 1) if self.pad_for_unet else 1)

    @property
    def device(self) -> torch.device:
        return self.nets.device

    def start_shape(self, lr_shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]:
        batch, _, h, w = lr_shape
        f = self.latent_factor
        channels = int(self.nets.config["vae"]["latent_channels"])
        return (int(batch), channels, _padded(h * self.scale, self.out_multiple) // f, _padded(w * self.scale, self.out_multiple) // f)

    def _latent_shape(self, image: Tensor) -> tuple[int, ...]:
        f = self.latent_factor
        return (image.shape[0], int(self.nets.config["vae"]["latent_channels"]), image.shape[-2] // f, image.shape[-1] // f)

    def _check_lr(self, lr: Tensor) -> None:
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise UsageError(f"{self.model_id} takes RGB batches (B, 3, h, w), got shape {tuple(lr.shape)}")

    def _lr(self, lr: Tensor) -> Tensor:
        self._check_lr(lr)
        return pad_to(lr.to(device=self.device, dtype=self.nets.dtype), self.out_multiple // math.gcd(self.out_multiple, self.scale))

    def _bicubic(self, lr: Tensor) -> Tensor:
        """The padded LR upsampled x``scale`` (srkit's PIL-compatible bicubic, computed in fp32), in the model dtype."""
        return upsample_bicubic(self._lr(lr).float(), self.scale).clamp(0.0, 1.0).to(self.nets.dtype)

    def _crop(self, image: Tensor, lr: Tensor) -> Tensor:
        return image[..., : lr.shape[-2] * self.scale, : lr.shape[-1] * self.scale].clamp(0.0, 1.0).float()


class DoSSRPipeline(_Pipeline):
    """DoSSR (``scripts/inference.py: process``): RRDBNet, DoS-SDE of ``order`` in ``steps``, wavelet fix against P."""

    method = "DoSSR"

    def __init__(self, nets_: SDNetworks, *, steps: int, order: int, **kw: Any) -> None:
        super().__init__(nets_, **kw)
        self.check_values(order=order)
        self.schedule = DoSSRSchedule.official(steps)
        self.order = order

    @classmethod
    def check_values(cls, **settings: Any) -> None:
        if "steps" in settings:
            DoSSRSchedule.official(int(settings["steps"]))
        if "order" in settings:
            check_dossr_order(settings["order"])

    @torch.no_grad()
    def preprocess(self, lr: Tensor) -> Tensor:
        """``P = clamp(RRDBNet(lr), 0, 1)`` at 4x."""
        assert self.nets.rrdb is not None
        return self.nets.rrdb(lr).clamp(0.0, 1.0)

    @torch.no_grad()
    def super_resolve(
        self, lr: Tensor, *, noise: Tensor | None = None, generator: Noise | None = None, callback: StepCallback | None = None
    ) -> tuple[Tensor, int]:
        """Draws, in order: the posterior sample of P's latent, the start noise (or ``noise``), one per step."""
        start = self.nets.nfe
        image = self.sample_image(self._lr(lr), default_generator(generator), noise, callback)
        return self._crop(image, lr), self.nets.nfe - start

    @torch.no_grad()
    def sample_image(self, lr: Tensor, g: Noise, noise: Tensor | None = None, callback: StepCallback | None = None) -> Tensor:
        """The official ``process()`` on an LR batch whose size the UNet accepts: the colour-fixed image, unclamped."""
        P = self.preprocess(lr)
        c = self.nets.condition_latent(P)
        mean, logvar = self.nets.posterior(P)
        y = SCALE_FACTOR * (mean + torch.exp(0.5 * logvar) * randn_like(mean, g))
        context = self.nets.contexts(y.shape[0])
        x = sample_dossr_official(
            lambda x_, t: self.nets.eps(x_, t, c, context), y, self.schedule, order=self.order,
            draw=lambda like: randn_like(like, g), start_noise=noise, on_step=callback,
        )
        return wavelet_reconstruction(self.nets.decode(x).float(), P.float())


class _ScriptSizedPipeline(_Pipeline):
    """A CCSR pipeline that makes its script's image sizes when ``process_size`` > 0 (:mod:`srkit.released.sd.sizes`).

    It then samples at its control image's size, not at ``scale`` times the LR, so its
    start noise is not cut from a position-keyed field (``position_keyed`` is False).
    ``process_size=0`` keeps srkit's padded float path at ``scale`` times the LR.

    ``tile_diffusion`` (0: off, as the scripts by default; their ``--tile_diffusion`` uses
    512) makes every network evaluation window by window on the latent, ``tile_stride`` (256)
    image pixels apart, as the scripts' tiled diffusion (:mod:`srkit.released.sd.tiled_diffusion`).
    """

    method = ""

    def __init__(self, nets_: SDNetworks, *, process_size: int, tile_diffusion: int = 0, tile_stride: int = 256, **kw: Any) -> None:
        super().__init__(nets_, **kw)
        self.check_values(process_size=process_size, tile_diffusion=tile_diffusion, tile_stride=tile_stride)
        self.process_size = int(process_size)
        self.tile_diffusion, self.tile_stride = int(tile_diffusion), int(tile_stride)

    @classmethod
    def check_values(cls, **settings: Any) -> None:
        if settings.get("process_size", 0) < 0:
            raise UsageError(f"{cls.method} process_size must be >= 0 (0: no resizing), got {settings['process_size']}")
        tile, stride = settings.get("tile_diffusion", 0), settings.get("tile_stride", 256)
        if tile < 0 or (tile and not 0 < stride <= tile):
            raise UsageError(f"{cls.method} tile_diffusion must be 0 (off) or a tile size with 0 < tile_stride <= it, got {tile} and {stride}")

    @property
    def tiles_internally(self) -> bool:
        """With ``tile_diffusion`` the pipeline tiles its own latent, so ``--tile auto`` gives it the whole image."""
        return bool(self.tile_diffusion)

    def _net(self, x: Tensor, t: int, context: Tensor, condition: Callable[[Window], Tensor], whole: Tensor | None) -> Tensor:
        """One counted ControlNet + UNet evaluation: on ``whole`` (the condition of the whole latent), or with
        ``tile_diffusion`` window by window with ``condition(window)`` (:func:`tiled_prediction`)."""
        if not self.tile_diffusion:
            assert whole is not None
            return self.nets.eps(x, t, whole, context)
        self.nets.nfe += 1
        f = self.latent_factor
        return tiled_prediction(
            lambda x_, window: self.nets.forward(x_, t, condition(window), context), x,
            latent_tile(self.tile_diffusion, f), latent_tile(self.tile_stride, f),
        )

    @property
    def position_keyed(self) -> bool:
        """False when the script's sizes resize the input (its state grid is the control image's)."""
        return not self.process_size

    def control_size(self, height: int, width: int) -> tuple[int, int]:
        """Height and width of the control image for an LR of ``height x width`` (``process_size`` > 0)."""
        raise NotImplementedError

    def start_shape(self, lr_shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]:
        if not self.process_size:
            return super().start_shape(lr_shape)
        batch, _, h, w = lr_shape
        hc, wc = self.control_size(int(h), int(w))
        f = self.latent_factor
        return (int(batch), int(self.nets.config["vae"]["latent_channels"]), hc // f, wc // f)


class CCSRv1Pipeline(_ScriptSizedPipeline):
    """CCSR v1 (``inference_ccsr.py: process``): bicubic x4 condition, tau jump + DDPM steps, AdaIN fix.

    ``process_size`` (official: 512) makes the script's sizes (:mod:`srkit.released.sd.sizes`):
    8-bit PIL bicubic x4, upsized until the short side reaches ``process_size``, Lanczos to
    multiples of 64, and the output Lanczos-resized back. ``process_size=0`` runs at x4 size
    instead, padded to multiples of 64, on float tensors throughout.

    ``tile_diffusion`` > 0 runs the tiled script instead (``inference_ccsr_tile.py
    --tile_diffusion``, ``sample_with_tile_ccsr``): the short side is upsized to at least
    ``tile_diffusion``, the sides rounded *up* to the next multiple of 64 (one more 64 when
    already a multiple); every evaluation is made window by window, each window's condition
    encoded from its own pixels; and there is no unused draw before the re-noise.
    """

    method = "CCSR v1"

    def __init__(self, nets_: SDNetworks, *, steps: int, t_max: float, t_min: float, process_size: int = 512, **kw: Any) -> None:
        super().__init__(nets_, process_size=process_size, **kw)
        self.plan = CCSRv1Plan.official(steps, t_max, t_min)

    @classmethod
    def check_values(cls, **settings: Any) -> None:
        super().check_values(**settings)
        if {"steps", "t_max", "t_min"} <= set(settings):  # the plan checks them (the constructor builds it)
            CCSRv1Plan.official(int(settings["steps"]), float(settings["t_max"]), float(settings["t_min"]))

    def control_size(self, height: int, width: int) -> tuple[int, int]:
        if self.tile_diffusion:
            return sizes.v1_control_size(height, width, self.scale, self.tile_diffusion, tiled=True)
        return sizes.v1_control_size(height, width, self.scale, self.process_size)

    @torch.no_grad()
    def super_resolve(
        self, lr: Tensor, *, noise: Tensor | None = None, generator: Noise | None = None, callback: StepCallback | None = None
    ) -> tuple[Tensor, int]:
        """Draws, in order: ``x_T`` (or ``noise``), the unused draw, the re-noise, one per DDPM step."""
        start = self.nets.nfe
        if not self.process_size:
            control = self._bicubic(lr)
            image = self.sample_image(control, default_generator(generator), noise, callback)
            return self._crop(image, lr), self.nets.nfe - start
        self._check_lr(lr)
        short = self.tile_diffusion or self.process_size
        control = sizes.v1_control_image(lr.to(self.device), self.scale, short, tiled=bool(self.tile_diffusion)).to(self.nets.dtype)
        image = self.sample_image(control, default_generator(generator), noise, callback)
        height, width = sizes.v1_upscaled_size(lr.shape[-2], lr.shape[-1], self.scale)
        return sizes.v1_output_image(image, height, width).to(self.device), self.nets.nfe - start

    @torch.no_grad()
    def sample_image(self, control: Tensor, g: Noise, noise: Tensor | None = None, callback: StepCallback | None = None) -> Tensor:
        """The official ``process()`` on a control image (x4 size, multiple of 64): the colour-fixed image, unclamped."""
        shape = self._latent_shape(control)
        x_T = randn_like(control.new_empty(shape), g) if noise is None else noise.to(control)
        c = None if self.tile_diffusion else self.nets.condition_latent(control)
        context = self.nets.contexts(x_T.shape[0])
        window_conditions: dict[Window, Tensor] = {}

        def condition(window: Window) -> Tensor:  # the tiled script encodes each window's own pixels
            if window not in window_conditions:
                f = self.latent_factor
                top, bottom, left, right = window
                window_conditions[window] = self.nets.condition_latent(control[..., top * f : bottom * f, left * f : right * f])
            return window_conditions[window]

        x0 = sample_ccsr_v1(
            lambda x_, t: self._net(x_, t, context, condition, c), x_T, self.plan,
            draw=lambda like: randn_like(like, g), on_step=callback, unused_draw=not self.tile_diffusion,
        )
        return adain_transfer(self.nets.decode(x0).float(), control.float())


class CCSRv2Pipeline(_ScriptSizedPipeline):
    """CCSR v2 (``test_ccsr_tile.py`` with ``start_point lr``): bicubic x4, truncated DDPM with CFG, AdaIN fix.

    ``process_size`` (official: 512) makes the script's sizes (:mod:`srkit.released.sd.sizes`):
    an LR with a side below ``process_size / 4`` is bicubic-upsized so that its short side is
    that, then 8-bit PIL bicubic x4 and floored to multiples of 8; the output is rounded to
    8 bits, AdaIN-fixed, truncated to 8 bits and bicubic-resized to x4. ``process_size=0``
    runs at x4 size instead, padded to multiples of 8, on float tensors throughout. With
    ``tile_diffusion`` each window's condition is the crop of the condition latent.
    """

    pad_for_unet = False
    method = "CCSR v2"

    def __init__(
        self, nets_: SDNetworks, *, steps: int, t_max: float, t_min: float, guidance: float, process_size: int = 512, **kw: Any,
    ) -> None:
        super().__init__(nets_, process_size=process_size, **kw)
        self.check_values(steps=steps, t_max=t_max, t_min=t_min)
        self.steps, self.t_max, self.t_min, self.guidance = steps, t_max, t_min, guidance
        if guidance != 1.0 and nets_.negative_context is None:
            raise UsageError("CCSR v2 with guidance needs the negative prompt's context in the checkpoint")

    @classmethod
    def check_values(cls, **settings: Any) -> None:
        super().check_values(**settings)
        if settings.get("steps", 1) < 1:
            raise UsageError(f"CCSR v2 needs at least 1 step, got {settings['steps']}")
        if {"t_max", "t_min"} <= set(settings):
            check_truncation(settings["t_max"], settings["t_min"])

    def control_size(self, height: int, width: int) -> tuple[int, int]:
        return sizes.v2_control_size(height, width, self.scale, self.process_size)

    def _cropped(self, x: Tensor, t: int, c: Tensor, context: Tensor) -> Tensor:
        return self._net(x, t, context, lambda w: c[..., w[0]:w[1], w[2]:w[3]], c)

    def _eps(self, x: Tensor, t: int, c: Tensor, cfg: bool) -> Tensor:
        """ControlNet + UNet at ``t``; with ``cfg`` (and guidance on), ``eps_u + w (eps_c - eps_u)``.

        Without ``cfg`` the official pipeline takes the first half of its condition batches,
        so when guidance is on, the initial step at t = 999 sees the *negative* prompt.
        """
        batch = x.shape[0]
        if self.guidance == 1.0:
            return self._cropped(x, t, c[:batch], self.nets.contexts(batch))
        assert self.nets.negative_context is not None
        negative = self.nets.negative_context.expand(batch, -1, -1)
        if not cfg:
            return self._cropped(x, t, c[:batch], negative)
        context = torch.cat([negative, self.nets.contexts(batch)])
        eps_u, eps_c = self._cropped(torch.cat([x, x]), t, c, context).chunk(2)
        return eps_u + self.guidance * (eps_c - eps_u)

    @torch.no_grad()
    def super_resolve(
        self, lr: Tensor, *, noise: Tensor | None = None, generator: Noise | None = None, callback: StepCallback | None = None
    ) -> tuple[Tensor, int]:
        """Draws, in order: the start noise (or ``noise``), the posterior sample (twice the batch under CFG),
        two ``randint``, the tau re-noise, then one per DDPM step."""
        start = self.nets.nfe
        if not self.process_size:
            control = self._bicubic(lr)
            image = adain_transfer(self.sample_latent_image(control, default_generator(generator), noise, callback).float(), control.float())
            return self._crop(image, lr), self.nets.nfe - start
        self._check_lr(lr)
        control = sizes.v2_control_image(lr.to(self.device), self.scale, self.process_size).to(self.nets.dtype)
        decoded = self.sample_latent_image(control, default_generator(generator), noise, callback)
        height, width = lr.shape[-2] * self.scale, lr.shape[-1] * self.scale
        return sizes.v2_output_image(decoded, control, height, width).to(self.device), self.nets.nfe - start

    @torch.no_grad()
    def sample_latent_image(self, control: Tensor, g: Noise, noise: Tensor | None = None, callback: StepCallback | None = None) -> Tensor:
        """The official pipeline on a control image (x4 size, multiple of 8): the decoded image in [0, 1], before the colour fix."""
        shape = self._latent_shape(control)
        start_noise = randn_like(control.new_empty(shape), g) if noise is None else noise.to(control)
        cfg = self.guidance != 1.0
        image_in = torch.cat([control, control]) if cfg else control
        mean, logvar = self.nets.posterior(image_in)
        c = SCALE_FACTOR * (mean + torch.exp(0.5 * logvar) * randn_like(mean, g))
        x0 = sample_ccsr_v2(
            lambda x_, t, use_cfg: self._eps(x_, t, c, use_cfg), c, start_noise, steps=self.steps, t_max=self.t_max,
            t_min=self.t_min, draw=lambda like: randn_like(like, g), randint=lambda: _randint(g), on_step=callback,
        )
        return self.nets.decode(x0).clamp(0.0, 1.0)
