"""The optimiser on one flat parameter vector (`fit(..., flat=True)`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree


class _Flat(eqx.Module):
    """The inexact leaves of a parameter PyTree as one vector: `tree(vector)` rebuilds one
    member's PyTree (static structure, shapes and dtypes are static fields, so two `fit` calls
    on the same model structure share the compiled chunk)."""

    static: PyTree
    treedef: Any = eqx.field(static=True)
    shapes: tuple = eqx.field(static=True)
    dtypes: tuple = eqx.field(static=True)

    @classmethod
    def of(cls, params: PyTree, ensemble: bool) -> tuple[_Flat, Array]:
        dynamic, static = eqx.partition(params, eqx.is_inexact_array)
        leaves, treedef = jax.tree_util.tree_flatten(dynamic)
        if not leaves:
            raise ValueError("fit: `flat=True` needs at least one floating-point parameter")
        shapes = tuple(x.shape[1:] if ensemble else x.shape for x in leaves)
        dtypes = tuple(x.dtype for x in leaves)
        flat = cls(static, treedef, shapes, dtypes)
        dtype = jnp.result_type(*dtypes)
        lead = (leaves[0].shape[0], -1) if ensemble else (-1,)
        vector = jnp.concatenate([x.reshape(lead).astype(dtype) for x in leaves], axis=-1)
        return flat, vector

    def tree(self, vector: Array) -> PyTree:
        sizes = [math.prod(s) for s in self.shapes]
        parts = jnp.split(vector, np.cumsum(sizes)[:-1].tolist())
        leaves = [
            p.reshape(s).astype(d) for p, s, d in zip(parts, self.shapes, self.dtypes, strict=True)
        ]
        return eqx.combine(jax.tree_util.tree_unflatten(self.treedef, leaves), self.static)

    def trees(self, vectors: Array, ensemble: bool) -> PyTree:
        return eqx.filter_vmap(self.tree)(vectors) if ensemble else self.tree(vectors)


class _OnTree(eqx.Module):
    """`fn(params, *rest)` called with the flat vector in place of `params` (the loss, or
    `update_extra`)."""

    fn: Callable
    flat: _Flat

    def __call__(self, vector, *rest):
        return self.fn(self.flat.tree(vector), *rest)
