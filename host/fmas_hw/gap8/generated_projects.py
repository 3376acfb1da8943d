"""The generated GAP8 projects of many candidates under one work folder, made on first use.

The hardware targets (GVSoC, board) measure a project folder; :class:`GeneratedProjects` is what
they get it from (the :class:`~fmas_hw.targets.base.ProjectSource` of a search, ``fmas-hw measure``
and ``fmas-hw regress``). A folder that already holds its ``candidate.json`` is reused as it is,
so a resumed search or a second regression run does not regenerate (or rebuild) it.

Measurement workers share one :class:`GeneratedProjects`: projects are generated one at a time
(a generation is seconds of TensorFlow work, a GVSoC run minutes, so the runs still overlap), and
a supernet built from ``weights`` is built once and reused.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .candidate_file import CandidateSpec, has_candidate


class GeneratedProjects:
    """One project folder per candidate: ``<work_dir>/<name>``, generated unless it exists.

    Args:
        work_dir: the folder the projects are written under.
        supernet: the in-memory supernet whose weights the projects carry; ``None`` builds one
            from ``weights`` for each new project.
        weights: supernet weights to build from when no supernet is given; ``None`` uses
            initialiser weights (cycles do not depend on the weight values).
        names: folder names by architecture key (default: the architecture key itself).
        route: the projects' default build route (``open``, ``autotiler`` or ``nntool``).
    """

    def __init__(self, work_dir: str | Path, supernet: Any = None, weights: str | Path | None = None,
                 names: Mapping[str, str] | None = None, route: str = "open") -> None:
        self.work_dir = Path(work_dir)
        self.route = route
        self.supernet = supernet
        self.weights = weights
        self.names = dict(names or {})
        self._lock = threading.Lock()
        self._built: dict[tuple, Any] = {}

    def folder(self, spec: CandidateSpec) -> Path:
        """Where the project of ``spec`` is (or will be) written."""
        return self.work_dir / self.names.get(spec.arch.key, spec.arch.key)

    def project_for(self, spec: CandidateSpec) -> Path:
        """The project folder of ``spec``, generated first when it does not hold one yet.

        Raises:
            ExportError / AdaptationError: the project cannot be generated.
            WeightsError: ``weights`` cannot be read.
        """
        out = self.folder(spec)
        with self._lock:
            if has_candidate(out):
                return out
            from .project_writer import (
                write_project,  # TensorFlow: imported only to generate a project
            )

            return write_project(spec.arch, self._supernet(spec), out, classes=spec.classes,
                                 alpha=spec.alpha, input_size=spec.input_size, route=self.route)

    def _supernet(self, spec: CandidateSpec) -> Any:
        if self.supernet is not None:
            return self.supernet
        key = (spec.arch.backbone, spec.input_size, spec.classes, spec.alpha)
        if key not in self._built:
            from ..model.supernet import Supernet

            self._built = {key: Supernet.build(*key, self.weights)}  # one at a time: they are large
        return self._built[key]
