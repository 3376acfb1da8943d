"""Parameters and profiler FLOPs of a candidate from its network definition, without Keras.

:func:`count_costs` walks :mod:`fmas_hw.model.netdef` with shapes instead of tensors and applies,
layer by layer, the rules :func:`fmas_hw.eval.costs.analytic_flops` applies to a Keras model (which
are TensorFlow's profiler registry rules, BatchNormalization un-fused). It takes well under a
millisecond where building the Keras model takes 1.5-5 s; tests check it equals ``count_params``
and the profiler on random candidates of both search spaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import ceil, prod

from ..model import netdef
from ..space import Arch

Shape = tuple[int, int, int]  # height, width, channels (batch 1)


def _out(n: int, kernel: int, stride: int, rate: int, padding: str) -> int:
    if padding == "same":
        return ceil(n / stride)
    return (n - (kernel + (kernel - 1) * (rate - 1))) // stride + 1


class _CountOps:
    """:class:`netdef.Ops` on shapes: accumulates parameters and float ops of one candidate."""

    def __init__(self, chosen: dict[str, int]):
        self.chosen, self.params, self.flops = chosen, 0, 0

    def _batch_norm(self, shape: Shape) -> None:
        # Un-fused inference BN: x * inv + shift per element; six per-channel ops for inv and shift.
        self.flops += 2 * prod(shape) + 6 * shape[2]
        self.params += 4 * shape[2]

    def conv(self, x, name, filters, kernel=1, stride=1, padding="same", norm=True, bias=False):
        h, w, c = x
        out = (_out(h, kernel, stride, 1, padding), _out(w, kernel, stride, 1, padding), filters)
        self.flops += 2 * kernel * kernel * c * prod(out) + (prod(out) if bias else 0)
        self.params += kernel * kernel * c * filters + (filters if bias else 0)
        if norm:
            self._batch_norm(out)
        return out

    def depthwise(self, x, name, stride=1, rate=1, padding="same"):
        h, w, c = x
        dense = stride if rate == 1 else 1
        out = (_out(h, 3, dense, rate, padding), _out(w, 3, dense, rate, padding), c)
        if rate == 1:
            self.flops += 2 * 9 * prod(out)
        else:
            # TF runs it as SpaceToBatch -> DepthwiseConv2dNative -> BatchToSpace; the profiler
            # counts the inner op over ceil(H/r) x ceil(W/r) x r^2 positions.
            self.flops += 2 * 9 * rate * rate * ceil(h / rate) * ceil(w / rate) * c
        if dense != stride:
            out = (ceil(out[0] / stride), ceil(out[1] / stride), c)
        self.params += 9 * c
        self._batch_norm(out)
        return out

    def relu(self, x, name, cap=None):
        return x

    def pad(self, x, name, amount):
        return (x[0] + 2 * amount, x[1] + 2 * amount, x[2])

    def add(self, a, b, name):
        self.flops += prod(a)
        return a

    def concat(self, xs: Sequence, name):
        return (xs[0][0], xs[0][1], sum(x[2] for x in xs))

    def global_pool(self, x, name):
        self.flops += prod(x)
        return (1, 1, x[2])

    def resize(self, x, name, size):
        return (int(size[0]), int(size[1]), x[2])

    def size_of(self, x):
        return x[:2]

    def channels(self, x) -> int:
        return x[2]

    def choose(self, key: str, x, variants: Sequence, fn: Callable):
        return fn(x, variants[self.chosen[key]])


def count_costs(arch: Arch, input_size: int, classes: int = 21, alpha: float = 1.0) -> dict[str, int]:
    """Parameters (as Keras ``count_params``) and profiler FLOPs of ``arch`` at batch 1.

    Raises:
        ArchitectureError: ``arch`` uses a value outside its search space (count the Keras model).
    """
    ops = _CountOps(netdef.choices(arch))
    netdef.NETWORKS[arch.backbone](ops, (input_size, input_size, 3), classes, input_size, alpha)
    return {"params": ops.params, "flops": ops.flops}
