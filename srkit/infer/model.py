"""One trained SR model, ready to sample: :class:`SRModel`, :func:`load_model`, :func:`model_from_modules`.

The checkpoint layout (written by training with :func:`srkit.io.checkpoints.save_checkpoint`)
is one self-contained safetensors file: ``net.*`` (EMA weights of the denoiser),
optional ``decoder.*`` (CCSR stage 2) and ``autoencoder.*`` (latent mode), with
metadata ``kind="srkit-model"``, ``recipe`` (JSON of ``recipe.to_dict()``),
``model_id``, ``step``, ``params`` and ``srkit_version``.

Data flow of :meth:`SRModel.super_resolve` (docs/architecture.md conventions):
``lr`` in [0, 1] -> ``y`` = bicubic upsampling by ``recipe.scale``, mapped to
[-1, 1] -> (latent mode: ``y`` encoded) -> the recipe's sampler from a start
noise -> (latent mode: decoded) -> CCSR decoder head -> clamp -> [0, 1].
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import torch
from torch import Tensor, nn

from srkit.diffusion.build import BoundSampler, build_process, build_sampler
from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise
from srkit.errors import UsageError, WeightsError
from srkit.infer.resize import upsample_condition
from srkit.recipes import Recipe, SamplerConfig, recipe_from_mapping

MODEL_KIND = "srkit-model"
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

StepCallback = Callable[[dict[str, Any]], Any]


@dataclass
class SRModel:
    """A denoiser network with its process, optional autoencoder and CCSR decoder, on one device.

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

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        if self.precision == "fp32":
            yield
            return
        with torch.autocast(device_type=self.device.type, dtype=PRECISIONS[self.precision]):
            yield

    @torch.no_grad()
    def condition(self, lr: Tensor) -> Tensor:
        """``y`` in state space: the bicubic-upsampled LR in [-1, 1], encoded in latent mode."""
        y = upsample_condition(lr.to(self.device, torch.float32), self.scale) * 2.0 - 1.0
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
    ) -> tuple[Tensor, int]:
        """Run the sampler on ``lr`` (B,3,h,w in [0,1]); returns the x0 estimate in state space and the NFE.

        ``sampler``: a sampler built once per run (:meth:`sampler`), a config to
        bind now, or None for the recipe's. ``noise`` is the standard-normal start
        noise of shape :meth:`start_shape` (the process maps it to x_T; for VP it
        *is* x_T); ``generator`` drives every other random draw. Stage-1 output for
        CCSR stage-2 training.
        """
        bound = self._bound(sampler)
        y = self.condition(lr)
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
        state, nfe = self.sample_state(lr, sampler=sampler, noise=noise, generator=generator, callback=callback)
        image = self.decode_state(state, lr.shape[-2] * self.scale, lr.shape[-1] * self.scale)
        return (image + 1.0) * 0.5, nfe


# --- construction ----------------------------------------------------------------------------


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (CPU for a module with neither)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def check_precision(precision: str, device: torch.device) -> str:
    """``precision`` if it can run on ``device`` (fp16 is refused on CPU); a one-line UsageError otherwise."""
    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be fp32, bf16 or fp16, got '{precision}'")
    if precision == "fp16" and device.type == "cpu":
        raise UsageError("--precision fp16 is not supported on CPU (no fast half-precision convolutions); use fp32 or bf16")
    return precision


def _eval(module: nn.Module | None, device: torch.device) -> nn.Module | None:
    if module is None:
        return None
    module.to(device).eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def model_from_modules(
    recipe: Recipe,
    net: nn.Module,
    autoencoder: nn.Module | None = None,
    decoder: nn.Module | None = None,
    *,
    model_id: str = "in-memory",
    precision: str = "fp32",
) -> SRModel:
    """Wrap in-memory modules (e.g. training's EMA network) as an :class:`SRModel`.

    The modules are used as they are (same device, no copy); the caller keeps
    them in eval mode while sampling.
    """
    if recipe.mode == "latent" and autoencoder is None:
        raise UsageError(f"recipe '{recipe.name}' runs in latent space and needs its autoencoder")
    device = module_device(net)
    return SRModel(
        recipe=recipe,
        net=net,
        process=build_process(recipe.process),
        autoencoder=autoencoder if recipe.mode == "latent" else None,
        decoder=decoder,
        model_id=model_id,
        precision=check_precision(precision, device),
    )


def split_prefixed(tensors: Mapping[str, Tensor]) -> dict[str, dict[str, Tensor]]:
    """``{"net.a": t, "decoder.b": u}`` -> ``{"net": {"a": t}, "decoder": {"b": u}}``."""
    groups: dict[str, dict[str, Tensor]] = {}
    for name, tensor in tensors.items():
        head, _, rest = name.partition(".")
        groups.setdefault(head, {})[rest] = tensor
    return groups


def _stored_recipe(data: Mapping[str, Any], path: Path) -> Recipe | None:
    """The recipe saved in a checkpoint's metadata, or None when it holds none."""
    if not data:
        return None
    try:
        return recipe_from_mapping(data, source=str(path))
    except Exception as err:  # noqa: BLE001 - an old or foreign recipe: say which file
        raise WeightsError(f"checkpoint {path} holds a recipe this srkit cannot read ({err}); pass --recipe") from None


def _check_network_matches(recipe: Recipe, stored: Recipe | None, path: Path) -> None:
    if stored is None or stored.network == recipe.network:
        return
    raise WeightsError(
        f"weights {path} were trained with recipe '{stored.name}' whose network differs from recipe '{recipe.name}'; "
        f"drop --method/--recipe to use the checkpoint's own recipe"
    )


def _build(cfg: Any) -> nn.Module:
    from srkit.nets.build import build_network

    return build_network(cfg)


def _load_group(module: nn.Module, groups: dict[str, dict[str, Tensor]], name: str, path: Path) -> None:
    from srkit.io.checkpoints import load_state_into

    if name not in groups:
        raise WeightsError(f"checkpoint {path} has no '{name}.*' weights; is it an srkit model file?")
    load_state_into(module, groups[name], source=path)


def _autoencoder_for(recipe: Recipe, groups: dict[str, dict[str, Tensor]], path: Path) -> nn.Module:
    from srkit.io.checkpoints import load_checkpoint

    autoencoder = _build(recipe.autoencoder)
    if "autoencoder" in groups:
        _load_group(autoencoder, groups, "autoencoder", path)
        return autoencoder
    if not recipe.autoencoder_weights:
        raise WeightsError(f"latent model {path} holds no autoencoder weights and recipe '{recipe.name}' names no autoencoder_weights")
    ae_path = Path(recipe.autoencoder_weights)
    ae_tensors, _ = load_checkpoint(ae_path)
    ae_groups = split_prefixed(ae_tensors)
    _load_group(autoencoder, ae_groups, "autoencoder", ae_path)
    return autoencoder


def _decoder_for(recipe: Recipe, autoencoder: nn.Module | None, groups: dict[str, dict[str, Tensor]], path: Path) -> nn.Module | None:
    """The CCSR stage-2 decoder when the checkpoint holds ``decoder.*``: ResidualHead (pixel) or LatentDecoder."""
    if "decoder" not in groups:
        return None
    if autoencoder is not None:
        from srkit.nets.decoder_stage import LatentDecoder

        decoder: nn.Module = LatentDecoder(_build(recipe.autoencoder))
    elif recipe.decoder is not None:
        decoder = _build(recipe.decoder)
    else:
        raise WeightsError(f"checkpoint {path} holds decoder weights but recipe '{recipe.name}' has no decoder block")
    _load_group(decoder, groups, "decoder", path)
    return decoder


def resolve_weights_path(weights: str | Path | None, recipe: Recipe | None) -> Path:
    """``weights`` as a path, or the built-in checkpoint of ``recipe.name`` (one-line error if none is shipped)."""
    if weights is not None:
        return Path(weights)
    if recipe is None:
        raise UsageError("pass --weights FILE or a --method/--recipe whose built-in weights are shipped")
    from srkit.weights.builtin import builtin_weights_path

    return builtin_weights_path(recipe.name)


def load_model(
    weights: str | Path | None,
    *,
    recipe: Recipe | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
) -> SRModel:
    """Load an srkit model checkpoint onto ``device``.

    ``weights=None`` uses the built-in checkpoint of ``recipe.name`` together with
    the recipe stored in it (built-in models are CPU-sized variants of the method's
    recipe, ``recipes/builtin/``). Without ``recipe``, the recipe stored in the
    checkpoint is used (so ``--weights FILE`` alone works); with one, its network
    must equal the stored one.
    """
    from srkit.io.checkpoints import load_checkpoint

    device = torch.device(device)
    check_precision(precision, device)
    path = resolve_weights_path(weights, recipe)
    if weights is None:
        recipe = None
    tensors, meta = load_checkpoint(path)
    if meta.kind and meta.kind != MODEL_KIND:
        raise WeightsError(f"{path} is a '{meta.kind}' checkpoint, not an srkit model ({MODEL_KIND}); pass a model file from `srkit train`")
    stored = _stored_recipe(meta.recipe, path)
    if recipe is None:
        if stored is None:
            raise WeightsError(f"checkpoint {path} stores no recipe; pass --method or --recipe")
        recipe = stored
    _check_network_matches(recipe, stored, path)
    if recipe.task != "diffusion":
        raise UsageError(f"recipe '{recipe.name}' trains an autoencoder, not an SR model")

    groups = split_prefixed(tensors)
    net = _build(recipe.network)
    _load_group(net, groups, "net", path)
    autoencoder = _autoencoder_for(recipe, groups, path) if recipe.mode == "latent" else None
    decoder = _decoder_for(recipe, autoencoder, groups, path)
    model = model_from_modules(
        recipe,
        _eval(net, device),
        _eval(autoencoder, device),
        _eval(decoder, device),
        model_id=meta.model_id,
        precision=precision,
    )
    return dataclasses.replace(model, step=meta.step)


def model_tensors(model: SRModel) -> dict[str, Tensor]:
    """The checkpoint tensors of a model: ``net.*``, ``decoder.*``, ``autoencoder.*`` (for saving)."""
    out: dict[str, Tensor] = {}
    for prefix, module in (("net", model.net), ("decoder", model.decoder), ("autoencoder", model.autoencoder)):
        if module is not None:
            out.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
    return out

