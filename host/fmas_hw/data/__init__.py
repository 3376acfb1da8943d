"""Data: VOC-format data sets, DeepLab preprocessing, decode-once caching, synthetic data.

- :mod:`.voc` — the PASCAL VOC 2012 layout: :class:`~.voc.VocDataset` (ids, validation subset,
  decoding with :class:`~fmas_hw.errors.DataError` naming the bad file).
- :mod:`.preprocess` — resize the longer side to the input size, pad, backbone input scaling.
- :mod:`.cache` — :func:`~.cache.load_split_arrays`: a split decoded once (memory + ``.npz``).
- :mod:`.pipeline` — :func:`~.pipeline.training_dataset`: augmented ``tf.data`` training batches.
- :mod:`.synth` (with :mod:`.textures`) — the deterministic synthetic VOC-format data set.

Sub-modules are imported explicitly so that importing this package does not import TensorFlow.
"""
