"""The report's text: what scored the candidates is said in the introduction."""

from __future__ import annotations

from fmas_hw.report import write_report

from .conftest import search_store


def test_a_random_init_search_is_labelled_in_the_report(tmp_path, mnv2_report):
    store = search_store(tmp_path, "random", random_init=True)
    files = write_report(store, tmp_path / "report", "md")
    assert "**Random initialisation**" in files.markdown.read_text()  # type: ignore[union-attr]
    assert files.summary["random_init"] is True
    assert "Random initialisation" not in mnv2_report.markdown.read_text()  # type: ignore[union-attr]
    assert mnv2_report.summary["random_init"] is False
