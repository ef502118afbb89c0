"""Small non-symmetric eigenproblems, solved correctly on every backend.

`jnp.linalg.eig` is CPU-only in XLA (and has been unreliable on GPU), while the Koopman matrices
here are small (N x N, N <= a few thousand) and need float64 LAPACK `geev`. We therefore send the
N x N matrix to the host with `jax.pure_callback` and call `numpy.linalg.eig` there: one O(N^2)
transfer against the O(M N^2) Gram work that stays on the accelerator. This works under `jit`
and `vmap` (sequentially), but is not differentiable.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Inexact


def _complex_dtype(dtype):
    return jnp.complex128 if jnp.dtype(dtype) in (jnp.float64, jnp.complex128) else jnp.complex64


def warn_if_single(x, name):
    """Koopman eigenproblems need float64: warn on float32/complex64 input."""
    if jnp.dtype(x.dtype) in (jnp.float32, jnp.complex64, jnp.float16, jnp.bfloat16):
        warnings.warn(
            f"`{name}` is {x.dtype}: Koopman eigenvalues and residuals are only accurate to "
            "~1e-4 in single precision; enable float64 (`jax.config.update('jax_enable_x64', "
            "True)`) and pass float64 data.",
            UserWarning,
            stacklevel=3,
        )


def eig(
    matrix: Inexact[Array, "n n"],
) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    """Eigenvalues and right eigenvectors (unit 2-norm columns) of a square matrix, on the host.

    **Arguments:** `matrix`, shape `(n, n)`, real or complex.

    **Returns:** `(eigenvalues, eigenvectors)` with `matrix @ eigenvectors = eigenvectors *
    eigenvalues`, complex, in the input's precision.
    """
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {matrix.shape}.")
    cdtype = _complex_dtype(matrix.dtype)
    n = matrix.shape[0]

    def host(a):
        w, v = np.linalg.eig(np.asarray(a))
        npdt = np.complex128 if cdtype == jnp.complex128 else np.complex64
        return np.asarray(w, npdt), np.asarray(v, npdt)

    shapes = (jax.ShapeDtypeStruct((n,), cdtype), jax.ShapeDtypeStruct((n, n), cdtype))
    return jax.pure_callback(host, shapes, matrix, vmap_method="sequential")


def unitary_eig(
    matrix: Inexact[Array, "n n"],
) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    """Eigenvalues (on the unit circle) and an orthonormal eigenbasis of a unitary matrix.

    The complex Schur form of a normal matrix is diagonal, so `scipy.linalg.schur` gives
    orthonormal eigenvectors even for repeated eigenvalues, where `geev`'s are merely independent.
    Runs on the host like `eig`; eigenvalues are normalised to modulus one (rounding only).
    """
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {matrix.shape}.")
    cdtype = _complex_dtype(matrix.dtype)
    n = matrix.shape[0]

    def host(a):
        import scipy.linalg

        t, z = scipy.linalg.schur(np.asarray(a, np.complex128), output="complex")
        w = np.diag(t)
        npdt = np.complex128 if cdtype == jnp.complex128 else np.complex64
        return np.asarray(w / np.abs(w), npdt), np.asarray(z, npdt)

    shapes = (jax.ShapeDtypeStruct((n,), cdtype), jax.ShapeDtypeStruct((n, n), cdtype))
    return jax.pure_callback(host, shapes, matrix, vmap_method="sequential")
