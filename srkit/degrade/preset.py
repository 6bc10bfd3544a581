"""Degradation presets: YAML files parsed into frozen, validated dataclasses.

A preset says *what may be drawn* (kernel families and their probabilities,
ranges of every scalar); :mod:`srkit.degrade.sampling` draws one set of values
per pair and :mod:`srkit.degrade.pipeline` applies them. Built-in presets live
in ``srkit/degrade/presets/*.yaml``; a user passes the path of their own file.
Field names follow the Real-ESRGAN option names (``train_realesrgan_x4plus.yml``)
so a public configuration can be copied across key by key.

No torch import here: recipes and the CLI validate presets on their fast path.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


from srkit.config_schema import check, from_mapping, parse_yaml, to_mapping
from srkit.errors import RecipeError

KernelKind = Literal["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"]
ResizeMode = Literal["area", "bilinear", "bicubic"]

PRESET_DIR = Path(__file__).with_name("presets")  # the package srkit.degrade.presets (YAML data only)


def _check_range(values: tuple[float, ...], name: str, low: float = -math.inf, high: float = math.inf) -> None:
    """A ``[lo, hi]`` pair with ``low <= lo <= hi <= high``."""
    check(len(values) == 2, name, f"expected [low, high], got {list(values)}")
    check(values[0] <= values[1], name, f"low must not exceed high, got {list(values)}")
    check(low <= values[0] and values[1] <= high, name, f"must lie within [{low}, {high}], got {list(values)}")


def _check_probability(value: float, name: str) -> None:
    check(0.0 <= value <= 1.0, name, f"must be a probability in [0, 1], got {value}")


def _check_weights(weights: tuple[float, ...], count: int, name: str) -> None:
    check(len(weights) == count, name, f"expected {count} weights, got {len(weights)}")
    check(all(w >= 0 for w in weights) and sum(weights) > 0, name, "weights must be >= 0 with a positive sum")


@dataclass(frozen=True)
class BlurSpec:
    """One random blur kernel: BasicSR ``random_mixed_kernels`` or, with ``sinc_prob``, a 2-D sinc.

    Real-ESRGAN ``realesrgan_dataset.py``: the size is drawn from ``kernel_sizes``;
    with probability ``sinc_prob`` the kernel is a circular low-pass filter with
    cutoff ``omega_c ~ U(sinc_omega_small) * pi`` for sizes below ``sinc_large_from``
    and ``U(sinc_omega_large) * pi`` otherwise; else the family is drawn from
    ``kernel_list`` with weights ``kernel_prob``, ``sigma ~ U(blur_sigma)``,
    rotation ``~ U(-pi, pi)``, and the shape ``beta`` from ``betag_range`` or
    ``betap_range`` (see :func:`srkit.degrade.sampling.sample_beta`).
    """

    kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    kernel_list: tuple[KernelKind, ...] = (
        "iso",
        "aniso",
        "generalized_iso",
        "generalized_aniso",
        "plateau_iso",
        "plateau_aniso",
    )
    kernel_prob: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
    sinc_prob: float = 0.1
    blur_sigma: tuple[float, ...] = (0.2, 3.0)
    betag_range: tuple[float, ...] = (0.5, 4.0)
    betap_range: tuple[float, ...] = (1.0, 2.0)
    sinc_omega_small: tuple[float, ...] = (1.0 / 3.0, 1.0)
    sinc_omega_large: tuple[float, ...] = (0.2, 1.0)
    sinc_large_from: int = 13

    def __post_init__(self) -> None:
        check(len(self.kernel_sizes) > 0, "kernel_sizes", "needs at least one size")
        check(
            all(k >= 1 and k % 2 == 1 for k in self.kernel_sizes),
            "kernel_sizes",
            f"sizes must be odd and >= 1, got {list(self.kernel_sizes)}",
        )
        check(len(self.kernel_list) > 0, "kernel_list", "needs at least one kernel family")
        _check_weights(self.kernel_prob, len(self.kernel_list), "kernel_prob")
        _check_probability(self.sinc_prob, "sinc_prob")
        _check_range(self.blur_sigma, "blur_sigma", low=1e-3)
        _check_range(self.betag_range, "betag_range", low=1e-3)
        _check_range(self.betap_range, "betap_range", low=1e-3)
        _check_range(self.sinc_omega_small, "sinc_omega_small", low=1e-3, high=1.0)
        _check_range(self.sinc_omega_large, "sinc_omega_large", low=1e-3, high=1.0)


@dataclass(frozen=True)
class StageSpec:
    """One round of blur -> random resize -> noise [-> JPEG] (Real-ESRGAN ``feed_data``).

    ``prob``: probability that the whole stage runs (ResShift's ``second_order_prob``);
    ``blur_prob``: probability of the blur (``second_blur_prob``); ``resize_prob``:
    weights of up/down/keep; an up factor is ``U(1, resize_range[1])``, a down factor
    ``U(resize_range[0], 1)``; the mode is uniform over ``resize_modes``. Noise is
    Gaussian with probability ``gaussian_noise_prob`` (sigma ``~ U(noise_range)`` in
    8-bit levels) else Poisson (scale ``~ U(poisson_scale_range)``), grey with
    probability ``gray_noise_prob``. ``jpeg_range``: quality of a JPEG at the end of
    the stage, or None (the second stage's JPEG belongs to the final step).
    """

    blur: BlurSpec = BlurSpec()
    prob: float = 1.0
    blur_prob: float = 1.0
    resize_prob: tuple[float, ...] = (0.2, 0.7, 0.1)
    resize_range: tuple[float, ...] = (0.15, 1.5)
    resize_modes: tuple[ResizeMode, ...] = ("area", "bilinear", "bicubic")
    gaussian_noise_prob: float = 0.5
    noise_range: tuple[float, ...] = (1.0, 30.0)
    poisson_scale_range: tuple[float, ...] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_range: tuple[float, ...] | None = (30.0, 95.0)

    def __post_init__(self) -> None:
        _check_probability(self.prob, "prob")
        _check_probability(self.blur_prob, "blur_prob")
        _check_weights(self.resize_prob, 3, "resize_prob")
        _check_range(self.resize_range, "resize_range", low=1e-3)
        check(
            self.resize_range[0] <= 1.0 <= self.resize_range[1],
            "resize_range",
            f"must contain 1 (down factors below, up factors above), got {list(self.resize_range)}",
        )
        check(len(self.resize_modes) > 0, "resize_modes", "needs at least one mode")
        _check_probability(self.gaussian_noise_prob, "gaussian_noise_prob")
        _check_range(self.noise_range, "noise_range", low=0.0)
        _check_range(self.poisson_scale_range, "poisson_scale_range", low=0.0)
        _check_probability(self.gray_noise_prob, "gray_noise_prob")
        if self.jpeg_range is not None:
            _check_range(self.jpeg_range, "jpeg_range", low=1.0, high=100.0)


@dataclass(frozen=True)
class FinalSpec:
    """The last step: [resize to HR/scale + sinc] and JPEG in random order (Real-ESRGAN ``feed_data``).

    With probability ``sinc_prob`` the sinc kernel has a size from ``sinc_kernel_sizes``
    and cutoff ``U(sinc_omega) * pi``, else it is the identity. JPEG comes first with
    probability ``jpeg_first_prob`` (0.5 in every public pipeline).
    """

    sinc_prob: float = 0.8
    sinc_kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    sinc_omega: tuple[float, ...] = (1.0 / 3.0, 1.0)
    resize_modes: tuple[ResizeMode, ...] = ("area", "bilinear", "bicubic")
    jpeg_range: tuple[float, ...] = (30.0, 95.0)
    jpeg_first_prob: float = 0.5

    def __post_init__(self) -> None:
        _check_probability(self.sinc_prob, "sinc_prob")
        check(len(self.sinc_kernel_sizes) > 0, "sinc_kernel_sizes", "needs at least one size")
        check(
            all(k >= 1 and k % 2 == 1 for k in self.sinc_kernel_sizes),
            "sinc_kernel_sizes",
            f"sizes must be odd and >= 1, got {list(self.sinc_kernel_sizes)}",
        )
        _check_range(self.sinc_omega, "sinc_omega", low=1e-3, high=1.0)
        check(len(self.resize_modes) > 0, "resize_modes", "needs at least one mode")
        _check_range(self.jpeg_range, "jpeg_range", low=1.0, high=100.0)
        _check_probability(self.jpeg_first_prob, "jpeg_first_prob")


@dataclass(frozen=True)
class DegradationPreset:
    """A whole degradation: ``kind: bicubic`` (antialiased bicubic downscale) or ``kind: realesrgan``.

    ``usm_sharpen``: unsharp-mask the HR first (BasicSR ``USMSharp``) and use the
    sharpened HR both as the degradation input and as the pair's HR, as Real-ESRGAN
    (``l1_gt_usm``) and StableSR (``use_usm``) do. ``round_output``: quantise the LR
    to 8-bit levels at the end (Real-ESRGAN "clamp and round"). ``no_degradation_prob``:
    probability that the LR is the plain bicubic downscale (StableSR).
    """

    name: str
    kind: Literal["realesrgan", "bicubic"] = "realesrgan"
    description: str = ""
    source: str = ""
    usm_sharpen: bool = False
    round_output: bool = True
    no_degradation_prob: float = 0.0
    first: StageSpec | None = None
    second: StageSpec | None = None
    final: FinalSpec | None = None

    def __post_init__(self) -> None:
        check(bool(self.name.strip()), "name", "must not be empty")
        _check_probability(self.no_degradation_prob, "no_degradation_prob")
        stages = {"first": self.first, "second": self.second, "final": self.final}
        if self.kind == "bicubic":
            extra = [key for key, value in stages.items() if value is not None]
            check(
                not extra,
                extra[0] if extra else "kind",
                "a bicubic preset takes no stages; remove it or set kind: realesrgan",
            )
            check(not self.usm_sharpen, "usm_sharpen", "is only used by kind: realesrgan")
            return
        missing = [key for key, value in stages.items() if value is None]
        check(not missing, missing[0] if missing else "kind", "is required by kind: realesrgan")
        check(self.first.prob == 1.0, "first.prob", f"the first stage always runs; must be 1, got {self.first.prob}")
        check(self.first.jpeg_range is not None, "first.jpeg_range", "is required (the first stage ends with a JPEG)")
        check(
            self.second.jpeg_range is None,
            "second.jpeg_range",
            "must be omitted: the second stage's JPEG is final.jpeg_range",
        )

    def digest(self) -> str:
        """A short content hash, stored in manifests to detect a preset that changed."""
        text = json.dumps(to_mapping(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def list_presets() -> list[str]:
    """Names of the built-in presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name_or_path: str | Path) -> Path:
    """The YAML file for a built-in name or a user path; RecipeError if neither exists."""
    text = str(name_or_path)
    builtin = PRESET_DIR / f"{text}.yaml"
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        if builtin.is_file():
            return builtin
        from srkit.config_schema import closest_key

        near = closest_key(text, list_presets())
        hint = f"did you mean '{near}'?" if near else f"built-in presets: {', '.join(list_presets())}"
        raise RecipeError(f"unknown degradation preset '{text}': {hint} (or pass a YAML file path)")
    path = Path(text).expanduser()
    if not path.is_file():
        raise RecipeError(f"degradation preset file not found: {path}")
    return path


def _validate_stages(data: object) -> None:
    """Parse the stage sections first, so their errors name the full field path.

    (The generic converter reports a failing optional section only as "expected
    mapping or NoneType"; parsing each section on its own keeps the inner message.)
    """
    if not isinstance(data, dict):
        return
    for key, cls in (("first", StageSpec), ("second", StageSpec), ("final", FinalSpec)):
        if data.get(key) is not None:
            from_mapping(cls, data[key], key)


def load_preset(name_or_path: str | Path | DegradationPreset) -> DegradationPreset:
    """Load and validate a preset by built-in name (``list_presets()``) or YAML path."""
    if isinstance(name_or_path, DegradationPreset):
        return name_or_path
    path = preset_path(name_or_path)
    data = parse_yaml(path.read_text(encoding="utf-8"), path)
    if isinstance(data, dict) and "name" not in data:
        data = {**data, "name": path.stem}
    try:
        _validate_stages(data)
        return from_mapping(DegradationPreset, data)
    except RecipeError as err:
        raise RecipeError(f"{path.name}: {err}") from None


def preset_to_mapping(preset: DegradationPreset) -> dict:
    """The preset as plain YAML/JSON-ready data (inverse of :func:`load_preset`)."""
    return to_mapping(preset)


__all__ = [
    "BlurSpec",
    "DegradationPreset",
    "FinalSpec",
    "StageSpec",
    "list_presets",
    "load_preset",
    "preset_path",
    "preset_to_mapping",
]
