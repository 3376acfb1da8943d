"""The candidate table: supernet first, numbers equal to the store's, genes, units and sources."""

from __future__ import annotations

import csv

import pytest

from fmas_hw.report import load, write_report
from fmas_hw.report.tables import Column, candidate_rows, csv_text, cycles_text, markdown_table
from fmas_hw.space import get_space
from fmas_hw.store import FinetuneRow, Store
from fmas_hw.store.front import stored_front

from .conftest import FAILING, search_store


def _csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _int(text: str) -> int | None:
    return int(text) if text else None


def _float(text: str) -> float | None:
    return float(text) if text else None


def test_csv_numbers_equal_the_store(mnv2_store, mnv2_report):
    rows = _csv(mnv2_report.csv["candidates"])
    with Store.open(mnv2_store, writable=False) as store:
        by_genome = {r.genome: r for r in store.evaluations()}
        front = [r.arch_key for r in stored_front(store)]
    supernet = get_space("mobilenetv2").supernet().key
    assert len(rows) == len({supernet, *front})
    for row in rows:
        record = by_genome[row["genome"]]
        assert row["arch_key"] == record.arch_key
        assert _float(row["error_subset"]) == record.error  # exact: the CSV keeps full precision
        assert (_int(row["flops"]), _int(row["params"]), _int(row["cycles"])) == (
            record.flops, record.params, record.cycles)
        assert row["cycles_source"] == record.cycles_source == "estimate"
        assert row["error_full_after"] == "" and row["fine_tuned"] == "False"


def test_supernet_is_the_first_row_then_the_front_by_error(mnv2_store, mnv2_report):
    rows = _csv(mnv2_report.csv["candidates"])
    assert rows[0]["name"] == "supernet" and rows[0]["genome"] == get_space("mobilenetv2").supernet_genome
    assert rows[0]["generation_found"] == "0"
    names = [r["name"] for r in rows[1:]]
    assert names == [f"P{i}" for i in range(1, len(rows))]
    errors = [float(r["error_subset"]) for r in rows[1:]]
    assert errors == sorted(errors)
    with Store.open(mnv2_store, writable=False) as store:
        front = {r.arch_key for r in stored_front(store)}
    assert {r["arch_key"] for r in rows[1:]} == front - {rows[0]["arch_key"]}


def test_discovery_time_is_the_cumulative_device_time_of_the_generation_found(mnv2_store, mnv2_report):
    with Store.open(mnv2_store, writable=False) as store:
        cumulative = {g.gen: g.cumulative_seconds for g in store.generations()}
        first = {r.arch_key: r.generation for r in store.evaluations()}
    for row in _csv(mnv2_report.csv["candidates"]):
        gen = first[row["arch_key"]]
        assert int(row["generation_found"]) == gen
        assert float(row["discovery_seconds"]) == pytest.approx(cumulative[gen])
        assert float(row["discovery_device_hours"]) == pytest.approx(cumulative[gen] / 3600)
        assert float(row["discovery_device_days"]) == pytest.approx(cumulative[gen] / 86400)


def test_mobilenetv2_gene_columns(mnv2_report):
    supernet = _csv(mnv2_report.csv["candidates"])[0]
    assert (supernet["strides"], supernet["dilations"], supernet["layers"]) == ("2,2,1,1", "2,2,2,4,4,4", "2/3/4/3/3")
    text = mnv2_report.markdown.read_text()
    assert "| supernet | 2,2,1,1 | 2,2,2,4,4,4 | 2/3/4/3/3 | 0 |" in text
    assert "strides (b1,b3,b13,b16)" in text and "layers (24/32/64/96/160 ch)" in text


def test_xception_gene_columns_and_blocks_dropped(xception_store, report_dir):
    files = write_report(xception_store, report_dir / "xception-report", "csv")
    rows = _csv(files.csv["candidates"])
    assert rows[0]["name"] == "supernet"
    assert (rows[0]["entry_stride"], rows[0]["middle_rate"], rows[0]["exit_rates"], rows[0]["aspp_rates"],
            rows[0]["blocks_dropped"]) == ("2", "1", "1,2", "6,12,18", "")
    space = get_space("xception")
    for row in rows[1:]:
        dropped = space.genes(space.decode(row["genome"]))["middle_blocks_dropped"]
        assert row["blocks_dropped"] == ",".join(map(str, dropped))
    assert set(files.plots) == {"front-params", "hypervolume"} and files.markdown is None


def test_markdown_never_prints_an_estimate_as_a_measurement(mnv2_report):
    text = mnv2_report.markdown.read_text()
    table = [line for line in text.splitlines() if line.startswith("| supernet")][0]
    assert " Mcycles (estimate) |" in table
    assert "'estimate' is the analytical cycle model, not a measurement" in text


@pytest.mark.parametrize(("cycles", "source", "text"), [
    (2_189_000_000, "estimate", "2189 Mcycles (estimate)"),
    (2_189_400_000, "gvsoc", "2189 Mcycles (GVSoC)"),
    (3_450_000, "board", "3.45 Mcycles (board)"),
    (5_000_000, None, "5 Mcycles (source unknown)"),
    (None, "estimate", "–"),
], ids=["estimate", "gvsoc", "board-small", "no-source", "missing"])
def test_cycles_text(cycles, source, text):
    assert cycles_text(cycles, source) == text


def test_generation_csv_matches_the_store(mnv2_store, mnv2_report):
    rows = _csv(mnv2_report.csv["generations"])
    with Store.open(mnv2_store, writable=False) as store:
        gens = store.generations()
    assert [float(r["population_hypervolume"]) for r in rows] == [g.hypervolume for g in gens]
    assert [int(r["population_front_size"]) for r in rows] == [len(g.front) for g in gens]
    # The search's own columns: of everything evaluated up to the generation, so never falling.
    hv = [float(r["hypervolume"]) for r in rows]
    assert all(b >= a for a, b in zip(hv, hv[1:], strict=False))
    assert all(h >= float(r["population_hypervolume"]) - 1e-12 for h, r in zip(hv, rows, strict=True))
    assert int(rows[-1]["front_size"]) == len(load(mnv2_store).final_front)


def test_candidate_rows_include_fine_tuned_candidates_off_the_front(report_dir):
    # seed 1: a search whose evaluated candidates are not all on its front (3 of 11 are off it)
    store = search_store(report_dir, "off-front", objectives=("flops", "latency"), evaluator=FAILING, seed=1)
    data = load(store)
    off_front = next(r for k, r in data.evaluations.items()
                     if r.status == "ok" and k not in data.final_front and k != data.supernet_key)
    with Store.open(store) as s:
        s.finetune.record(FinetuneRow(off_front.arch_key, off_front.genome, "done",
                                      error_subset_before=off_front.error, error_full_after=0.5))
    rows = candidate_rows(load(store))
    assert rows[-1]["name"] == "F1" and rows[-1]["arch_key"] == off_front.arch_key
    assert rows[-1]["role"] == "fine-tuned" and rows[-1]["error_full_after"] == 0.5
    assert rows[-1]["error_full_before"] is None and rows[-1]["fine_tuned"] is True


def test_markdown_and_csv_rendering_helpers():
    columns = [Column("a", "A"), Column("b", "B", numeric=True)]
    assert markdown_table(columns, [{"a": "x|y", "b": 1}]).splitlines() == [
        "| A | B |", "|---|---:|", "| x\\|y | 1 |"]
    assert csv_text([{"a": None, "b": 0.1 + 0.2}]) == "a,b\n,0.30000000000000004\n"


def test_supernet_is_first_even_when_a_constraint_keeps_it_off_the_front(xception_store):
    rows = candidate_rows(load(xception_store))
    assert rows[0]["name"] == "supernet" and rows[0]["on_front"] is False  # 41 M params > max_params
    assert all(r["on_front"] for r in rows[1:]) and all(r["params"] <= 28_000_000 for r in rows[1:])


def test_cycles_of_a_network_that_cannot_fit_are_flagged(xception_store, report_dir):
    rows = candidate_rows(load(xception_store))
    assert rows and all(r["fits_gap8"] is False for r in rows)  # Xception's constants exceed HyperRAM
    report = write_report(xception_store, report_dir / "xception-report", "md")
    text = report.markdown.read_text()
    supernet = next(line for line in text.splitlines() if line.startswith("| supernet"))
    assert "Mcycles (estimate; does not fit GAP8) |" in supernet
    assert "do not fit GAP8 memory" in text and "no --fit-gap8" in text


def test_flops_column_names_its_input_size_and_fitting_cycles_are_not_flagged(report_dir):
    store = search_store(report_dir, "mnv2-96", input_size=96, generations=1)
    text = write_report(store, report_dir / "mnv2-96-report", "md").markdown.read_text()
    assert "| FLOPs at 96 px (G) |" in text and "GAP8 cycles at 384 px (source)" in text
    assert "at the search's 96 px input" in text
    supernet = next(line for line in text.splitlines() if line.startswith("| supernet"))
    assert "does not fit" not in supernet


def test_cycles_text_flags_only_a_known_misfit():
    assert cycles_text(5_000_000, "estimate", fits=False) == "5 Mcycles (estimate; does not fit GAP8)"
    assert cycles_text(5_000_000, "estimate", fits=True) == cycles_text(5_000_000, "estimate", fits=None)
