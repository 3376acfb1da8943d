"""Decode-once caching: memory, disk, invalidation, never decoding twice."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from fmas_hw.data import cache
from fmas_hw.data.cache import clear_memory_cache, default_cache_dir, load_split_arrays
from fmas_hw.data.preprocess import preprocess
from fmas_hw.data.voc import VocDataset


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self, image_id):
        raise AssertionError(f"decoded {image_id} again")
    monkeypatch.setattr(VocDataset, "read", fail)


def test_arrays_match_per_image_preprocessing(synth_tree: Path, tiny):
    ds = VocDataset(synth_tree, tiny.classes)
    images, labels = load_split_arrays(ds, "val", 32, fraction=0.4, disk=False)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.float32
    assert labels.shape == (2, 32, 32) and labels.dtype == np.uint8
    for i, image_id in enumerate(ds.subset_ids("val", 0.4)):
        x, y = preprocess(*ds.read(image_id), 32)
        np.testing.assert_array_equal(images[i], x)
        np.testing.assert_array_equal(labels[i], y)


def test_second_call_is_served_from_memory(synth_tree: Path, tiny, monkeypatch):
    ds = VocDataset(synth_tree, tiny.classes)
    first = load_split_arrays(ds, "val", 32, disk=False)
    _forbid_decoding(monkeypatch)
    second = load_split_arrays(VocDataset(synth_tree, tiny.classes), "val", 32, disk=False)
    assert second[0] is first[0] and second[1] is first[1]
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0, 0, 0] = 1.0


def test_new_process_is_served_from_disk(synth_tree: Path, tiny, tmp_path: Path, monkeypatch):
    ds = VocDataset(synth_tree, tiny.classes)
    first = load_split_arrays(ds, "val", 32, fraction=0.6, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c" / "voc").glob("val-32-*.npz"))) == 1
    clear_memory_cache()  # what a new process sees
    _forbid_decoding(monkeypatch)
    second = load_split_arrays(ds, "val", 32, fraction=0.6, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_different_keys_decode_again(synth_tree: Path, tiny):
    ds = VocDataset(synth_tree, tiny.classes)
    a = load_split_arrays(ds, "val", 32, fraction=0.4, disk=False)
    b = load_split_arrays(ds, "val", 32, fraction=1.0, disk=False)
    c = load_split_arrays(ds, "val", 24, fraction=0.4, disk=False)
    assert len(a[0]) == 2 and len(b[0]) == tiny.val and c[0].shape[1] == 24


def test_touching_a_file_invalidates_the_disk_entry(voc_copy: Path, tiny, tmp_path: Path):
    ds = VocDataset(voc_copy, tiny.classes)
    load_split_arrays(ds, "val", 32, cache_dir=tmp_path / "c")
    mask = voc_copy / "SegmentationClass" / "val_00001.png"
    stat = mask.stat()
    os.utime(mask, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    clear_memory_cache()
    load_split_arrays(ds, "val", 32, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c" / "voc").glob("*.npz"))) == 2


def test_corrupt_cache_file_is_rebuilt(synth_tree: Path, tiny, tmp_path: Path):
    ds = VocDataset(synth_tree, tiny.classes)
    expected = load_split_arrays(ds, "val", 32, cache_dir=tmp_path / "c")[1].copy()
    (entry,) = (tmp_path / "c" / "voc").glob("*.npz")
    entry.write_bytes(b"garbage")
    clear_memory_cache()
    with pytest.warns(UserWarning, match="unreadable cache file"):
        again = load_split_arrays(ds, "val", 32, cache_dir=tmp_path / "c")[1]
    np.testing.assert_array_equal(again, expected)


def test_unwritable_cache_dir_only_warns(synth_tree: Path, tiny, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="cannot write the data cache"):
        images, _ = load_split_arrays(VocDataset(synth_tree, tiny.classes), "val", 32,
                                      cache_dir=blocker)
    assert len(images) == tiny.val


@pytest.mark.parametrize("value, expected", [("off", None), ("0", None), ("/x/y", Path("/x/y"))])
def test_cache_dir_from_environment(monkeypatch, value, expected):
    monkeypatch.setenv("FMAS_HW_CACHE", value)
    assert default_cache_dir() == expected
    monkeypatch.delenv("FMAS_HW_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "fmas-hw"


def test_memory_cache_is_bounded(synth_tree: Path, tiny):
    ds = VocDataset(synth_tree, tiny.classes)
    for size in (16, 18, 20, 22, 24, 26):
        load_split_arrays(ds, "val", size, disk=False)
    assert len(cache._raw_memory) <= cache._MEMORY_ENTRIES


def test_the_content_digests_come_back_from_disk_and_follow_the_bytes(voc_copy: Path, tiny, tmp_path: Path,
                                                                      monkeypatch):
    from fmas_hw.data.cache import load_raw_split

    ds = VocDataset(voc_copy, tiny.classes)
    first = load_raw_split(ds, "val", 32, cache_dir=tmp_path / "c").digests
    assert set(first) == {"ids", "images", "masks"}
    clear_memory_cache()
    with monkeypatch.context() as m:
        _forbid_decoding(m)
        assert load_raw_split(ds, "val", 32, cache_dir=tmp_path / "c").digests == first  # not recomputed
    mask = ds.label_path(ds.ids("val")[1])
    mask.write_bytes(mask.read_bytes() + b"\0")  # same pixels, other bytes
    clear_memory_cache()
    second = load_raw_split(VocDataset(voc_copy, tiny.classes), "val", 32, cache_dir=tmp_path / "c").digests
    assert second["masks"] != first["masks"] and (second["ids"], second["images"]) == (first["ids"], first["images"])
