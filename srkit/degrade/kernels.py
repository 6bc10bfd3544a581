"""Blur kernels of the Real-ESRGAN degradation, built in float64 numpy and normalised to sum 1.

Notation of BasicSR ``basicsr/data/degradations.py``: a kernel of odd size ``k``
lives on the integer grid ``x, y in [-(k-1)/2, (k-1)/2]`` (``x`` along columns,
``y`` along rows); with ``v = (x, y)``, the covariance
``Sigma = R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T`` and the quadratic form
``Q = v^T Sigma^-1 v``:

- Gaussian:              ``exp(-Q / 2)``
- generalised Gaussian:  ``exp(-Q^beta / 2)``   (beta = 1 is the Gaussian)
- plateau:               ``1 / (1 + Q^beta)``
- 2-D sinc (circular low-pass, cutoff ``omega_c``): ``omega_c J1(omega_c r) / (2 pi r)``
  with ``r = |v|`` and the limit ``omega_c^2 / (4 pi)`` at ``r = 0``.

Isotropic families use ``sigma_y = sigma_x`` and ``theta = 0``.
"""

from __future__ import annotations

import math

import numpy as np

from srkit.degrade.params import KernelParams
from srkit.errors import InputError


def _check_size(size: int) -> None:
    if size < 1 or size % 2 == 0:
        raise InputError(f"kernel size must be an odd number >= 1, got {size}")


def mesh_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred integer coordinates ``(x, y)`` of a ``size x size`` kernel (x: columns, y: rows)."""
    _check_size(size)
    axis = np.arange(size, dtype=np.float64) - (size - 1) / 2
    x, y = np.meshgrid(axis, axis)
    return x, y


def covariance(sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """``Sigma = R diag(sigma_x^2, sigma_y^2) R^T`` with ``R`` the rotation by ``theta`` (BasicSR ``sigma_matrix2``)."""
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    return rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T


def quadratic_form(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """``Q = v^T Sigma^-1 v`` at every grid point ``v = (x, y)``."""
    if sigma_x <= 0 or sigma_y <= 0:
        raise InputError(f"kernel sigmas must be > 0, got sigma_x={sigma_x}, sigma_y={sigma_y}")
    x, y = mesh_grid(size)
    inv = np.linalg.inv(covariance(sigma_x, sigma_y, theta))
    return inv[0, 0] * x * x + (inv[0, 1] + inv[1, 0]) * x * y + inv[1, 1] * y * y


def _normalised(kernel: np.ndarray) -> np.ndarray:
    return kernel / kernel.sum()


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    """Bivariate (an)isotropic Gaussian ``exp(-Q/2)``, normalised (BasicSR ``bivariate_Gaussian``)."""
    q = quadratic_form(size, sigma_x, sigma_x if sigma_y is None else sigma_y, theta)
    return _normalised(np.exp(-0.5 * q))


def generalized_gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> np.ndarray:
    """Generalised Gaussian ``exp(-Q^beta / 2)``, normalised.

    Pascal et al. 2013; BasicSR ``bivariate_generalized_Gaussian``.
    """
    q = quadratic_form(size, sigma_x, sigma_y, theta)
    return _normalised(np.exp(-0.5 * np.power(q, beta)))


def plateau_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> np.ndarray:
    """Plateau-shaped ``1 / (1 + Q^beta)``, normalised (BasicSR ``bivariate_plateau``)."""
    q = quadratic_form(size, sigma_x, sigma_y, theta)
    return _normalised(1.0 / (1.0 + np.power(q, beta)))


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel function ``J1`` from Bessel's integral ``(1/pi) int_0^pi cos(t - x sin t) dt``.

    The integrand extends to a smooth periodic function, so the midpoint rule
    converges geometrically: with ``n >= 2 max|x| + 64`` nodes it is exact to
    float64 rounding (about 1e-15) on the arguments kernels use.
    """
    x = np.asarray(x, dtype=np.float64)
    n = int(2 * np.abs(x).max(initial=0.0)) + 64
    t = (np.arange(n) + 0.5) * (math.pi / n)
    return np.cos(t - x[..., None] * np.sin(t)).mean(axis=-1)


def sinc_kernel(size: int, omega_c: float) -> np.ndarray:
    """2-D circular low-pass ``omega_c J1(omega_c r) / (2 pi r)``, centre ``omega_c^2 / (4 pi)``, normalised.

    The ideal disc low-pass of cutoff ``omega_c`` (rad/pixel) sampled on the grid
    (BasicSR ``circular_lowpass_kernel``); ``J1`` is the Bessel function of the
    first kind, order one (:func:`bessel_j1`).
    """
    if not 0 < omega_c <= math.pi:
        raise InputError(f"sinc cutoff omega_c must lie in (0, pi], got {omega_c}")
    x, y = mesh_grid(size)
    radii, where = np.unique(np.hypot(x, y), return_inverse=True)  # J1 once per distinct radius (~1/7 of the grid)
    safe_r = np.where(radii == 0, 1.0, radii)
    profile = np.where(
        radii == 0, omega_c**2 / (4 * math.pi), omega_c * bessel_j1(omega_c * safe_r) / (2 * math.pi * safe_r)
    )
    return _normalised(profile[where.reshape(x.shape)])


def build_kernel(params: KernelParams) -> np.ndarray:
    """The normalised float64 kernel described by ``params``."""
    kind = params.kind
    if kind == "sinc":
        return sinc_kernel(params.size, params.omega_c)
    isotropic = kind.endswith("iso") and not kind.endswith("aniso")
    sigma_y = params.sigma_x if isotropic else params.sigma_y
    theta = 0.0 if isotropic else params.theta
    if kind in ("iso", "aniso"):
        return gaussian_kernel(params.size, params.sigma_x, sigma_y, theta)
    if kind.startswith("generalized"):
        return generalized_gaussian_kernel(params.size, params.sigma_x, sigma_y, theta, params.beta)
    if kind.startswith("plateau"):
        return plateau_kernel(params.size, params.sigma_x, sigma_y, theta, params.beta)
    raise InputError(f"unknown kernel kind '{kind}'")
