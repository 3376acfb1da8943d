"""The input rows a band of output rows reads (the geometry the tile plan and the C share)."""

from __future__ import annotations

import pytest

from fmas_hw.gap8.bands import band_span, resize_span


@pytest.mark.parametrize("h, top, span, stride, y0, rows, expected", [
    (8, 1, 3, 1, 0, 4, (0, 5, 1, 0)),   # 3x3 "same": the first band reads one padding row
    (8, 1, 3, 1, 4, 4, (3, 5, 0, 1)),   # ... and the last one a padding row below
    (8, 1, 3, 2, 0, 4, (0, 8, 1, 0)),   # stride 2: four output rows read the whole map
    (8, 2, 5, 1, 2, 2, (0, 6, 0, 0)),   # dilation 2 (span 5), an inner band: no padding
], ids=["same-top", "same-bottom", "stride-2", "dilated-inner"])
def test_a_band_reads_the_rows_its_outputs_cover(h, top, span, stride, y0, rows, expected):
    assert band_span(h, top, span, stride, y0, rows) == expected
    first, count, pad_top, pad_bottom = expected
    assert pad_top + count + pad_bottom == (rows - 1) * stride + span  # what the filter covers


def test_every_output_band_of_a_resize_reads_inside_the_input():
    for interpolation in ("nearest", "bilinear"):
        assert resize_span(4, 8, interpolation, 0, 8) == (0, 4)
        bands = [resize_span(12, 48, interpolation, y0, 8) for y0 in range(0, 48, 8)]
        assert all(0 <= first and first + count <= 12 for first, count in bands)
        assert bands[0][0] == 0 and bands[-1][0] + bands[-1][1] == 12
