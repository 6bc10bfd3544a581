"""Boundary-condition files: one start noise ``x_T`` found by ``srkit find-bc``, with its provenance.

A BC file is a safetensors checkpoint (kind ``"bc"``) holding ``x_T`` of shape
``(C, h, w)`` in the model's state space (pixels, or latents in latent mode):
the standard-normal start noise the sampler maps to its first state (for the
VP process it *is* x_T; optimal-BC paper, eq. (20)). Metadata: model id,
recipe name, sampler, steps, order, timestep spacing (and for DPM-Solver++ its
order-2 form), state shape, the LR and output tile size it fits, the metric, the
chosen candidate's score and the median candidate score. A file without the
spacing (made before it was recorded) is read as the spacing it was made with:
the sampler's default then (:data:`LEGACY_SPACINGS`).

A run that leaves the spacing at ``default`` samples a BC with the spacing it was
found with (:func:`bc_sampler_config`), so a BC keeps producing what it was searched
for when a sampler's default spacing changes; a run that asks for another spacing
gets a note (:func:`bc_sampler_note`).

How a BC is applied to an image of any size (``srkit upscale --bc``, ``--bc-mode``):

- ``mosaic`` (default): the start noise of the whole image is the BC repeated
  periodically over the state grid from its top-left corner; the image is then
  sampled as without a BC (whole, or in ``--tile`` tiles cut from that noise).
  The network sees the image's full context, at the cost of sampling it once.
- ``tile``: the image is tiled with tiles of exactly the BC's size
  (``out_tile = h * latent_factor`` output pixels, LR tile = out_tile / scale)
  and ``--tile-overlap``; every tile starts from the BC itself and the tile
  outputs are blended (srkit.infer.tiling). An image smaller than the BC along a
  side is reflect-padded up to it and cropped back, so the model always sees the
  input size the BC was searched for; overlapping small tiles cost several times
  the NFE-pixels of one pass, and a network that does worse on small inputs
  does worse here (measured for the built-in sr3: README "Built-in models").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import Tensor

from srkit.diffusion.samplers import ddim, dpm_solver
from srkit.errors import SettingError, WeightsError
from srkit.io.checkpoints import CheckpointMeta, load_checkpoint, save_checkpoint
from srkit.recipes import SamplerConfig
from srkit.sampler_catalogue import CATALOGUE, deterministic_samplers, sampler_cli_name
from srkit.weights.builtin import BC_SUFFIX, WEIGHTS_DIR

if TYPE_CHECKING:
    from srkit.diffusion.build import BoundSampler
    from srkit.model import SRModel

BC_KIND = "bc"
BC_TENSOR = "x_T"
BC_MODES = ("mosaic", "tile")
DEFAULT_SPACINGS = {"ddim": ddim.DEFAULT_SPACING, "dpm_solver": dpm_solver.DEFAULT_SPACING}
LEGACY_SPACINGS = {"ddim": ddim.LEGACY_SPACING, "dpm_solver": dpm_solver.DEFAULT_SPACING}  # files without "spacing"
DPM_SOLVER_TYPE = "midpoint"  # the form srkit's runs use for DPM-Solver++ order 2 (Algorithm 2)


def effective_spacing(sampler: str, spacing: str) -> str:
    """The timestep spacing a run of ``sampler`` uses: ``spacing``, or the sampler's own default for ``"default"``."""
    return DEFAULT_SPACINGS.get(sampler, "") if spacing == "default" else spacing


@dataclass(frozen=True)
class BoundaryCondition:
    """A start noise ``x_T`` (C, h, w) and what it was found for."""

    x_T: Tensor
    model_id: str
    recipe: str
    sampler: str
    steps: int
    order: int = 1
    spacing: str = ""  # timestep spacing it was found with ("" for samplers without one)
    solver_type: str = ""  # DPM-Solver++'s order-2 form ("midpoint"; "heun" before it was recorded)
    metric: str = ""
    score: float = float("nan")
    median_score: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)
    mode: str = "mosaic"  # how it is applied to images (module docstring); not stored in the file

    def __post_init__(self) -> None:
        if self.mode not in BC_MODES:
            raise SettingError("bc_mode", f"must be one of {', '.join(BC_MODES)}, got {self.mode!r}")

    @property
    def per_tile(self) -> bool:
        """Whether images are tiled at the BC's size, each tile starting from the BC (mode ``tile``)."""
        return self.mode == "tile"

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x_T.shape)  # type: ignore[return-value]

    def metadata(self) -> dict[str, str]:
        """Flat string metadata for the safetensors file."""
        return {
            "model": self.model_id,
            "recipe_name": self.recipe,
            "sampler": self.sampler,
            "steps": str(self.steps),
            "order": str(self.order),
            "spacing": self.spacing,
            "solver_type": self.solver_type,
            "shape": json.dumps(list(self.shape)),
            "metric": self.metric,
            "score": repr(float(self.score)),
            "median_score": repr(float(self.median_score)),
            **{k: json.dumps(v) for k, v in self.extra.items()},
        }


def save_bc(path: str | Path, bc: BoundaryCondition) -> Path:
    """Write ``bc`` atomically as a safetensors file (kind ``bc``)."""
    path = Path(path)
    save_checkpoint(path, {BC_TENSOR: bc.x_T.detach().float().cpu().contiguous()}, CheckpointMeta(kind=BC_KIND, extra=bc.metadata()))
    return path


_OWN_KEYS = ("model", "recipe_name", "sampler", "steps", "order", "spacing", "solver_type", "shape", "metric", "score", "median_score")


def resolve_bc_path(value: str | Path, method: str) -> Path:
    """``--bc`` value -> file: a path, or ``builtin`` = the BC shipped with the method's built-in weights."""
    if str(value) != "builtin":
        return Path(value)
    path = WEIGHTS_DIR / f"{method}{BC_SUFFIX}"
    if not path.is_file():
        raise SettingError("bc", f"builtin: no boundary condition is shipped for method '{method}'; make one with `srkit find-bc` and pass its file")
    return path


def load_bc(path: str | Path, mode: str = "mosaic") -> BoundaryCondition:
    """Read a BC file, to be applied in ``mode``; one-line errors for a missing file, a non-BC checkpoint or a malformed tensor."""
    path = Path(path)
    if not path.is_file():
        raise SettingError("bc", f"{path}: file not found (make one with `srkit find-bc`)")
    tensors, meta = load_checkpoint(path)
    extra = dict(meta.extra)
    if meta.kind != BC_KIND or BC_TENSOR not in tensors:
        raise WeightsError(f"{path} is not a boundary-condition file from `srkit find-bc` (kind '{meta.kind}')")
    x_T = tensors[BC_TENSOR].float()
    if x_T.ndim != 3:
        raise WeightsError(f"{path}: x_T must have shape (C, h, w), got {tuple(x_T.shape)}")
    sampler = extra.get("sampler", "")
    return BoundaryCondition(
        x_T=x_T,
        model_id=extra.get("model", ""),
        recipe=extra.get("recipe_name", ""),
        sampler=sampler,
        steps=int(extra.get("steps", "0")),
        order=int(extra.get("order", "1")),
        spacing=extra.get("spacing", LEGACY_SPACINGS.get(sampler, "")),
        solver_type=extra.get("solver_type", dpm_solver.LEGACY_SOLVER_TYPE if sampler == "dpm_solver" else ""),
        metric=extra.get("metric", ""),
        score=float(extra.get("score", "nan")),
        median_score=float(extra.get("median_score", "nan")),
        extra={k: json.loads(v) for k, v in extra.items() if k not in _OWN_KEYS and _is_json(v)},
        mode=mode,
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def check_bc_fits(bc: BoundaryCondition, *, model_id: str, channels: int, sampler_kind: str, deterministic: bool) -> None:
    """Refuse a BC that cannot work: wrong channel count or a stochastic sampler; model id mismatch is an error too."""
    if bc.shape[0] != channels:
        raise SettingError("bc", f"has {bc.shape[0]} channels but this model's start state has {channels}")
    if not deterministic:
        raise SettingError(
            "bc", f"needs a deterministic sampler ({', '.join(map(sampler_cli_name, deterministic_samplers()))}; "
            f"with eta 0 where it has one); '{sampler_kind}' adds fresh noise at "
            "every step, so a fixed x_T would not determine the output"
        )
    if bc.model_id and model_id not in ("", "in-memory", "unknown") and bc.model_id != model_id:
        raise SettingError("bc", f"was searched for model {bc.model_id}, not for this model ({model_id}); run find-bc for it")


def check_bc_for_run(bc: BoundaryCondition, model: "SRModel", sampler: "BoundSampler | SamplerConfig") -> None:
    """:func:`check_bc_fits` for ``model`` sampled with ``sampler`` (bound, or a config)."""
    cfg = sampler if isinstance(sampler, SamplerConfig) else sampler.config
    assert cfg is not None
    check_bc_fits(bc, model_id=model.model_id, channels=model.state_channels, sampler_kind=cfg.kind,
                  deterministic=CATALOGUE[cfg.kind].is_deterministic(cfg.eta))


def bc_sampler_config(bc: BoundaryCondition, sampler_cfg: SamplerConfig) -> SamplerConfig:
    """``sampler_cfg`` with the BC's spacing where the run leaves it at ``default`` and samples the BC's sampler.

    So a BC is sampled with the spacing it was searched for, also after a sampler's default
    changed (the built-in sr3 BC, found with DDIM's former ``uniform`` default, keeps it).
    """
    if sampler_cfg.spacing != "default" or not bc.spacing or bc.sampler != sampler_cfg.kind:
        return sampler_cfg
    if bc.spacing == effective_spacing(sampler_cfg.kind, "default"):
        return sampler_cfg
    return replace(sampler_cfg, spacing=bc.spacing)


def bc_sampler_note(bc: BoundaryCondition, sampler_cfg: SamplerConfig) -> str | None:
    """A note when a run samples with another sampler, step count, order, spacing or solver form than the BC's.

    The optimal x_T of eq. 20 is the argmin for one map ``h(x_T, y)``; another solver, step count
    or timestep grid is another map, so the BC is then a start point that was not searched for it
    (allowed, not optimal). ``sampler_cfg`` is read as :func:`bc_sampler_config` applies it.
    """
    if not bc.sampler:
        return None
    cfg = bc_sampler_config(bc, sampler_cfg)
    order = cfg.order if "order" in CATALOGUE[cfg.kind].options else 1
    spacing = effective_spacing(cfg.kind, cfg.spacing)
    same = (bc.sampler, bc.steps, bc.order) == (cfg.kind, cfg.steps, order)
    if same and (not bc.spacing or bc.spacing == spacing):
        if bc.sampler == "dpm_solver" and order >= 2 and bc.solver_type and bc.solver_type != DPM_SOLVER_TYPE:
            return (f"note: the boundary condition was found with the {bc.solver_type} form of DPM-Solver++ order {order} "
                    f"(srkit before Algorithm 2); this run uses the {DPM_SOLVER_TYPE} form, for which it was not searched")
        return None
    found = f"{sampler_cli_name(bc.sampler)} with {bc.steps} steps (order {bc.order})" + (f", {bc.spacing} spacing" if bc.spacing else "")
    runs = f"{sampler_cli_name(cfg.kind)} with {cfg.steps} steps (order {order})" + (f", {spacing} spacing" if spacing else "")
    return f"note: the boundary condition was found for {found}; this run samples {runs}, for which it was not searched"


def bc_tile_lr(bc: BoundaryCondition, *, scale: int, latent_factor: int) -> tuple[int, int]:
    """The LR tile size ``(h, w)`` a BC fits: state size x latent factor / scale (must be whole pixels)."""
    _, height, width = bc.shape
    out_h, out_w = height * latent_factor, width * latent_factor
    if out_h % scale or out_w % scale:
        raise SettingError("bc", f"of output size {out_h}x{out_w} is not a multiple of the model's scale {scale}")
    return out_h // scale, out_w // scale


@dataclass(frozen=True)
class BCMosaic:
    """The start-noise field of mode ``mosaic``: ``bc.x_T`` repeated periodically, cut like a NoiseField."""

    bc: BoundaryCondition

    def crop(self, top: int, left: int, height: int, width: int) -> Tensor:
        """Rows ``[top, top+height)`` and columns ``[left, left+width)`` of the periodic field, ``(C, height, width)``."""
        _, bh, bw = self.bc.shape
        rows = [(top + i) % bh for i in range(height)]
        cols = [(left + j) % bw for j in range(width)]
        return self.bc.x_T[:, rows][:, :, cols].clone()


def stack_bc(bc: BoundaryCondition, count: int) -> Tensor:
    """``bc.x_T`` repeated as a ``(count, C, h, w)`` batch of start noises."""
    return bc.x_T[None].expand(count, *bc.shape).contiguous()

