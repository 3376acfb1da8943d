"""The tf.data training pipeline: shapes, label values, augmentation, reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fmas_hw.data.cache import load_split_arrays
from fmas_hw.data.pipeline import training_dataset
from fmas_hw.data.voc import VocDataset


def _epoch(ds) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_batches_have_the_right_shapes_and_labels(synth_tree: Path, tiny):
    data = VocDataset(synth_tree, tiny.classes)
    batches = _epoch(training_dataset(data, "train", 32, batch=4, shuffle_seed=1))
    assert [len(x) for x, _ in batches] == [4, 2]
    for x, y in batches:
        assert x.shape[1:] == (32, 32, 3) and x.dtype == np.float32
        assert y.shape[1:] == (32, 32) and y.dtype == np.uint8
        assert set(np.unique(y).tolist()) <= set(range(tiny.classes)) | {255}
        assert x.min() >= -1.0 - 1e-5 and x.max() <= 1.0 + 1e-5


def test_without_augmentation_the_images_are_the_cached_ones(synth_tree: Path, tiny):
    data = VocDataset(synth_tree, tiny.classes)
    images, labels = load_split_arrays(data, "train", 32, disk=False)
    ds = training_dataset(data, "train", 32, batch=tiny.train, shuffle_seed=0, augment=False,
                          disk=False)
    ((x, y),) = _epoch(ds)
    order = [int(np.argmin(np.abs(images - xi).sum(axis=(1, 2, 3)))) for xi in x]
    assert sorted(order) == list(range(tiny.train))
    np.testing.assert_allclose(x, images[order], atol=1e-6)
    np.testing.assert_array_equal(y, labels[order])


def test_same_seed_same_stream_and_augmentation_changes_pixels(synth_tree: Path, tiny):
    data = VocDataset(synth_tree, tiny.classes)
    a = _epoch(training_dataset(data, "train", 32, batch=tiny.train, shuffle_seed=5, disk=False))
    b = _epoch(training_dataset(data, "train", 32, batch=tiny.train, shuffle_seed=5, disk=False))
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[0][1], b[0][1])
    plain = _epoch(training_dataset(data, "train", 32, batch=tiny.train, shuffle_seed=5,
                                    augment=False, disk=False))
    assert not np.array_equal(np.sort(a[0][0].ravel()), np.sort(plain[0][0].ravel()))
