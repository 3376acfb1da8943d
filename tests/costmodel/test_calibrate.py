"""``fmas-hw calibrate``: recover known constants from synthetic per-layer measurements."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fmas_hw.cli.main import main
from fmas_hw.costmodel.calibrate import (
    FIT_RULES,
    Record,
    calibrate,
    fit_problems,
    load_records,
    predict,
)
from fmas_hw.costmodel.cycle_model import LayerFeatures, layer_cycles, load_cycle_model, rescaled
from fmas_hw.errors import ConfigError, MeasurementError
from fmas_hw.targets.estimate import EstimateTarget

KIND_CHOICES = ["conv"] * 4 + ["depthwise"] * 4 + ["avgpool", "add", "act", "upsample", "upsample", "crop"]
# Identifiable from varied data to a few percent; the overheads need looser bounds.
TOLERANCE = {"layer_cycles": 0.1, "tile_cycles": 0.3}


def _random_features(rng: np.random.Generator, n: int) -> list[LayerFeatures]:
    out = []
    for i in range(n):
        kind = str(rng.choice(KIND_CHOICES))
        dw = kind == "depthwise"
        ops = int(10 ** rng.uniform(3, 7.7))  # tiny layers show the fixed cost, big ones the rates
        out.append(LayerFeatures(
            name=f"L{i}", kind=kind, ops=ops,
            in_channels=int(rng.choice([3, 8, 16, 32, 96, 160, 576, 960])),
            out_channels=int(rng.choice([8, 16, 21, 24, 64, 320])),
            stride=int(rng.choice([1, 1, 2, 3])) if dw else 1,
            dilation=int(rng.choice([1, 1, 2, 4])) if dw else 1,
            interpolation=str(rng.choice(["nearest", "bilinear"])),
            tiles=max(1, ops // int(rng.integers(5_000, 200_000))), l1_bytes=int(ops * rng.uniform(0.05, 1.0)),
            l3_bytes=int(rng.choice([0, 0, 1]) * ops * rng.uniform(0.05, 1.0))))
    return out


@pytest.fixture(scope="module")
def truth():
    """Known constants (scale 1) away from the packaged ones, and noisy measurements of them."""
    rng = np.random.default_rng(7)
    start = rescaled(load_cycle_model(), 1.0)
    # the constants a refit may change (L1 bandwidth and L3 exposure are held: they are not fitted)
    factors = rng.uniform(0.6, 1.6, len(FIT_RULES))
    true = start.with_params(**{k: start.params[k] * f for k, f in zip(FIT_RULES, factors, strict=True)})
    records = [Record(f, layer_cycles(f, true.params) * float(np.exp(rng.normal(0, 0.02))))
               for f in _random_features(rng, 400)]
    return true, records


def test_recovers_known_constants_from_noisy_measurements(truth):
    true, records = truth
    cal = calibrate(records, load_cycle_model())
    assert cal.model.scale == 1.0 and cal.rms_log_error_after < 0.03 < cal.rms_log_error_before
    assert set(cal.fitted) == set(FIT_RULES)
    for name, (_, got) in cal.fitted.items():
        assert got == pytest.approx(true.params[name], rel=TOLERANCE.get(name, 0.05)), name


def test_only_constants_the_data_inform_are_refitted(truth):
    _, records = truth
    convs = [r for r in records if r.features.kind == "conv" and r.features.l3_bytes == 0]
    cal = calibrate(convs, load_cycle_model())
    assert "depthwise_macs_per_cycle" not in cal.fitted and "conv_peak_macs_per_cycle" in cal.fitted
    unit = rescaled(load_cycle_model(), 1.0)
    assert cal.model.params["depthwise_macs_per_cycle"] == pytest.approx(unit.params["depthwise_macs_per_cycle"])


def test_scale_only_matches_the_total(truth):
    _, records = truth
    model = load_cycle_model()
    doubled = [Record(r.features, 2 * p) for r, p in zip(records, predict(records, model), strict=True)]
    cal = calibrate(doubled, model, scale_only=True)
    assert cal.model.scale == pytest.approx(2 * model.scale) and cal.rms_log_error_after < 1e-9


def test_too_few_measurements_is_a_config_error(truth):
    with pytest.raises(ConfigError, match="use --scale-only"):
        calibrate(truth[1][:3], load_cycle_model())


def _write_jsonl(path, records) -> None:
    lines = []
    for r in records:
        d = r.features.to_dict()
        d["op"], d["macs"], d["bytes"] = d.pop("kind"), d.pop("ops"), d.pop("l1_bytes")
        lines.append(json.dumps({**d, "cycles": r.cycles}))
    path.write_text("# per-layer measurements\n" + "\n".join(lines) + "\n")


def test_cli_writes_a_model_the_estimate_target_uses(truth, tmp_path, capsys):
    true, records = truth
    measurements, out = tmp_path / "layers.jsonl", tmp_path / "refit.toml"
    _write_jsonl(measurements, records)
    assert main(["calibrate", "--measurements", str(measurements), "--out", str(out)]) == 0
    assert "rms |log(pred/measured)|" in capsys.readouterr().out
    refit = load_cycle_model(out)
    assert refit.params["add_ops_per_cycle"] == pytest.approx(true.params["add_ops_per_cycle"], rel=0.05)
    assert EstimateTarget(model_file=out).model.name.endswith("+refit")


def test_reads_json_arrays_and_pointwise_records(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"layers": [
        {"name": "S3_Conv2d_64x64x1x1", "op": "pointwise", "macs": 512000, "bytes": 20000, "cycles": 61355},
        {"name": "S4_Concat", "op": "concat", "macs": 0, "bytes": 0, "cycles": 1}]}))
    (record,) = load_records(path)
    assert record.features.kind == "conv" and record.features.ops == 512000 and record.cycles == 61355


@pytest.mark.parametrize("line, match", [
    ('{"name": "a", "op": "conv", "bytes": 1, "cycles": 5}', r"m.jsonl:1: missing ops"),
    ('{"name": "a", "op": "fft", "macs": 1, "cycles": 5}', "op 'fft' unknown"),
    ('{"name": "a", "op": "add", "macs": 1, "cycles": 0}', "cluster timer"),
    ("[1, 2", "not JSON"),
], ids=["missing-key", "unknown-op", "zero-cycles", "not-json"])
def test_bad_records_name_their_line(tmp_path, line, match):
    path = tmp_path / "m.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(MeasurementError, match=match):
        load_records(path)


def test_one_record_is_refused_as_under_determined_unless_forced(truth, tmp_path, capsys):
    conv = next(r for r in truth[1] if r.features.kind == "conv" and r.features.l3_bytes == 0)
    measurements, out = tmp_path / "one.jsonl", tmp_path / "one.toml"
    _write_jsonl(measurements, [Record(conv.features, conv.cycles * 500)])  # one far-off layer
    assert main(["calibrate", "--measurements", str(measurements), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {out} not written" in err and "under-determined: 1 measured layer(s)" in err
    assert "--force" in err and not out.exists()
    assert main(["calibrate", "--measurements", str(measurements), "--out", str(out), "--force"]) == 0
    assert "warning: --force: under-determined" in capsys.readouterr().err
    assert "# written with --force despite: under-determined" in out.read_text()


def test_a_scale_only_fit_worse_than_its_start_is_refused(truth, tmp_path, capsys):
    model = load_cycle_model()
    _, records = truth
    exact = [Record(r.features, p) for r, p in zip(records[:20], predict(records[:20], model), strict=True)]
    # Every layer exact but one ten times slower: matching the total makes all the others worse.
    skewed = [*exact[:-1], Record(exact[-1].features, exact[-1].cycles * 1e4)]
    cal = calibrate(skewed, model, scale_only=True)
    assert cal.rms_log_error_after > cal.rms_log_error_before
    assert any(p.startswith("worse than the model it starts from") for p in fit_problems(cal))
    measurements, out = tmp_path / "skew.jsonl", tmp_path / "skew.toml"
    _write_jsonl(measurements, skewed)
    assert main(["calibrate", "--measurements", str(measurements), "--scale-only", "--out", str(out)]) == 2
    assert "worse than the model it starts from" in capsys.readouterr().err and not out.exists()


def test_a_good_fit_has_no_problems(truth):
    assert fit_problems(calibrate(truth[1], load_cycle_model())) == []
