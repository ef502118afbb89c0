"""Test helpers shared across the suite."""

import jax
import jax.numpy as jnp
import numpy as np


def tree_allclose(a, b, *, rtol=1e-5, atol=1e-8):
    """True when two PyTrees have the same structure and all leaves are close."""
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    if ta != tb:
        return False
    return all(np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol) for x, y in zip(la, lb))


def tol(dtype, *, f32=1e-5, f64=1e-10):
    """Tolerance that depends on dtype."""
    return f64 if jnp.dtype(dtype) == jnp.float64 else f32
