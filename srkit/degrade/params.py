"""The sampled values of one degradation: plain frozen dataclasses, JSON round-trip exact.

Everything :func:`srkit.degrade.pipeline.degrade` needs is here; kernels are
re-derived from their scalars (:func:`srkit.degrade.kernels.build_kernel`), so a
manifest line stores a few numbers, never arrays. ``noise_seed`` seeds the
``torch.Generator`` that draws the pixel noise, so the same params reproduce the
same pair bit for bit on the same device.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from srkit.config_schema import from_mapping
from srkit.errors import InputError, RecipeError

KernelFamily = Literal["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc"]


@dataclass(frozen=True)
class KernelParams:
    """One blur kernel: its family, odd ``size`` and shape scalars.

    Gaussian families use ``sigma_x``, ``sigma_y`` (standard deviations in pixels)
    and ``theta`` (rotation, radians); ``beta`` is the generalised-Gaussian or
    plateau shape; ``omega_c`` is the sinc cutoff in radians per pixel.
    """

    kind: KernelFamily
    size: int
    sigma_x: float = 0.0
    sigma_y: float = 0.0
    theta: float = 0.0
    beta: float = 1.0
    omega_c: float = 0.0


@dataclass(frozen=True)
class ResizeParams:
    """A random resize: ``direction`` up/down/keep, the drawn ``factor`` and interpolation ``mode``."""

    direction: Literal["up", "down", "keep"]
    factor: float
    mode: Literal["area", "bilinear", "bicubic"]


@dataclass(frozen=True)
class NoiseParams:
    """Additive noise: Gaussian (``strength`` = sigma in 8-bit levels) or Poisson (``strength`` = scale)."""

    kind: Literal["gaussian", "poisson"]
    strength: float
    gray: bool


@dataclass(frozen=True)
class StageParams:
    """One stage: optional blur, resize, noise and optional JPEG (integer quality)."""

    blur: KernelParams | None
    resize: ResizeParams
    noise: NoiseParams
    jpeg_quality: int | None = None


@dataclass(frozen=True)
class FinalParams:
    """Final step: resize to HR/scale with ``resize_mode``, sinc (None = identity), JPEG, in the drawn order."""

    jpeg_first: bool
    resize_mode: Literal["area", "bilinear", "bicubic"]
    sinc: KernelParams | None
    jpeg_quality: int


@dataclass(frozen=True)
class DegradationParams:
    """Every value drawn for one pair; ``second`` is None when the second stage was skipped.

    ``kind == "bicubic"`` (or ``no_degradation``) means the LR is the antialiased
    bicubic downscale and the stage fields are None.
    """

    kind: Literal["realesrgan", "bicubic"]
    scale: int
    usm_sharpen: bool = False
    round_output: bool = True
    no_degradation: bool = False
    first: StageParams | None = None
    second: StageParams | None = None
    final: FinalParams | None = None
    noise_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (floats keep their exact value through ``json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DegradationParams":
        """Inverse of :meth:`to_dict`; InputError naming the bad field on malformed data."""
        try:
            return from_mapping(cls, data)
        except RecipeError as err:
            raise InputError(f"malformed degradation params: {err}") from None
