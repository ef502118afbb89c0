"""Test helpers shared across the suite."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np


def _arrays(tree):
    def conv(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jr.key_data(x)
        return x

    return jax.tree_util.tree_leaves(eqx.filter(jax.tree_util.tree_map(conv, tree), eqx.is_array))


def tree_allclose(a, b, *, rtol=1e-5, atol=1e-8):
    """True when two PyTrees have the same structure and all array leaves are close
    (non-array leaves such as functions are ignored)."""
    if jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b):
        return False
    la, lb = _arrays(a), _arrays(b)
    return len(la) == len(lb) and all(
        x.shape == y.shape and np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
        for x, y in zip(la, lb, strict=True)
    )


def tol(dtype, *, f32=1e-5, f64=1e-10):
    """Tolerance that depends on dtype."""
    return f64 if jnp.dtype(dtype) == jnp.float64 else f32
