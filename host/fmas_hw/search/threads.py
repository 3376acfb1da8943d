"""How many threads a local evaluation worker may use, and holding a process to them.

TensorFlow sizes its thread pools to every core it can see, so worker processes that share a
machine would preempt each other (docs/design.md, "Thread shares"). Each worker of a local pool
therefore gets its share, ``cores // workers`` threads (at least one), for both the intra-op pool
(the threads one convolution is split over) and the inter-op pool (the ops run side by side).

The share is applied in the worker process before TensorFlow executes anything: TensorFlow fixes
its pools when its context starts and refuses to change them afterwards. A single in-process
worker (``--workers 1``) has the machine to itself and is left alone unless a share is given.
Dask workers are not touched: they are sized where they are started (``dask worker
--nthreads N`` and the environment variables of :data:`THREAD_ENV` on that host), since their
host's cores are not the search host's.
"""

from __future__ import annotations

import logging
import os

from ..errors import ConfigError

#: Read by the OpenMP runtime and TensorFlow when they start, by libraries loaded after the
#: share is applied, and inherited by every process the worker starts.
THREAD_ENV = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")

log = logging.getLogger(__name__)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which ``taskset`` and container
    CPU sets narrow), else every core of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """The automatic share: ``cores // workers``, never below one thread.

    Args:
        workers: worker processes sharing the cores.
        cores: cores to share (default: :func:`available_cores`).

    Raises:
        ConfigError: ``workers`` or ``cores`` below 1.
    """
    cores = available_cores() if cores is None else cores
    if workers < 1 or cores < 1:
        raise ConfigError(f"a thread share needs at least one worker and one core, got {workers} "
                          f"worker(s) on {cores} core(s)")
    return max(1, cores // workers)


def worker_share(workers: int, given: int | None = None) -> int | None:
    """The threads each local worker is held to: ``given``, else the automatic share of a pool
    of ``workers`` processes; None for a single in-process worker (left to TensorFlow)."""
    if given is not None:
        return given
    return threads_per_worker(workers) if workers > 1 else None


def thread_env(threads: int) -> dict[str, str]:
    """The environment variables (:data:`THREAD_ENV`) that ask for ``threads`` threads."""
    return dict.fromkeys(THREAD_ENV, str(threads))


def limit_threads(threads: int) -> bool:
    """Hold this process's TensorFlow (and OpenMP code loaded later) to ``threads`` threads.

    Call it first thing in a fresh process, before any model is built. It sets
    :data:`THREAD_ENV` and TensorFlow's intra-op and inter-op pool sizes.

    Returns:
        True when TensorFlow runs with the share; False when TensorFlow had already started with
        other pool sizes, which it cannot change any more (a warning says so and nothing else
        changes: the process keeps TensorFlow's pools).

    Raises:
        ConfigError: ``threads`` below 1.
    """
    if threads < 1:
        raise ConfigError(f"threads per worker must be >= 1, got {threads}")
    os.environ.update(thread_env(threads))
    import tensorflow as tf  # here: the share's arithmetic above needs no TensorFlow

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as exc:  # TensorFlow's context started before the share was applied
        log.warning("cannot hold process %d to %d thread(s): TensorFlow already started (%s); apply the "
                    "share before any model is built", os.getpid(), threads, exc)
        return False
    return True
