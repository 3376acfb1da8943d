"""Weight files: load keras-deeplab-v3-plus ``.h5`` files (and our own) by layer name.

The Keras 2 HDF5 weight layout is read directly with h5py so that every mismatch is reported
precisely: the first offending layer, the expected and the received shape. Keras' own
``load_weights(by_name=True)`` would either skip silently or fail without naming the layer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import tf_keras

from ..errors import WeightsError


def _weights_root(f: h5py.File) -> h5py.Group:
    # Files written by model.save() nest the weights under "model_weights".
    return f["model_weights"] if "model_weights" in f else f


def _decode(names) -> list[str]:
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for n in names]


def check_weight_file(path: str | Path) -> None:
    """Check, without reading its arrays, that ``path`` is a Keras HDF5 weight file (cheap: a
    search does it before it starts).

    Raises:
        WeightsError: missing file, not HDF5, or not a Keras weight file.
    """
    with _keras_weights(path):
        pass


def read_h5_weights(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Read a Keras 2 HDF5 weight file into ``{layer name: [arrays in layer order]}``.

    Raises:
        WeightsError: missing file, not HDF5, or not a Keras weight file.
    """
    out = {}
    with _keras_weights(path) as root:
        for layer in _decode(root.attrs["layer_names"]):
            names = _decode(root[layer].attrs.get("weight_names", []))
            if names:
                out[layer] = [np.asarray(root[layer][n]) for n in names]
    return out


@contextmanager
def _keras_weights(path: str | Path) -> Iterator[h5py.Group]:
    """The weights group of a Keras weight file, open for reading.

    Raises:
        WeightsError: missing file, not HDF5, or not a Keras weight file.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            root = _weights_root(f)
            if "layer_names" not in root.attrs:
                raise WeightsError(
                    f"{path} is HDF5 but not a Keras weight file (no 'layer_names' attribute): expected "
                    "a keras-deeplab-v3-plus .h5 file or the output of `fmas-hw train`")
            yield root
    except OSError as exc:
        raise WeightsError(f"cannot read weight file {path}: {exc}. Is it an .h5 file?") from exc


def load_weights(model: tf_keras.Model, path: str | Path) -> None:
    """Load ``path`` into ``model`` by layer name, strictly.

    Every layer of ``model`` that has weights must be in the file with the same number and shapes
    of arrays. File layers the model does not have are ignored (e.g. middle blocks a candidate
    left out).

    Raises:
        WeightsError: naming the first layer that is missing or whose shapes differ.
    """
    stored = read_h5_weights(path)
    assignments = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in stored:
            raise WeightsError(
                f"{path} has no weights for layer '{layer.name}' of {model.name}: is it a weight file "
                f"for this backbone and width? (file has {len(stored)} layers with weights)")
        arrays = stored[layer.name]
        expected = [tuple(w.shape) for w in layer.weights]
        received = [tuple(a.shape) for a in arrays]
        if expected != received:
            raise WeightsError(
                f"{path}: layer '{layer.name}' expects weight shapes {expected}, the file holds "
                f"{received}. Check --backbone, --alpha and --classes against the file.")
        assignments.append((layer, arrays))
    for layer, arrays in assignments:
        layer.set_weights(arrays)


def save_weights(model: tf_keras.Model, path: str | Path) -> None:
    """Save ``model``'s weights in the Keras 2 HDF5 layout (loadable by :func:`load_weights`)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(path), save_format="h5")


def file_digest(path: str | Path) -> str:
    """SHA-256 of a weight file (part of the evaluation settings a store result is keyed by)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
