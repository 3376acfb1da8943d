"""Drawing primitives of the synthetic data set: backgrounds, object textures, shapes, boundaries.

Everything is vectorised numpy on a coordinate grid, plus Pillow's polygon rasteriser; all
randomness comes from the ``numpy.random.Generator`` passed in, so a sample is a pure function of
its seed. Textures are defined in the object's own rotated frame so that they move with the object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("ellipse", "rectangle", "triangle", "star")
TEXTURES = ("shaded", "stripes", "checker", "dots", "rings")
BACKGROUNDS = ("gradient", "clouds", "waves")


@dataclass(frozen=True)
class Placement:
    """Where and how big an object is: centre (x, y), radius in pixels, rotation in radians."""

    cx: float
    cy: float
    radius: float
    theta: float


def coordinate_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(xs, ys)``, each float32 (S, S)."""
    axis = np.arange(size, dtype=np.float32) + 0.5
    xs, ys = np.meshgrid(axis, axis)
    return xs, ys


def _frame(grid: tuple[np.ndarray, np.ndarray], cx: float, cy: float, theta: float
           ) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = grid
    dx, dy = xs - cx, ys - cy
    c, s = math.cos(theta), math.sin(theta)
    return dx * c + dy * s, -dx * s + dy * c


def _mix(weight: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return first + weight[..., None] * (second - first)


def background(rng: np.random.Generator, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """A textured background: gradient, smooth "clouds" noise or soft waves of two random colours.

    Returns:
        float32 (S, S, 3) RGB in [0, 255].
    """
    size = grid[0].shape[0]
    first, second = rng.uniform(20, 235, size=(2, 3)).astype(np.float32)
    kind = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    u, _ = _frame(grid, size / 2, size / 2, rng.uniform(0, 2 * math.pi))
    if kind == "gradient":
        weight = np.clip(0.5 + u / (size * rng.uniform(0.8, 1.6)), 0, 1)
    elif kind == "clouds":
        cells = int(rng.integers(3, 7))
        coarse = Image.fromarray(rng.random((cells, cells), dtype=np.float32), mode="F")
        weight = np.clip(np.asarray(coarse.resize((size, size), Image.Resampling.BICUBIC)), 0, 1)
    else:
        period = size * rng.uniform(0.15, 0.5)
        weight = 0.5 + 0.5 * np.sin(2 * math.pi * u / period + rng.uniform(0, 2 * math.pi))
    return _mix(weight.astype(np.float32), first, second)


def object_texture(kind: str, rng: np.random.Generator, grid: tuple[np.ndarray, np.ndarray],
                   place: Placement, colours: np.ndarray) -> np.ndarray:
    """Fill pattern of one object, in the object's frame, mixing its two colours.

    Args:
        kind: one of :data:`TEXTURES`.
        rng: random source (pattern period and phase).
        grid: :func:`coordinate_grid`.
        place: the object's placement.
        colours: float (2, 3) RGB pair.

    Returns:
        float32 (S, S, 3) RGB (only the object's pixels are used by the caller).
    """
    u, v = _frame(grid, place.cx, place.cy, place.theta)
    # the period follows the image size so the pattern stays resolvable after DeepLab resizing
    period = max(3.0, grid[0].shape[0] / 20) * rng.uniform(0.85, 1.2)
    half = period / 2
    if kind == "shaded":
        weight = np.clip(0.5 + u / (2 * place.radius), 0, 1)
    elif kind == "stripes":
        weight = np.floor(u / half) % 2
    elif kind == "checker":
        weight = (np.floor(u / half) + np.floor(v / half)) % 2
    elif kind == "dots":
        du, dv = u % period - half, v % period - half
        weight = (du * du + dv * dv < (0.32 * period) ** 2).astype(np.float32)
    elif kind == "rings":
        weight = np.floor(np.hypot(u, v) / half) % 2
    else:
        raise ValueError(f"unknown texture {kind!r}; expected one of {TEXTURES}")
    return _mix(weight.astype(np.float32), colours[0], colours[1])


def shape_polygon(shape: str, rng: np.random.Generator, place: Placement) -> list[tuple[float, float]]:
    """Vertices of an object outline (ellipses as 36-gons so that they can rotate).

    Args:
        shape: one of :data:`SHAPES`.
        rng: random source (aspect ratio).
        place: centre, radius and rotation.

    Returns:
        ``[(x, y), ...]`` in pixel coordinates.
    """
    if shape == "ellipse":
        angles = np.linspace(0, 2 * math.pi, 36, endpoint=False)
        local = np.stack([np.cos(angles), rng.uniform(0.55, 1.0) * np.sin(angles)], axis=1)
    elif shape == "rectangle":
        aspect = rng.uniform(0.45, 1.0)
        local = np.array([[-1, -aspect], [1, -aspect], [1, aspect], [-1, aspect]]) / math.sqrt(2)
    elif shape == "triangle":
        angles = np.array([0, 2 * math.pi / 3, 4 * math.pi / 3])
        local = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    elif shape == "star":
        angles = np.linspace(0, 2 * math.pi, 10, endpoint=False)
        radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        local = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    c, s = math.cos(place.theta), math.sin(place.theta)
    rotated = local @ np.array([[c, s], [-s, c]]) * place.radius
    return [(float(x + place.cx), float(y + place.cy)) for x, y in rotated]


def polygon_mask(vertices: list[tuple[float, float]], size: int) -> np.ndarray:
    """Boolean (S, S) mask of the filled polygon."""
    canvas = Image.new("L", (size, size), 0)
    ImageDraw.Draw(canvas).polygon(vertices, fill=1)
    return np.asarray(canvas, dtype=bool)


def _window_extreme(values: np.ndarray, before: int, after: int, reduce: np.ufunc) -> np.ndarray:
    # separable max/min filter over offsets -before..after on both axes, borders replicated
    out = values
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (before, after)
        padded = np.pad(out, pad, mode="edge")
        n = values.shape[axis]
        slices = [padded.take(range(k, k + n), axis=axis) for k in range(before + after + 1)]
        out = reduce.reduce(np.stack(slices), axis=0)
    return out


def boundary_band(instances: np.ndarray, width: int) -> np.ndarray:
    """Pixels within a band of ``width`` pixels across every edge between instances.

    As in VOC's annotations, the band runs around each visible object part (instance map, so that
    touching objects of the same class are separated too); image borders make no band.

    Args:
        instances: int (S, S) map, 0 = background, k = k-th drawn object.
        width: band width in pixels (1..3 in the synthetic set).

    Returns:
        Boolean (S, S) mask.
    """
    before = width // 2
    after = width - before  # a window of before + after + 1 pixels straddles an edge `width` times
    high = _window_extreme(instances, before, after, np.maximum)
    low = _window_extreme(instances, before, after, np.minimum)
    return high != low
