"""srkit's colour fixes against the official ``wavelet_reconstruction`` / ``adaptive_instance_normalization`` (case ``colorfix``)."""

from __future__ import annotations

import torch

from srkit.model.color_fix import (
    adain_transfer,
    wavelet_decomposition,
    wavelet_reconstruction,
)
from tests.released.sd.fixture_rules import load_case


def _pil_wrapper(fix, content_u8: torch.Tensor, style_u8: torch.Tensor) -> torch.Tensor:
    """The official PIL wrappers: u8/255, the fix, clamp, x255 truncated; H x W x 3 in and out."""
    content = (content_u8 / 255.0).permute(2, 0, 1)[None]
    style = (style_u8 / 255.0).permute(2, 0, 1)[None]
    return (fix(content, style).clamp(0.0, 1.0) * 255.0).to(torch.uint8)[0].permute(1, 2, 0).float()


def test_wavelet_reconstruction_matches_the_official_function() -> None:
    case = load_case("colorfix")
    case.check("out.wavelet", wavelet_reconstruction(case["in.content"], case["in.style"]))


def test_wavelet_decomposition_matches_the_official_bands() -> None:
    case = load_case("colorfix")
    high, low = wavelet_decomposition(case["in.content"])
    case.check("dbg.content_high", high)
    case.check("dbg.content_low", low)


def test_adain_matches_the_official_function() -> None:
    case = load_case("colorfix")
    case.check("out.adain", adain_transfer(case["in.content"], case["in.style"]))


def test_pil_wrappers_match_within_one_level() -> None:
    case = load_case("colorfix")
    case.check("out.wavelet_pil_u8", _pil_wrapper(wavelet_reconstruction, case["in.content_u8"], case["in.style_u8"]))
    case.check("out.adain_pil_u8", _pil_wrapper(adain_transfer, case["in.content_u8"], case["in.style_u8"]))
