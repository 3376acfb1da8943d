"""The end-to-end demo (``fmas-hw demo``, what ``make demo`` runs) on the embedded default.

1. write the synthetic VOC-format data set the shipped supernet was trained on (same seed);
2. load the shipped MobileNetV2 DeepLabV3+ supernet from ``models/supernets/``;
3. search with NSGA-II: error vs GAP8 latency on the ``estimate`` target (cycle-model figures,
   labelled as estimates);
4. fine-tune the most accurate few of the final front for an epoch or two;
5. write the report (tables and plots) and print where everything is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .resources import models_dir

SUPERNET = "supernets/mobilenetv2_synth8_96.h5"
#: The data set the shipped supernet was trained on (its manifest records the same command).
DATA = dict(train=400, val=100, size=128, num_classes=8, seed=0)


@dataclass
class DemoConfig:
    """Sizes of the demo run (defaults finish in about 4 minutes on 2 CPU cores).

    The search uses the paper's MobileNetV2 settings (population 12, 25 generations): with
    candidates evaluated by the one traced search-space function, its 300 evaluations took 36 s
    (measured: the demo report's wall seconds per generation).
    """

    out: str = "demo-out"
    population: int = 12
    generations: int = 25
    finetune_top: int = 3
    finetune_epochs: int = 2
    # The paper's 1e-6 suits a VOC-pretrained supernet; the small demo supernet was trained for
    # 30 epochs only, so a larger step shows the before/after effect within two epochs.
    finetune_lr: float = 1e-4
    seed: int = 0
    workers: int = 1


def run_demo(cfg: DemoConfig, log=print) -> dict:
    """Run the whole flow; return the paths of its outputs and the final front."""
    from .data.synth import write_synthetic_voc
    from .report import write_report
    from .search import SearchConfig, run
    from .training.config import FinetuneConfig
    from .training.finetune import finetune

    out = Path(cfg.out).resolve()
    t0 = time.perf_counter()
    log(f"[1/4] synthetic VOC-format data -> {out / 'data'}")
    data = write_synthetic_voc(out / "data", **DATA)
    weights = models_dir() / SUPERNET
    store = out / "search.sqlite"
    for stale in out.glob("search.sqlite*"):
        stale.unlink()  # a fresh search each time the demo runs
    log(f"[2/4] NSGA-II search, supernet {weights.name}: error vs GAP8 cycles (estimate target)")
    search_cfg = SearchConfig(backbone="mobilenetv2", objectives=("latency",), target="estimate",
                              data=str(data), weights=str(weights), population=cfg.population,
                              generations=cfg.generations, val_fraction=0.2, seed=cfg.seed,
                              store=str(store), workers=cfg.workers)  # 96 px, 8 classes: the manifest's
    result = run(search_cfg, progress=None)
    log(f"[3/4] fine-tuning the {cfg.finetune_top} most accurate front candidates")
    tuned = finetune(FinetuneConfig(store=str(store), top=cfg.finetune_top, epochs=cfg.finetune_epochs,
                                    learning_rate=cfg.finetune_lr, seed=cfg.seed), log=log)
    log("[4/4] report")
    report = write_report(store, out / "report", "md,csv,html")
    return {"store": str(store), "report": report.to_dict(), "front": result.front,
            "finetuned": [r.to_columns() for r in tuned],
            "seconds": time.perf_counter() - t0}
