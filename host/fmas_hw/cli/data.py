"""``fmas-hw data``: write the synthetic VOC-format data set, check a data set before a search."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .options import echo_json, json_option


@click.group()
def data() -> None:
    """Data sets in the PASCAL VOC 2012 layout."""


@data.command()
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Output folder; the data set is written to OUT/VOC2012.")
@click.option("--train", "n_train", type=click.IntRange(min=1), default=200, show_default=True,
              help="Number of training images.")
@click.option("--val", "n_val", type=click.IntRange(min=1), default=50, show_default=True,
              help="Number of validation images.")
@click.option("--size", type=click.IntRange(min=16), default=128, show_default=True,
              help="Image width and height in pixels.")
@click.option("--classes", type=click.IntRange(2, 21), default=21, show_default=True,
              help="Number of classes including background (object classes 1..K-1).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; the same options write byte-identical files.")
@click.option("--force", is_flag=True, default=False,
              help="Write into a folder that is not empty (its data set's lists and images are replaced).")
@json_option
def synth(out: Path, n_train: int, n_val: int, size: int, classes: int, seed: int, force: bool,
          as_json: bool) -> None:
    """Write a deterministic synthetic data set in the VOC layout.

    Classes are shape/texture combinations in jittered colours on textured backgrounds, with
    occlusions and a 255 ignore band around object edges. Pass OUT (or OUT/VOC2012) as --data.
    """
    from ..data.synth import write_synthetic_voc

    start = time.perf_counter()
    root = write_synthetic_voc(out, n_train, n_val, size, classes, seed, force=force)
    if as_json:
        echo_json({"root": str(root), "train": n_train, "val": n_val, "size": size,
                   "classes": classes, "seed": seed,
                   "seconds": round(time.perf_counter() - start, 3)})
    else:
        click.echo(str(root))


@data.command()
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="VOC2012 folder, a folder holding VOCdevkit/VOC2012, or a synth --out.")
@click.option("--classes", type=click.IntRange(2, 255), default=None,
              help="Number of classes including background  [default: the --weights' manifest, else the "
                   "data set's synth.json, else 21]")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Supernet weights the data set is for: their manifest gives the class count.")
@click.option("--split", "splits", multiple=True, default=("train", "val"), show_default=True,
              help="List(s) to check (repeatable).")
@click.option("--quick", is_flag=True, help="Only check that the files exist (no decoding).")
@json_option
def check(data_path: Path, classes: int | None, weights: str | None, splits: tuple[str, ...], quick: bool,
          as_json: bool) -> None:
    """Validate a data set: list files, images, masks, sizes and label values.

    Labels are checked against the class count given, else the one the weights' manifest
    states, else the data set's own synth.json, else PASCAL VOC's 21; stderr says which.
    Exits non-zero with a message naming the first bad file.
    """
    from ..data.voc import VocDataset, resolve_root

    classes, source = _check_classes(resolve_root(data_path), classes, weights)
    click.echo(f"classes: {classes} ({source})", err=True)
    dataset = VocDataset(data_path, num_classes=classes)
    counts = {split: dataset.check(split, decode=not quick) for split in splits}
    if as_json:
        echo_json({"root": str(dataset.root), "classes": classes, "classes_source": source, "images": counts})
    else:
        listed = ", ".join(f"{split}: {n}" for split, n in counts.items())
        click.echo(f"{dataset.root}: OK ({listed})")


def _check_classes(root: Path, classes: int | None, weights: str | None) -> tuple[int, str]:
    """The class count to check labels against, and where it came from (see ``check``).

    Raises:
        WeightsError / DataError: the manifest or the data set's synth.json is unreadable.
    """
    from ..data.voc import DESCRIPTION_FILE, described_classes
    from ..model.manifest import DEFAULT_CLASSES, manifest_path, read_manifest

    if classes is not None:
        return classes, "as given"
    stated = read_manifest(weights).get("classes")
    if stated is not None:
        return int(stated), f"from the manifest {manifest_path(weights)}"  # type: ignore[arg-type]
    described = described_classes(root)
    if described is not None:
        return described, f"from the data set's {root / DESCRIPTION_FILE}"
    return DEFAULT_CLASSES, (f"default: PASCAL VOC's; no --classes, no --weights manifest, no {DESCRIPTION_FILE} "
                             "in the data set")
