"""Which input rows a band of output rows reads: the row geometry the tile plan and the generated
C share (convolutions, pooling, resize), and where a convolution's padding needs explicit zeros.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import Node


def band_span(h: int, top: int, span: int, stride: int, y0: int, rows: int) -> tuple[int, int, int, int]:
    """``(first input row, input rows loaded, pad top, pad bottom)`` of output rows
    ``y0..y0+rows`` of a map of ``h`` rows, ``top`` rows of padding and a filter ``span`` rows
    high moved by ``stride``; the rows outside the map are the band's padding."""
    start = y0 * stride - top
    end = (y0 + rows - 1) * stride - top + span
    pad_top, pad_bottom = max(0, -start), max(0, end - h)
    return start + pad_top, end - start - pad_top - pad_bottom, pad_top, pad_bottom


def resize_source_row(y: int, h_in: int, h_out: int, interpolation: str) -> int:
    """Input row that output row ``y`` of a resize reads first (fmas_resize.c's arithmetic)."""
    if interpolation == "nearest":
        step = ((h_in - 1) << 16) // (h_out - 1) if h_out > 1 else 0
        return (y * step + (1 << 15)) >> 16
    return (y * (((h_in - 1) << 16) // h_out)) >> 16


def resize_span(h_in: int, h_out: int, interpolation: str, y0: int, rows: int) -> tuple[int, int]:
    """``(first input row, input rows)`` a resize band of output rows ``y0..y0+rows`` reads
    (``fmas_resize_band`` of the generated C)."""
    first = resize_source_row(y0, h_in, h_out, interpolation)
    last = resize_source_row(y0 + rows - 1, h_in, h_out, interpolation)
    extra = 1 if interpolation == "bilinear" and h_in > 1 else 0
    return first, min(last + extra, h_in - 1) - first + 1


def reads_padding_on_both_sides(node: Node) -> bool:
    """Whether some output of a convolution reads zero padding on both sides of one axis.

    The SQ8 convolutions' border code (``CNN_Conv_SQ8.c``, ``CNN_Conv_DW_SQ8.c``,
    ``CNN_Conv_DW_Red_SQ8.c`` of the pinned SDK) assumes it never does; a dilated filter wider
    than its feature map breaks that, and the real kernels then compute wrong values there
    (``tests/gap8/test_sq8_kernels.py`` runs them). The open route zero-pads such a layer's tiles
    in L1 instead. It happens on small maps only: no MobileNetV2 candidate at the GAP8 input size
    of 384 px does it.
    """
    if node.op not in ("conv", "depthwise"):
        return False
    top, bottom, left, right = node.padding
    axes = ((node.in_shape[0], node.kernel[0], node.stride[0], node.dilation[0], top, bottom),
            (node.in_shape[1], node.kernel[1], node.stride[1], node.dilation[1], left, right))
    for size, kernel, stride, dilation, before, after in axes:
        span = dilation * (kernel - 1) + 1
        outputs = (size - span + before + after) // stride + 1
        if any(o * stride < before and o * stride - before + span > size for o in range(outputs)):
            return True
    return False
