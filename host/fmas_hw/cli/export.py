"""``fmas-hw export``: write the GAP8 project of one candidate (TFLite, ONNX, C code, Makefile).

A thin command over :func:`fmas_hw.gap8.project_writer.write_project`. Representative images for the int8
quantisation come from the training split of ``--data`` (a VOC-format folder); without it, seeded
random images are used and a warning says the int8 accuracy is then meaningless.

The GAP8 fit verdict (:mod:`fmas_hw.gap8.fit`) comes first, from the weightless arch graph: a
network that cannot fit GAP8 memory is refused in seconds, before the minutes of building,
quantising and converting, unless ``--force`` asks for its project anyway. What the converters
print goes to the project's ``logs/export.log``.

A folder that holds another candidate's project (its ``candidate.json`` names another key) is
refused too, before any slow work, unless ``--force``, which then clears that project's run logs
so they cannot pass for the new one's; re-exporting the same candidate keeps its logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import (
    GivenGenome,
    alpha_option,
    backbone_option,
    classes_option,
    echo_json,
    echo_settings,
    genome_option,
    json_option,
    network_options,
    weights_option,
)
from .outputs import writable_dir

if TYPE_CHECKING:
    from ..gap8.fit import FitVerdict
    from ..space import Arch


@click.command("export")
@backbone_option
@genome_option
@weights_option
@classes_option
@alpha_option
@click.option("--input-size", type=click.IntRange(min=32), default=384, show_default=True,
              help="Adapted input size (GAP8 adaptation 1 uses 384).")
@click.option("--data", type=click.Path(exists=True, file_okay=False), default=None,
              help="VOC-format data set: representative images from its training split "
                   "(default: seeded random images, with a warning).")
@click.option("--calibration-images", type=click.IntRange(min=1), default=8, show_default=True,
              help="Number of representative images.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Project folder to write (created).")
@click.option("--route", type=click.Choice(["open", "autotiler", "nntool"]), default="open",
              show_default=True,
              help="Default ROUTE of the generated Makefile: open (fmas-hw's tiled C, no licensed "
                   "part), autotiler or nntool (both need the AutoTiler library LibTile.a).")
@click.option("--l1-bytes", type=click.IntRange(min=256), default=None,
              help="L1 budget of the open route's tile plan (default: hw/gap8.toml, 64 KB minus the "
                   "cluster stacks); for other GAP8 boards and for tests.")
@click.option("--l2-bytes", type=click.IntRange(min=4096), default=None,
              help="L2 budget of the open route's arenas (default: hw/gap8.toml).")
@click.option("--prefix", default="fmas", show_default=True,
              help="Model prefix of the generated C (<prefix>Model.c, <prefix>CNN()).")
@click.option("--io", "io_placement", type=click.Choice(["auto", "l2", "l3"]), default="auto",
              show_default=True, help="Where the network input/output live on GAP8.")
@click.option("--force", is_flag=True,
              help="Write the project even when the network does not fit GAP8 memory (it cannot run there), "
                   "or over another candidate's project in --out (its run logs are cleared).")
@json_option
def export(backbone: str, genome: GivenGenome, weights: str | None, classes: int | None,
           alpha: float | None, input_size: int, data: str | None, calibration_images: int, out_dir: Path, route: str,
           l1_bytes: int | None, l2_bytes: int | None, prefix: str, io_placement: str, force: bool,
           as_json: bool) -> None:
    """Export a candidate (default: the supernet) as a GAP8 project folder.

    The folder holds the int8 TFLite and ONNX models, the network as tiled C with its tile
    plan and constants (the open route), the AutoTiler model source and its constants, the NNTool script, the Makefile, the firmware and a README of how to build, run
    and flash it (make clean all run platform=gvsoc). A network that does not fit GAP8 memory is
    refused before any slow work unless --force is given.
    """
    from ..gap8.naming import check_prefix
    from ..gap8.project_writer import write_project
    from ..gap8.tile_plan import Budgets
    from ..model.supernet import Supernet

    check_prefix(prefix)  # before the slow model build
    # --input-size here is the adapted size of the project, not the supernet's training size
    net = network_options(backbone, weights, classes, alpha, input_size)
    echo_settings(net, ("classes", "alpha"))
    classes, alpha, arch = net.classes, net.alpha, genome.arch
    verdict = _check_fit(arch, classes, alpha, input_size, force)
    _check_out(out_dir, arch, force)
    writable_dir(out_dir, "--out")  # before minutes of building, quantising and converting
    supernet = Supernet.build(backbone, input_size=input_size, classes=classes, alpha=alpha,
                              weights=weights)
    images, source = _representative_images(data, backbone, input_size, classes, calibration_images)
    path = write_project(arch, supernet, out_dir, classes=classes, alpha=alpha,
                         representative_images=images, prefix=prefix, route=route,
                         input_size=input_size, io_placement=io_placement,
                         budgets=Budgets.from_hw(l1=l1_bytes, l2=l2_bytes))
    _report(path, source, verdict, as_json)


def _check_fit(arch: Arch, classes: int, alpha: float, input_size: int, force: bool) -> FitVerdict:
    """The fit verdict; refuse an unfittable network unless ``force`` (then warn on stderr).

    Raises:
        ExportError: the network does not fit GAP8 memory and ``force`` is not set.
    """
    from ..errors import ExportError
    from ..gap8.fit import candidate_fit

    verdict = candidate_fit(arch, classes, alpha, input_size)
    if verdict.fits:
        return verdict
    levels = "\n".join(verdict.lines())
    if not force:
        raise ExportError(f"candidate {arch.key} does not fit GAP8 memory, so it cannot run there:\n{levels}\n"
                          "Nothing was written. Export a smaller candidate (another --genome, a smaller "
                          "--alpha or --input-size), or give --force to write its project anyway.")
    click.echo(f"warning: --force: writing the project of a network that does not fit GAP8 memory "
               f"(it cannot run there)\n{levels}", err=True)
    return verdict


def _check_out(out_dir: Path, arch: Arch, force: bool) -> None:
    """Refuse a folder holding another candidate's project unless ``force`` (then clear its run
    logs, which belong to the other network); the same candidate's project keeps its logs.

    Raises:
        ExportError: ``out_dir`` holds another candidate's project and ``force`` is not set.
    """
    import shutil

    from ..errors import ExportError, MeasurementError
    from ..gap8.candidate_file import CANDIDATE_FILE, read_candidate

    if not (out_dir / CANDIDATE_FILE).is_file():
        return
    try:
        held = read_candidate(out_dir).spec
        other = f"candidate {held.arch.key} (genome {held.genome})" if held.arch.key != arch.key else None
    except MeasurementError as exc:
        other = f"an unreadable {CANDIDATE_FILE} ({exc})"
    if other is None:
        return
    if not force:
        raise ExportError(f"--out {out_dir} holds the project of {other}: exporting {arch.key} there would "
                          "overwrite it and keep its run logs. Choose another --out, or give --force to "
                          "replace that project (its logs are cleared).")
    logs = out_dir / "logs"
    if logs.is_dir():
        shutil.rmtree(logs)
    click.echo(f"warning: --force: replacing the project of {other} in {out_dir} (its logs cleared)", err=True)


def _representative_images(data: str | None, backbone: str, size: int, classes: int,
                           count: int) -> tuple[Any, str]:
    """Float network inputs from the training split of ``data``, or seeded random ones."""
    import numpy as np

    if data is None:
        click.echo("warning: no --data: the int8 quantisation is calibrated on random images, so "
                   "the exported int8 models' accuracy is meaningless (cycles are unaffected)",
                   err=True)
        rng = np.random.default_rng(0)
        return rng.uniform(-1.0, 1.0, (count, size, size, 3)).astype(np.float32), "random"
    from ..data.preprocess import preprocess
    from ..data.voc import VocDataset

    dataset = VocDataset(data, num_classes=classes)
    ids = dataset.ids("train")[:count]
    images = [preprocess(dataset.read(i)[0], None, size, backbone)[0] for i in ids]
    return np.stack(images).astype(np.float32), f"{len(ids)} training images of {dataset.root}"


def _report(path: Path, source: str, verdict: FitVerdict, as_json: bool) -> None:
    import json

    from ..gap8.candidate_file import read_candidate
    from ..gap8.project_writer import EXPORT_LOG

    candidate = read_candidate(path).to_dict()
    layers = json.loads((path / "model" / "layers.json").read_text())
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*")
                   if p.is_file() and "tensors" not in p.parts)
    if as_json:
        echo_json({"project": str(path), "candidate": candidate, "kernels": len(layers),
                   "representative_images": source, "gap8_fit": verdict.to_dict(), "files": files})
        return
    click.echo(f"project          {path}")
    click.echo(f"candidate        {candidate['key']} (genome {candidate['genome']})")
    click.echo(f"kernels          {len(layers)} AutoTiler generator calls")
    click.echo(f"calibration      {source}")
    for line in verdict.lines():
        click.echo(line)
    log = path / EXPORT_LOG
    if log.is_file() and log.stat().st_size:
        click.echo(f"converter log    {log} (the TFLite/ONNX converters' output)")
    click.echo(f"build and run    cd {path} && make clean all run platform=gvsoc   (see README.md)")
