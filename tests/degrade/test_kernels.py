"""Blur kernels against their closed forms, computed here independently of srkit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srkit.degrade.kernels import (
    bessel_j1,
    build_kernel,
    gaussian_kernel,
    generalized_gaussian_kernel,
    plateau_kernel,
    sinc_kernel,
)
from srkit.degrade.params import KernelParams
from srkit.errors import InputError


def _rotated_form(size: int, sx: float, sy: float, theta: float) -> np.ndarray:
    """(u/sx)^2 + (v/sy)^2 with (u, v) the grid point expressed in the kernel's rotated axes."""
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    u = x * math.cos(theta) + y * math.sin(theta)
    v = -x * math.sin(theta) + y * math.cos(theta)
    return (u / sx) ** 2 + (v / sy) ** 2


ALL_KERNELS = [
    KernelParams("iso", 7, sigma_x=1.3, sigma_y=1.3),
    KernelParams("aniso", 21, sigma_x=3.0, sigma_y=0.4, theta=2.1),
    KernelParams("generalized_iso", 9, sigma_x=0.9, beta=0.6),
    KernelParams("generalized_aniso", 15, sigma_x=2.2, sigma_y=1.1, theta=-0.7, beta=3.5),
    KernelParams("plateau_iso", 11, sigma_x=1.7, beta=1.0),
    KernelParams("plateau_aniso", 13, sigma_x=0.5, sigma_y=2.5, theta=0.3, beta=1.8),
    KernelParams("sinc", 17, omega_c=math.pi / 4),
    KernelParams("sinc", 3, omega_c=math.pi),
]


@pytest.mark.parametrize("params", ALL_KERNELS, ids=lambda p: f"{p.kind}{p.size}")
def test_every_kernel_sums_to_one_and_is_point_symmetric(params: KernelParams) -> None:
    kernel = build_kernel(params)
    assert kernel.shape == (params.size, params.size)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-15)  # so correlation == convolution


def test_isotropic_gaussian_is_outer_product_of_1d_gaussians() -> None:
    sigma, size = 1.7, 11
    taps = np.exp(-((np.arange(size) - 5.0) ** 2) / (2 * sigma**2))
    expected = np.outer(taps, taps) / np.outer(taps, taps).sum()
    np.testing.assert_allclose(gaussian_kernel(size, sigma), expected, rtol=1e-12)


@pytest.mark.parametrize("theta", [0.0, math.pi / 6, -2.0])
def test_anisotropic_gaussian_matches_rotated_closed_form(theta: float) -> None:
    sx, sy, size = 2.0, 0.8, 15
    expected = np.exp(-0.5 * _rotated_form(size, sx, sy, theta))
    np.testing.assert_allclose(gaussian_kernel(size, sx, sy, theta), expected / expected.sum(), rtol=1e-10)


def test_anisotropic_gaussian_rotated_quarter_turn_is_the_transpose() -> None:
    base = gaussian_kernel(13, 2.5, 0.7, 0.0)
    np.testing.assert_allclose(gaussian_kernel(13, 2.5, 0.7, math.pi / 2), base.T, atol=1e-14)


def test_generalized_gaussian_matches_closed_form_and_reduces_to_gaussian_at_beta_one() -> None:
    sx, sy, theta, beta, size = 1.5, 2.5, 0.4, 2.7, 13
    expected = np.exp(-0.5 * _rotated_form(size, sx, sy, theta) ** beta)
    np.testing.assert_allclose(
        generalized_gaussian_kernel(size, sx, sy, theta, beta), expected / expected.sum(), rtol=1e-10
    )
    np.testing.assert_allclose(
        generalized_gaussian_kernel(size, sx, sy, theta, 1.0), gaussian_kernel(size, sx, sy, theta), rtol=1e-12
    )


def test_plateau_kernel_matches_closed_form() -> None:
    sx, sy, theta, beta, size = 2.0, 1.0, -1.1, 1.6, 11
    expected = 1.0 / (1.0 + _rotated_form(size, sx, sy, theta) ** beta)
    np.testing.assert_allclose(plateau_kernel(size, sx, sy, theta, beta), expected / expected.sum(), rtol=1e-10)


def test_bessel_j1_matches_scipy() -> None:
    special = pytest.importorskip("scipy.special")
    x = np.linspace(0.0, 60.0, 3001)
    np.testing.assert_allclose(bessel_j1(x), special.j1(x), atol=1e-14)


@pytest.mark.parametrize("omega", [math.pi / 5, math.pi / 3, 0.77 * math.pi, math.pi])
def test_sinc_kernel_matches_analytic_circular_lowpass(omega: float) -> None:
    special = pytest.importorskip("scipy.special")
    size = 21
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    radius = np.hypot(x, y)
    safe = np.where(radius == 0, 1.0, radius)
    expected = np.where(radius == 0, omega**2 / (4 * math.pi), omega * special.j1(omega * safe) / (2 * math.pi * safe))
    np.testing.assert_allclose(sinc_kernel(size, omega), expected / expected.sum(), rtol=1e-12, atol=1e-15)


def test_build_kernel_ignores_sigma_y_and_theta_for_isotropic_families() -> None:
    iso = build_kernel(KernelParams("generalized_iso", 9, sigma_x=1.2, sigma_y=3.0, theta=1.0, beta=0.7))
    np.testing.assert_allclose(iso, generalized_gaussian_kernel(9, 1.2, 1.2, 0.0, 0.7), rtol=1e-12)


def test_even_kernel_size_is_refused() -> None:
    with pytest.raises(InputError, match="odd"):
        gaussian_kernel(8, 1.0)
