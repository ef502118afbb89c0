"""Test helpers shared across the suite."""

import contextlib
import re
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jaxtyping
import numpy as np
import pytest
import scipy.optimize


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


@contextlib.contextmanager
def raises(exc, match):
    """`pytest.raises(exc, match=match)`; when the suite runs with run-time type checking
    (`--jaxtyping-packages=jaxsci,beartype.beartype`) a bad shape may be caught first by the
    annotation, as a `jaxtyping.TypeCheckError`, which is accepted too."""
    excs = exc if isinstance(exc, tuple) else (exc,)
    with pytest.raises((*excs, jaxtyping.TypeCheckError)) as info:
        yield info
    if not isinstance(info.value, jaxtyping.TypeCheckError):
        assert re.search(match, str(info.value)), str(info.value)


def spectral_distance(a, b):
    """Max |a_i - b_pi(i)| over the best matching pi (multisets of equal size)."""
    a, b = np.ravel(np.asarray(a)), np.ravel(np.asarray(b))
    assert a.shape == b.shape, (a.shape, b.shape)
    cost = np.abs(a[:, None] - b[None, :])
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return cost[rows, cols].max()


def run_notebook(name, tmp_path, monkeypatch):
    """Execute `notebooks/<name>` at small size (`JAXSCI_NOTEBOOK_SMALL=1`) with `tmp_path` as
    its working directory; returns the text of every code cell's outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JAXSCI_NOTEBOOK_SMALL", "1")
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    return "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )


def rosenbrock(params, extra, key):
    """A deterministic, non-quadratic `train.fit` loss on which L-BFGS needs line searches."""
    x = params["x"]
    loss = jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return loss, {"x0": x[0]}
