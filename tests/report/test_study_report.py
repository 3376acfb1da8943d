"""The proxy study's report and its section in a search report (statistics from known counts)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fmas_hw.cli.main import cli, main
from fmas_hw.errors import ReportError
from fmas_hw.eval.proxy_study import study
from fmas_hw.report import write_report
from fmas_hw.report.study import read_summary, write_study


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    counts = []
    for accuracy in np.linspace(0.4, 0.9, 8):
        per_image = np.zeros((40, 3, 3), np.int64)
        for i in range(40):
            labels = rng.integers(0, 3, 100)
            predictions = np.where(rng.random(100) < accuracy, labels, rng.integers(0, 3, 100))
            np.add.at(per_image[i], (labels, predictions), 1)
        counts.append(per_image)
    result = study([f"c{i}" for i in range(8)], [f"{i:04b}" for i in range(8)], counts, pools=(5,))
    out = tmp_path_factory.mktemp("study") / "proxy-study"
    write_study(result, out, {"weights": "w.h5", "data": "d", "input_size": 64}, ("md", "csv", "html"))
    return out


def test_the_study_folder_holds_what_it_found(study_dir):
    summary = read_summary(study_dir)
    assert summary["candidates"] == 8 and summary["images"] == 40 and summary["weights"] == "w.h5"
    assert summary["kendall_tau"] > 0.5 and summary["selections"][0]["pool"] == 5
    html = (study_dir / "study.html").read_text()
    assert '<img src="proxy-curve.png"' in html and "optimism" in html
    header = (study_dir / "candidates.csv").read_text().splitlines()[0]
    assert header == "name,genome,subset_error,full_error,gap_points"


def test_a_search_report_includes_the_study_with_its_plots_found_from_the_report(study_dir, mnv2_store, tmp_path):
    out = tmp_path / "report"
    files = write_report(mnv2_store, out, "md", study=study_dir)
    md = (out / "report.md").read_text()
    assert "## Proxy study: subset vs full validation set" in md and "Kendall τ" in md
    curve = next(line for line in md.splitlines() if "proxy-curve.png" in line)
    assert (out / curve[curve.index("(") + 1: -1]).resolve() == (study_dir / "proxy-curve.png").resolve()
    assert files.summary["proxy_study"]["candidates"] == 8 and "curve" not in files.summary["proxy_study"]
    assert md.index("Proxy study") < md.index("## Search cost")


def test_report_cli_takes_a_study_and_refuses_a_folder_without_one(study_dir, mnv2_store, tmp_path, capsys):
    runner = CliRunner(mix_stderr=False)
    ok = runner.invoke(cli, ["report", "--store", str(mnv2_store), "--out", str(tmp_path / "r"), "--study",
                             str(study_dir), "--json"], catch_exceptions=False)
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout)["summary"]["proxy_study"]["images"] == 40
    with pytest.raises(ReportError, match="study proxy"):
        read_summary(tmp_path)
    assert main(["report", "--store", str(mnv2_store), "--out", str(tmp_path / "r2"), "--study", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not a proxy study" in err and "Traceback" not in err
