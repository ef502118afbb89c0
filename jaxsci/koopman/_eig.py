"""Small non-symmetric eigenproblems, solved correctly on every backend.

`jnp.linalg.eig` is CPU-only in XLA (and has been unreliable on GPU), while the Koopman matrices
here are small (N x N, N <= a few thousand) and need float64 LAPACK `geev`. We therefore send the
N x N matrix to the host with `jax.pure_callback` and call LAPACK there (NumPy / SciPy): one
O(N^2) transfer against the O(M N^2) Gram work that stays on the accelerator. This works under
`jit` and `vmap` (a batch is one host call on a stacked array).

Derivatives (`eig`) come from first-order perturbation theory through a `jax.custom_jvp`, so
`jax.grad` and `jax.jvp` see through the host call (and through every estimator built on it).
With A V = V diag(lambda) and W^H = V^{-1} (rows: left eigenvectors scaled so w_j^H v_j = 1),
dlambda_j = (V^{-1} dA V)_jj = w_j^H dA v_j / (w_j^H v_j), and dV = V (F o V^{-1} dA V) + V diag(c)
with F_ij = 1 / (lambda_j - lambda_i) off the diagonal (distinct eigenvalues). The free diagonal
c fixes the normalisation convention of `eig`'s eigenvectors: unit 2-norm columns whose
largest-modulus component is real and positive (LAPACK's convention, made deterministic),
so Re(v_j^H dv_j) = 0 and Im(dv_kj / v_kj) = 0 at that component k. Where two eigenvalues
coincide the derivative is undefined, and differentiating raises an error instead of returning
a wrong number.
"""

import warnings

import equinox as eqx
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
        if not np.isfinite(a).all():
            # never let LAPACK raise inside the callback: the device-side `eqx.error_if` checks
            # (in `eig` and `koopman.fit`) then report the real cause, not "CpuCallback error"
            outs = tuple(np.full((*a.shape[:-2], *s), np.nan, npdt) for s in out_shapes)
        else:
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


def _lapack_eig(matrix):
    n = matrix.shape[0]
    return _host_call(lambda a: np.linalg.eig(a), matrix, ((n,), (n, n)))


def _normalised_eig(matrix):
    """Host eigenpairs, columns rescaled to unit norm with the largest-modulus entry real > 0.

    Returns the index of that entry per column as well (the JVP's phase constraint uses it)."""
    lam, v = _lapack_eig(matrix)
    v = v / jnp.linalg.norm(v, axis=0, keepdims=True)
    k = jnp.argmax(jnp.abs(v), axis=0)
    pivot = jnp.take_along_axis(v, k[None, :], axis=0)
    v = v * (jnp.conj(pivot) / jnp.abs(pivot))
    return lam, v, k


def _repeated_gap(lam, matrix):
    """True where two eigenvalues are too close for a first-order derivative to exist."""
    n = lam.shape[0]
    eps = jnp.finfo(lam.dtype).eps
    # computed copies of a repeated eigenvalue differ by ~eps ||A|| (semisimple) up to
    # ~sqrt(eps) ||A|| (defective): anything within 10 sqrt(eps) ||A|| counts as repeated
    tol = 10 * jnp.sqrt(eps) * jnp.linalg.norm(matrix)
    gaps = jnp.abs(lam[:, None] - lam[None, :]) + jnp.where(jnp.eye(n, dtype=bool), jnp.inf, 0)
    return jnp.min(gaps, initial=jnp.inf) <= tol


@jax.custom_jvp
def _eig(matrix):
    lam, v, _ = _normalised_eig(matrix)
    return lam, v


@_eig.defjvp
def _eig_jvp(primals, tangents):
    (matrix,), (dmatrix,) = primals, tangents
    lam, v, k = _normalised_eig(matrix)
    n = lam.shape[0]
    v = eqx.error_if(
        v,
        _repeated_gap(lam, matrix),
        "koopman.eig: the matrix has repeated eigenvalues, where eigenvalue and eigenvector "
        "derivatives are not defined; differentiate through a matrix with distinct eigenvalues "
        "(e.g. lower the rank of the estimator), or wrap the fit in `jax.lax.stop_gradient`.",
    )
    vinv = jnp.linalg.inv(v)
    coupled = vinv @ dmatrix.astype(v.dtype) @ v  # V^{-1} dA V
    dlam = jnp.diagonal(coupled)
    off = ~jnp.eye(n, dtype=bool)
    denom = jnp.where(off, lam[None, :] - lam[:, None], 1)
    dv = v @ jnp.where(off, coupled / denom, 0)
    # normalisation: unit norm (real part of v^H dv) and fixed phase of the pivot entry
    real_part = jnp.real(jnp.sum(jnp.conj(v) * dv, axis=0))
    pivot = jnp.take_along_axis(v, k[None, :], axis=0)[0]
    dpivot = jnp.take_along_axis(dv, k[None, :], axis=0)[0]
    imag_part = jnp.imag(dpivot / pivot)
    dv = dv - v * (real_part + 1j * imag_part)[None, :]
    return (lam, v), (dlam, dv)


def eig(
    matrix: Inexact[Array, "n n"],
) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    """Eigenvalues and right eigenvectors of a square matrix, on the host, differentiable.

    **Arguments:** `matrix`, shape `(n, n)`, real or complex.

    **Returns:** `(eigenvalues, eigenvectors)` with `matrix @ eigenvectors = eigenvectors *
    eigenvalues`, complex, in the input's precision. Each eigenvector column has unit 2-norm and
    its largest-modulus component real and positive. `vmap` sends the whole batch to one
    LAPACK-backed `numpy.linalg.eig` call.

    Differentiable (`jax.grad`, `jax.jvp`) by first-order perturbation theory (see the module
    docstring), consistent with the normalisation above. Derivatives exist only for distinct
    eigenvalues: differentiating at a matrix with repeated eigenvalues raises an error (an
    `equinox` runtime error under `jit`). Where two largest-modulus components of an
    eigenvector tie, the phase convention (and so the eigenvector derivative) is discontinuous.
    """
    _check_square(matrix)
    matrix = eqx.error_if(
        matrix,
        ~jnp.isfinite(matrix).all(),
        "koopman.eig: `matrix` has NaN or inf entries (check the snapshots and the dictionary "
        "features for non-finite values).",
    )
    return _eig(matrix)


def eigh(
    matrix: Inexact[Array, "n n"],
) -> tuple[Array, Inexact[Array, "n n"]]:
    """Eigenvalues (ascending, real) and orthonormal eigenvectors of a Hermitian matrix, on the
    host like `eig`, differentiable like `jnp.linalg.eigh`.

    Why not `jnp.linalg.eigh`: on the CPU backend XLA's eigensolver runs in the BLAS that SciPy
    bundles, while `eig` and `gram_products` run in NumPy's, and each library's worker threads
    keep spinning for a while after a call, so alternating between the two costs more than the
    call (measured 0.18 s against 0.13 s for the Gram fit's dense steps at N = 501). As
    `jnp.linalg.eigh` does, it solves for the Hermitian part (A + A^*) / 2. Derivatives:
    dlambda = diag(V^* dA V), dV = V (F o V^* dA V) with F_ij = 1 / (lambda_j - lambda_i) off
    the diagonal, as for `jnp.linalg.eigh` (undefined at repeated eigenvalues, as there).
    """
    _check_square(matrix)
    return _eigh((matrix + jnp.conj(matrix.T)) / 2)


@jax.custom_jvp
def _eigh(matrix):
    n = matrix.shape[0]
    lam, v = _host_call(lambda a: np.linalg.eigh(a, UPLO="L"), matrix, ((n,), (n, n)))
    return lam.real, (v if jnp.iscomplexobj(matrix) else v.real)


@_eigh.defjvp
def _eigh_jvp(primals, tangents):
    (matrix,), (dmatrix,) = primals, tangents
    lam, v = _eigh(matrix)
    coupled = jnp.conj(v.T) @ dmatrix.astype(v.dtype) @ v
    diag = jnp.eye(lam.shape[0], dtype=bool)
    gaps = jnp.where(diag, 1, lam[None, :] - lam[:, None])
    dv = v @ jnp.where(diag, 0, coupled / gaps)
    return (lam, v), (jnp.real(jnp.diagonal(coupled)), dv)


def unitary_eig(
    matrix: Inexact[Array, "n n"],
) -> tuple[Complex[Array, " n"], Complex[Array, "n n"]]:
    """Eigenvalues (on the unit circle) and an orthonormal eigenbasis of a unitary matrix.

    The complex Schur form of a normal matrix is diagonal, so `scipy.linalg.schur` gives
    orthonormal eigenvectors even for repeated eigenvalues, where `geev`'s are merely independent.
    Runs on the host like `eig`; eigenvalues are normalised to modulus one (rounding only).
    Not differentiable (the Schur basis of a repeated eigenvalue has no derivative):
    differentiating raises a `TypeError` rather than returning zeros.
    """
    _check_square(matrix)
    return _unitary_eig(matrix)


@jax.custom_jvp
def _unitary_eig(matrix):
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


@_unitary_eig.defjvp
def _unitary_eig_jvp(primals, tangents):
    raise TypeError(
        "koopman.unitary_eig (and so `MPEDMD`) is not differentiable: its orthonormal Schur "
        "eigenbasis has no derivative at repeated eigenvalues. Use `eig` (e.g. `EDMD`) inside "
        "a differentiated loss, or wrap the fit in `jax.lax.stop_gradient`."
    )
