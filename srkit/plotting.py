"""Small PNG charts drawn with OpenCV: line plots (loss curves) and labelled scatter plots.

matplotlib is not a dependency of srkit, and these charts need little: axes
with "nice" ticks (1, 2, 5 x 10^k steps), an optional log-scaled y axis,
several coloured series with a legend, labelled points. Coordinates map
linearly from data to pixels; text uses OpenCV's Hershey font. Files are
written atomically through :func:`srkit.io.images.write_image`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from srkit.errors import UsageError
from srkit.io.atomic import make_folder

#: Series colours (RGB): a colour-blind-friendly qualitative palette (Okabe & Ito 2008).
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 114, 178),
    (213, 94, 0),
    (0, 158, 115),
    (204, 121, 167),
    (230, 159, 0),
    (86, 180, 233),
    (240, 228, 66),
    (0, 0, 0),
)
FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_SCALE = 0.45
TITLE_SCALE = 0.6
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 20, 40, 55
AXIS_GREY = (90, 90, 90)
GRID_GREY = (225, 225, 225)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Tick values covering [lo, hi] with a step of 1, 2 or 5 times a power of ten (about ``count`` ticks)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UsageError("cannot place ticks on a non-finite range")
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0)
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1.0, 2.0, 5.0, 10.0)), key=lambda s: abs(math.log(s / raw)))
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    ticks = [float(f"{k * step:.12g}") for k in range(first, last + 1)]
    return ticks


def format_tick(value: float) -> str:
    """Short tick label: plain for moderate values, scientific for very large or very small ones."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.1e}"


@dataclass(frozen=True)
class Axis:
    """A linear (or log10) map from data values to pixel positions along one axis."""

    lo: float
    hi: float
    start: int
    end: int
    log: bool = False

    def _t(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def to_pixel(self, value: float) -> int:
        lo, hi = self._t(self.lo), self._t(self.hi)
        frac = 0.5 if hi == lo else (self._t(value) - lo) / (hi - lo)
        return int(round(self.start + frac * (self.end - self.start)))

    def ticks(self) -> list[float]:
        if not self.log:
            return [v for v in nice_ticks(self.lo, self.hi) if self.lo <= v <= self.hi]
        first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
        decades = [10.0**k for k in range(first, last + 1)]
        inside = [v for v in decades if self.lo <= v <= self.hi]
        return inside if len(inside) >= 2 else [self.lo, self.hi]


def _padded_range(values: Sequence[float], log: bool) -> tuple[float, float]:
    """Data range with 5 % head room (in log space for a log axis)."""
    lo, hi = float(min(values)), float(max(values))
    if log:
        llo, lhi = math.log10(lo), math.log10(hi)
        pad = 0.05 * (lhi - llo) or 0.1
        return 10 ** (llo - pad), 10 ** (lhi + pad)
    pad = 0.05 * (hi - lo) or (0.05 * abs(hi) or 1.0)
    return lo - pad, hi + pad


def _put_text(canvas: np.ndarray, text: str, org: tuple[int, int], scale: float = TEXT_SCALE,
              color: tuple[int, int, int] = (0, 0, 0), anchor: str = "left") -> None:
    """Draw ``text`` with its baseline at ``org``; ``anchor`` left, centre or right of ``org``."""
    (width, _), _ = cv2.getTextSize(text, FONT, scale, 1)
    x = org[0] - (width if anchor == "right" else width // 2 if anchor == "centre" else 0)
    cv2.putText(canvas, text, (x, org[1]), FONT, scale, color, 1, cv2.LINE_AA)


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


class _Chart:
    """A white canvas with framed axes, ticks, grid, labels and a legend (BGR uint8, OpenCV order)."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], *, size: tuple[int, int], title: str,
                 xlabel: str, ylabel: str, log_y: bool) -> None:
        width, height = size
        if width < 200 or height < 150:
            raise UsageError(f"plot size must be at least 200x150 pixels, got {width}x{height}")
        self.canvas = np.full((height, width, 3), 255, np.uint8)
        x_lo, x_hi = _padded_range(xs, False)
        y_lo, y_hi = _padded_range(ys, log_y)
        self.x = Axis(x_lo, x_hi, MARGIN_LEFT, width - MARGIN_RIGHT)
        self.y = Axis(y_lo, y_hi, height - MARGIN_BOTTOM, MARGIN_TOP, log=log_y)
        self._frame(title, xlabel, ylabel)

    def _frame(self, title: str, xlabel: str, ylabel: str) -> None:
        c, (x0, x1), (y0, y1) = self.canvas, (self.x.start, self.x.end), (self.y.start, self.y.end)
        for value in self.x.ticks():
            px = self.x.to_pixel(value)
            cv2.line(c, (px, y1), (px, y0), GRID_GREY, 1)
            cv2.line(c, (px, y0), (px, y0 + 5), AXIS_GREY, 1)
            _put_text(c, format_tick(value), (px, y0 + 20), anchor="centre")
        for value in self.y.ticks():
            py = self.y.to_pixel(value)
            cv2.line(c, (x0, py), (x1, py), GRID_GREY, 1)
            cv2.line(c, (x0 - 5, py), (x0, py), AXIS_GREY, 1)
            _put_text(c, format_tick(value), (x0 - 8, py + 5), anchor="right")
        cv2.rectangle(c, (x0, y1), (x1, y0), AXIS_GREY, 1)
        _put_text(c, title, ((x0 + x1) // 2, 25), TITLE_SCALE, anchor="centre")
        _put_text(c, xlabel, ((x0 + x1) // 2, c.shape[0] - 12), anchor="centre")
        _put_text(c, ylabel, (8, y1 - 10))

    def point(self, x: float, y: float) -> tuple[int, int]:
        return self.x.to_pixel(x), self.y.to_pixel(y)

    def legend(self, entries: Sequence[tuple[str, tuple[int, int, int]]]) -> None:
        """Names with colour swatches, stacked in the top-right corner of the plot area."""
        top = self.y.end + 8
        right = self.x.end - 8
        for i, (name, colour) in enumerate(entries):
            y = top + 16 * i + 10
            (width, _), _ = cv2.getTextSize(name, FONT, TEXT_SCALE, 1)
            cv2.rectangle(self.canvas, (right - width - 24, y - 9), (right - width - 10, y + 1), _bgr(colour), -1)
            _put_text(self.canvas, name, (right, y), anchor="right")

    def save(self, path: str | Path) -> Path:
        from srkit.io.images import write_image

        path = Path(path)
        make_folder(path.parent)
        return write_image(path, np.ascontiguousarray(self.canvas[:, :, ::-1]))


def _finite_pairs(xs: Sequence[float], ys: Sequence[float], log_y: bool) -> tuple[list[float], list[float]]:
    """Drop points that cannot be drawn (NaN/inf, or y <= 0 on a log axis)."""
    keep = [(float(x), float(y)) for x, y in zip(xs, ys)
            if math.isfinite(x) and math.isfinite(y) and (y > 0 or not log_y)]
    return [p[0] for p in keep], [p[1] for p in keep]


def line_plot(
    path: str | Path,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    log_y: bool = False,
    size: tuple[int, int] = (800, 500),
) -> Path:
    """Write a PNG with one polyline per ``name -> (xs, ys)`` series (e.g. loss against step); return the path.

    Points that are not finite (or not positive with ``log_y``) are dropped;
    a series with one point is drawn as a dot. Raises ``UsageError`` when no
    series has a drawable point.
    """
    cleaned = {name: _finite_pairs(xs, ys, log_y) for name, (xs, ys) in series.items()}
    cleaned = {name: xy for name, xy in cleaned.items() if xy[0]}
    if not cleaned:
        raise UsageError(f"nothing to plot in {Path(path).name}: no finite values")
    all_x = [x for xs, _ in cleaned.values() for x in xs]
    all_y = [y for _, ys in cleaned.values() for y in ys]
    chart = _Chart(all_x, all_y, size=size, title=title, xlabel=xlabel, ylabel=ylabel, log_y=log_y)
    entries = []
    for i, (name, (xs, ys)) in enumerate(cleaned.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = np.array([chart.point(x, y) for x, y in zip(xs, ys)], np.int32)
        if len(pts) == 1:
            cv2.circle(chart.canvas, tuple(int(v) for v in pts[0]), 3, _bgr(colour), -1, cv2.LINE_AA)
        else:
            cv2.polylines(chart.canvas, [pts.reshape(-1, 1, 2)], False, _bgr(colour), 2, cv2.LINE_AA)
        entries.append((name, colour))
    if len(entries) > 1:
        chart.legend(entries)
    return chart.save(path)


def scatter_plot(
    path: str | Path,
    points: Sequence[tuple[float, float, str]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    log_y: bool = False,
    size: tuple[int, int] = (800, 500),
) -> Path:
    """Write a PNG with one labelled, coloured marker per ``(x, y, label)`` point; return the path.

    Made for the perception-distortion plot of ``srkit bench`` (e.g. PSNR
    against LPIPS, one point per method). Labels sit to the right of their
    marker; colours cycle through :data:`PALETTE`.
    """
    drawable = [(float(x), float(y), str(label)) for x, y, label in points
                if math.isfinite(x) and math.isfinite(y) and (y > 0 or not log_y)]
    if not drawable:
        raise UsageError(f"nothing to plot in {Path(path).name}: no finite points")
    chart = _Chart([p[0] for p in drawable], [p[1] for p in drawable], size=size, title=title,
                   xlabel=xlabel, ylabel=ylabel, log_y=log_y)
    for i, (x, y, label) in enumerate(drawable):
        colour = _bgr(PALETTE[i % len(PALETTE)])
        px, py = chart.point(x, y)
        cv2.circle(chart.canvas, (px, py), 5, colour, -1, cv2.LINE_AA)
        (width, _), _ = cv2.getTextSize(label, FONT, TEXT_SCALE, 1)
        fits_right = px + 8 + width < chart.canvas.shape[1]
        _put_text(chart.canvas, label, (px + 8 if fits_right else px - 8, py + 4), color=colour,
                  anchor="left" if fits_right else "right")
    return chart.save(path)
