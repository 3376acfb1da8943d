"""``fmas-hw finetune``: fine-tune the final Pareto candidates of a search (SPEC §7).

Only the final non-dominated candidates are fine-tuned (by default the K = 8 most accurate),
with the paper's settings: learning rate 1e-6, batch 8, weight decay 4e-5, learning rate x0.94
per epoch, early stopping on the validation loss. Each candidate starts from its supernet weights
(weight sharing), is evaluated on the full validation set before and after, and its row lands in
the store's ``finetune`` table as soon as it is done: a killed run resumes with the next
candidate (and mid-candidate from its last epoch checkpoint).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import tf_keras
from tqdm import tqdm

from ..data.cache import load_split_arrays
from ..data.pipeline import training_dataset
from ..data.voc import VocDataset
from ..errors import ConfigError, StoreError
from ..eval.evaluator import batches, confusion_matrix
from ..model.device import use_device
from ..model.manifest import build_options
from ..model.supernet import Supernet
from ..model.weights import save_weights
from ..space import get_space
from ..store import FinetuneRow, Store
from ..store.front import stored_front
from .config import FinetuneConfig
from .finetune_weights import check_weights, label
from .loops import Trainer


def final_front(store: Store, top: int) -> list[tuple[str, str, float]]:
    """The ``top`` most accurate (key, genome, subset error) of the search's front: the
    non-dominated set of everything it evaluated (:mod:`fmas_hw.store.front`)."""
    if not store.generations():
        raise StoreError(f"{store.path} holds no finished generation: run (or resume) the search first")
    rows = sorted(stored_front(store), key=lambda r: (float(r.error or 0.0), r.genome))
    return [(r.arch_key, r.genome, float(r.error or 0.0)) for r in rows][:top]


class _Session:
    """Supernet, data and output folder shared by every candidate of one fine-tuning run."""

    def __init__(self, cfg: FinetuneConfig, search_cfg):
        data = cfg.data or search_cfg.data
        weights = cfg.weights or search_cfg.weights
        if not data:
            raise ConfigError("no data set: pass --data DIR (the search store names none)")
        classes, alpha = build_options(weights, search_cfg.backbone, search_cfg.classes, search_cfg.alpha)
        self.cfg, self.backbone = cfg, search_cfg.backbone
        self.space = get_space(self.backbone)
        self.supernet = Supernet.build(self.backbone, search_cfg.input_size, classes, alpha, weights)
        self.dataset = VocDataset(data, num_classes=classes)
        size = self.supernet.input_size
        self.val = load_split_arrays(self.dataset, "val", size, 1.0, backbone=self.backbone)
        self.train = training_dataset(self.dataset, "train", size, cfg.batch, shuffle_seed=cfg.seed,
                                      backbone=self.backbone, drop_remainder=True)
        self.out = Path(cfg.out_dir or Path(cfg.store).with_suffix("")) / "finetune"

    def full_error(self, model) -> float:
        return 1.0 - confusion_matrix(model, *self.val, self.supernet.classes, self.cfg.batch).miou()


def _finetune_one(session: _Session, key: str, genome: str, subset_error: float) -> FinetuneRow:
    cfg = session.cfg
    model = session.supernet.subnet(session.space.decode(genome))
    error_before = session.full_error(model)
    optimizer = tf_keras.optimizers.Adam(cfg.learning_rate, weight_decay=cfg.weight_decay)
    trainer = Trainer(model, optimizer, session.out / f"{key}.ckpt",
                      lambda epoch: cfg.learning_rate * cfg.lr_decay ** epoch)
    start, t0 = trainer.restore(), time.perf_counter()
    # The starting point competes too: fine-tuning never returns weights worse on validation loss.
    initial_loss = best = trainer.validation_loss(batches(*session.val, cfg.batch))
    best_weights, waited = model.get_weights(), 0
    steps = int(session.train.cardinality().numpy())
    for epoch in range(start, cfg.epochs):
        with tqdm(total=steps, desc=f"{key} epoch {epoch + 1}", leave=False, file=sys.stderr, disable=None) as bar:
            trainer.run_epoch(session.train, batches(*session.val, cfg.batch), bar)
        loss = trainer.log.val_loss[-1]
        if loss < best - 1e-6:
            best, best_weights, waited = loss, model.get_weights(), 0
        else:
            waited += 1
            if waited >= cfg.patience:  # early stop: converged
                break
    model.set_weights(best_weights)
    weights_path = session.out / f"{key}.h5"
    save_weights(model, weights_path)
    return FinetuneRow(key, genome, "done", error_subset_before=subset_error, error_full_before=error_before,
                       error_full_after=session.full_error(model), epochs=len(trainer.log.train_loss),
                       seconds=time.perf_counter() - t0, weights_path=str(weights_path),
                       # first entry: validation loss before fine-tuning, then one per epoch
                       val_loss=[initial_loss, *trainer.log.val_loss])


def _finetune_all(session: _Session, todo: list[tuple[str, str, float]], store: Store,
                  done: dict[str, FinetuneRow], log) -> None:
    for key, genome, subset_error in todo:
        row = store.finetune.record(_finetune_one(session, key, genome, subset_error))
        done[key] = row
        log(f"{key}: full-set error {row.error_full_before:.4f} -> {row.error_full_after:.4f} "
            f"({row.epochs} epochs, {row.seconds:.0f} s)")


def finetune(cfg: FinetuneConfig, log=print) -> list[FinetuneRow]:
    """Fine-tune the final front's most accurate candidates; return their rows (done ones too).

    Raises:
        StoreError: the store is missing, unreadable or has no finished generation.
        ConfigError: no data set.
    """
    from ..search.stored_config import stored_config

    search_cfg = stored_config(cfg.store)
    log(f"fine-tuning on {use_device(cfg.device).describe()}")
    tf_keras.utils.set_random_seed(cfg.seed)
    with Store.open(cfg.store, writable=True) as store:
        store.finetune.ensure()
        done = {r.arch_key: r for r in store.finetune.rows("done")}
        chosen = final_front(store, cfg.top)
        todo = [c for c in chosen if c[0] not in done]
        weights = check_weights(store, cfg.weights or search_cfg.weights, cfg.other_weights, len(done))
        if not weights["search"]:
            log(f"warning: --other-weights: fine-tuning {weights['path']}, not the weights the search scored "
                "with; its 'before' errors are not the search's, and the store and report say so")
        log(f"fine-tuning {len(todo)} of {len(chosen)} front candidates ({len(chosen) - len(todo)} already done)"
            f"{label(weights)}")
        if todo:  # the supernet and the data load only when there is work
            _finetune_all(_Session(cfg, search_cfg), todo, store, done, log)
        return [done[c[0]] for c in chosen]
