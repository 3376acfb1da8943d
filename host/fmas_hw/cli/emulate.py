"""``fmas-hw emulate``: run an exported project's network on this computer (x86 emulation)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import json_option


@click.command("emulate")
@click.argument("project", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sanitize", is_flag=True, help="Build with AddressSanitizer (slower; catches any "
                                              "access outside the arenas, kernels included).")
@json_option
def emulate(project: Path, sanitize: bool, as_json: bool) -> None:
    """Build PROJECT's open-route network for this computer and run it on model/input.bin.

    The generated sources, the SDK's SQ8 kernels (GAP_SDK_HOME, else the shared open sources) and
    its emulation headers, compiled with gcc. Prints the output checksum against
    model/expected.json and each kernel's L1 and DMA bytes; exits 1 when the checksum differs.
    Emulation proves the arithmetic, the tiling and the memory budgets; GAP8 cycles need GVSoC or
    a board.
    """
    import json

    from ..gap8 import emulate as emulation

    result = emulation.run(project, emulation.build(project, sanitize=sanitize))
    if as_json:
        click.echo(json.dumps({"checksum": result.checksum, "expected": result.expected,
                               "matches": result.matches, "layers": result.layers}, indent=2))
    else:
        for layer in result.layers:
            click.echo(f"{layer['name']:<40} L1 {layer['l1']:>6} B  DMA in {layer['dma_in']:>9} B  "
                       f"out {layer['dma_out']:>9} B")
        verdict = "matches" if result.matches else "DIFFERS from"
        click.echo(f"x86 emulation (no cycles): output checksum {result.checksum} {verdict} "
                   f"model/expected.json ({result.expected})")
    if not result.matches:
        raise SystemExit(1)
