"""Decode-once cache of preprocessed splits (SPEC §4: a candidate's evaluation costs the forward
passes, not JPEG decoding).

A split (or its first fraction) is decoded and fitted to the input size once, then kept

* in memory, keyed by a fingerprint of the files, for the rest of the process, and
* on disk as ``<cache dir>/voc/<split>-<size>-<fingerprint>.npz`` (compact ``uint8``), so that
  later processes (search workers, a resumed search) skip decoding too.

The fingerprint hashes the resolved root, the id list, every file's size and mtime, the input size
and the number of classes: editing, adding or removing a file invalidates the entry. The cache
folder is ``$FMAS_HW_CACHE`` or ``~/.cache/fmas-hw``; ``FMAS_HW_CACHE=off`` disables the disk cache.

While a split is decoded, the bytes of its files are hashed too (:attr:`RawSplit.digests`: the id
list, the images, the masks), and the digests are kept with the cached arrays, so what a search
scored on can be named without reading the files again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .preprocess import fit_to_square, network_input
from .voc import VocDataset

_FORMAT_VERSION = 2  # 2: the content digests are kept beside the arrays
_MEMORY_ENTRIES = 4  # a search holds one subset; a few more cover train/val/final evaluation
_DISABLED = ("", "0", "off", "none", "false")
_DIGESTS = ("ids", "images", "masks")


@dataclass(frozen=True)
class RawSplit:
    """A fitted split as stored in the cache.

    Attributes:
        images: ``uint8`` (N, S, S, 3), padding holds a placeholder (see ``fit_to_square``).
        labels: ``uint8`` (N, S, S), padding = 255.
        sizes: ``int32`` (N, 2), valid ``(h, w)`` of each image.
        ids: the image ids, in list-file order.
        digests: ``{"ids": ..., "images": ..., "masks": ...}``, 16 hex digits each: SHA-256 of the
            id list (in order), and of every image's and every mask's file bytes in that order.
    """

    images: np.ndarray
    labels: np.ndarray
    sizes: np.ndarray
    ids: tuple[str, ...]
    digests: dict[str, str]


_raw_memory: OrderedDict[str, RawSplit] = OrderedDict()
_input_memory: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
# one lock for both stores: concurrent evaluations in threads wait for one decode, never repeat it
_lock = threading.RLock()


def default_cache_dir() -> Path | None:
    """The disk cache folder: ``$FMAS_HW_CACHE``, else ``~/.cache/fmas-hw``; None when disabled."""
    value = os.environ.get("FMAS_HW_CACHE")
    if value is None:
        return Path.home() / ".cache" / "fmas-hw"
    return None if value.strip().lower() in _DISABLED else Path(value).expanduser()


def clear_memory_cache() -> None:
    """Forget every split held in memory (the disk cache is kept)."""
    with _lock:
        _raw_memory.clear()
        _input_memory.clear()


def fingerprint(dataset: VocDataset, ids: list[str], input_size: int) -> str:
    """Hash of everything a cached split depends on (files, their stats, input size, classes)."""
    digest = hashlib.sha256(f"v{_FORMAT_VERSION}|{dataset.root}|{input_size}|"
                            f"{dataset.num_classes}".encode())
    for image_id in ids:
        for path in (dataset.image_path(image_id), dataset.label_path(image_id)):
            try:
                stat = path.stat()
                digest.update(f"|{image_id}|{path.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
            except FileNotFoundError:
                # keyed as missing; decoding then raises the DataError that names the file
                digest.update(f"|{image_id}|{path.name}|missing".encode())
    return digest.hexdigest()[:20]


def load_raw_split(dataset: VocDataset, split: str, input_size: int, fraction: float = 1.0,
                   cache_dir: str | Path | None = None, disk: bool = True,
                   progress: bool = False) -> RawSplit:
    """The fitted ``uint8`` arrays of a split's first ``fraction``, decoded at most once.

    Args:
        dataset: the data set.
        split: list name (``train``, ``val``...).
        input_size: square network input size S.
        fraction: leading fraction of the list (see :meth:`VocDataset.subset_ids`).
        cache_dir: disk cache folder; None = :func:`default_cache_dir`.
        disk: use the disk cache at all.
        progress: show a progress bar while decoding.

    Returns:
        The :class:`RawSplit`.

    Raises:
        DataError: a listed file is missing, undecodable or inconsistent.
        ConfigError: ``fraction`` outside (0, 1].
    """
    with _lock:
        return _load_raw(dataset, split, input_size, fraction, cache_dir, disk, progress)[1]


def _load_raw(dataset: VocDataset, split: str, input_size: int, fraction: float,
              cache_dir: str | Path | None, disk: bool, progress: bool) -> tuple[str, RawSplit]:
    ids = dataset.subset_ids(split, fraction)
    key = fingerprint(dataset, ids, input_size)
    if key in _raw_memory:
        _raw_memory.move_to_end(key)
        return key, _raw_memory[key]
    folder = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir())
    path = folder / "voc" / f"{split}-{input_size}-{key}.npz" if disk and folder else None
    raw = _read_npz(path, ids) if path is not None else None
    if raw is None:
        raw = _decode(dataset, ids, input_size, progress)
        if path is not None:
            _write_npz(path, raw)
    _remember(_raw_memory, key, raw, (raw.images, raw.labels, raw.sizes))
    return key, raw


def load_split_arrays(dataset: VocDataset, split: str, input_size: int, fraction: float = 1.0,
                      backbone: str = "mobilenetv2", cache_dir: str | Path | None = None,
                      disk: bool = True, progress: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Network-ready arrays of a split's first ``fraction``, decoded at most once.

    Args:
        dataset, split, input_size, fraction, cache_dir, disk, progress: see
            :func:`load_raw_split`.
        backbone: selects the input scaling.

    Returns:
        ``(images float32 (N, S, S, 3), labels uint8 (N, S, S))``; N = ``ceil(fraction * n)``.
        The arrays are shared between calls and therefore read-only.

    Raises:
        DataError: a listed file is missing, undecodable or inconsistent.
        ConfigError: ``fraction`` outside (0, 1] or unknown backbone.
    """
    with _lock:
        raw_key, raw = _load_raw(dataset, split, input_size, fraction, cache_dir, disk, progress)
        key = (raw_key, backbone)
        if key not in _input_memory:
            inputs = (network_input(raw.images, raw.sizes, backbone), raw.labels)
            _remember(_input_memory, key, inputs, inputs)
        _input_memory.move_to_end(key)
        return _input_memory[key]


def _remember(store: OrderedDict, key: object, value: object, arrays: tuple) -> None:
    # shared between callers: read-only, so an in-place edit fails loudly instead of corrupting
    for array in arrays:
        array.flags.writeable = False
    store[key] = value
    while len(store) > _MEMORY_ENTRIES:
        store.popitem(last=False)


def _decode(dataset: VocDataset, ids: list[str], input_size: int, progress: bool) -> RawSplit:
    n = len(ids)
    images = np.empty((n, input_size, input_size, 3), dtype=np.uint8)
    labels = np.empty((n, input_size, input_size), dtype=np.uint8)
    sizes = np.empty((n, 2), dtype=np.int32)
    hashes = {"images": hashlib.sha256(), "masks": hashlib.sha256()}
    for i, image_id in enumerate(tqdm(ids, desc="decoding", unit="img", disable=not progress)):
        image, label = dataset.read(image_id)  # first: its errors name a missing or broken file
        fitted, mask, sizes[i] = fit_to_square(image, label, input_size)
        images[i], labels[i] = fitted, mask  # type: ignore[assignment]  # mask: given a label, never None
        for name, path in (("images", dataset.image_path(image_id)), ("masks", dataset.label_path(image_id))):
            hashes[name].update(hashlib.sha256(path.read_bytes()).digest())
    digests = {"ids": hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16],
               **{name: h.hexdigest()[:16] for name, h in hashes.items()}}
    return RawSplit(images, labels, sizes, tuple(ids), digests)


def _read_npz(path: Path, ids: list[str]) -> RawSplit | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            ids_found = tuple(str(i) for i in data["ids"])
            digests = dict(zip(_DIGESTS, (str(d) for d in data["digests"]), strict=True))
            raw = RawSplit(data["images"], data["labels"], data["sizes"], ids_found, digests)
    except Exception as exc:  # a broken cache entry is rebuilt, never fatal
        warnings.warn(f"ignoring unreadable cache file {path} ({exc}); decoding again",
                      stacklevel=3)
        return None
    return raw if list(raw.ids) == ids else None


def _write_npz(path: Path, raw: RawSplit) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # write to a temporary file and rename: concurrent workers never see a half-written file
        fd, tmp = tempfile.mkstemp(suffix=".npz.tmp", dir=path.parent)
    except OSError as exc:
        _warn_unwritable(path, exc)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, images=raw.images, labels=raw.labels, sizes=raw.sizes,
                     ids=np.array(raw.ids, dtype=str), digests=np.array([raw.digests[k] for k in _DIGESTS]))
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        _warn_unwritable(path, exc)


def _warn_unwritable(path: Path, exc: OSError) -> None:
    warnings.warn(f"cannot write the data cache {path} ({exc}); continuing without it "
                  "(set FMAS_HW_CACHE to a writable folder or to 'off')", stacklevel=4)
