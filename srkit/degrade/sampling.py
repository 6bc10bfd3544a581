"""Draw one pair's degradation values from a preset with an explicit numpy Generator.

The draws follow Real-ESRGAN (``realesrgan_dataset.py`` for kernels,
``realesrgan_model.py`` for the stages) and BasicSR ``degradations.py``; the
random *stream* is srkit's own (one ``numpy.random.Generator`` per pair, see
:func:`pair_rng`), so a pair depends only on the seed and its key, never on the
batch size, the worker count or the device.
"""

from __future__ import annotations

import math
import zlib
from typing import Sequence

import numpy as np

from srkit.degrade.params import DegradationParams, FinalParams, KernelParams, NoiseParams, ResizeParams, StageParams
from srkit.degrade.preset import BlurSpec, DegradationPreset, FinalSpec, StageSpec

_NOISE_SEED_BOUND = 2**53  # exact in JSON doubles (and in every JSON reader)


def pair_rng(seed: int, *key: int | str) -> np.random.Generator:
    """An independent Generator for one pair, from ``SeedSequence([seed, *key])``; strings enter as CRC32."""
    entropy = [int(seed)] + [zlib.crc32(k.encode("utf-8")) if isinstance(k, str) else int(k) for k in key]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _pick(options: Sequence, rng: np.random.Generator, weights: Sequence[float] | None = None):
    """One element of ``options``, uniformly or with (unnormalised) ``weights`` (like ``random.choices``)."""
    if weights is None:
        return options[int(rng.integers(len(options)))]
    p = np.asarray(weights, dtype=np.float64)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def sample_beta(beta_range: Sequence[float], rng: np.random.Generator) -> float:
    """BasicSR's shape draw: with probability 1/2 ``U(beta_lo, 1)``, else ``U(1, beta_hi)``.

    As in ``random_bivariate_generalized_Gaussian`` / ``random_bivariate_plateau``;
    with ``betap_range = [1, 2]`` the first branch gives exactly 1.
    """
    if rng.random() < 0.5:
        return float(rng.uniform(beta_range[0], 1.0))
    return float(rng.uniform(1.0, beta_range[1]))


def sample_sinc_kernel(sizes: Sequence[int], omega_range: Sequence[float], rng: np.random.Generator) -> KernelParams:
    """A sinc kernel of random size with ``omega_c ~ U(omega_range) * pi`` (final-step sinc)."""
    size = int(_pick(sizes, rng))
    return KernelParams(kind="sinc", size=size, omega_c=float(rng.uniform(*omega_range)) * math.pi)


def sample_kernel(spec: BlurSpec, rng: np.random.Generator) -> KernelParams:
    """One blur kernel: size, then sinc (size-dependent cutoff range) or a mixed-family kernel."""
    size = int(_pick(spec.kernel_sizes, rng))
    if rng.random() < spec.sinc_prob:
        omega = spec.sinc_omega_small if size < spec.sinc_large_from else spec.sinc_omega_large
        return KernelParams(kind="sinc", size=size, omega_c=float(rng.uniform(*omega)) * math.pi)
    kind = _pick(spec.kernel_list, rng, spec.kernel_prob)
    sigma_x = float(rng.uniform(*spec.blur_sigma))
    if kind.endswith("aniso"):
        sigma_y = float(rng.uniform(*spec.blur_sigma))
        theta = float(rng.uniform(-math.pi, math.pi))
    else:
        sigma_y, theta = sigma_x, 0.0
    beta = 1.0
    if kind.startswith("generalized"):
        beta = sample_beta(spec.betag_range, rng)
    elif kind.startswith("plateau"):
        beta = sample_beta(spec.betap_range, rng)
    return KernelParams(kind=kind, size=size, sigma_x=sigma_x, sigma_y=sigma_y, theta=theta, beta=beta)


def sample_resize(stage: StageSpec, rng: np.random.Generator) -> ResizeParams:
    """Up ``U(1, hi)`` / down ``U(lo, 1)`` / keep (factor 1) with weights ``resize_prob``, then a uniform mode."""
    direction = _pick(("up", "down", "keep"), rng, stage.resize_prob)
    if direction == "up":
        factor = float(rng.uniform(1.0, stage.resize_range[1]))
    elif direction == "down":
        factor = float(rng.uniform(stage.resize_range[0], 1.0))
    else:
        factor = 1.0
    return ResizeParams(direction=direction, factor=factor, mode=_pick(stage.resize_modes, rng))


def sample_noise(stage: StageSpec, rng: np.random.Generator) -> NoiseParams:
    """Gaussian (sigma ``~ U(noise_range)``) or Poisson (scale ``~ U(poisson_scale_range)``), grey or colour."""
    if rng.random() < stage.gaussian_noise_prob:
        kind, strength = "gaussian", float(rng.uniform(*stage.noise_range))
    else:
        kind, strength = "poisson", float(rng.uniform(*stage.poisson_scale_range))
    return NoiseParams(kind=kind, strength=strength, gray=bool(rng.random() < stage.gray_noise_prob))


def sample_jpeg_quality(quality_range: Sequence[float], rng: np.random.Generator) -> int:
    """``round(U(quality_range))``: Real-ESRGAN's real-valued quality, rounded for a real codec."""
    return int(round(float(rng.uniform(*quality_range))))


def sample_stage(stage: StageSpec, rng: np.random.Generator) -> StageParams:
    """Blur (with probability ``blur_prob``), resize, noise and the optional JPEG of one stage."""
    blur = sample_kernel(stage.blur, rng) if rng.random() < stage.blur_prob else None
    resize = sample_resize(stage, rng)
    noise = sample_noise(stage, rng)
    quality = sample_jpeg_quality(stage.jpeg_range, rng) if stage.jpeg_range is not None else None
    return StageParams(blur=blur, resize=resize, noise=noise, jpeg_quality=quality)


def sample_final(final: FinalSpec, rng: np.random.Generator) -> FinalParams:
    """Order of [resize + sinc] and JPEG, resize mode, sinc (or identity) and JPEG quality."""
    jpeg_first = bool(rng.random() < final.jpeg_first_prob)
    mode = _pick(final.resize_modes, rng)
    sinc = (
        sample_sinc_kernel(final.sinc_kernel_sizes, final.sinc_omega, rng) if rng.random() < final.sinc_prob else None
    )
    return FinalParams(
        jpeg_first=jpeg_first, resize_mode=mode, sinc=sinc, jpeg_quality=sample_jpeg_quality(final.jpeg_range, rng)
    )


def sample_params(preset: DegradationPreset, rng: np.random.Generator, scale: int) -> DegradationParams:
    """Every value of one pair's degradation under ``preset`` at integer ``scale``."""
    if preset.kind == "bicubic":
        return DegradationParams(kind="bicubic", scale=scale, round_output=preset.round_output)
    first = sample_stage(preset.first, rng)
    second = sample_stage(preset.second, rng) if rng.random() < preset.second.prob else None
    final = sample_final(preset.final, rng)
    no_degradation = bool(rng.random() < preset.no_degradation_prob)
    return DegradationParams(
        kind="realesrgan",
        scale=scale,
        usm_sharpen=preset.usm_sharpen,
        round_output=preset.round_output,
        no_degradation=no_degradation,
        first=first,
        second=second,
        final=final,
        noise_seed=int(rng.integers(_NOISE_SEED_BOUND)),
    )
