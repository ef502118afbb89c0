"""Recurrent (step-by-step) forms of the SSM layers: the discretised `Abar, Bbar, C, D`, one
step per input. A layer's `recurrence()` builds one; `step` then costs `O(H N)` (diagonal),
`O(H N r)` (S4's DPLR form, rank r) or `O(H N^2)` (a dense system) per token, independent of the
position in the sequence."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact, PyTree


class AbstractRecurrence(eqx.Module):
    """A linear recurrence `x_k = Abar x_{k-1} + Bbar u_k`, `y_k = out(C x_k) + D u_k` over
    `hidden` channels, started from `x_{-1} = 0`."""

    d: eqx.AbstractVar[Float[Array, " hidden"]]

    @abc.abstractmethod
    def init_state(self) -> PyTree:
        """The zero state."""

    @abc.abstractmethod
    def step(
        self, state: PyTree, u: Float[Array, " hidden"]
    ) -> tuple[PyTree, Float[Array, " hidden"]]:
        """One step: `(state, u_k) -> (state, y_k)`."""

    def scan(self, u: Float[Array, "length hidden"]) -> Float[Array, "length hidden"]:
        """Run `step` over a whole sequence (`jax.lax.scan`)."""
        if u.ndim != 2 or u.shape[1] != self.d.shape[0]:
            raise ValueError(f"`u` must have shape (length, {self.d.shape[0]}), got {u.shape}.")
        return jax.lax.scan(lambda s, x: self.step(s, x), self.init_state(), u)[1]


class DiagonalRecurrence(AbstractRecurrence):
    """One diagonal SISO SSM per channel (S4D): `y = 2 Re(sum_n C_n x_n) + D u`."""

    abar: Complex[Array, "hidden modes"]
    bbar: Complex[Array, "hidden modes"]
    c: Complex[Array, "hidden modes"]
    d: Float[Array, " hidden"]

    def init_state(self):
        return jnp.zeros_like(self.abar)

    def step(self, state, u):
        state = self.abar * state + self.bbar * u[:, None].astype(self.bbar.dtype)
        y = 2 * jnp.real(jnp.sum(self.c * state, axis=-1)) + self.d * u
        return state, y.astype(u.dtype)


class DenseRecurrence(AbstractRecurrence):
    """One dense SISO SSM per channel (S4's DPLR system in its full complex basis):
    `y = Re(C x) + D u`."""

    abar: Inexact[Array, "hidden n n"]
    bbar: Inexact[Array, "hidden n"]
    c: Inexact[Array, "hidden n"]
    d: Float[Array, " hidden"]

    def init_state(self):
        return jnp.zeros_like(self.bbar)

    def step(self, state, u):
        state = jnp.einsum("hij,hj->hi", self.abar, state) + self.bbar * u[:, None].astype(
            self.bbar.dtype
        )
        y = jnp.real(jnp.sum(self.c * state, axis=-1)) + self.d * u
        return state, y.astype(u.dtype)


class DPLRRecurrence(AbstractRecurrence):
    """One bilinear-discretised DPLR SISO SSM per channel (S4's step mode), `O(n r)` a step.

    With `A = Lambda - Q Q^*` in the full complex basis (`n = 2 half`, `Q` of rank `r`), the
    bilinear step `x' = (I - dt/2 A)^{-1} ((I + dt/2 A) x + dt B u)` is applied without forming
    `Abar`: the right-hand side costs `O(n r)`, and Woodbury gives
    `(I - dt/2 A)^{-1} = E - E Q S Q^* E` with the diagonal `E = (I - dt/2 Lambda)^{-1}` and the
    `r x r` matrix `S = (2/dt I + Q^* E Q)^{-1}` (S4, Sec. 3.3). Same outputs as the dense
    `DenseRecurrence` of `discretise_dplr`, up to rounding. Build with `dplr_recurrence`.
    """

    # `q_half_dt` and `eq` are scaled copies of `q`, kept so that the step does no rescaling:
    # recomputing them per token made the step 10-50% slower (experiments/bench_ssm_step.py)
    plus: Complex[Array, "hidden n"]  # 1 + dt/2 lambda
    q: Complex[Array, "hidden n rank"]  # Q
    q_half_dt: Complex[Array, "hidden n rank"]  # dt/2 Q
    e: Complex[Array, "hidden n"]  # 1 / (1 - dt/2 lambda)
    eq: Complex[Array, "hidden n rank"]  # E Q
    s: Complex[Array, "hidden rank rank"]
    b_dt: Complex[Array, "hidden n"]  # dt B
    c: Complex[Array, "hidden n"]
    d: Float[Array, " hidden"]

    def init_state(self):
        return jnp.zeros_like(self.e)

    def step(self, state, u):
        qh = jnp.conj(self.q)
        v = (
            self.plus * state
            - jnp.einsum("hnr,hr->hn", self.q_half_dt, jnp.einsum("hnr,hn->hr", qh, state))
            + self.b_dt * u[:, None].astype(self.b_dt.dtype)
        )
        ev = self.e * v
        corr = jnp.einsum("hrs,hs->hr", self.s, jnp.einsum("hnr,hn->hr", qh, ev))
        state = ev - jnp.einsum("hnr,hr->hn", self.eq, corr)
        y = jnp.real(jnp.sum(self.c * state, axis=-1)) + self.d * u
        return state, y.astype(u.dtype)


def dplr_recurrence(
    eigenvalues: Complex[Array, "hidden half"],
    low_rank: Complex[Array, "hidden half rank"],
    b: Complex[Array, "hidden half"],
    c: Complex[Array, "hidden n"],
    dt: Float[Array, " hidden"],
    d: Float[Array, " hidden"],
) -> DPLRRecurrence:
    """The `DPLRRecurrence` of conjugate-halved DPLR systems `A = Lambda - P P^*`, one per
    channel, with the full-basis readout `c` (`n = 2 half`, as `s4_c_from_tilde` and
    `conjugate_extend` give it) and skip `d`."""
    lam = jnp.concatenate([eigenvalues, jnp.conj(eigenvalues)], axis=-1)
    q = jnp.concatenate([low_rank, jnp.conj(low_rank)], axis=-2)
    b_full = jnp.concatenate([b, jnp.conj(b)], axis=-1)
    half_dt = (dt / 2).astype(lam.dtype)[:, None]
    e = 1 / (1 - half_dt * lam)
    eq = e[..., None] * q
    rank = q.shape[-1]
    gram = jnp.einsum("hnr,hns->hrs", jnp.conj(q), eq)
    s = jnp.linalg.inv((1 / half_dt)[..., None] * jnp.eye(rank, dtype=lam.dtype) + gram)
    return DPLRRecurrence(
        1 + half_dt * lam, q, half_dt[..., None] * q, e, eq, s, 2 * half_dt * b_full, c, d
    )


class MIMORecurrence(AbstractRecurrence):
    """One diagonal MIMO SSM shared by all channels (S5): `y = 2 Re(C x) + D u`."""

    abar: Complex[Array, " modes"]
    bbar: Complex[Array, "modes hidden"]
    c: Complex[Array, "hidden modes"]
    d: Float[Array, " hidden"]

    def init_state(self):
        return jnp.zeros_like(self.abar)

    def step(self, state, u):
        state = self.abar * state + self.bbar @ u.astype(self.bbar.dtype)
        y = 2 * jnp.real(self.c @ state) + self.d * u
        return state, y.astype(u.dtype)
