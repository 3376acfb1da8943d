"""The ``tf.data`` training pipeline: decoded-once arrays, DeepLab augmentation, batches.

Images come from the decode-once cache (:func:`fmas_hw.data.cache.load_raw_split`) as compact
``uint8`` arrays fitted to the input size, so an epoch never decodes a JPEG. Augmentation follows
DeepLab's training recipe: random horizontal flip, random scale in [0.5, 2.0], then a random crop
(or pad) back to S x S — images padded with the mid-grey value (0 after input scaling), labels
with the ignore label. Random draws are stateless ops seeded from ``shuffle_seed``, so a pipeline
is reproducible; a new iteration (epoch) draws new augmentations and a new order.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf

from .cache import load_raw_split
from .preprocess import IMAGE_PAD, scale_input
from .voc import IGNORE_LABEL, VocDataset

MIN_SCALE, MAX_SCALE = 0.5, 2.0


def training_dataset(dataset: VocDataset, split: str, input_size: int, batch: int,
                     shuffle_seed: int = 0, augment: bool = True, backbone: str = "mobilenetv2",
                     fraction: float = 1.0, drop_remainder: bool = False,
                     cache_dir: str | Path | None = None, disk: bool = True) -> tf.data.Dataset:
    """A shuffled, augmented, batched and prefetched training set.

    Args:
        dataset: the data set.
        split: list name, usually ``train``.
        input_size: square network input size S.
        batch: batch size.
        shuffle_seed: seed of the order and of the augmentation draws.
        augment: random flip and scale/crop; False gives the plain preprocessed images.
        backbone: selects the input scaling.
        fraction: leading fraction of the list to train on.
        drop_remainder: drop a last incomplete batch.
        cache_dir, disk: decode-once cache settings (see :func:`load_raw_split`).

    Returns:
        A dataset of ``(images float32 (B, S, S, 3), labels uint8 (B, S, S))``; label values are
        class indices or 255 (ignore: VOC boundaries and padding).

    Raises:
        DataError: a listed file is missing, undecodable or inconsistent.
    """
    raw = load_raw_split(dataset, split, input_size, fraction, cache_dir, disk)
    pad = float(scale_input(IMAGE_PAD, backbone))
    data = tf.data.Dataset.from_tensor_slices((raw.images, raw.labels, raw.sizes))
    data = data.shuffle(len(raw.ids), seed=shuffle_seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=shuffle_seed, rerandomize_each_iteration=True)

    def prepare(elem: tuple, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image, label, size = elem
        image = _to_input(image, size, backbone, pad)
        if augment:
            image, label = _augment(image, label, seed, input_size, pad)
        return image, label

    data = tf.data.Dataset.zip((data, seeds)).map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(batch, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def _to_input(image: tf.Tensor, size: tf.Tensor, backbone: str, pad: float) -> tf.Tensor:
    # input scaling plus the exact padding value outside the valid (h, w) region
    x = scale_input(tf.cast(image, tf.float32), backbone)
    n = tf.shape(image)[0]
    rows = tf.range(n)[:, None] < tf.cast(size[0], tf.int32)
    cols = tf.range(n)[None, :] < tf.cast(size[1], tf.int32)
    return tf.where((rows & cols)[..., None], x, pad)


def _augment(image: tf.Tensor, label: tf.Tensor, seed: tf.Tensor, size: int, pad: float
             ) -> tuple[tf.Tensor, tf.Tensor]:
    seeds = tf.random.experimental.stateless_split(tf.stack([seed, tf.zeros_like(seed)]), num=3)
    flip = tf.random.stateless_uniform([], seeds[0]) < 0.5
    image = tf.cond(flip, lambda: image[:, ::-1], lambda: image)
    label = tf.cond(flip, lambda: label[:, ::-1], lambda: label)
    scale = tf.random.stateless_uniform([], seeds[1], MIN_SCALE, MAX_SCALE)
    scaled = tf.cast(tf.round(scale * size), tf.int32)
    image = tf.image.resize(image, [scaled, scaled], method="bilinear")
    label = tf.image.resize(label[..., None], [scaled, scaled], method="nearest")[..., 0]
    # pad bottom/right up to S (mid-grey / ignore), then crop S x S at a random offset
    extra = tf.maximum(size - scaled, 0)
    image = tf.pad(image, [[0, extra], [0, extra], [0, 0]], constant_values=pad)
    label = tf.pad(label, [[0, extra], [0, extra]], constant_values=IGNORE_LABEL)
    span = tf.shape(label)[0] - size + 1
    offset = tf.random.stateless_uniform([2], seeds[2], 0, span, dtype=tf.int32)
    image = image[offset[0]:offset[0] + size, offset[1]:offset[1] + size]
    label = label[offset[0]:offset[0] + size, offset[1]:offset[1] + size]
    return tf.ensure_shape(image, [size, size, 3]), tf.ensure_shape(label, [size, size])
