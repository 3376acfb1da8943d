"""``fmas-hw train``: a short run lowers the loss, resumes from its checkpoint and writes a manifest."""

from __future__ import annotations

import dataclasses
import json

import pytest

from fmas_hw.training.config import TrainConfig
from fmas_hw.training.supernet import train


@pytest.mark.slow
def test_short_training_lowers_the_loss_and_resumes(tmp_path, synth_voc):
    out = tmp_path / "sn.h5"
    cfg = TrainConfig(backbone="mobilenetv2", data=str(synth_voc), out=str(out), input_size=64, epochs=3,
                      batch=4, alpha=0.35, classes=5, optimizer="adam", learning_rate=5e-3, seed=1)
    manifest = train(cfg, log=lambda m: None)
    losses = manifest["train_loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert out.is_file() and json.loads(out.with_suffix(".json").read_text())["val_miou"] == manifest["val_miou"]
    assert manifest["classes"] == 5 and manifest["alpha"] == 0.35 and manifest["input_size"] == 64

    messages = []
    more = dataclasses.replace(cfg, epochs=4)  # continue the same run for one more epoch
    resumed = train(more, log=messages.append)
    assert any("resuming from epoch 3" in m for m in messages)
    assert len(resumed["train_loss"]) == 4 and resumed["train_loss"][:3] == losses
