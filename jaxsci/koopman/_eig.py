"""Small non-symmetric eigenproblems, solved correctly on every backend.

`jnp.linalg.eig` is CPU-only in XLA (and has been unreliable on GPU), while the Koopman matrices
here are small (N x N, N <= a few thousand) and need float64 LAPACK `geev`. We therefore send the
N x N matrix to the host with `jax.pure_callback` and call LAPACK there (NumPy / SciPy): one
O(N^2) transfer against the O(M N^2) Gram work that stays on the accelerator. This works under
`jit` and `vmap` (a batch is one host call on a stacked array), but is not differentiable.
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


def _host_call(host, matrix, out_shapes):
    """Run `host(a) -> tuple of complex arrays` on the host and return them as `cdtype` arrays.

    Arguments and results travel as raw bytes (uint8), bit-cast on the device: JAX canonicalises
    callback values with the x64 flag of the thread that runs the callback, which under a
    caller's (thread-local) `jax.enable_x64(True)` context can be off, and would silently turn
    float64 into float32 (eigenvalues then good to 1e-7 only) or raise a dtype error.
    """
    cdtype = _complex_dtype(matrix.dtype)
    npdt = np.dtype(cdtype)
    real = np.dtype(np.float64 if npdt == np.complex128 else np.float32)
    width = real.itemsize
    # the input as bytes: (..., n, n, width) for a real matrix (kept real: LAPACK then returns
    # exactly conjugate pairs), (..., n, n, 2, width) for (re, im) pairs of a complex one
    is_complex = jnp.iscomplexobj(matrix)
    values = jnp.stack([jnp.real(matrix), jnp.imag(matrix)], -1) if is_complex else matrix
    raw_in = jax.lax.bitcast_convert_type(values.astype(real), jnp.uint8)

    def transport(raw):
        a = np.ascontiguousarray(raw).view(real)[..., 0]
        if is_complex:
            a = (a[..., 0] + 1j * a[..., 1]).astype(npdt)
        outs = host(a)
        return tuple(
            np.ascontiguousarray(np.asarray(o, npdt))
            .view(real)
            .view(np.uint8)
            .reshape(*o.shape, 2, width)
            for o in outs
        )

    shapes = tuple(jax.ShapeDtypeStruct((*s, 2, width), jnp.uint8) for s in out_shapes)
    raw = jax.pure_callback(transport, shapes, raw_in, vmap_method="expand_dims")
    outs = []
    for r in raw:
        parts = jax.lax.bitcast_convert_type(r, jnp.dtype(real))  # (..., 2)
        outs.append(jax.lax.complex(parts[..., 0], parts[..., 1]).astype(cdtype))
    return tuple(outs)


def _check_square(matrix):
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {matrix.shape}.")


def eig(
    matrix: Inexact[Array, "n n"],
) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    """Eigenvalues and right eigenvectors (unit 2-norm columns) of a square matrix, on the host.

    **Arguments:** `matrix`, shape `(n, n)`, real or complex.

    **Returns:** `(eigenvalues, eigenvectors)` with `matrix @ eigenvectors = eigenvectors *
    eigenvalues`, complex, in the input's precision. `vmap` sends the whole batch to one
    LAPACK-backed `numpy.linalg.eig` call.
    """
    _check_square(matrix)
    n = matrix.shape[0]
    return _host_call(lambda a: np.linalg.eig(a), matrix, ((n,), (n, n)))


def unitary_eig(
    matrix: Inexact[Array, "n n"],
) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    """Eigenvalues (on the unit circle) and an orthonormal eigenbasis of a unitary matrix.

    The complex Schur form of a normal matrix is diagonal, so `scipy.linalg.schur` gives
    orthonormal eigenvectors even for repeated eigenvalues, where `geev`'s are merely independent.
    Runs on the host like `eig`; eigenvalues are normalised to modulus one (rounding only).
    """
    _check_square(matrix)
    n = matrix.shape[0]

    def host(a):
        import scipy.linalg

        batch = a.shape[:-2]
        ws, zs = [], []
        for one in a.reshape(-1, n, n):
            t, z = scipy.linalg.schur(np.asarray(one, np.complex128), output="complex")
            w = np.diag(t)
            ws.append(w / np.abs(w))
            zs.append(z)
        return np.stack(ws).reshape(*batch, n), np.stack(zs).reshape(*batch, n, n)

    return _host_call(host, matrix, ((n,), (n, n)))
