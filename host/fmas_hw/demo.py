"""The end-to-end demo (``fmas-hw demo``, what ``make demo`` runs) on the embedded default.

1. write the synthetic VOC-format data set the shipped supernet was trained on (same seed): 2000
   training and 1000 validation images, so the search's 20 % subset holds 200 images;
2. load the shipped MobileNetV2 DeepLabV3+ supernet from ``models/supernets/``;
3. search with NSGA-II: error vs GAP8 latency on the ``estimate`` target (cycle-model figures,
   labelled as estimates);
4. score every final-front member on the whole validation set, without fine-tuning, and run the
   proxy study (FMAS §3.2): 50 random candidates and the supernet over the whole validation set,
   to show that the subset ranks candidates as the full set does;
5. fine-tune the most accurate few of the final front for an epoch;
6. write the report (tables, plots, the study) and print where everything is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .resources import models_dir

SUPERNET = "supernets/mobilenetv2_synth8_64.h5"
#: The data set the shipped supernet was trained on (its manifest records the same command).
DATA = dict(train=2000, val=1000, size=80, num_classes=8, seed=0)


@dataclass
class DemoConfig:
    """Sizes of the demo run (its measured times are in the README).

    The search uses the paper's MobileNetV2 settings (population 12, 25 generations) on a
    200-image subset, the proxy study makes 51 passes over 1000 images, and 3 candidates are
    fine-tuned for one epoch.
    """

    out: str = "demo-out"
    population: int = 12
    generations: int = 25
    finetune_top: int = 3
    finetune_epochs: int = 1
    # The paper's 1e-6 suits a VOC-pretrained supernet; the small demo supernet was trained for
    # 15 epochs only, so a 10x larger step shows the before/after effect within one epoch while
    # keeping fine-tuned minus proxy mIoU in the paper's range (1e-4 moved one candidate +4.9
    # points, measured).
    finetune_lr: float = 1e-5
    study_candidates: int = 50
    seed: int = 0
    workers: int = 1


def run_demo(cfg: DemoConfig, log=print) -> dict:
    """Run the whole flow; return the paths of its outputs and the final front."""
    from .data.synth import write_synthetic_voc
    from .report import write_report
    from .search import SearchConfig, run
    from .search.full_set import score_front_full_set
    from .search.proxy_study import StudySettings, run_study
    from .training.config import FinetuneConfig
    from .training.finetune import finetune

    out = Path(cfg.out).resolve()
    t0 = time.perf_counter()
    log(f"[1/5] synthetic VOC-format data -> {out / 'data'}")
    data = write_synthetic_voc(out / "data", **DATA, force=True)  # the demo's own folder: same bytes again
    weights = models_dir() / SUPERNET
    store = out / "search.sqlite"
    for stale in out.glob("search.sqlite*"):
        stale.unlink()  # a fresh search each time the demo runs
    log(f"[2/5] NSGA-II search, supernet {weights.name}: error vs GAP8 cycles (estimate target)")
    search_cfg = SearchConfig(backbone="mobilenetv2", objectives=("latency",), target="estimate",
                              data=str(data), weights=str(weights), population=cfg.population,
                              generations=cfg.generations, val_fraction=0.2, seed=cfg.seed,
                              store=str(store), workers=cfg.workers)  # 64 px, 8 classes: the manifest's
    result = run(search_cfg, progress=None)
    log("[3/5] the final front on the full validation set (no fine-tuning), and the proxy study: the supernet "
        f"and {cfg.study_candidates} random candidates on all validation images")
    score_front_full_set(store, log=lambda _m: None)
    study_dir = out / "report" / "proxy-study"
    net = search_cfg.network()  # the manifest's settings, as the search used them
    study = run_study(StudySettings("mobilenetv2", str(weights), str(data), net.input_size, net.classes, net.alpha,
                                    candidates=cfg.study_candidates, seed=cfg.seed, out=str(study_dir)),
                      log=lambda _m: None)
    log(f"[4/5] fine-tuning the {cfg.finetune_top} most accurate front candidates")
    tuned = finetune(FinetuneConfig(store=str(store), top=cfg.finetune_top, epochs=cfg.finetune_epochs,
                                    learning_rate=cfg.finetune_lr, seed=cfg.seed), log=log)
    log("[5/5] report")
    report = write_report(store, out / "report", "md,csv,html", study=study_dir)
    return {"store": str(store), "report": report.to_dict(), "front": result.front,
            "finetuned": [r.to_columns() for r in tuned], "study": study,
            "seconds": time.perf_counter() - t0}
