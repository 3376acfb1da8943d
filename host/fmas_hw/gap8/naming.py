"""C identifiers for what the code generator renders into C: layer, tensor and model names.

Keras layer names are free text (spaces, dashes, quotes, ``*/``, unicode, C keywords ...), but
every name that reaches the generated C must be a valid, unique identifier, and the node names
also travel in the firmware's ``FMAS:LAYER name=...`` lines, which must hold no whitespace.

Node names follow NNTool's convention ``S<step>_<description>``: the step number (1-based position
in the graph) makes them unique and never starts them with a digit; the description is the
sanitised Keras name, truncated with a short hash when long so that the generated kernel
functions (``S12_expanded_conv_1_project``) stay within the 63 significant characters C99
guarantees for internal identifiers.
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata

from ..errors import ExportError

#: Longest identifier produced (C99 guarantees 63 significant characters for internal names).
MAX_IDENTIFIER = 63
#: Longest node name; leaves room for suffixes the AutoTiler appends to kernel names.
MAX_NODE_NAME = 48

C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic "
    "_Imaginary _Noreturn _Static_assert _Thread_local".split()
)

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def sanitize(text: str) -> str:
    """Fold ``text`` to the characters of a C identifier (may still start with a digit).

    Unicode letters lose their accents (``é`` -> ``e``); every other run of characters that is
    not a letter, digit or underscore becomes one ``_``; leading/trailing underscores go.

    Returns:
        The folded text, possibly empty.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_IDENT.sub("_", ascii_text).strip("_")


def _fit(name: str, original: str, limit: int) -> str:
    """Truncate ``name`` to ``limit`` characters, keeping it distinct with a hash of ``original``."""
    if len(name) <= limit:
        return name
    tag = _short_hash(original)
    return f"{name[: limit - len(tag) - 1].rstrip('_')}_{tag}"


def c_identifier(text: str, limit: int = MAX_IDENTIFIER) -> str:
    """A valid C identifier derived from ``text``.

    Empty results get a hash, leading digits an ``n`` prefix, C keywords an ``_`` suffix.

    Args:
        text: any string.
        limit: maximum length.

    Returns:
        An identifier matching ``[A-Za-z_][A-Za-z0-9_]*`` of at most ``limit`` characters.
    """
    name = sanitize(text) or f"x{_short_hash(text)}"
    if name[0].isdigit():
        name = f"n{name}"
    if name in C_KEYWORDS or keyword.iskeyword(name):
        name = f"{name}_"
    return _fit(name, text, limit)


def node_names(layer_names: list[str], limit: int = MAX_NODE_NAME) -> list[str]:
    """NNTool-style unique node names ``S<i>_<sanitised>`` (``i`` from 1) for a list of layers.

    Args:
        layer_names: Keras layer names in graph order (duplicates allowed).
        limit: maximum length of each name.

    Returns:
        One identifier per layer, unique, in the same order.
    """
    names: list[str] = []
    seen: set[str] = set()
    for step, original in enumerate(layer_names, start=1):
        stem = f"S{step}"
        desc = sanitize(original)
        name = _fit(f"{stem}_{desc}" if desc else stem, f"{step}:{original}", limit)
        while name in seen:  # cannot happen with distinct steps; guards hand-made limits
            name = _fit(f"{name}_{_short_hash(name)}", name, limit)
        seen.add(name)
        names.append(name)
    return names


def check_prefix(prefix: str) -> str:
    """Validate a model prefix (``<prefix>Model.c``, ``<prefix>CNN()``, ``<prefix>_L2_Memory``).

    Raises:
        ExportError: the prefix is not a C identifier or is too long.
    """
    if not _IDENT.fullmatch(prefix) or prefix in C_KEYWORDS or len(prefix) > 24:
        raise ExportError(
            f"model prefix {prefix!r} is not usable: expected a C identifier of at most 24 "
            "characters (letters, digits, underscores, not starting with a digit), e.g. 'fmas'")
    return prefix


def c_string(text: str) -> str:
    """``text`` as a C string literal body: printable ASCII, quotes/backslashes escaped.

    Used for free text that lands in generated C (model names, comments are separate).
    """
    out = []
    for char in text:
        if char in "\\\"":
            out.append("\\" + char)
        elif " " <= char <= "~" and char != "?":  # '?' avoids trigraphs
            out.append(char)
        else:
            out.extend(f"\\{b:03o}" for b in char.encode("utf-8"))
    return "".join(out)


def c_comment(text: str) -> str:
    """``text`` made safe inside a ``/* ... */`` comment (no ``*/``, ASCII only, one line)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "replace").decode("ascii")
    folded = re.sub(r"[\x00-\x1f\x7f]", " ", folded)
    return folded.replace("*/", "* /").replace("/*", "/ *")
