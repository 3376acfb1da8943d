"""Refit the GAP8 cycle model from real per-layer measurements (``fmas-hw calibrate``).

Input: per-layer records from GVSoC or board runs, as JSON lines (one object per line) or a JSON
array / ``{"layers": [...]}`` object. Each record has::

    name      layer name                    op (or kind)   conv | pointwise | depthwise | avgpool |
    macs (or ops)  AutoTiler operations                     upsample | add | act | crop
    bytes (or l1_bytes)  L2<->L1 DMA bytes  cycles         measured cluster cycles

and optionally ``in_channels``, ``out_channels``, ``stride``, ``dilation``, ``interpolation``,
``tiles`` and ``l3_bytes`` (what ``fmas-hw measure --target estimate --per-layer --json`` prints
as ``features`` for the same layer; missing ones take the defaults of
:class:`~fmas_hw.costmodel.cycle_model.LayerFeatures`).

Two fits, both by least squares on log cycles (relative errors, so small and large layers count
alike):

* ``constants`` (default): the model is first rewritten with scale 1 (an exact reparametrisation,
  :func:`~fmas_hw.costmodel.cycle_model.rescaled`), then every constant the records inform — the
  throughput of each kernel kind present, the stride/dilation penalties when strided/dilated
  depthwise layers are present, the layer and tile overheads, the HyperRAM bandwidth when some
  layer touches L3 — is refitted with scipy; the others keep their (rescaled) values;
* ``scale``: only the global scale, so that the summed cycles match (for few measurements).

A fit can be degenerate: as many records as constants (every one fits exactly, nothing checks
it), a constant pushed to the :data:`MAX_FACTOR` guard, or a model that predicts the records
worse than the one it started from. :func:`fit_problems` names these; ``fmas-hw calibrate``
writes such a model only with ``--force``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MeasurementError
from .cycle_model import KINDS, CycleModel, LayerFeatures, layer_cycles, rescaled

#: Record keys (first spelling is canonical) -> LayerFeatures field.
ALIASES = {"op": "kind", "kind": "kind", "macs": "ops", "ops": "ops", "operations": "ops",
           "bytes": "l1_bytes", "l1_bytes": "l1_bytes"}
OPTIONAL_INT = ("in_channels", "out_channels", "stride", "dilation", "tiles", "l3_bytes")
#: Constants a refit may change, and when the records inform them.
FIT_RULES: dict[str, Any] = {
    "conv_peak_macs_per_cycle": lambda fs: _any(fs, "conv"),
    "conv_half_in_channels": lambda fs: len({f.in_channels for f in fs if f.kind == "conv"}) > 1,
    "depthwise_macs_per_cycle": lambda fs: any(f.kind == "depthwise" and f.stride == 1 and f.dilation == 1 for f in fs),
    "depthwise_stride_penalty": lambda fs: any(f.kind == "depthwise" and f.stride > 1 for f in fs),
    "depthwise_dilated_factor": lambda fs: any(f.kind == "depthwise" and f.dilation > 1 for f in fs),
    "avgpool_ops_per_cycle": lambda fs: _any(fs, "avgpool"),
    "add_ops_per_cycle": lambda fs: _any(fs, "add"),
    "act_ops_per_cycle": lambda fs: _any(fs, "act"),
    "upsample_nearest_outputs_per_cycle": lambda fs: any(f.kind == "upsample" and f.interpolation == "nearest" for f in fs),
    "upsample_bilinear_outputs_per_cycle": lambda fs: any(f.kind == "upsample" and f.interpolation == "bilinear" for f in fs),
    "copy_bytes_per_cycle": lambda fs: _any(fs, "crop"),
    "layer_cycles": lambda fs: len(fs) >= 3,
    "tile_cycles": lambda fs: len({f.tiles for f in fs}) > 1,
    "l3_bytes_per_cycle": lambda fs: any(f.l3_bytes > 0 for f in fs),
}
#: Orders of the smooth stand-ins for max() fitted before the exact model (continuation).
SMOOTHING = (4.0, 16.0)
#: A refitted constant stays within this factor of its starting value (guards degenerate data).
MAX_FACTOR = 100.0


def _any(features: list[LayerFeatures], kind: str) -> bool:
    return any(f.kind == kind for f in features)


@dataclass(frozen=True)
class Record:
    """One measured layer: its model features and the cycles the hardware took."""

    features: LayerFeatures
    cycles: float


@dataclass
class Calibration:
    """The outcome of a refit.

    Attributes:
        model: the refitted cycle model.
        fitted: constant -> (value before, value after) for every refitted constant ("scale"
            included in scale mode); "before" is after rescaling to the new scale.
        rms_log_error_before, rms_log_error_after: root-mean-square of log(predicted/measured).
        records: how many layers were used.
        mode: 'constants' or 'scale'.
        at_bound: refitted constants that ended at the :data:`MAX_FACTOR` guard.
    """

    model: CycleModel
    fitted: dict[str, tuple[float, float]] = field(default_factory=dict)
    rms_log_error_before: float = 0.0
    rms_log_error_after: float = 0.0
    records: int = 0
    mode: str = "constants"
    at_bound: list[str] = field(default_factory=list)


# -- reading measurements ------------------------------------------------------------------------


def record_from_dict(data: dict[str, Any], where: str = "record") -> Record:
    """Parse one measurement record (see the module docstring for its keys).

    Raises:
        MeasurementError: a required key is missing, a value is not a number, or the kind is unknown.
    """
    values: dict[str, Any] = {}
    for key, target in ALIASES.items():
        if key in data and target not in values:
            values[target] = data[key]
    missing = [k for k in ("name", "kind", "ops", "cycles") if k not in values and k not in data]
    if missing:
        raise MeasurementError(f"{where}: missing {', '.join(missing)} (need name, op, macs, bytes, cycles)")
    kind = "conv" if values["kind"] == "pointwise" else str(values["kind"])
    if kind not in KINDS:
        raise MeasurementError(f"{where}: op {values['kind']!r} unknown, expected one of pointwise, {', '.join(KINDS)}")
    try:
        extra: dict[str, Any] = {k: int(data[k]) for k in OPTIONAL_INT if k in data}
        features = LayerFeatures(name=str(data["name"]), kind=kind, ops=int(values["ops"]),
                                 l1_bytes=int(values.get("l1_bytes", 0)),
                                 interpolation=str(data.get("interpolation", "nearest")), **extra)
        cycles = float(data["cycles"])
    except (TypeError, ValueError) as exc:
        raise MeasurementError(f"{where}: {exc}") from exc
    if cycles <= 0:
        raise MeasurementError(f"{where}: cycles must be > 0, got {cycles} (was the cluster timer started?)")
    return Record(features, cycles)


def load_records(path: str | Path) -> list[Record]:
    """Read measurement records from a JSON-lines or JSON file.

    Raises:
        ConfigError: the file cannot be read or holds no records.
        MeasurementError: a record is malformed (the message names its line or index).
    """
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read measurements {file}: {exc}") from exc
    pairs = _whole_file_items(text, file)
    if pairs is None:  # JSON lines (a single-line file is one record, with its line number)
        pairs = [(f"{file}:{n}", _json_line(line, f"{file}:{n}"))
                 for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    records = [record_from_dict(item, where) for where, item in pairs if item.get("kind", item.get("op")) != "concat"]
    if not records:
        raise ConfigError(f"{file} holds no layer measurements: expected JSON lines of "
                          "{name, op, macs, bytes, cycles}")
    return records


def _whole_file_items(text: str, file: Path) -> list[tuple[str, dict[str, Any]]] | None:
    """Records of a JSON array or ``{"layers"|"per_layer": [...]}`` file; None for JSON lines."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        data = data.get("layers", data.get("per_layer"))
    if not isinstance(data, list):
        return None
    return [(f"{file} item {i}", _object(item, f"{file} item {i}")) for i, item in enumerate(data)]


def _json_line(line: str, where: str) -> dict[str, Any]:
    try:
        return _object(json.loads(line), where)
    except json.JSONDecodeError as exc:
        raise MeasurementError(f"{where}: not JSON ({exc})") from exc


def _object(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise MeasurementError(f"{where}: expected a JSON object")
    return item


# -- fitting -------------------------------------------------------------------------------------


def predict(records: list[Record], model: CycleModel) -> np.ndarray:
    """Scaled predicted cycles of every record."""
    return np.array([model.scale * layer_cycles(r.features, model.params, model.cores) for r in records])


def log_errors(records: list[Record], model: CycleModel) -> np.ndarray:
    """log(predicted / measured) per record."""
    return np.log(predict(records, model)) - np.log([r.cycles for r in records])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def fit_scale(records: list[Record], model: CycleModel) -> Calibration:
    """Refit only the global scale so that the summed cycles match the measurements."""
    before = log_errors(records, model)
    scale = model.scale * sum(r.cycles for r in records) / float(predict(records, model).sum())
    new = CycleModel(f"{model.name}+scale", scale, dict(model.params), model.cores, "")
    return Calibration(new, {"scale": (model.scale, scale)}, _rms(before),
                       _rms(log_errors(records, new)), len(records), "scale")


def informed_constants(features: list[LayerFeatures]) -> list[str]:
    """The constants (of :data:`FIT_RULES`) that layers like ``features`` inform."""
    return [name for name, informs in FIT_RULES.items() if informs(features)]


def fit_constants(records: list[Record], model: CycleModel) -> Calibration:
    """Refit the constants the records inform, at scale 1 (see the module docstring).

    Raises:
        ConfigError: fewer records than constants to fit.
    """
    from scipy.optimize import least_squares

    base = rescaled(model, 1.0)
    features = [r.features for r in records]
    names = informed_constants(features)
    if len(records) < len(names):
        raise ConfigError(f"{len(records)} measured layers cannot fit {len(names)} constants "
                          f"({', '.join(names)}): measure more layers or use --scale-only")
    x0 = np.log([base.params[n] for n in names])
    measured = np.log([r.cycles for r in records])

    def residuals(x: np.ndarray, smooth: float | None = None) -> np.ndarray:
        params = {**base.params, **dict(zip(names, np.exp(x), strict=True))}
        return np.log([max(layer_cycles(f, params, base.cores, smooth), 1e-9) for f in features]) - measured

    bound = math.log(MAX_FACTOR)
    lower, upper = x0 - bound, x0 + bound
    # max(compute, DMA) has kinks where least squares stalls: fit a smooth p-norm stand-in
    # first, then the exact model from there.
    x = x0
    for smooth in SMOOTHING:
        x = least_squares(residuals, x, bounds=(lower, upper), method="trf", kwargs={"smooth": smooth}).x
    result = least_squares(residuals, x, bounds=(lower, upper), method="trf")
    fitted = dict(zip(names, np.exp(result.x), strict=True))
    new = CycleModel(f"{model.name}+refit", 1.0, {**base.params, **{k: float(v) for k, v in fitted.items()}},
                     base.cores, "")
    at_bound = [n for n, x, lo, hi in zip(names, result.x, lower, upper, strict=True)
                if min(x - lo, hi - x) < 1e-6 * bound]
    return Calibration(new, {n: (base.params[n], float(fitted[n])) for n in names},
                       _rms(residuals(x0)), _rms(result.fun), len(records), "constants", at_bound)


def calibrate(records: list[Record], model: CycleModel, scale_only: bool = False) -> Calibration:
    """Refit ``model`` from ``records`` (constants by default, only the scale with ``scale_only``)."""
    return fit_scale(records, model) if scale_only else fit_constants(records, model)


def fit_problems(cal: Calibration) -> list[str]:
    """Why a refit should not be trusted (empty when none): under-determined, a constant at
    the guard, or worse than the starting model on its own records."""
    problems = []
    parameters = len(cal.fitted)
    if cal.mode == "constants" and cal.records <= parameters:
        problems.append(f"under-determined: {cal.records} measured layer(s) for {parameters} constant(s), so "
                        "each fits exactly and nothing checks the result (measure more layers, or --scale-only)")
    if cal.at_bound:
        problems.append(f"{', '.join(cal.at_bound)} hit the x{MAX_FACTOR:g} guard: the records do not "
                        "determine them")
    if cal.rms_log_error_after > cal.rms_log_error_before + 1e-12:
        problems.append(f"worse than the model it starts from: rms |log(pred/measured)| "
                        f"{cal.rms_log_error_before:.3f} -> {cal.rms_log_error_after:.3f}")
    return problems


def report(cal: Calibration) -> list[str]:
    """Human-readable lines: what changed and how well the model now fits."""
    lines = [f"{cal.records} measured layers, fit of the {cal.mode}",
             f"rms |log(pred/measured)|: {cal.rms_log_error_before:.3f} -> {cal.rms_log_error_after:.3f}"]
    for name, (old, new) in cal.fitted.items():
        lines.append(f"  {name:<38} {old:>12.4g} -> {new:<12.4g} ({(new / old - 1) * 100:+.1f} %)")
    return lines
