"""Loading models: srkit checkpoints into an :class:`~srkit.model.sr_model.SRModel`, released ones into their pipelines.

The checkpoint layout (written by training with :func:`srkit.io.checkpoints.save_checkpoint`)
is one self-contained safetensors file: ``net.*`` (EMA weights of the denoiser),
optional ``decoder.*`` (CCSR stage 2) and ``autoencoder.*`` (latent mode), with
metadata ``kind="srkit-model"``, ``recipe`` (JSON of ``recipe.to_dict()``),
``model_id``, ``step``, ``params`` and ``srkit_version``. A checkpoint of kind
``"srkit-released"`` (a converted official model, :mod:`srkit.released.base`) is
handed to ``srkit.released.registry.load_released``, which returns an object with
the :class:`~srkit.released.base.ReleasedPipeline` surface.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from srkit.diffusion.build import build_process
from srkit.errors import UsageError, WeightsError
from srkit.io.checkpoints import CheckpointMeta, load_checkpoint, load_state_into
from srkit.model.condition import Preprocessor
from srkit.model.preprocessors import build_preprocessor
from srkit.model.sr_model import SRModel, module_device
from srkit.precision import check_precision
from srkit.nets.build import build_network
from srkit.nets.decoder_stage import LatentDecoder
from srkit.recipes import Recipe, recipe_from_mapping
from srkit.released.base import RELEASED_KIND, ReleasedPipeline
from srkit.weights.builtin import builtin_weights_for, is_user_recipe

MODEL_KIND = "srkit-model"


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
    preprocess: Preprocessor | None = None,
) -> SRModel:
    """Wrap in-memory modules (e.g. training's EMA network) as an :class:`SRModel`.

    The modules are used as they are (same device, no copy); the caller keeps
    them in eval mode while sampling. A recipe with a ``preprocess`` section gets
    ``preprocess`` (e.g. training's frozen one) or, when None, its referenced
    weights loaded on the network's device; the colour fix is the recipe's.
    """
    if recipe.mode == "latent" and autoencoder is None:
        raise UsageError(f"recipe '{recipe.name}' runs in latent space and needs its autoencoder")
    device = module_device(net)
    check_precision(precision, device)
    if recipe.preprocess is not None and preprocess is None:
        preprocess = build_preprocessor(recipe.preprocess, device, precision)
    return SRModel(
        recipe=recipe,
        net=net,
        process=build_process(recipe.process),
        autoencoder=autoencoder if recipe.mode == "latent" else None,
        decoder=decoder,
        model_id=model_id,
        precision=precision,
        preprocess=preprocess,
        color_fix=recipe.color_fix,
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
        raise WeightsError(f"checkpoint {path} holds a recipe this srkit cannot read ({err}); name the recipe to use") from None


def _check_network_matches(recipe: Recipe, stored: Recipe | None, path: Path) -> None:
    if stored is None or stored.network == recipe.network:
        return
    raise WeightsError(
        f"weights {path} were trained with recipe '{stored.name}' whose network differs from recipe '{recipe.name}'; "
        f"name no recipe to use the checkpoint's own"
    )


def _build(cfg: Any) -> nn.Module:
    return build_network(cfg)


def _load_group(module: nn.Module, groups: dict[str, dict[str, Tensor]], name: str, path: Path) -> None:
    if name not in groups:
        raise WeightsError(f"checkpoint {path} has no '{name}.*' weights; is it an srkit model file?")
    load_state_into(module, groups[name], source=path)


def _autoencoder_for(recipe: Recipe, groups: dict[str, dict[str, Tensor]], path: Path) -> nn.Module:
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
        raise UsageError("no weights given, and no recipe whose built-in weights could be used")
    return builtin_weights_for(recipe)  # a user recipe extending a built-in one uses its weights


def load_model(
    weights: str | Path | None,
    *,
    recipe: Recipe | None = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
) -> "SRModel | ReleasedPipeline":
    """Load an srkit model checkpoint onto ``device`` (a released checkpoint loads as its pipeline).

    ``weights=None`` uses the built-in checkpoint of ``recipe.name`` together with
    the recipe stored in it (built-in models are CPU-sized variants of the method's
    recipe, ``recipes/builtin/``). Without ``recipe``, the recipe stored in the
    checkpoint is used (so ``--weights FILE`` alone works); with one, its network
    must equal the stored one.
    """
    device = torch.device(device)
    check_precision(precision, device)
    path = resolve_weights_path(weights, recipe)
    if weights is None and not is_user_recipe(recipe):  # a user's recipe on built-in weights is used as written
        recipe = None
    tensors, meta = load_checkpoint(path)
    if meta.kind == RELEASED_KIND:
        return _load_released(tensors, meta, path, recipe, device, precision)
    if meta.kind and meta.kind != MODEL_KIND:
        raise WeightsError(f"{path} is a '{meta.kind}' checkpoint, not an srkit model ({MODEL_KIND}); pass a model file from `srkit train`")
    stored = _stored_recipe(meta.recipe, path)
    if recipe is None:
        if stored is None:
            raise WeightsError(f"checkpoint {path} stores no recipe; name the recipe it was trained with")
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



def _load_released(
    tensors: dict[str, Tensor], meta: CheckpointMeta, path: Path, recipe: Recipe | None, device: torch.device, precision: str
) -> ReleasedPipeline:
    """A converted official checkpoint (``kind = "srkit-released"``): its family's loader builds the pipeline."""
    if recipe is not None:
        raise WeightsError(f"{path} is a released model with its own architecture; it takes no srkit recipe")
    from srkit.released.registry import (
        load_released,  # the family registry imports every family: only when needed
    )

    return load_released(tensors, meta, device=device, precision=precision)
