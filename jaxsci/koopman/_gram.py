"""`gram_products`: the weighted sums X^* W X and X^* W Y of EDMD's Gram path, at the host BLAS
rate on the CPU backend.

On CPU, XLA's dot for a tall (M x N)^T (M x N) product is slower than the host BLAS numpy links
(OpenBLAS: 1.1 s against 0.71 s for Psi_X^T Psi_X and Psi_X^T Psi_Y at M = 1e5, N = 501,
float64, 2 cores; BENCHMARKS.md), and X^* X is a symmetric rank-k update (SYRK, half the flops)
that XLA does not use. So on the CPU backend the products are handed to numpy through
`jax.experimental.buffer_callback`, which passes XLA's buffers to numpy without copies and lets
numpy write the results in place; on every other backend (GPU, TPU) the same function lowers to
XLA's dot. The choice is made with `jax.lax.platform_dependent`, i.e. when the computation is
lowered for a platform, not by a Python test on the default backend, so one traced function
serves both.

Invariants:

- Same numbers as the XLA path up to the order of the sums (~eps relative; the tests ask 1e-12
  in float64). Uniform weights (Monte Carlo 1/M) are factored out of the product, so X^* X is
  one SYRK and no M x N weighted copy is made; other weights form W Y once per product.
- Differentiable: a JVP rule computes the tangents dX^* W Y + X^* W dY + X^* dW Y with XLA dots
  (linear in the tangents, so reverse mode transposes them), the primal with the host BLAS.
- `jax.vmap`: the callback is batched with `vmap_method="broadcast_all"` and loops over the
  batch on the host, one BLAS product per member.
- Under SPMD sharding the callback would gather the rows onto one device; `gram_matrices(mesh=)`
  therefore calls `gram_products` inside `jax.shard_map` on each device's rows and sums the
  per-device products with `psum`.
- Where `buffer_callback` is unavailable (an older or newer JAX without it), `method="auto"` is
  the XLA path.

Caveat: OpenBLAS's worker threads spin; on cores shared with other busy processes its products
slow down far more than XLA's (measured up to 8x against 2x), so on an oversubscribed machine
`method="xla"` can be the faster choice.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, Inexact

from .._checks import check_choice

try:  # experimental (JAX 0.10); without it the XLA path is used
    from jax.experimental.buffer_callback import buffer_callback as _buffer_callback
except ImportError:  # pragma: no cover
    _buffer_callback = None


def _xla_products(x, others, w):
    xh, wc = jnp.conj(x.T), w[:, None]
    return tuple(xh @ (wc * rhs) for rhs in (x, *others))


def _host_one(x, others, w, outs):
    # one unbatched member: numpy's matmul calls the BLAS (SYRK for x.T @ x on real data)
    xh = x.conj().T if np.iscomplexobj(x) else x.T
    uniform = w.size > 0 and bool(np.all(w == w[0]))
    for rhs, out in zip((x, *others), outs, strict=True):
        if uniform:
            np.matmul(xh, rhs, out=out)
            out *= w[0]
        else:
            np.matmul(xh, w[:, None] * rhs, out=out)


def _host_callback(ctx, outs, x, others, w):
    del ctx
    x, w = np.asarray(x), np.asarray(w)
    others = [np.asarray(rhs) for rhs in others]
    outs = [np.asarray(out) for out in outs]
    # under vmap ("broadcast_all") every operand carries the same leading batch axes; NaN or
    # inf input is reported by the callers' checks on the products (no numpy warning here)
    with np.errstate(all="ignore"):
        for i in np.ndindex(x.shape[:-2]):
            _host_one(x[i], [rhs[i] for rhs in others], w[i], [out[i] for out in outs])


def _host_products(x, others, w):
    n = x.shape[1]
    shapes = tuple(jax.ShapeDtypeStruct((n, rhs.shape[1]), x.dtype) for rhs in (x, *others))
    call = _buffer_callback(_host_callback, shapes, vmap_method="broadcast_all")
    out = tuple(call(x, others, w))
    # inside `shard_map` the callback runs on each device's rows; its results vary over the
    # same mesh axes as the rows (as the XLA branch's do), which `platform_dependent` checks
    manual = getattr(jax.typeof(x), "manual_axis_type", None)
    axes = tuple(sorted(manual.varying)) if manual is not None else ()
    return tuple(jax.lax.pcast(o, axes, to="varying") for o in out) if axes else out


@jax.custom_jvp
def _auto_products(x, others, w):
    return jax.lax.platform_dependent(x, others, w, cpu=_host_products, default=_xla_products)


def _auto_products_jvp(primals, tangents):
    x, others, w = primals
    dx, dothers, dw = tangents
    out = _auto_products(x, others, w)
    xh, wc = jnp.conj(x.T), w[:, None]
    dx_zero, dw_zero = isinstance(dx, SymbolicZero), isinstance(dw, SymbolicZero)
    tangents_out = []
    for rhs, drhs, primal in zip((x, *others), (dx, *dothers), out, strict=True):
        terms = []
        if not dx_zero:
            terms.append(jnp.conj(dx.T) @ (wc * rhs))
        if not isinstance(drhs, SymbolicZero):
            terms.append(xh @ (wc * drhs))
        if not dw_zero:
            terms.append(xh @ (dw[:, None] * rhs))
        tangents_out.append(sum(terms[1:], terms[0]) if terms else jnp.zeros_like(primal))
    return out, tuple(tangents_out)


_auto_products.defjvp(_auto_products_jvp, symbolic_zeros=True)


def gram_products(
    x: Inexact[Array, "m n"],
    *others: Inexact[Array, "m k"],
    weights: Inexact[Array, " m"] | None = None,
    method: str = "auto",
) -> tuple[Inexact[Array, "n _"], ...]:
    """The weighted products `x^* W x, x^* W others[0], ...` with `W = diag(weights)`.

    These are EDMD's Gram sums (`x = Psi_X`, `others = (Psi_Y, X)`), and the only O(M N^2) work
    of the Gram path. On the CPU backend they run in the host BLAS that numpy links (about 2x
    XLA's CPU dot for tall matrices, and a SYRK for `x^* x`); elsewhere in XLA. See the module
    docstring for how (zero-copy `buffer_callback`, `platform_dependent`).

    Usable under `jax.jit`, `jax.vmap` (one host product per batch member) and
    differentiation (a JVP rule whose tangents are XLA dots, so `jax.grad` works).

    **Arguments:**

    - `x`: `(m, n)` real or complex.
    - `others`: any number of `(m, k)` arrays with the same rows.
    - `weights`: `(m,)` quadrature weights; 1 per row by default.
    - `method`: `"auto"` (host BLAS on CPU, XLA elsewhere) or `"xla"` (XLA's dot everywhere).

    **Returns:** a tuple `(x^* W x, x^* W others[0], ...)` in the common dtype of the inputs.

    ```python
    g, a = gram_products(psi_x, psi_y, weights=jnp.full(m, 1 / m))
    ```
    """
    check_choice(method, "method", ("auto", "xla"), "gram_products")
    # a right-hand side that is `x` itself (EDMD with the `Identity` dictionary: Psi_X = X) or
    # repeats another is computed once
    slots, distinct = [], []
    for rhs in others:
        if rhs is x:
            slots.append(0)
            continue
        match = [k for k, seen in enumerate(distinct) if seen is rhs]
        if not match:
            distinct.append(rhs)
        slots.append(1 + (match[0] if match else len(distinct) - 1))
    out = _products(x, distinct, weights, method)
    return (out[0], *(out[k] for k in slots))


def _products(x, others, weights, method):
    x = jnp.asarray(x)
    others = tuple(jnp.asarray(rhs) for rhs in others)
    if x.ndim != 2 or any(rhs.ndim != 2 or rhs.shape[0] != x.shape[0] for rhs in others):
        raise ValueError(
            "gram_products: `x` must be (m, n) and each of `others` (m, k) with the same m, got "
            f"{x.shape} and {[rhs.shape for rhs in others]}"
        )
    dtype = jnp.result_type(x, *others)
    if not jnp.issubdtype(dtype, jnp.inexact):
        raise TypeError(f"gram_products: floating or complex input expected, got {dtype}")
    x, others = x.astype(dtype), tuple(rhs.astype(dtype) for rhs in others)
    if weights is None:
        w = jnp.ones(x.shape[0], dtype)
    else:
        w = jnp.asarray(weights)
        if w.shape != (x.shape[0],):
            raise ValueError(
                f"gram_products: `weights` must have shape ({x.shape[0]},), got {w.shape}"
            )
        w = w.astype(dtype)
    if method == "xla" or _buffer_callback is None:
        return _xla_products(x, others, w)
    return _auto_products(x, others, w)
