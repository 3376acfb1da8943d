"""Proxy fidelity: Kendall τ against a hand-checked case, differences in points, the report section."""

from __future__ import annotations

import csv

import pytest

from fmas_hw.report import kendall_tau, proxy_fidelity


def test_kendall_tau_hand_checked():
    # x = 1 2 3 4 5, y = 2 1 4 3 5. Of the C(5,2) = 10 pairs (i<j), two are discordant:
    # (1,2) -> y goes 2 -> 1 and (3,4) -> y goes 4 -> 3; the other 8 are concordant and
    # there are no ties, so tau = (C - D) / 10 = (8 - 2) / 10 = 0.6.
    tau, p = kendall_tau([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert tau == pytest.approx(0.6)
    assert 0 < p < 1


def test_kendall_tau_hand_checked_reversed_and_errors():
    # Errors 0.30 0.35 0.41 0.48 against 0.31 0.33 0.47 0.44: only the pair (3,4) is
    # discordant (0.47 -> 0.44) out of 6, so tau = (5 - 1) / 6 = 2/3.
    assert kendall_tau([0.30, 0.35, 0.41, 0.48], [0.31, 0.33, 0.47, 0.44])[0] == pytest.approx(2 / 3)
    # Completely reversed ranking: all 3 pairs discordant -> -1.
    assert kendall_tau([1, 2, 3], [3, 2, 1])[0] == pytest.approx(-1.0)


@pytest.mark.parametrize(("x", "y"), [([0.3], [0.4]), ([], []), ([0.3, 0.3, 0.3], [0.1, 0.2, 0.3])],
                         ids=["one-pair", "empty", "constant"])
def test_kendall_tau_undefined(x, y):
    assert kendall_tau(x, y) == (None, None)


def test_kendall_tau_needs_paired_samples():
    with pytest.raises(ValueError, match="paired"):
        kendall_tau([1, 2], [1])


def _candidate(name, subset, before, after):
    return {"name": name, "genome": "0" * 28, "error_subset": subset, "error_full_before": before,
            "error_full_after": after}


def test_differences_in_points_follow_the_papers_sign():
    rows = [_candidate("P1", 0.300, 0.310, 0.287), _candidate("P2", 0.400, None, 0.4095),
            _candidate("P3", 0.500, None, None)]
    fid = proxy_fidelity(rows)
    assert fid.n == 2  # P3 was not fine-tuned
    p1, p2 = fid.rows
    # fine-tuned mIoU - proxy mIoU = subset error - fine-tuned error, in points
    assert p1["delta_points"] == pytest.approx(1.3) and p2["delta_points"] == pytest.approx(-0.95)
    assert p1["subset_bias_points"] == pytest.approx(-1.0) and p1["finetune_gain_points"] == pytest.approx(2.3)
    assert p2["subset_bias_points"] is None
    assert (fid.delta_min, fid.delta_max) == (pytest.approx(-0.95), pytest.approx(1.3))
    assert fid.kendall_tau == pytest.approx(1.0)


def test_no_fine_tuning_no_fidelity():
    assert proxy_fidelity([_candidate("P1", 0.3, None, None)]) is None


def test_report_fidelity_section_from_finetune_rows(finetuned_store, finetuned_report):
    _, rows = finetuned_store
    summary = finetuned_report.summary["fidelity"]
    assert summary["n"] == len(rows) == 4
    expected = sorted(100 * (r.error_subset_before - r.error_full_after) for r in rows.values())
    assert (summary["delta_min"], summary["delta_max"]) == (pytest.approx(expected[0]), pytest.approx(expected[-1]))
    assert expected[0] == pytest.approx(-1.3) and expected[-1] == pytest.approx(0.95)
    subset = [r.error_subset_before for r in rows.values()]
    after = [r.error_full_after for r in rows.values()]
    assert summary["kendall_tau"] == pytest.approx(kendall_tau(subset, after)[0])
    text = finetuned_report.markdown.read_text()
    assert "## Proxy fidelity" in text and "Kendall τ between proxy and fine-tuned error" in text
    assert "![proxy error vs fine-tuned error](fidelity.png)" in text
    with open(finetuned_report.csv["fidelity"], newline="") as fh:
        table = {r["genome"]: r for r in csv.DictReader(fh)}
    for row in rows.values():
        assert float(table[row.genome]["delta_points"]) == pytest.approx(
            100 * (row.error_subset_before - row.error_full_after))


def test_report_without_finetune_says_what_to_run(mnv2_store, mnv2_report):
    assert mnv2_report.summary["fidelity"] is None and "fidelity" not in mnv2_report.csv
    assert f"`fmas-hw finetune --store {mnv2_store}`" in mnv2_report.markdown.read_text()
