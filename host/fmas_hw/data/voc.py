"""Loader for data sets in the PASCAL VOC 2012 segmentation layout.

The layout (SPEC §4)::

    VOC2012/
      JPEGImages/<id>.jpg
      SegmentationClass/<id>.png        palette ("P") PNGs whose pixel values are class indices,
                                        255 = ignore (object boundaries, "difficult" regions)
      ImageSets/Segmentation/{train,val}.txt   one id per line, in evaluation order

Every problem with the files is reported as a :class:`~fmas_hw.errors.DataError` that names the
offending file and says what to do. Images are decoded lazily by :meth:`VocDataset.read`; the
decode-once cache of whole splits lives in :mod:`fmas_hw.data.cache`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ConfigError, DataError

#: Label value of pixels excluded from training and evaluation (VOC object boundaries).
IGNORE_LABEL = 255

#: Image file extensions tried for an id, in this order (VOC itself only has .jpg).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

_FOLDERS = ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation")


def resolve_root(path: str | Path) -> Path:
    """Find the ``VOC2012`` folder from what a user passed as ``--data``.

    Accepted: the ``VOC2012`` folder itself, a folder holding ``VOCdevkit/VOC2012`` (the layout of
    the official tar file) or a folder holding ``VOC2012`` (what ``fmas-hw data synth`` writes).

    Args:
        path: the user's data path.

    Returns:
        The resolved ``VOC2012`` folder.

    Raises:
        DataError: the path does not exist or holds none of the accepted layouts.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DataError(f"data folder {path} does not exist: pass --data the VOC2012 folder, "
                        "a folder holding VOCdevkit/VOC2012, or the --out of `fmas-hw data synth`")
    for candidate in (path, path / "VOCdevkit" / "VOC2012", path / "VOC2012"):
        if (candidate / "JPEGImages").is_dir() or (candidate / "SegmentationClass").is_dir():
            return candidate.resolve()
    raise DataError(f"{path} is not a VOC-format data set: expected {path}/JPEGImages, "
                    f"{path}/VOCdevkit/VOC2012/JPEGImages or {path}/VOC2012/JPEGImages")


#: What ``fmas-hw data synth`` writes beside the lists: how the set was made, its class count.
DESCRIPTION_FILE = "synth.json"


def described_classes(root: Path) -> int | None:
    """The class count a data set states about itself (``<root>/synth.json``'s ``num_classes``),
    or None when it states none.

    Raises:
        DataError: the file exists but is not a JSON object with an integer ``num_classes``.
    """
    path = root / DESCRIPTION_FILE
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))["num_classes"]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"num_classes is {value!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not a readable data set description ({exc}): fix or remove it, "
                        "or give --classes") from None
    return value


def voc_palette() -> list[int]:
    """The standard PASCAL VOC colour map as a flat 768-entry PIL palette.

    Returns:
        ``[r0, g0, b0, r1, ...]`` for indices 0..255 (index 255 is (224, 224, 192)).
    """
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for shift in range(7, -1, -1):  # the devkit's bit-interleaving colour map
            r |= ((c >> 0) & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        palette += [r, g, b]
    return palette


def load_image(path: Path) -> np.ndarray:
    """Decode an image file as RGB.

    Args:
        path: JPEG (or PNG) file.

    Returns:
        ``uint8`` array of shape (H, W, 3).

    Raises:
        DataError: the file is missing or cannot be decoded.
    """
    try:
        with Image.open(path) as img:
            img.load()  # decode now, so truncated files fail here and not later in numpy
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"image {path} is missing: restore it or remove its id from the list "
                        "file") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"image {path} cannot be decoded ({exc}): replace the file or remove "
                        "its id from the list file") from None


def load_label(path: Path, num_classes: int) -> np.ndarray:
    """Decode a segmentation mask whose pixel values are class indices.

    Args:
        path: palette ("P") or greyscale ("L") PNG.
        num_classes: labels must be below this or equal :data:`IGNORE_LABEL`.

    Returns:
        ``uint8`` array of shape (H, W).

    Raises:
        DataError: missing, undecodable, not single-channel, or labels out of range.
    """
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            label = np.asarray(img, dtype=np.uint8) if mode in ("P", "L") else None
    except FileNotFoundError:
        raise DataError(f"mask {path} is missing: every id of the list file needs a "
                        "SegmentationClass/<id>.png") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"mask {path} cannot be decoded ({exc}): replace the file") from None
    if label is None:
        raise DataError(f"mask {path} has mode {mode!r}: expected a single-channel palette (P) or "
                        "greyscale (L) PNG whose pixel values are class indices (colour-coded "
                        "RGB masks must be mapped to indices first)")
    _check_label_values(label, num_classes, path)
    return label


def _check_label_values(label: np.ndarray, num_classes: int, path: Path) -> None:
    counts = np.bincount(label.ravel(), minlength=256)
    counts[IGNORE_LABEL] = 0
    bad = np.flatnonzero(counts[num_classes:]) + num_classes
    if bad.size:
        raise DataError(f"mask {path} holds label(s) {bad.tolist()} but the data set has "
                        f"{num_classes} classes (0..{num_classes - 1}, {IGNORE_LABEL} = ignore): "
                        "pass the right number of classes or fix the mask")


def leading_count(fraction: float, n: int) -> int:
    """How many of ``n`` listed images "the first ``fraction``" holds: ``ceil(fraction * n)``, >= 1.

    Raises:
        ConfigError: ``fraction`` outside (0, 1].
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction={fraction}: expected a value in (0, 1], e.g. 0.2 for "
                          "the first 20 % of the list")
    # the epsilon keeps float noise (0.1 * 30 = 3.0000000000000004) from adding an image
    return max(1, math.ceil(fraction * n - 1e-9))


class VocDataset:
    """A VOC-format segmentation data set on disk.

    Args:
        root: the ``VOC2012`` folder or a folder holding it (see :func:`resolve_root`).
        num_classes: number of classes including background (21 for PASCAL VOC).

    Raises:
        DataError: the folder or one of its sub-folders is missing.
        ConfigError: ``num_classes`` outside 2..255.
    """

    def __init__(self, root: str | Path, num_classes: int = 21) -> None:
        if not 2 <= num_classes <= IGNORE_LABEL:
            raise ConfigError(f"num_classes={num_classes}: expected 2..{IGNORE_LABEL}")
        self.root = resolve_root(root)
        self.num_classes = num_classes
        for folder in _FOLDERS:
            if not (self.root / folder).is_dir():
                raise DataError(f"{self.root / folder} is missing: a VOC-format data set needs "
                                f"{', '.join(_FOLDERS)} under {self.root}")
        self._ids: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"VocDataset({str(self.root)!r}, num_classes={self.num_classes})"

    def list_file(self, split: str) -> Path:
        """Path of the id list of ``split`` (``ImageSets/Segmentation/<split>.txt``)."""
        return self.root / "ImageSets" / "Segmentation" / f"{split}.txt"

    def ids(self, split: str) -> list[str]:
        """Image ids of ``split`` in file order.

        Raises:
            DataError: the list file is missing or holds no id.
        """
        if split not in self._ids:
            path = self.list_file(split)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise DataError(f"list file {path} is missing: expected one image id per line "
                                f"for the {split!r} split") from None
            # first token only: tolerates CRLF and the "<id> <flag>" lines of VOC's Main lists
            ids = [line.split()[0] for line in text.splitlines() if line.strip()]
            if not ids:
                raise DataError(f"list file {path} is empty: expected one image id per line")
            self._ids[split] = ids
        return list(self._ids[split])

    def subset_ids(self, split: str, fraction: float) -> list[str]:
        """The first ``ceil(fraction * n)`` ids of ``split`` in file order (at least one).

        This is the search-time validation subset of SPEC §4 (``--val-fraction``).

        Raises:
            ConfigError: ``fraction`` outside (0, 1].
            DataError: see :meth:`ids`.
        """
        leading_count(fraction, 1)  # refuse a bad fraction before reading the list
        ids = self.ids(split)
        return ids[:leading_count(fraction, len(ids))]

    def image_path(self, image_id: str) -> Path:
        """The image file of ``image_id`` (the ``.jpg`` path when none exists)."""
        for ext in IMAGE_EXTENSIONS:
            path = self.root / "JPEGImages" / f"{image_id}{ext}"
            if path.is_file():
                return path
        return self.root / "JPEGImages" / f"{image_id}.jpg"

    def label_path(self, image_id: str) -> Path:
        """The mask file of ``image_id``."""
        return self.root / "SegmentationClass" / f"{image_id}.png"

    def read(self, image_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Decode one image and its mask.

        Returns:
            ``(image uint8 (H, W, 3) RGB, label uint8 (H, W))``.

        Raises:
            DataError: a file is missing, undecodable or inconsistent with the other.
        """
        image_path, label_path = self.image_path(image_id), self.label_path(image_id)
        image = load_image(image_path)
        label = load_label(label_path, self.num_classes)
        if image.shape[:2] != label.shape:
            raise DataError(f"mask {label_path} is {label.shape[1]}x{label.shape[0]} but image "
                            f"{image_path} is {image.shape[1]}x{image.shape[0]}: they must have "
                            "the same size")
        return image, label

    def check(self, split: str, decode: bool = True) -> int:
        """Validate every file of ``split``.

        Args:
            split: list name (``train``, ``val``...).
            decode: also decode every image and mask (slow); otherwise only check existence.

        Returns:
            The number of ids checked.

        Raises:
            DataError: the first problem found.
        """
        ids = self.ids(split)
        for image_id in ids:
            if decode:
                self.read(image_id)
                continue
            for path, kind in ((self.image_path(image_id), "image"),
                               (self.label_path(image_id), "mask")):
                if not path.is_file():
                    raise DataError(f"{kind} {path} is missing (listed in "
                                    f"{self.list_file(split)})")
        return len(ids)


def save_label(path: str | Path, label: np.ndarray) -> None:
    """Write a class-index mask as a VOC palette PNG.

    Args:
        path: output ``.png`` file.
        label: ``uint8`` array (H, W) of class indices (255 = ignore).
    """
    img = Image.fromarray(np.asarray(label, dtype=np.uint8), mode="P")
    img.putpalette(voc_palette())
    img.save(path, format="PNG", optimize=False)
