"""Training and fine-tuning loops shared by ``fmas-hw train`` and ``fmas-hw finetune``.

Segmentation loss is per-pixel softmax cross-entropy with the ignore label (255: VOC boundaries
and padding) excluded. Checkpoints are TensorFlow checkpoints (model and optimizer state) written
after every epoch, so an interrupted run resumes exactly where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras

IGNORE = 255


def masked_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean softmax cross-entropy over pixels whose label is not the ignore label."""
    labels = tf.cast(labels, tf.int32)
    if labels.shape.rank == logits.shape.rank:
        labels = tf.squeeze(labels, -1)
    keep = labels != IGNORE
    safe = tf.where(keep, labels, 0)
    ce = tf_keras.losses.sparse_categorical_crossentropy(safe, logits, from_logits=True)
    weight = tf.cast(keep, ce.dtype)
    return tf.reduce_sum(ce * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)


@dataclass
class EpochLog:
    """Loss history of a run: one entry per finished epoch."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class Trainer:
    """Epoch loop with a checkpoint after every epoch and exact resume.

    Args:
        model: the network to train (its weights are updated in place).
        optimizer: a Keras optimizer.
        checkpoint_dir: where checkpoints and the epoch log live.
        lr_for_epoch: learning rate to use for a (0-based) epoch.
    """

    def __init__(self, model: tf_keras.Model, optimizer: tf_keras.optimizers.Optimizer,
                 checkpoint_dir: str | Path, lr_for_epoch: Callable[[int], float]):
        self.model, self.optimizer, self.lr_for_epoch = model, optimizer, lr_for_epoch
        self.dir = Path(checkpoint_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(self.ckpt, str(self.dir), max_to_keep=2)
        self.log = EpochLog()
        self._train_step = tf.function(self._step, reduce_retracing=True)
        self._val_step = tf.function(lambda x, y: masked_cross_entropy(y, self.model(x, training=False)),
                                     reduce_retracing=True)

    def restore(self) -> int:
        """Resume from the latest checkpoint if there is one; return the next epoch index."""
        if self.manager.latest_checkpoint:
            self.ckpt.restore(self.manager.latest_checkpoint).expect_partial()
            log_file = self.dir / "log.json"
            if log_file.is_file():
                self.log = EpochLog(**json.loads(log_file.read_text()))
        return int(self.epoch.numpy())

    def _step(self, images, labels):
        with tf.GradientTape() as tape:
            loss = masked_cross_entropy(labels, self.model(images, training=True))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=False))
        return loss

    def validation_loss(self, batches) -> float:
        losses = [float(self._val_step(x, y)) for x, y in batches]
        return float(np.mean(losses)) if losses else float("nan")

    def run_epoch(self, train_batches, val_batches, progress=None) -> None:
        """Train one epoch, validate, checkpoint."""
        epoch = int(self.epoch.numpy())
        lr = self.lr_for_epoch(epoch)
        self.optimizer.learning_rate.assign(lr)
        t0, losses = time.perf_counter(), []
        for x, y in train_batches:
            losses.append(float(self._train_step(x, y)))
            if progress is not None:
                progress.update(1)
                progress.set_postfix(loss=f"{np.mean(losses):.3f}")
        self.log.train_loss.append(float(np.mean(losses)))
        self.log.val_loss.append(self.validation_loss(val_batches))
        self.log.learning_rate.append(lr)
        self.log.seconds.append(time.perf_counter() - t0)
        self.epoch.assign_add(1)
        self.manager.save()
        (self.dir / "log.json").write_text(json.dumps(self.log.to_dict()))
