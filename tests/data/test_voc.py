"""The VOC-format loader: layout resolution, id lists, subsets, decoding and every bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmas_hw.data.voc import VocDataset, resolve_root, save_label, voc_palette
from fmas_hw.errors import ConfigError, DataError

# the session tree of conftest.py: 6 train and 5 val images of 40 x 40 pixels, 5 classes
TRAIN, VAL, SIZE, CLASSES = 6, 5, 40, 5


def test_constants_match_the_session_tree(tiny):
    assert (TRAIN, VAL, SIZE, CLASSES) == (tiny.train, tiny.val, tiny.size, tiny.classes)


@pytest.mark.parametrize("level", ["voc2012", "parent", "vocdevkit"])
def test_resolve_root_accepts_the_three_layouts(synth_tree: Path, tmp_path: Path, level: str):
    if level == "voc2012":
        given = synth_tree
    elif level == "parent":
        given = synth_tree.parent
    else:
        (tmp_path / "VOCdevkit").mkdir()
        (tmp_path / "VOCdevkit" / "VOC2012").symlink_to(synth_tree)
        given = tmp_path
    assert resolve_root(given).samefile(synth_tree)


def test_ids_keep_file_order_and_read_gives_matching_arrays(synth_tree: Path):
    ds = VocDataset(synth_tree, num_classes=CLASSES)
    assert ds.ids("train") == [f"train_{i:05d}" for i in range(TRAIN)]
    image, label = ds.read(ds.ids("val")[0])
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
    assert label.shape == (SIZE, SIZE) and label.dtype == np.uint8
    assert set(np.unique(label)) <= set(range(CLASSES)) | {255}


def test_list_file_order_is_preserved_not_sorted(voc_copy: Path):
    (voc_copy / "ImageSets/Segmentation/val.txt").write_text("val_00003\r\n\nval_00001\nval_00000 1\n")
    assert VocDataset(voc_copy, CLASSES).ids("val") == ["val_00003", "val_00001", "val_00000"]


@pytest.mark.parametrize("fraction, expected", [(0.2, 1), (0.4, 2), (0.5, 3), (1.0, 5), (0.01, 1)],
                         ids=["20%", "40%", "50%-rounds-up", "all", "at-least-one"])
def test_subset_is_the_leading_fraction_in_file_order(synth_tree: Path, fraction, expected):
    ds = VocDataset(synth_tree, CLASSES)
    assert ds.subset_ids("val", fraction) == ds.ids("val")[:expected]
    assert expected == max(1, math.ceil(fraction * VAL - 1e-9))


def test_subset_ignores_float_noise(voc_copy: Path):
    ids = [f"val_{i % VAL:05d}" for i in range(30)]
    (voc_copy / "ImageSets/Segmentation/val.txt").write_text("\n".join(ids))
    assert len(VocDataset(voc_copy, CLASSES).subset_ids("val", 0.1)) == 3  # 0.1*30 = 3.0000000004


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_bad_fraction_is_a_config_error(synth_tree: Path, fraction: float):
    with pytest.raises(ConfigError, match="fraction"):
        VocDataset(synth_tree, CLASSES).subset_ids("val", fraction)


def test_palette_is_the_voc_colour_map():
    palette = voc_palette()
    assert len(palette) == 768
    assert palette[0:3] == [0, 0, 0] and palette[3:6] == [128, 0, 0]
    assert palette[15 * 3:16 * 3] == [192, 128, 128]  # person
    assert palette[255 * 3:] == [224, 224, 192]  # boundary


def test_check_counts_every_listed_image(synth_tree: Path):
    ds = VocDataset(synth_tree, CLASSES)
    assert ds.check("train") == TRAIN and ds.check("val", decode=False) == VAL


# ---------------------------------------------------------------- bad inputs: DataError naming the file

def _remove_folder(root: Path) -> str:
    for path in (root / "JPEGImages").iterdir():
        path.unlink()
    (root / "JPEGImages").rmdir()
    return "JPEGImages"


def _empty_list(root: Path) -> str:
    (root / "ImageSets/Segmentation/val.txt").write_text("\n  \n")
    return "val.txt"


def _missing_list(root: Path) -> str:
    (root / "ImageSets/Segmentation/val.txt").unlink()
    return "val.txt"


def _missing_image(root: Path) -> str:
    (root / "JPEGImages/val_00000.jpg").unlink()
    return "val_00000.jpg"


def _missing_mask(root: Path) -> str:
    (root / "SegmentationClass/val_00000.png").unlink()
    return "val_00000.png"


def _corrupt_image(root: Path) -> str:
    (root / "JPEGImages/val_00000.jpg").write_bytes(b"not a jpeg at all")
    return "val_00000.jpg"


def _truncated_image(root: Path) -> str:
    path = root / "JPEGImages/val_00000.jpg"
    path.write_bytes(path.read_bytes()[:300])
    return "val_00000.jpg"


def _corrupt_mask(root: Path) -> str:
    (root / "SegmentationClass/val_00000.png").write_bytes(b"\x89PNG broken")
    return "val_00000.png"


def _label_out_of_range(root: Path) -> str:
    label = np.zeros((SIZE, SIZE), dtype=np.uint8)
    label[3, 4] = CLASSES + 2
    save_label(root / "SegmentationClass/val_00000.png", label)
    return "val_00000.png"


def _size_mismatch(root: Path) -> str:
    save_label(root / "SegmentationClass/val_00000.png", np.zeros((SIZE, SIZE + 3), np.uint8))
    return "val_00000.png"


def _rgb_mask(root: Path) -> str:
    path = root / "SegmentationClass/val_00000.png"
    Image.open(path).convert("RGB").save(path)
    return "val_00000.png"


BAD_INPUTS = [_remove_folder, _empty_list, _missing_list, _missing_image, _missing_mask,
              _corrupt_image, _truncated_image, _corrupt_mask, _label_out_of_range,
              _size_mismatch, _rgb_mask]


@pytest.mark.parametrize("damage", BAD_INPUTS, ids=[f.__name__.lstrip("_") for f in BAD_INPUTS])
def test_bad_input_raises_data_error_naming_the_file(voc_copy: Path, damage):
    culprit = damage(voc_copy)
    with pytest.raises(DataError, match=culprit.replace(".", r"\.")):
        ds = VocDataset(voc_copy, CLASSES)
        ds.read(ds.ids("val")[0])


def test_missing_root_is_a_data_error(tmp_path: Path):
    with pytest.raises(DataError, match="does not exist"):
        VocDataset(tmp_path / "nowhere")
    with pytest.raises(DataError, match="not a VOC-format data set"):
        VocDataset(tmp_path)


def test_missing_file_found_by_quick_check(voc_copy: Path):
    _missing_mask(voc_copy)
    with pytest.raises(DataError, match=r"val_00000\.png"):
        VocDataset(voc_copy, CLASSES).check("val", decode=False)


@pytest.mark.parametrize("num_classes", [1, 256])
def test_bad_class_count_is_a_config_error(synth_tree: Path, num_classes: int):
    with pytest.raises(ConfigError):
        VocDataset(synth_tree, num_classes)
