"""Keras DeepLabV3+ builders, the in-memory supernet and weight sharing by layer name.

Importing the package does not import TensorFlow: the modules that build or run networks do
(:mod:`.geometry`, :mod:`.netdef` and :mod:`.manifest` serve commands that only count).
"""
