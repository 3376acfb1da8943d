"""Start-up time of the commands that need no network: today vs with TensorFlow imported first.

``fmas-hw arch``, ``measure`` (estimate) and ``regress`` answer from the architecture alone and
no longer import TensorFlow. This runs each command as a user does (a fresh process), and beside
it the same command in a process that imports TensorFlow first (the cost they used to pay), and
prints the medians and their ratio. Usage: ``python bench/startup.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (["arch", "--json"], ["measure", "--json"], ["regress"])
RUN = "import sys; from fmas_hw.cli.main import main; sys.exit(main(sys.argv[1:]))"
WITH_TF = "import tensorflow; " + RUN


def _seconds(code: str, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"{'command':<16} {'now (s)':>8} {'+TF import (s)':>15} {'ratio':>6}")
    for args in COMMANDS:
        now, before = [], []
        for _ in range(repeat):  # interleaved, so both see the same machine load
            now.append(_seconds(RUN, args))
            before.append(_seconds(WITH_TF, args))
        a, b = statistics.median(now), statistics.median(before)
        print(f"{' '.join(args):<16} {a:8.2f} {b:15.2f} {b / a:6.1f}x")


if __name__ == "__main__":
    main()
