"""Measured cycles per layer configuration: what a search learns from every measured run.

A search measures many candidates that share layers (the stem, the head, a block kept in most
sub-networks), so a layer measured once need not be estimated again. The cache maps a layer's
configuration (:class:`LayerConfig`: everything that decides its cycles) to the cycles the
hardware took for it, the median of every run that measured it, and records which target measured
them (``gvsoc``, ``board``, ``simulated``): one cache holds one target's measurements.

It is kept as JSON next to a search's store (``<store>.layers.json``, see
:mod:`.online_model`), so a resumed search starts from what it has measured::

    {"schema": 1, "source": "gvsoc",
     "entries": [{"config": {"kind": "conv", "ops": ..., "in_shape": [48, 48, 16], ...},
                  "name": "S12_Conv2d_16x...", "samples": [812345, 812350]}, ...]}
"""

from __future__ import annotations

import json
import numbers
import os
import statistics
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MeasurementError
from .cycle_model import LayerFeatures

SCHEMA = 1
#: Samples kept per configuration (the newest): enough for a robust median, bounded in size.
MAX_SAMPLES = 15


@dataclass(frozen=True)
class LayerConfig:
    """The configuration of one layer as the cache keys it.

    The first fields are the cycle model's :class:`~.cycle_model.LayerFeatures` (kind, operations,
    channels, depthwise stride and dilation, interpolation, tiles, L1 and L3 traffic); the others
    are the geometry :func:`~.cycle_model.layer_geometry` adds (shapes, kernel, strides,
    dilations, padding, fused activation, L1 tile, where constants and activations live). A layer
    read from a calibration file has no geometry (None): it only meets layers without one either.
    Two layers hit the same entry only when every field is equal.
    """

    kind: str
    ops: int
    in_channels: int
    out_channels: int
    stride: int
    dilation: int
    interpolation: str
    tiles: int
    l1_bytes: int
    l3_bytes: int
    in_shape: tuple[int, ...] | None = None
    out_shape: tuple[int, ...] | None = None
    kernel: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    dilations: tuple[int, ...] | None = None
    padding: tuple[int, ...] | None = None
    activation: str | None = None
    tile_shape: tuple[int, ...] | None = None
    tile_bytes: int | None = None
    weights_in_l2: bool | None = None
    in_l3_bytes: int | None = None
    out_l3_bytes: int | None = None

    @classmethod
    def of(cls, features: LayerFeatures) -> LayerConfig:
        """The configuration of a layer from its model features and their geometry (``extra``)."""
        model = {name: getattr(features, name) for name in MODEL_FIELDS}
        geometry = {name: features.extra.get(name) for name in GEOMETRY_FIELDS}
        return cls.from_dict({**model, **geometry})

    def features(self, name: str) -> LayerFeatures:
        """Model features of a layer with this configuration, named ``name``."""
        model = {k: getattr(self, k) for k in MODEL_FIELDS}
        geometry = {k: getattr(self, k) for k in GEOMETRY_FIELDS}
        return LayerFeatures(name=name, **model, extra=geometry)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerConfig:
        """Inverse of :meth:`to_dict` (lists become tuples; missing geometry is None).

        Raises:
            MeasurementError: a model field is missing, or a count is not an integer.
        """
        missing = [name for name in MODEL_FIELDS if name not in data]
        if missing:
            raise MeasurementError(f"layer configuration lacks {', '.join(missing)}")
        values = {name: _normalised(data.get(name)) for name in (*MODEL_FIELDS, *GEOMETRY_FIELDS)}
        for name in MODEL_FIELDS:
            if name not in ("kind", "interpolation") and not _is_int(values[name]):
                raise MeasurementError(f"layer configuration: {name} must be an integer, got {values[name]!r}")
        return cls(**values)


#: The fields of :class:`LayerConfig` that are the cycle model's features.
MODEL_FIELDS = ("kind", "ops", "in_channels", "out_channels", "stride", "dilation", "interpolation",
                "tiles", "l1_bytes", "l3_bytes")
#: The fields of :class:`LayerConfig` that come from :func:`~.cycle_model.layer_geometry`.
GEOMETRY_FIELDS = tuple(f.name for f in fields(LayerConfig) if f.name not in MODEL_FIELDS)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _normalised(value: Any) -> Any:
    """Lists (JSON) and tuples (graphs) compare equal once both are tuples of plain ints."""
    if isinstance(value, list | tuple):
        return tuple(_normalised(v) for v in value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)  # numpy integers from shape arithmetic: hashable alike, JSON-writable
    return value


@dataclass
class CacheEntry:
    """The measurements of one layer configuration.

    Attributes:
        name: the kernel name of its first measurement (for messages and reports).
        samples: measured cycles, oldest first, at most :data:`MAX_SAMPLES`.
    """

    name: str
    samples: list[int] = field(default_factory=list)

    @property
    def cycles(self) -> int:
        """The median of the samples (robust to one odd run)."""
        return round(statistics.median(self.samples))


class LayerCycleCache:
    """Measured cycles by layer configuration, for one measuring target.

    Args:
        source: the target whose measurements the cache holds (None until the first is added).
    """

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self._entries: dict[LayerConfig, CacheEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, features: LayerFeatures, cycles: float, source: str) -> LayerConfig:
        """Record one measurement of a layer; return its configuration.

        Raises:
            MeasurementError: the cycles are not positive, or the cache holds another target's
                measurements (cycles of GVSoC and of a board are not one population).
        """
        if cycles <= 0:
            raise MeasurementError(f"layer '{features.name}': measured cycles must be > 0, got {cycles}")
        if self.source is not None and source != self.source:
            raise MeasurementError(f"this layer cache holds {self.source!r} measurements, not {source!r}: "
                                   "keep one cache per measurement target")
        self.source = source
        config = LayerConfig.of(features)
        entry = self._entries.setdefault(config, CacheEntry(features.name))
        entry.samples = [*entry.samples, round(cycles)][-MAX_SAMPLES:]
        return config

    def lookup(self, features: LayerFeatures) -> int | None:
        """Measured cycles (median) of a layer with the configuration of ``features``, or None."""
        entry = self._entries.get(LayerConfig.of(features))
        return None if entry is None else entry.cycles

    def items(self) -> list[tuple[LayerConfig, CacheEntry]]:
        """Every configuration with its measurements, in the order first measured."""
        return list(self._entries.items())

    # -- JSON ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (see the module docstring)."""
        return {"schema": SCHEMA, "source": self.source,
                "entries": [{"config": c.to_dict(), "name": e.name, "samples": list(e.samples)}
                            for c, e in self._entries.items()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerCycleCache:
        """Inverse of :meth:`to_dict`.

        Raises:
            MeasurementError: another schema, or a malformed entry.
        """
        if data.get("schema") != SCHEMA:
            raise MeasurementError(f"layer cache schema {data.get('schema')!r} is not supported "
                                   f"(expected {SCHEMA}): delete the file to start a new cache")
        cache = cls(data.get("source"))
        for i, item in enumerate(data.get("entries", [])):
            try:
                samples = [int(s) for s in item["samples"]]
                cache._entries[LayerConfig.from_dict(item["config"])] = CacheEntry(str(item["name"]), samples)
            except (KeyError, TypeError, ValueError, MeasurementError) as exc:
                raise MeasurementError(f"layer cache entry {i} is malformed ({exc})") from exc
        return cache

    def save(self, path: str | Path) -> Path:
        """Write the cache as JSON (atomically: a search stopped mid-write keeps the old file)."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> LayerCycleCache:
        """Read a cache written by :meth:`save`.

        Raises:
            ConfigError: the file cannot be read or is not JSON.
            MeasurementError: its content is malformed.
        """
        return cls.from_dict(read_json(path, "layer cache"))


def write_json_atomic(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, out)
    return out


def read_json(path: str | Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises:
        ConfigError: the file cannot be read, is not JSON or not an object.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a {what} (expected a JSON object)")
    return data
