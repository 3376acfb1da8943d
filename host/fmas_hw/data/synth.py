"""A deterministic synthetic data set in the PASCAL VOC 2012 layout (``fmas-hw data synth``).

PASCAL VOC cannot be downloaded on the development machines (SPEC §9), so the project trains and
searches on this set. It is built to behave like a segmentation task rather than a colour lookup:

* class ``c`` (1..20) is a *combination* of a shape (4 kinds) and a fill texture (5 kinds) drawn
  in a colour pair; every colour, every shape and every texture is shared by several classes (two
  classes with the same texture and colours differ only in shape), and colours are jittered per
  object, so no single pixel identifies a class: a network needs local context (texture) and a
  large receptive field (shape) — removing depth or resolution costs mIoU;
* backgrounds are textured (gradients, smooth noise, waves) in random colours, with thin
  distractor strokes in the object colours that belong to the background class;
* 2-5 objects per image at scales from ~6 % to ~40 % of the image, rotated, partly outside the
  frame and overlapping (the later object wins), with a 1-3 pixel ignore band (255) around every
  visible object part, as in VOC's annotations.

Every sample is a pure function of ``(seed, split, index)``; JPEGs (fixed quality, no metadata) and
palette PNGs are written byte-identically for the same arguments.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import ConfigError, DataError
from .textures import (
    SHAPES,
    TEXTURES,
    Placement,
    background,
    boundary_band,
    coordinate_grid,
    object_texture,
    polygon_mask,
    shape_polygon,
)
from .voc import IGNORE_LABEL, save_label

MAX_CLASSES = 1 + len(SHAPES) * len(TEXTURES)  # background + every shape/texture combination
JPEG_QUALITY = 92

#: Saturated object colours; each class uses two of them, each colour serves several classes.
HUES = np.array([
    (220, 45, 45), (45, 175, 65), (50, 80, 220), (235, 205, 40),
    (200, 55, 200), (45, 195, 205), (240, 135, 30)], dtype=np.float32)


@dataclass(frozen=True)
class ClassSpec:
    """Appearance of one object class: shape, fill texture and colour pair (before jitter)."""

    index: int
    shape: str
    texture: str
    colours: tuple[tuple[int, int, int], tuple[int, int, int]]

    @property
    def name(self) -> str:
        """Readable class name, e.g. ``star-dots``."""
        return f"{self.shape}-{self.texture}"


def class_specs(num_classes: int) -> list[ClassSpec]:
    """The object classes 1..num_classes-1 (class 0 is the background).

    Classes come in pairs (1-2, 3-4, ...) that share texture and colours and differ only in shape,
    so even a data set of 3 classes needs the object's outline, not just local texture: shapes
    cycle with period 4, textures change every second class (period 10 over the 5 textures), which
    makes the 20 classes exactly the 20 shape/texture combinations.

    Raises:
        ConfigError: ``num_classes`` outside 2..21.
    """
    if not 2 <= num_classes <= MAX_CLASSES:
        raise ConfigError(f"the synthetic data set has 2..{MAX_CLASSES} classes "
                          f"(background + shape/texture combinations), got {num_classes}")
    specs = []
    for j in range(num_classes - 1):
        pair = j // 2
        first, second = HUES[pair % len(HUES)], HUES[(pair + 3) % len(HUES)]
        specs.append(ClassSpec(j + 1, SHAPES[j % len(SHAPES)], TEXTURES[pair % len(TEXTURES)],
                               (_rgb(first), _rgb(second))))
    return specs


def _rgb(colour) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in colour)
    return r, g, b


def _jitter(rng: np.random.Generator, colours: tuple) -> np.ndarray:
    base = np.asarray(colours, dtype=np.float32)
    gain = rng.uniform(0.8, 1.15, size=(2, 1))  # brightness, per colour
    return np.clip(base * gain + rng.normal(0, 12, size=(2, 3)), 0, 255).astype(np.float32)


def _placement(rng: np.random.Generator, size: int) -> Placement:
    cx, cy = rng.uniform(0.1, 0.9, size=2) * size
    radius = size * math.exp(rng.uniform(math.log(0.06), math.log(0.4)))  # log-uniform scale
    return Placement(float(cx), float(cy), float(radius), float(rng.uniform(0, 2 * math.pi)))


def _draw_distractors(rng: np.random.Generator, image: np.ndarray) -> None:
    # thin strokes in object colours that stay background: colour alone must not mean "object"
    size = image.shape[0]
    for _ in range(int(rng.integers(0, 3))):
        canvas = Image.new("L", (size, size), 0)
        ends = [tuple(p) for p in rng.uniform(0, size, size=(2, 2)).tolist()]
        ImageDraw.Draw(canvas).line(ends, fill=1, width=int(rng.integers(1, 3)))
        image[np.asarray(canvas, dtype=bool)] = HUES[rng.integers(len(HUES))]


def render_sample(rng: np.random.Generator, grid: tuple[np.ndarray, np.ndarray],
                  specs: list[ClassSpec]) -> tuple[np.ndarray, np.ndarray]:
    """Draw one image and its mask.

    Args:
        rng: the sample's random source.
        grid: :func:`~fmas_hw.data.textures.coordinate_grid` of the image size.
        specs: the object classes to draw from (:func:`class_specs`).

    Returns:
        ``(image uint8 (S, S, 3), label uint8 (S, S))`` with labels in {0..K-1, 255}.
    """
    size = grid[0].shape[0]
    image = background(rng, grid)
    _draw_distractors(rng, image)
    instances = np.zeros((size, size), dtype=np.int16)
    label = np.zeros((size, size), dtype=np.uint8)
    for k in range(1, int(rng.integers(2, 6)) + 1):
        spec = specs[int(rng.integers(len(specs)))]
        place = _placement(rng, size)
        mask = polygon_mask(shape_polygon(spec.shape, rng, place), size)
        texture = object_texture(spec.texture, rng, grid, place, _jitter(rng, spec.colours))
        image[mask] = texture[mask]
        instances[mask] = k  # drawn later = in front: occlusion
        label[mask] = spec.index
    label[boundary_band(instances, int(rng.integers(1, 4)))] = IGNORE_LABEL
    image += rng.normal(0, 4, size=image.shape).astype(np.float32)  # sensor noise
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), label


def _check_args(train: int, val: int, size: int, seed: int) -> None:
    if train < 1 or val < 1:
        raise ConfigError(f"need at least one train and one val image, got train={train}, "
                          f"val={val}")
    if size < 16:
        raise ConfigError(f"image size {size} is too small: use at least 16 pixels")
    if seed < 0:
        raise ConfigError(f"seed {seed} is negative: use a seed >= 0")


def _make_tree(out: Path, force: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file: pass a folder (it is created when missing)")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held and not force:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise DataError(f"--out {out} is not empty (it holds {shown}): writing there would replace the list "
                        "files and images of the data set already in it. Choose an empty or new folder, "
                        "or pass --force to write over it")
    root = out / "VOC2012"
    try:
        for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
            (root / folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the data set under {out} ({exc}): choose a writable "
                        "--out folder") from None
    return root


def write_synthetic_voc(out: str | Path, train: int = 200, val: int = 50, size: int = 128,
                        num_classes: int = MAX_CLASSES, seed: int = 0, force: bool = False) -> Path:
    """Write the synthetic data set to ``out/VOC2012`` in the VOC layout.

    A folder that holds anything is refused unless ``force``: then the files of an earlier run
    are overwritten, and images beyond the new counts are left in place but no longer listed,
    so they are never read.

    Args:
        out: output folder (created when missing).
        train: number of training images (``train_00000`` ...).
        val: number of validation images (``val_00000`` ...).
        size: image width and height in pixels.
        num_classes: classes including background, 2..21.
        seed: random seed; the same arguments give byte-identical files.
        force: write into a folder that is not empty.

    Returns:
        The ``VOC2012`` folder (what ``--data`` accepts, as does ``out`` itself).

    Raises:
        ConfigError: an argument is out of range.
        DataError: ``out`` is a file, is not empty (without ``force``), or cannot be written.
    """
    _check_args(train, val, size, seed)
    specs = class_specs(num_classes)
    root = _make_tree(Path(out).expanduser(), force)
    grid = coordinate_grid(size)
    lists: dict[str, list[str]] = {}
    for split_index, (split, count) in enumerate((("train", train), ("val", val))):
        lists[split] = [f"{split}_{i:05d}" for i in range(count)]
        for i, image_id in enumerate(lists[split]):
            # one independent stream per sample: adding images never changes existing ones
            rng = np.random.default_rng([seed, split_index, i])
            image, label = render_sample(rng, grid, specs)
            _save(root, image_id, image, label)
    lists["trainval"] = lists["train"] + lists["val"]
    for split, ids in lists.items():
        _write_text(root / "ImageSets" / "Segmentation" / f"{split}.txt", "\n".join(ids) + "\n")
    _write_text(root / "synth.json", _describe(specs, train, val, size, seed))
    return root


def _save(root: Path, image_id: str, image: np.ndarray, label: np.ndarray) -> None:
    try:
        Image.fromarray(image).save(root / "JPEGImages" / f"{image_id}.jpg", format="JPEG",
                                    quality=JPEG_QUALITY, subsampling=0, optimize=False)
        save_label(root / "SegmentationClass" / f"{image_id}.png", label)
    except OSError as exc:
        raise DataError(f"cannot write sample {image_id} under {root} ({exc})") from None


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write {path} ({exc})") from None


def _describe(specs: list[ClassSpec], train: int, val: int, size: int, seed: int) -> str:
    classes = [{"index": 0, "name": "background"}] + [
        {"index": s.index, "name": s.name, "shape": s.shape, "texture": s.texture,
         "colours": [list(c) for c in s.colours]} for s in specs]
    meta = {"generator": "fmas-hw data synth", "seed": seed, "size": size, "train": train,
            "val": val, "num_classes": len(specs) + 1, "ignore_label": IGNORE_LABEL,
            "classes": classes}
    return json.dumps(meta, indent=2) + "\n"
