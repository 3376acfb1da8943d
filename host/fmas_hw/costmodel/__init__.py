"""GAP8 cycles predicted from the fused layer graph: the analytical cycle model, its calibration
on measured layers, the cache of measured layer configurations and the model a search refits
online. The ``estimate`` target answers with it; the hardware targets feed it.
"""
