"""The one error family of fmas-hw.

Every error a user can cause derives from :class:`FmasError`; its message says what was expected,
what was received and what to do. The CLI prints these without a traceback and exits non-zero.
"""

from __future__ import annotations


class FmasError(Exception):
    """Base class of every user-facing fmas-hw error."""

    exit_code = 2


class GenomeError(FmasError, ValueError):
    """A genome bit string is malformed (length, characters) for its search space."""


class ArchitectureError(FmasError, ValueError):
    """An architecture config is not legal for its backbone."""


class WeightsError(FmasError):
    """A weight file is missing, unreadable or does not match the network."""


class DataError(FmasError):
    """A data set file is missing, unreadable or inconsistent."""


class ConfigError(FmasError, ValueError):
    """A configuration value (CLI option, config file key) is invalid."""


class StoreError(FmasError):
    """The results store cannot be opened or does not match the search."""


class AdaptationError(FmasError):
    """A layer cannot be adapted to run on GAP8."""


class ExportError(FmasError):
    """TFLite/ONNX export or code generation failed."""


class MeasurementError(FmasError):
    """Base of the measurement-target errors (SDK missing, build, run, device, protocol)."""


class SdkMissingError(MeasurementError):
    """The GAP SDK (or a part of it: toolchain, AutoTiler, NNTool) is not available."""


class BuildError(MeasurementError):
    """Building the generated GAP8 project failed."""


class RunTimeoutError(MeasurementError):
    """A run on GVSoc or on a board did not finish in time."""


class DeviceNotFoundError(MeasurementError):
    """No board was found on the configured or auto-detected serial port."""


class ProtocolError(MeasurementError):
    """The firmware output could not be parsed or is inconsistent."""


class ReportError(FmasError):
    """A report (or study) folder cannot be written or read."""


class OutputError(FmasError):
    """A command's output file or folder cannot be written (read-only place, a file in the way,
    a full disk)."""


class DashboardError(FmasError):
    """The dashboard cannot serve (its port is taken, its address unavailable) or its Optuna
    study file cannot be written or holds something other than this search's mirror."""
