"""Official DoSSR / CCSR state dicts -> srkit tensors (``unet.``, ``controlnet.``, ``vae.``, ...) and configs.

Source layouts:

- DoSSR and CCSR v1 (one Lightning pickle of the whole ``ControlLDM``):
  ``model.diffusion_model.*`` (UNet), ``control_model.*`` (ControlNet), ``first_stage_model.*``
  (VAE), ``cond_encoder.*`` (encoder + quant_conv copy), DoSSR's ``preprocess_model.*``
  (RRDBNet), ``cond_stage_model.*`` (OpenCLIP text tower: read to bake the prompt context,
  not stored), the schedule buffers (ignored; ``alphas_cumprod`` is checked) and CCSR v1's
  ``decoder_loss.*`` (training losses, ignored).
- CCSR v2 (diffusers folders): ``controlnet.*``, ``unet.*``, ``vae.*`` and optionally
  ``text_encoder.*`` (a transformers ``CLIPTextModel``), each under the folder's role.

Target names: ``unet.*``, ``controlnet.*``, ``vae.*`` (diffusers names), ``cond_encoder.*``
(:class:`~srkit.released.sd.networks.ConditionEncoder`), ``rrdb.*`` (BasicSR names) and
``text.context`` / ``text.negative_context`` (the baked prompt contexts, 1 x 77 x C).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers.loaders.single_file_utils import (
    convert_controlnet_checkpoint,
    convert_ldm_unet_checkpoint,
    convert_ldm_vae_checkpoint,
)
from safetensors import safe_open
from torch import Tensor

from srkit.errors import InputError, WeightsError
from srkit.nets.rrdbnet import RRDBNet
import srkit.released.sd.networks as nets
from srkit.released.sd.keymap import (
    RenamePlan,
    apply_plan,
    check_all_consumed,
    identity_plan,
    nearest,
    prefixed,
    trace_renames,
)
from srkit.released.sd.schedules import sd_alphas_cumprod

UNET_SRC, CONTROL_SRC, VAE_SRC, COND_SRC, RRDB_SRC, TEXT_SRC = (
    "model.diffusion_model.", "control_model.", "first_stage_model.", "cond_encoder.", "preprocess_model.", "cond_stage_model.",
)
#: ``ControlLDM`` schedule buffers (top-level keys) and their CCSR ``*_inter`` variants: recomputed, never read.
SCHEDULE_BUFFERS = frozenset({
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
    "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar", "lambdas", "one_minus_lambdas",
})
TRAINING_ONLY = ("decoder_loss.",)  # CCSR v1 stage-2 LPIPS + discriminator


def is_schedule_buffer(key: str) -> bool:
    return "." not in key and (key in SCHEDULE_BUFFERS or (key.endswith("_inter") and key[: -len("_inter")] in SCHEDULE_BUFFERS))


_WRAPPER_PREFIX = re.compile(r"^(module\.|_orig_mod\.)+")


def unwrapped_key(key: str) -> str:
    """``key`` without the ``module.`` / ``_orig_mod.`` prefixes that DDP or ``torch.compile`` add."""
    return _WRAPPER_PREFIX.sub("", key)


def strip_wrappers(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {unwrapped_key(k): v for k, v in state.items()}


def shapes_of(state: Mapping[str, Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def _under(shapes: Mapping[str, tuple[int, ...]], prefix: str) -> dict[str, tuple[int, ...]]:
    return {k: s for k, s in shapes.items() if k.startswith(prefix)}


def _vae_converter_config(vae: Mapping[str, Any]) -> dict[str, Any]:
    levels = len(vae["block_out_channels"])
    return {"down_block_types": ["DownEncoderBlock2D"] * levels, "up_block_types": ["UpDecoderBlock2D"] * levels}


def _cond_encoder_plan(shapes: Mapping[str, tuple[int, ...]], vae: Mapping[str, Any]) -> RenamePlan:
    """``cond_encoder.{encoder,quant_conv}.*`` through the VAE converter, as if it were the VAE's encoder."""
    as_vae = {VAE_SRC + k[len(COND_SRC):]: k for k in shapes if k.startswith(COND_SRC)}
    plan = trace_renames({k: shapes[s] for k, s in as_vae.items()}, lambda tags: convert_ldm_vae_checkpoint(tags, _vae_converter_config(vae)))
    return RenamePlan({"cond_encoder." + t: as_vae[s] for t, s in plan.renames.items()})


def _targets(config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every tensor the srkit modules of ``config`` hold, with its shape (built on the meta device)."""
    shapes: dict[str, tuple[int, ...]] = {}
    parts = [("unet.", nets.build_unet, "unet"), ("controlnet.", nets.build_controlnet, "controlnet"), ("vae.", nets.build_vae, "vae")]
    if config.get("cond_encoder"):
        parts.append(("cond_encoder.", nets.ConditionEncoder, "cond_encoder"))
    for prefix, factory, name in parts:
        shapes.update({prefix + k: s for k, s in nets.state_shapes(nets.build_on_meta(factory, config[name])).items()})
    if config.get("rrdb"):
        with torch.device("meta"):
            rrdb = RRDBNet(**config["rrdb"])
        shapes.update({"rrdb." + k: s for k, s in nets.state_shapes(rrdb).items()})
    return shapes


def rrdb_config(shapes: Mapping[str, tuple[int, ...]], prefix: str) -> dict[str, Any]:
    """RRDBNet sizes from BasicSR-named shapes (x4, RGB in and out)."""
    first = shapes.get(prefix + "conv_first.weight")
    grow = shapes.get(prefix + "body.0.rdb1.conv1.weight")
    if first is None or grow is None:
        raise WeightsError(f"{prefix.rstrip('.')}: RRDBNet weights conv_first / body.0.rdb1.conv1 are missing")
    blocks = len({k.split(".")[2] for k in shapes if k.startswith(prefix + "body.")})
    return {"num_in_ch": first[1], "num_out_ch": shapes[prefix + "conv_last.weight"][0], "scale": 4,
            "num_feat": first[0], "num_block": blocks, "num_grow_ch": grow[0]}


def check_schedule(state: Mapping[str, Tensor]) -> None:
    """The checkpoint's ``alphas_cumprod`` buffer, if present, must be SD-2.1's (the samplers recompute it)."""
    if "alphas_cumprod" in state:
        stored = state["alphas_cumprod"].double().numpy()
        if stored.shape != (1000,) or not np.allclose(stored, sd_alphas_cumprod(), rtol=1e-5, atol=1e-7):
            raise WeightsError("the checkpoint's alphas_cumprod is not SD-2.1's linear schedule; it is not a DoSSR/CCSR v1 model")


def convert_controlldm(
    state: Mapping[str, Tensor], *, heads: Sequence[int] | None, preprocessor: bool, what: str
) -> tuple[dict[str, Tensor], dict[str, Any], tuple[str, ...]]:
    """Tensors, network configs and ignored keys of a DoSSR (``preprocessor``) or CCSR v1 ``ControlLDM``."""
    shapes = shapes_of(state)
    config: dict[str, Any] = {
        "unet": nets.ldm_unet_config(shapes, UNET_SRC, heads),
        "controlnet": nets.ldm_unet_config(shapes, CONTROL_SRC, heads, controlnet=True),
        "vae": nets.vae_config(shapes, VAE_SRC, "ldm"),
        "cond_encoder": None,
        "rrdb": rrdb_config(shapes, RRDB_SRC) if preprocessor else None,
    }
    vae = config["vae"]
    config["cond_encoder"] = {k: vae[k] for k in ("in_channels", "block_out_channels", "layers_per_block", "latent_channels")}
    config["cond_encoder"]["stem_channels"] = nets.need_shape(shapes, COND_SRC + "encoder.conv_in.weight", what)[0]
    unet_plan = trace_renames(_under(shapes, UNET_SRC), lambda tags: convert_ldm_unet_checkpoint(tags, config["unet"]))
    control_plan = trace_renames(_under(shapes, CONTROL_SRC), lambda tags: convert_controlnet_checkpoint(tags, config["controlnet"]))
    vae_plan = trace_renames(_under(shapes, VAE_SRC), lambda tags: convert_ldm_vae_checkpoint(tags, _vae_converter_config(vae)))
    plans = [prefixed("unet.", unet_plan), prefixed("controlnet.", control_plan), prefixed("vae.", vae_plan), _cond_encoder_plan(shapes, vae)]
    if preprocessor:
        plans.append(identity_plan(shapes, RRDB_SRC, "rrdb."))
    plan = RenamePlan({t: s for p in plans for t, s in p.renames.items()})
    targets = _targets(config)

    def ignored(key: str) -> bool:
        return is_schedule_buffer(key) or key.startswith(TEXT_SRC) or key.startswith(TRAINING_ONLY)

    expected = list(plan.consumed)
    check_all_consumed(shapes, plan.consumed, ignored, expected, what)
    check_schedule(state)
    tensors = apply_plan(state, plan, targets, what)
    return tensors, config, tuple(sorted(k for k in shapes if ignored(k)))


def convert_diffusers_parts(
    state: Mapping[str, Tensor], *, heads: Sequence[int] | None, what: str
) -> tuple[dict[str, Tensor], dict[str, Any], tuple[str, ...]]:
    """Tensors and configs of CCSR v2's diffusers folders (``controlnet.``, ``unet.``, ``vae.``; ``text_encoder.`` read only)."""
    shapes = shapes_of(state)
    for role in ("controlnet.", "unet.", "vae."):
        if not any(k.startswith(role) for k in shapes):
            raise WeightsError(f"{what}: no {role.rstrip('.')} weights; give the CCSR-v2 ControlNet and VAE folders and SD-2.1-base's unet folder")
    config: dict[str, Any] = {
        "unet": nets.diffusers_unet_config(shapes, "unet.", heads),
        "controlnet": nets.diffusers_unet_config(shapes, "controlnet.", heads, controlnet=True),
        "vae": nets.vae_config(shapes, "vae.", "diffusers"),
        "cond_encoder": None,
        "rrdb": None,
    }
    targets = _targets(config)
    plan = RenamePlan({t: (t.replace("controlnet.controlnet_cond_embedding.", "controlnet.condition_conv_in.")) for t in targets})
    plan = _with_legacy_vae_names(plan, shapes)

    def ignored(key: str) -> bool:
        return key.startswith("text_encoder.")

    check_all_consumed(shapes, plan.consumed, ignored, list(plan.consumed), what)
    absent = sorted(s for s in plan.renames.values() if s not in state)
    if absent:
        raise WeightsError(f"{what}: expected weight {absent[0]!r} is missing ({len(absent)} in all){nearest(absent[0], state)}")
    tensors = apply_plan(state, plan, targets, what)
    return tensors, config, tuple(sorted(k for k in shapes if ignored(k)))


_LEGACY_VAE_ATTENTION = {"to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."}


def _with_legacy_vae_names(plan: RenamePlan, shapes: Mapping[str, tuple[int, ...]]) -> RenamePlan:
    """VAE folders saved by older diffusers name the mid-block attention ``query/key/value/proj_attn``."""
    renames = {}
    for target, source in plan.renames.items():
        if source not in shapes and source.startswith("vae.") and ".attentions." in source:
            for new, old in _LEGACY_VAE_ATTENTION.items():
                if new in source and source.replace(new, old) in shapes:
                    source = source.replace(new, old)
                    break
        renames[target] = source
    return RenamePlan(renames)



#: diffusers / transformers class names in a folder's config.json -> the key prefix CCSR v2's converter expects
FOLDER_ROLES = {"ControlNetModel": "controlnet.", "UNet2DConditionModel": "unet.", "AutoencoderKL": "vae.", "CLIPTextModel": "text_encoder."}
FOLDER_WEIGHTS = ("diffusion_pytorch_model.safetensors", "model.safetensors")


def read_diffusers_folders(folders: Sequence[Path]) -> dict[str, Tensor]:
    """The weights of ``save_pretrained`` folders (CCSR v2's ControlNet and VAE, SD-2.1-base's unet and
    text_encoder), each key prefixed with its folder's role from ``config.json``; memory-mapped."""
    state: dict[str, Tensor] = {}
    for folder in map(Path, folders):
        config_file = folder / "config.json"
        weights = next((folder / n for n in FOLDER_WEIGHTS if (folder / n).is_file()), None)
        if not config_file.is_file() or weights is None:
            raise InputError(f"{folder}: not a diffusers folder (needs config.json and {' or '.join(FOLDER_WEIGHTS)})")
        config = json.loads(config_file.read_text())
        names = [config.get("_class_name", "")] + list(config.get("architectures", []))
        role = next((FOLDER_ROLES[n] for n in names if n in FOLDER_ROLES), None)
        if role is None:
            raise InputError(f"{folder}: a {names[0] or 'unknown'} folder; CCSR v2 needs {', '.join(FOLDER_ROLES)} folders")
        if any(k.startswith(role) for k in state):
            raise InputError(f"{folder}: a second {role.rstrip('.')} folder")
        with safe_open(str(weights), "pt") as f:
            state.update({role + k: f.get_tensor(k) for k in f.keys()})  # noqa: SIM118 (safe_open is no dict)
    return state
