"""Timing shared by the benchmark scripts."""

import time

import jax
import numpy as np


def timed(fn, *args, repeats=5):
    """Median wall time of `fn(*args)` over `repeats` calls after one warm-up (compilation),
    each call waited for with `block_until_ready`."""
    jax.block_until_ready(fn(*args))
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))
