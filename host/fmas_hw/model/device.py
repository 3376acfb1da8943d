"""The device TensorFlow runs the models on: ``--device auto|cpu|gpu``, chosen once per process.

``auto`` takes the GPUs TensorFlow sees, else the CPU; ``cpu`` hides the GPUs from TensorFlow (a
GPU machine scoring on its cores); ``gpu`` insists on one and is an error without. The choice has
to be made before TensorFlow starts its context, which fixes the devices it uses: every process
that builds a model calls :func:`use_device` first.

The device decides how the work runs, never its result: CPU and GPU scores agree within float
rounding, so the device is recorded with a search but is not part of its identity.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "gpu")

log = logging.getLogger(__name__)

#: The device this process chose (:func:`use_device`); TensorFlow's choice is per process too.
_CHOSEN: ComputeDevice | None = None
#: This worker's place in its pool (:func:`set_gpu_slot`): worker *i* takes GPU *i*.
_GPU_SLOT: int | None = None

#: What to do when ``--device gpu`` finds no GPU.
GPU_HELP = ("install the GPU build on Linux with an NVIDIA driver (pip install 'fmas-hw[gpu]'), check that "
            "`nvidia-smi` lists the card and that CUDA_VISIBLE_DEVICES does not hide it, or run with "
            "--device cpu")


@dataclass(frozen=True)
class ComputeDevice:
    """Where this process runs its models.

    Attributes:
        kind: ``"cpu"`` or ``"gpu"``.
        names: the GPUs' names (``("NVIDIA H100 80GB HBM3",)``), or the CPU's core count.
        memory_bytes: the smallest visible GPU's memory, when the driver tells (None on CPU).
    """

    kind: str
    names: tuple[str, ...]
    memory_bytes: int | None = None

    @property
    def count(self) -> int:
        """GPUs in use (0 on CPU)."""
        return len(self.names) if self.kind == "gpu" else 0

    def describe(self) -> str:
        """One line for logs, ``search --json`` and the report: ``"gpu: NVIDIA H100 (79.6 GiB)"``."""
        if self.kind == "cpu":
            return f"cpu: {', '.join(self.names)}"
        memory = f" ({self.memory_bytes / 2**30:.1f} GiB)" if self.memory_bytes else ""
        return f"gpu: {', '.join(self.names)}{memory}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "names": list(self.names), "memory_bytes": self.memory_bytes,
                "description": self.describe()}


def check_choice(choice: str) -> str:
    """``choice`` when it is one of :data:`DEVICE_CHOICES`.

    Raises:
        ConfigError: any other value.
    """
    if choice not in DEVICE_CHOICES:
        raise ConfigError(f"device must be one of {list(DEVICE_CHOICES)}, got {choice!r}")
    return choice


def visible_gpus() -> list[Any]:
    """The GPUs TensorFlow can see (its physical devices; listing them starts no context)."""
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def use_device(choice: str = "auto", gpu_slot: int | None = None) -> ComputeDevice:
    """Make TensorFlow in this process run on ``choice`` and say which device that is.

    Call it before any model is built. With several GPUs, ``gpu_slot`` picks one of them
    (``slot % GPUs``: worker *i* of a pool takes GPU *i*); None keeps them all.

    Raises:
        ConfigError: an unknown choice, or ``"gpu"`` where TensorFlow sees none (the message
            says what to check).
    """
    global _CHOSEN
    _CHOSEN = _choose(choice, gpu_slot)
    log.info("models run on %s", _CHOSEN.describe())
    return _CHOSEN


def set_gpu_slot(slot: int) -> None:
    """Make this process, worker ``slot`` of a pool, take GPU ``slot % GPUs`` when it chooses its
    device (:func:`current_device`); TensorFlow is not imported here."""
    global _GPU_SLOT
    _GPU_SLOT = slot


def current_device(choice: str = "auto") -> ComputeDevice:
    """The device this process chose, else (or when it is not the ``choice``) :func:`use_device`
    of ``choice`` and this worker's GPU slot."""
    if _CHOSEN is None or check_choice(choice) not in ("auto", _CHOSEN.kind):
        return use_device(choice, _GPU_SLOT)
    return _CHOSEN


def _choose(choice: str, gpu_slot: int | None) -> ComputeDevice:
    import tensorflow as tf

    gpus = visible_gpus() if check_choice(choice) else []
    if choice == "gpu" and not gpus:
        raise ConfigError(f"--device gpu: TensorFlow {tf.__version__} sees no GPU on this machine; {GPU_HELP}")
    if gpus and (choice == "cpu" or gpu_slot is not None):
        keep = [] if choice == "cpu" or gpu_slot is None else [gpus[gpu_slot % len(gpus)]]
        _set_visible(tf, keep)
        gpus = keep
    if not gpus:
        return ComputeDevice("cpu", (f"{os.cpu_count() or 1} cores",))
    for gpu in gpus:
        try:  # allocate as the batches need, so the measurement side may share the card
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the context started already: it keeps the allocator it has
            pass
    indices = [int(gpu.name.rsplit(":", 1)[-1]) for gpu in gpus]
    names = tuple(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus)
    memories = [m for m in (gpu_memory_bytes(i) for i in indices) if m]
    return ComputeDevice("gpu", names, min(memories) if memories else None)


def _set_visible(tf: Any, gpus: list[Any]) -> None:
    try:
        tf.config.set_visible_devices(gpus, "GPU")
    except RuntimeError as exc:  # TensorFlow's context started before the choice was made
        log.warning("cannot change the devices of process %d: TensorFlow already started (%s); "
                    "choose the device before any model is built", os.getpid(), exc)


def gpu_memory_bytes(index: int) -> int | None:
    """Total memory of GPU ``index`` as the NVIDIA driver reports it; None without ``nvidia-smi``.

    TensorFlow tells a GPU's name and compute capability but not its size.
    """
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, f"--id={index}", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
        return int(float(out.strip().splitlines()[0]) * 2**20)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def gpu_count(choice: str = "auto") -> int:
    """GPUs a search with ``--device choice`` runs on (0 for ``cpu`` or where there is none)."""
    return 0 if check_choice(choice) == "cpu" else len(visible_gpus())
