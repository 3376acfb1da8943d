"""GAP8 hardware facts as data (``gap8.toml``), loaded once.

Hardware constants never appear as literals in code: memory sizes, clocks and core counts come
from here, each with its public source in the file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from typing import Any

from ..resources import hw_file


@cache
def load(name: str = "gap8.toml") -> dict[str, Any]:
    """Return the parsed hardware description ``name`` (cached)."""
    with open(hw_file(name), "rb") as f:
        return tomllib.load(f)
