"""Calibration records from measured projects: ``fmas-hw calibrate --project DIR``.

A GVSoC, board or simulated run of a project prints one ``FMAS:LAYER name=<kernel> cycles=...``
line per AutoTiler kernel, and the run log is kept in ``<project>/logs/``. The project's
``model/layers.json`` maps each kernel name to the graph nodes it computes, and the estimate
target gives the cycle model's features of those nodes for the project's candidate
(``candidate.json``). Joining the three gives what :mod:`fmas_hw.costmodel.calibrate` fits: per layer, the model's
features and the measured cycles.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path

from ..costmodel.calibrate import Record, record_from_dict
from ..errors import MeasurementError
from ..gap8.candidate_file import project_route, read_candidate
from ..gap8.kernel_table import read_kernel_table
from .estimate import EstimateTarget
from .measurement import Measurement
from .protocol import parse_log

log = logging.getLogger(__name__)

#: Run logs the targets that run a project keep: ``<gvsoc|board|simulated>-<UTC timestamp>[-<n>].log``.
RUN_LOG = re.compile(r"^(?P<target>gvsoc|board|simulated)-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.log$")
#: The run logs of a target that is not hardware: a model fitted on them is not fitted on hardware.
NOT_HARDWARE = ("simulated",)


def latest_run_log(project: Path) -> Path:
    """The newest GVSoC, board or simulated run log of ``project``.

    Raises:
        MeasurementError: the project has no run log yet.
    """
    logs = {p: m for p in (project / "logs").glob("*.log") if (m := RUN_LOG.match(p.name))}
    if not logs:
        raise MeasurementError(f"{project} has no GVSoC, board or simulated run log in logs/: measure it first "
                               f"(`fmas-hw measure --target gvsoc --project {project}`)")
    return max(logs, key=lambda p: (logs[p]["stamp"], int(logs[p]["n"] or 0)))


def run_log_target(path: str | Path) -> str | None:
    """The target that wrote a run log (``gvsoc``, ``board``, ``simulated``), from its name."""
    found = RUN_LOG.match(Path(path).name)
    return found["target"] if found else None


def expected_checksum(project: str | Path) -> int | None:
    """The output checksum ``project`` expects for its test input (``model/expected.json``).

    Returns:
        The FNV-1a 32 checksum, or None for a project exported before the file existed, and for
        one whose Makefile builds the nntool route by default (``candidate.json`` ``route``):
        NNTool quantises from the TFLite, so the expected output of fmas-hw's own quantisation
        (the open and autotiler routes) does not apply.

    Raises:
        MeasurementError: the file exists but is unreadable.
    """
    path = Path(project) / "model" / "expected.json"
    if not path.exists() or project_route(project) not in ("open", "autotiler"):
        return None
    try:
        return int(json.loads(path.read_text())["output_checksum"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MeasurementError(f"{path} is unreadable ({exc}): regenerate the project with "
                               "`fmas-hw export`") from exc


def checked_output(measurement: Measurement) -> Measurement:
    """``measurement``, logging a warning when its output checksum is not the expected one."""
    if measurement.output_ok is False:
        log.warning("output checksum %#010x differs from the expected %#010x (host int8 reference):"
                    " the firmware did not compute the exported network; see %s",
                    measurement.checksum, measurement.expected_checksum, measurement.log_path)
    return measurement


def project_records(project: str | Path, run_log: str | Path | None = None) -> list[Record]:
    """Calibration records of one measured project.

    Args:
        project: a project written by ``fmas-hw export`` and measured on GVSoC, a board or the simulated target.
        run_log: the run log to read (default: the newest in ``<project>/logs``).

    Returns:
        One record per measured kernel that the project's layer table knows.

    Raises:
        MeasurementError: no run log, an unreadable project, or a log whose kernels are not
            this project's (regenerated after the run?).
        ProtocolError: the log holds no usable cycle report.
    """
    project = Path(project)
    path = Path(run_log) if run_log else latest_run_log(project)
    measured = parse_log(path).layers
    table = read_kernel_table(project)
    spec = read_candidate(project).spec
    features, _ = EstimateTarget().features(spec.arch, spec.classes, spec.alpha, spec.input_size)
    by_node = {f.name: f for f in features}
    records, unknown = [], []
    for layer in measured:
        row = table.get(layer.name)
        if row is None or row["ir"][0] not in by_node:
            unknown.append(layer.name)
            continue
        node = by_node[row["ir"][0]]
        record = record_from_dict({**node.to_dict(), "name": layer.name, "cycles": layer.cycles},
                                  f"{path}: {layer.name}")
        # the node's geometry too: the per-layer cycle cache keys on it (.layer_cache)
        records.append(Record(replace(record.features, extra=dict(node.extra)), record.cycles))
    if not records:
        raise MeasurementError(f"none of the {len(measured)} kernels in {path} is in {project}/model/layers.json: "
                               "the log belongs to another project, or the project was regenerated after the run")
    if unknown:
        log.warning("%s: %d kernel(s) not in the layer table, left out: %s", path, len(unknown), ", ".join(unknown))
    return records
