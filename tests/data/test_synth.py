"""The synthetic VOC-format data set: layout, determinism, content properties."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmas_hw.data.synth import MAX_CLASSES, class_specs, render_sample, write_synthetic_voc
from fmas_hw.data.textures import SHAPES, TEXTURES, boundary_band, coordinate_grid
from fmas_hw.data.voc import VocDataset
from fmas_hw.errors import ConfigError, DataError


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_trees(tmp_path: Path):
    a = write_synthetic_voc(tmp_path / "a", train=3, val=2, size=32, num_classes=6, seed=7)
    b = write_synthetic_voc(tmp_path / "b", train=3, val=2, size=32, num_classes=6, seed=7)
    c = write_synthetic_voc(tmp_path / "c", train=3, val=2, size=32, num_classes=6, seed=8)
    digest_a = _tree_digest(a)
    assert len(digest_a) == 5 * 2 + 3 + 1  # images, masks, 3 lists, synth.json
    assert digest_a == _tree_digest(b)
    differing = {k for k in digest_a if digest_a[k] != _tree_digest(c)[k]}
    assert {k for k in differing if k.startswith("JPEGImages")} == {
        k for k in digest_a if k.startswith("JPEGImages")}


def test_more_images_keep_the_existing_ones(tmp_path: Path):
    small = write_synthetic_voc(tmp_path / "s", train=2, val=1, size=32, seed=1)
    large = write_synthetic_voc(tmp_path / "l", train=4, val=1, size=32, seed=1)
    for name in ("JPEGImages/train_00001.jpg", "SegmentationClass/val_00000.png"):
        assert (small / name).read_bytes() == (large / name).read_bytes()


def test_tree_is_a_valid_voc_layout(synth_tree: Path, tiny):
    ds = VocDataset(synth_tree, tiny.classes)
    assert ds.check("train") == tiny.train and ds.check("val") == tiny.val
    assert ds.ids("trainval") == ds.ids("train") + ds.ids("val")
    mask = Image.open(ds.label_path(ds.ids("train")[0]))
    assert mask.mode == "P" and mask.getpalette()[3:6] == [128, 0, 0]
    assert "exif" not in Image.open(ds.image_path(ds.ids("train")[0])).info
    meta = json.loads((synth_tree / "synth.json").read_text())
    assert meta["num_classes"] == tiny.classes and len(meta["classes"]) == tiny.classes


def test_samples_have_several_classes_boundaries_and_background():
    specs = class_specs(MAX_CLASSES)
    grid = coordinate_grid(64)
    seen, boundary_widths = set(), []
    for i in range(30):
        image, label = render_sample(np.random.default_rng([0, 0, i]), grid, specs)
        assert image.shape == (64, 64, 3) and label.shape == (64, 64)
        values = set(np.unique(label).tolist())
        assert 0 in values and 255 in values and values <= set(range(MAX_CLASSES)) | {255}
        seen |= values
        boundary_widths.append(np.mean(label == 255))
    assert len(seen - {0, 255}) >= 15  # many classes across few images
    assert 0.01 < np.mean(boundary_widths) < 0.25


def test_classes_are_shape_texture_combinations_sharing_colours():
    specs = class_specs(MAX_CLASSES)
    assert len({(s.shape, s.texture) for s in specs}) == len(SHAPES) * len(TEXTURES) == 20
    # no single colour identifies a class: each colour is used by several classes
    colour_use: dict[tuple, int] = {}
    for spec in specs:
        for colour in spec.colours:
            colour_use[colour] = colour_use.get(colour, 0) + 1
    assert min(colour_use.values()) >= 3
    # classes 1 and 2 (3 and 4, ...) look alike up close: only the outline tells them apart
    for first, second in zip(specs[0::2], specs[1::2], strict=True):
        assert (first.texture, first.colours) == (second.texture, second.colours)
        assert first.shape != second.shape


def test_classes_option_limits_the_labels(tmp_path: Path):
    root = write_synthetic_voc(tmp_path, train=4, val=1, size=32, num_classes=2, seed=0)
    ds = VocDataset(root, num_classes=2)
    labels = np.stack([ds.read(i)[1] for i in ds.ids("train")])
    assert set(np.unique(labels).tolist()) == {0, 1, 255}


def test_boundary_band_width():
    instances = np.zeros((10, 10), dtype=np.int16)
    instances[:, 5:] = 1
    for width in (1, 2, 3):
        band = boundary_band(instances, width)
        assert band.sum(axis=1).tolist() == [width] * 10
    assert not boundary_band(np.ones((6, 6), np.int16), 3).any()  # image borders make no band


def test_rendering_is_fast_enough():
    import time
    specs, grid = class_specs(MAX_CLASSES), coordinate_grid(128)
    start = time.perf_counter()
    for i in range(20):
        render_sample(np.random.default_rng(i), grid, specs)
    assert (time.perf_counter() - start) / 20 < 0.1  # ~10 ms each: 250 images in a few seconds


@pytest.mark.parametrize("kwargs", [{"train": 0}, {"val": 0}, {"size": 8}, {"seed": -1},
                                    {"num_classes": 1}, {"num_classes": 22}],
                         ids=["train", "val", "size", "seed", "classes-low", "classes-high"])
def test_bad_arguments_are_config_errors(tmp_path: Path, kwargs):
    with pytest.raises(ConfigError):
        write_synthetic_voc(tmp_path, **{"train": 1, "val": 1, "size": 16, **kwargs})


def test_out_is_a_file(tmp_path: Path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        write_synthetic_voc(tmp_path / "f", train=1, val=1, size=16)
