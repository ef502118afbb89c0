"""SSM layers: S4 (DPLR), S4D (diagonal) and S5 (MIMO diagonal) as equinox modules.

Each maps one sequence `(length, hidden) -> (length, hidden)` in its convolution (or parallel
scan) mode, and builds its recurrent form with `recurrence()`; the two agree. Parameters are
real arrays (complex numbers as real and imaginary parts) so that any optax optimiser applies.
Real parts of eigenvalues are `-exp(log_neg_real)`: the continuous system stays stable whatever
the optimiser does. Steps are `exp(log_dt)`.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_choice, check_int
from ._discretise import METHODS, discretise_diagonal
from ._hippo import _check_even_size, conjugate_extend, dplr, float_dtype
from ._init import S4D_INITS, log_uniform_timescales, s4d_init, s5_hippo_n
from ._kernels import fft_conv, s4_c_from_tilde, s4_kernel, s4d_kernel
from ._ptd import s5_ptd_init
from ._recurrence import (
    AbstractRecurrence,
    DiagonalRecurrence,
    DPLRRecurrence,
    MIMORecurrence,
    dplr_recurrence,
)
from ._scan import SCANS, s5_ssm


class AbstractSSM(eqx.Module):
    """A sequence-to-sequence linear layer on `hidden` channels."""

    hidden: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, u: Float[Array, "length hidden"]) -> Float[Array, "length hidden"]:
        """Convolution (or parallel-scan) mode on one sequence."""

    @abc.abstractmethod
    def recurrence(self) -> AbstractRecurrence:
        """The discretised recurrent form, for step-by-step use."""


def _check_input(u, hidden):
    if u.ndim != 2 or u.shape[1] != hidden:
        raise ValueError(
            f"`u` must be one sequence of shape (length, {hidden}), got {u.shape}; vmap over "
            "a batch."
        )


def _split(z):
    z = np.asarray(z)
    return z.real, z.imag


def _neg_log(re):
    # -exp(log_neg_real) is the real part; clip marginal modes (LegT/FouT's zero real parts) to
    # -1e-4 as S4 does, so the generating-function kernel (which needs Re < 0) applies.
    return np.log(np.maximum(-np.asarray(re), 1e-4))


def _complex_normal(key, shape, dtype):
    kr, ki = jr.split(key)
    s = np.sqrt(0.5)
    return s * jr.normal(kr, shape, dtype), s * jr.normal(ki, shape, dtype)


class S4(AbstractSSM):
    """The S4 layer (Gu, Goel, Re 2022): one DPLR SSM per channel, HiPPO initialised.

    Convolution mode computes each channel's kernel with `s4_kernel` (Cauchy + Woodbury + iFFT,
    `O((N + L) log)`-ish) and convolves by FFT. The trained output vector is `C~ = C (I -
    Abar^L)`, so the kernel length `length` is fixed at construction; shorter inputs use the
    first entries. `recurrence()` converts back to `C` (a dense `O(N^3 log L)` setup per
    channel) and steps in the DPLR form, `O(N r)` per token (`DPLRRecurrence`).

    **Arguments:** `hidden` channels, `state_size` N (even), `length` L, `measure` (HiPPO
    measure, default LegS), `dt_min`, `dt_max`, `key`.
    """

    log_dt: Float[Array, " hidden"]
    log_neg_real: Float[Array, "hidden half"]
    imag: Float[Array, "hidden half"]
    low_rank: tuple[Float[Array, "hidden half rank"], Float[Array, "hidden half rank"]]
    b: tuple[Float[Array, "hidden half"], Float[Array, "hidden half"]]
    c_tilde: tuple[Float[Array, "hidden half"], Float[Array, "hidden half"]]
    d: Float[Array, " hidden"]
    hidden: int = eqx.field(static=True)
    length: int = eqx.field(static=True)

    def __init__(
        self,
        hidden: int,
        state_size: int = 64,
        length: int = 1024,
        *,
        measure: str = "legs",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dtype=None,
        key: PRNGKeyArray,
    ):
        self.hidden = check_int(hidden, "hidden", "S4")
        self.length = check_int(length, "length", "S4")
        _check_even_size(state_size, "state_size", "S4")
        fdt = float_dtype(dtype)
        k_dt, k_c, k_d = jr.split(key, 3)
        lam, p, b, _ = dplr(measure, state_size)

        def tile(x):
            return jnp.asarray(np.broadcast_to(x, (hidden,) + x.shape).copy(), fdt)

        self.log_dt = jnp.log(
            log_uniform_timescales((hidden,), key=k_dt, dt_min=dt_min, dt_max=dt_max, dtype=fdt)
        )
        self.log_neg_real = tile(_neg_log(np.asarray(lam).real))
        self.imag = tile(np.asarray(lam).imag)
        self.low_rank = tuple(tile(x) for x in _split(p))
        self.b = tuple(tile(x) for x in _split(b))
        self.c_tilde = _complex_normal(k_c, (hidden, state_size // 2), fdt)
        self.d = jr.normal(k_d, (hidden,), fdt)

    def _params(self):
        lam = -jnp.exp(self.log_neg_real) + 1j * self.imag
        p = self.low_rank[0] + 1j * self.low_rank[1]
        return (
            lam,
            p,
            self.b[0] + 1j * self.b[1],
            self.c_tilde[0] + 1j * self.c_tilde[1],
            jnp.exp(self.log_dt),
        )

    def kernel(self) -> Float[Array, "hidden length"]:
        """The `(hidden, length)` convolution kernels."""
        lam, p, b, ct, dt = self._params()
        return jax.vmap(lambda *a: s4_kernel(*a, self.length))(lam, p, b, ct, dt)

    def __call__(self, u):
        _check_input(u, self.hidden)
        if u.shape[0] > self.length:
            raise ValueError(
                f"`u` has length {u.shape[0]} > the layer's kernel length {self.length}."
            )
        k = self.kernel()[:, : u.shape[0]].astype(u.dtype)
        return jax.vmap(fft_conv, in_axes=(1, 0), out_axes=1)(u, k) + self.d * u

    def recurrence(self) -> DPLRRecurrence:
        lam, p, b, ct, dt = self._params()
        c = jax.vmap(lambda *a: conjugate_extend(s4_c_from_tilde(*a, self.length)))(lam, p, ct, dt)
        return dplr_recurrence(lam, p, b, c, dt, self.d)


class S4D(AbstractSSM):
    """The S4D layer (Gu, Gupta, Goel, Re 2022): one diagonal SSM per channel.

    Convolution mode uses the Vandermonde kernel `s4d_kernel` (any length); `recurrence()` is
    the same discretisation applied step by step.

    **Arguments:** `hidden`, `state_size` N (N/2 stored modes), `init` one of `S4D_INITS` or a
    pair `(eigenvalues, b)` (e.g. from `s4_ptd_init`: S4-PTD), `method` ("zoh" or "bilinear"),
    `dt_min`, `dt_max`, `key`.
    """

    log_dt: Float[Array, " hidden"]
    log_neg_real: Float[Array, "hidden modes"]
    imag: Float[Array, "hidden modes"]
    b: tuple[Float[Array, "hidden modes"], Float[Array, "hidden modes"]]
    c: tuple[Float[Array, "hidden modes"], Float[Array, "hidden modes"]]
    d: Float[Array, " hidden"]
    hidden: int = eqx.field(static=True)
    method: str = eqx.field(static=True)

    def __init__(
        self,
        hidden: int,
        state_size: int = 64,
        *,
        init="legs",
        method: str = "zoh",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dtype=None,
        key: PRNGKeyArray,
    ):
        self.hidden = check_int(hidden, "hidden", "S4D")
        self.method = check_choice(method, "method", METHODS, "S4D")
        fdt = float_dtype(dtype)
        if isinstance(init, str):
            if init not in S4D_INITS:
                raise ValueError(
                    f"S4D: unknown `init` {init!r}; expected one of {list(S4D_INITS)} or a pair "
                    "(eigenvalues, b)"
                )
            lam, b = s4d_init(init, state_size)
        else:
            lam, b = map(np.asarray, init)
            if lam.ndim != 1 or b.shape != lam.shape:
                raise ValueError(
                    f"`init` eigenvalues and b must both be (modes,), got {lam.shape}, {b.shape}."
                )
        lam, b = np.asarray(lam), np.asarray(b)
        if np.any(lam.real >= 0):
            raise ValueError("`init` eigenvalues must have negative real parts.")
        modes = lam.shape[0]
        k_dt, k_c, k_d = jr.split(key, 3)

        def tile(x):
            return jnp.asarray(np.broadcast_to(x, (hidden, modes)).copy(), fdt)

        self.log_dt = jnp.log(
            log_uniform_timescales((hidden,), key=k_dt, dt_min=dt_min, dt_max=dt_max, dtype=fdt)
        )
        self.log_neg_real = tile(np.log(-lam.real))
        self.imag = tile(lam.imag)
        self.b = (tile(b.real), tile(b.imag))
        self.c = _complex_normal(k_c, (hidden, modes), fdt)
        self.d = jr.normal(k_d, (hidden,), fdt)

    def _params(self):
        lam = -jnp.exp(self.log_neg_real) + 1j * self.imag
        return lam, self.b[0] + 1j * self.b[1], self.c[0] + 1j * self.c[1], jnp.exp(self.log_dt)

    def kernel(self, length: int) -> Float[Array, "hidden length"]:
        """The `(hidden, length)` convolution kernels."""
        lam, b, c, dt = self._params()
        return jax.vmap(lambda *a: s4d_kernel(*a, length, self.method))(lam, b, c, dt)

    def __call__(self, u):
        _check_input(u, self.hidden)
        k = self.kernel(u.shape[0]).astype(u.dtype)
        return jax.vmap(fft_conv, in_axes=(1, 0), out_axes=1)(u, k) + self.d * u

    def recurrence(self) -> DiagonalRecurrence:
        lam, b, c, dt = self._params()
        abar, bbar = jax.vmap(lambda *a: discretise_diagonal(*a, self.method))(lam, b, dt)
        return DiagonalRecurrence(abar, bbar, c, self.d)


class S5(AbstractSSM):
    """The S5 layer (Smith, Warrington, Linderman 2023): one MIMO diagonal SSM over all
    channels, computed with a parallel scan.

    **Arguments:** `hidden`, `state_size` P, `blocks` (HiPPO-N blocks), `init` `"hippo_n"` or
    `"ptd"` (S5-PTD), `scan` (`"parallel"` or `"sequential"`), `dt_min`, `dt_max`, `key`.
    """

    log_dt: Float[Array, " modes"]
    log_neg_real: Float[Array, " modes"]
    imag: Float[Array, " modes"]
    b: tuple[Float[Array, "modes hidden"], Float[Array, "modes hidden"]]
    c: tuple[Float[Array, "hidden modes"], Float[Array, "hidden modes"]]
    d: Float[Array, " hidden"]
    hidden: int = eqx.field(static=True)
    scan: str = eqx.field(static=True)

    def __init__(
        self,
        hidden: int,
        state_size: int = 64,
        blocks: int = 1,
        *,
        init: str = "hippo_n",
        scan: str = "parallel",
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        dtype=None,
        key: PRNGKeyArray,
    ):
        self.hidden = check_int(hidden, "hidden", "S5")
        self.scan = check_choice(scan, "scan", SCANS, "S5")
        check_choice(init, "init", ("hippo_n", "ptd"), "S5")
        fdt = float_dtype(dtype)
        k_init, k_dt, k_b, k_c, k_d = jr.split(key, 5)
        if init == "hippo_n":
            lam, v = s5_hippo_n(state_size, blocks)
            w = np.asarray(v).conj().T
        else:  # "ptd"
            lam, v, w = s5_ptd_init(state_size, blocks, key=k_init)
        lam, v, w = np.asarray(lam), np.asarray(v), np.asarray(w)
        modes = lam.shape[0]
        # S5, Sec. 4.3: real B (lecun normal) and C (normal) in the HiPPO basis, then rotated
        bmat = np.asarray(jr.normal(k_b, (state_size, hidden))) / np.sqrt(hidden)
        cmat = np.asarray(jr.normal(k_c, (hidden, state_size))) * np.sqrt(0.5)
        bt, ct = w @ bmat, cmat @ v
        self.log_dt = jnp.log(
            log_uniform_timescales((modes,), key=k_dt, dt_min=dt_min, dt_max=dt_max, dtype=fdt)
        )
        self.log_neg_real = jnp.asarray(np.log(-lam.real), fdt)
        self.imag = jnp.asarray(lam.imag, fdt)
        self.b = (jnp.asarray(bt.real, fdt), jnp.asarray(bt.imag, fdt))
        self.c = (jnp.asarray(ct.real, fdt), jnp.asarray(ct.imag, fdt))
        self.d = jr.normal(k_d, (hidden,), fdt)

    def _params(self):
        lam = -jnp.exp(self.log_neg_real) + 1j * self.imag
        return lam, self.b[0] + 1j * self.b[1], self.c[0] + 1j * self.c[1], jnp.exp(self.log_dt)

    def __call__(self, u):
        _check_input(u, self.hidden)
        lam, b, c, dt = self._params()
        return s5_ssm(lam, b, c, self.d, dt, u, scan=self.scan)

    def recurrence(self) -> MIMORecurrence:
        lam, b, c, dt = self._params()
        abar, bbar = discretise_diagonal(lam, b, dt, "zoh")
        return MIMORecurrence(abar, bbar, c, self.d)
