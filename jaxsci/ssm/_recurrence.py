"""Recurrent (step-by-step) forms of the SSM layers: the discretised `Abar, Bbar, C, D`, one
step per input. A layer's `recurrence()` builds one; `step` then costs `O(H N)` (diagonal) or
`O(H N^2)` (S4's dense form) per token, independent of the position in the sequence."""

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
