"""One validated upscale run: :class:`UpscaleRun`, built once from options, used by the CLI, ``upscale`` and bench.

It holds everything that is the same for every image of a run: the model (an
srkit :class:`~srkit.model.SRModel` or anything with the released-model surface),
the sampler built and checked once (None for a released model, which samples as
released), the tiling, the colour fix, the boundary condition and the precision.
Every check happens in :meth:`UpscaleRun.build`, before any image is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from srkit.diffusion.build import BoundSampler
from srkit.errors import SettingError
from srkit.infer.bc import BoundaryCondition, check_bc_for_run
from srkit.infer.memory import MAX_TILE, auto_tile_size, free_memory_bytes
from srkit.infer.pipeline import ImageResult, Tiling, super_resolve_image
from srkit.infer.tile_choice import fastest_tile
from srkit.model import AnyModel, SRModel, model_name
from srkit.model.color_fix import (
    AUTO,
    ColorFix,
    check_color_fix_name,
    color_fix_by_name,
)
from srkit.model.surface import require_srkit_model
from srkit.recipes import SamplerConfig
from srkit.released.base import OfficialChop
from srkit.sampler_catalogue import CATALOGUE

TileSpec = int | str | None  # output pixels, "auto", or None/0 for whole images
Progress = Callable[[int, int], None]
RELEASED_AUTO_TILE = 512  # output pixels: "auto" for a model without a recipe to estimate its memory from


def parse_tile(value: str | int | None) -> TileSpec:
    """A tile setting: ``auto``, ``0``/``none`` (whole images) or a size in output pixels (>= 8)."""
    if value is None or isinstance(value, int):
        return None if not value else _check_tile(value)
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text in ("0", "none", "off"):
        return None
    if not text.isdigit():
        raise SettingError("tile", f"must be 'auto', 0 or a size in output pixels like 512, got '{value}'")
    return _check_tile(int(text))


def _check_tile(size: int) -> int:
    if size < 8:
        raise SettingError("tile", f"must be at least 8 output pixels, got {size}")
    return size


def check_tile_overlap(tile: TileSpec, overlap: int) -> None:
    """Refuse an overlap the tiles cannot have (more than half a tile; for ``auto``, of the largest auto tile),
    instead of quietly using less."""
    largest = MAX_TILE if tile == "auto" else tile
    if largest and 2 * overlap > largest:  # type: ignore[operator]
        limit = " at most with tile auto" if tile == "auto" else ""
        raise SettingError("tile_overlap", f"{overlap} is more than half the tile ({largest} px{limit}); use at most {largest // 2}")  # type: ignore[operator]


@dataclass(frozen=True)
class RunOptions:
    """The model-independent settings of a run, checked once by :meth:`parse` (before any model is loaded)."""

    tile: TileSpec = "auto"
    overlap: int = 32
    batch: int = 1
    color_fix: str = "auto"

    @classmethod
    def parse(cls, *, tile: str | int | None = "auto", overlap: int = 32, batch: int = 1, color_fix: str = "auto") -> "RunOptions":
        spec = parse_tile(tile)
        Tiling(None, overlap, batch)  # checks overlap and batch
        check_tile_overlap(spec, overlap)
        check_color_fix_name(color_fix)
        return cls(spec, overlap, batch, color_fix)


@dataclass(frozen=True)
class UpscaleRun:
    """How every image of one run is made (build it with :meth:`build`)."""

    model: AnyModel
    sampler: BoundSampler | None
    tile: TileSpec
    overlap: int
    batch: int
    color_fix: ColorFix | None  # released models only: a fix after the pipeline (srkit models apply theirs per tile)
    color_fix_name: str
    bc: BoundaryCondition | None

    @classmethod
    def build(
        cls,
        model: AnyModel,
        *,
        sampler: SamplerConfig | None = None,
        tile: str | int | None = "auto",
        overlap: int = 32,
        batch: int = 1,
        color_fix: str = "auto",
        bc: BoundaryCondition | None = None,
        options: RunOptions | None = None,
    ) -> "UpscaleRun":
        """Check every setting once: tile, overlap, batch, colour fix, sampler (against the model's process), BC.

        ``options``: the model-independent settings already checked by :meth:`RunOptions.parse`
        (then ``tile``, ``overlap``, ``batch`` and ``color_fix`` are not used). A released model
        takes no ``sampler`` and no ``bc`` (it samples as released).
        """
        if options is None:
            options = RunOptions.parse(tile=tile, overlap=overlap, batch=batch, color_fix=color_fix)
        fix: ColorFix | None = None
        if isinstance(model, SRModel):
            bound: BoundSampler | None = model.sampler(sampler)
            if options.color_fix != AUTO:  # the model applies it per tile, against its own condition image
                model = dataclasses.replace(model, color_fix=options.color_fix)
            fix_name = model.color_fix
        else:
            if sampler is not None:
                require_srkit_model(model, "a sampler setting")
            if bc is not None:
                require_srkit_model(model, "a boundary condition")
            bound = None
            fix_name = "none" if options.color_fix == AUTO else options.color_fix  # auto: as released
            fix = color_fix_by_name(fix_name)  # after the pipeline, against the bicubic upsampling
        if bc is not None:
            check_bc_for_run(bc, model, bound)  # type: ignore[arg-type]
        return cls(model, bound, options.tile, options.overlap, options.batch, fix, fix_name, bc)

    @property
    def precision(self) -> str:
        return str(getattr(self.model, "precision", "fp32"))

    @property
    def official_chop(self) -> OfficialChop | None:
        """With ``--tile auto``, a released model's own chop of large images (ResShift's), which it follows; per image
        the model may pick a smaller one of its script's chops that fits the free memory (``official_chop_for``)."""
        if self.tile != "auto" or isinstance(self.model, SRModel):
            return None
        return getattr(self.model, "official_chop", None)

    def tile_size(self, out_h: int, out_w: int) -> int | None:
        """Tile side in output pixels for an ``out_h x out_w`` output: the setting, or for ``auto`` what fits the device."""
        if self.tile != "auto":
            return self.tile  # type: ignore[return-value]
        device = self.model.device
        if not isinstance(self.model, SRModel):
            if getattr(self.model, "tiles_internally", False):  # e.g. CCSR v2's tiled diffusion: the whole image
                return None
            return None if max(out_h, out_w) <= RELEASED_AUTO_TILE else RELEASED_AUTO_TILE
        largest = auto_tile_size(
            self.model.recipe, out_h, out_w, batch=self.batch, precision=self.precision,
            free_bytes=free_memory_bytes(device), on_cpu=device.type == "cpu",
        )
        return fastest_tile(out_h, out_w, largest, self.overlap, device.type)

    def super_resolve(
        self,
        rgb: np.ndarray,
        *,
        seed: int,
        bc: BoundaryCondition | None = None,
        batch: int | None = None,
        on_tiles: Progress | None = None,
        on_steps: Progress | None = None,
    ) -> ImageResult:
        """One HxWx3 image in [0, 1] by the model's scale (``bc`` and ``batch`` override the run's for this image)."""
        scale = self.model.scale
        batch = self.batch if batch is None else batch
        if (chop := self.official_chop) is not None:
            choose = getattr(self.model, "official_chop_for", None)  # the script's own smaller chops when memory is short
            if choose is not None:
                chop = choose(rgb.shape[0], rgb.shape[1], free_memory_bytes(self.model.device))
            tiling = Tiling(None, self.overlap, batch, chop=chop)
        else:
            tiling = Tiling(self.tile_size(rgb.shape[0] * scale, rgb.shape[1] * scale), self.overlap, batch)
        return super_resolve_image(
            self.model, rgb, seed=seed, sampler=self.sampler, tiling=tiling, bc=bc if bc is not None else self.bc,
            color_fix=self.color_fix, on_tiles=on_tiles, on_steps=on_steps,
        )

    def describe(self) -> dict[str, Any]:
        """What the run is, for reports: method, model id, sampler, colour fix, precision, device, BC."""
        cfg = None if self.sampler is None else self.sampler.config
        bc = self.bc
        return {
            "method": model_name(self.model),
            "model_id": self.model.model_id,
            "sampler": None if cfg is None else {"kind": cfg.kind, "steps": cfg.steps, "order": cfg.order, "eta": cfg.eta},
            "color_fix": self.color_fix_name,
            "precision": self.precision,
            "device": str(self.model.device),
            "bc": None if bc is None else {"shape": list(bc.shape), "model_id": bc.model_id, "metric": bc.metric, "mode": bc.mode},
            **({} if isinstance(self.model, SRModel) else {"licence": str(getattr(self.model, "licence", ""))}),
            **({"preprocess": info} if (info := self.preprocess_info()) else {}),
            **({"official_chop": {"size": chop.size, "stride": chop.stride}} if (chop := self.official_chop) else {}),
        }

    def preprocess_info(self) -> dict[str, str] | None:
        """The preprocess stage of an srkit model (kind, weights id, licence), for reports; None without one."""
        pre = self.model.preprocess if isinstance(self.model, SRModel) else None
        if pre is None:
            return None
        return {"kind": str(getattr(pre, "kind", type(pre).__name__)),
                "model_id": str(getattr(pre, "model_id", "")), "licence": str(getattr(pre, "licence", ""))}

    def sampler_order(self) -> int | None:
        """The solver order when the sampler has one (reports), else None."""
        cfg = None if self.sampler is None else self.sampler.config
        return cfg.order if cfg is not None and "order" in CATALOGUE[cfg.kind].options else None
