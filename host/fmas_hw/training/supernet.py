"""``fmas-hw train``: train a supernet on a VOC-format data set (SPEC §3).

DeepLab practice: SGD with momentum 0.9, polynomial learning-rate decay (power 0.9), weight decay
4e-5, random flip and scale augmentation, per-pixel cross-entropy with the ignore label excluded.
Adam is available for short runs from scratch (what the shipped demo supernet used; see its
manifest). After the last epoch the weights are saved in the Keras HDF5 layout, the full
validation mIoU is measured, and a manifest records the exact command.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import tensorflow as tf
import tf_keras
from tqdm import tqdm

from ..data.cache import load_split_arrays
from ..data.pipeline import training_dataset
from ..data.voc import VocDataset
from ..eval.evaluator import batches, confusion_matrix
from ..model.device import use_device
from ..model.manifest import write_manifest
from ..model.supernet import Supernet
from ..model.weights import save_weights
from .config import TrainConfig
from .loops import Trainer


def _optimizer(cfg: TrainConfig) -> tuple[tf_keras.optimizers.Optimizer, float]:
    if cfg.optimizer == "adam":
        lr = cfg.learning_rate or 1e-3
        return tf_keras.optimizers.Adam(lr, weight_decay=cfg.weight_decay), lr
    lr = cfg.learning_rate or 0.01
    return tf_keras.optimizers.SGD(lr, momentum=0.9, weight_decay=cfg.weight_decay), lr


def poly_schedule(base_lr: float, epochs: int, power: float = 0.9):
    """DeepLab's polynomial decay, applied per epoch."""
    return lambda epoch: base_lr * (1.0 - epoch / max(epochs, 1)) ** power


def train(cfg: TrainConfig, log=print) -> dict:
    """Train (or resume training) a supernet and write weights, manifest and val mIoU.

    Returns:
        The manifest written next to the weights.
    """
    device = use_device(cfg.device)  # before the supernet: TensorFlow fixes its devices then
    log(f"training on {device.describe()}")
    tf_keras.utils.set_random_seed(cfg.seed)
    supernet = Supernet.build(cfg.backbone, cfg.input_size, cfg.classes, cfg.alpha, cfg.init_weights)
    model = supernet.model
    dataset = VocDataset(cfg.data, num_classes=cfg.classes)
    optimizer, base_lr = _optimizer(cfg)
    out = Path(cfg.out)
    trainer = Trainer(model, optimizer, out.with_suffix(".ckpt"), poly_schedule(base_lr, cfg.epochs))
    start = trainer.restore()
    if start:
        log(f"resuming from epoch {start} ({trainer.manager.latest_checkpoint})")
    val_x, val_y = load_split_arrays(dataset, "val", cfg.input_size, 1.0, backbone=cfg.backbone)
    train_data = training_dataset(dataset, "train", cfg.input_size, cfg.batch, shuffle_seed=cfg.seed,
                                  backbone=cfg.backbone, drop_remainder=True)
    steps = int(train_data.cardinality().numpy())
    t0 = time.perf_counter()
    for epoch in range(start, cfg.epochs):
        with tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False,
                  file=sys.stderr, disable=None) as bar:
            trainer.run_epoch(train_data, batches(val_x, val_y, cfg.batch), bar)
        log(f"epoch {epoch + 1}/{cfg.epochs}: train loss {trainer.log.train_loss[-1]:.4f}, "
            f"val loss {trainer.log.val_loss[-1]:.4f}")
    save_weights(model, out)
    cm = confusion_matrix(model, val_x, val_y, cfg.classes, cfg.batch)
    manifest = {
        "backbone": cfg.backbone, "alpha": cfg.alpha, "classes": cfg.classes, "input_size": cfg.input_size,
        "epochs": cfg.epochs, "batch": cfg.batch, "optimizer": cfg.optimizer, "learning_rate": base_lr,
        "weight_decay": cfg.weight_decay, "seed": cfg.seed, "data": str(Path(cfg.data)),
        "val_images": int(len(val_x)), "device": device.describe(), "val_miou": cm.miou(), "val_pixel_accuracy": cm.pixel_accuracy(),
        "train_loss": trainer.log.train_loss, "val_loss": trainer.log.val_loss,
        "train_seconds_this_run": time.perf_counter() - t0, "params": int(model.count_params()),
        "command": "fmas-hw " + " ".join(sys.argv[1:]) if sys.argv and "fmas" in sys.argv[0] else None,
        "tensorflow": tf.__version__, "python": platform.python_version(),
    }
    write_manifest(out, manifest)
    return manifest
