"""A residual SSM block (normalisation, SSM, GELU, gated mixing) and a small sequence model of
such blocks, each with a convolution mode and a recurrent step mode."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from .._checks import check_choice, check_int
from ._layers import S4, S4D, S5, AbstractSSM
from ._recurrence import AbstractRecurrence

LAYERS = {"s4": S4, "s4d": S4D, "s5": S5}


class SSMBlock(eqx.Module):
    """`x + GLU(W GELU(SSM(LayerNorm(x))))`: the pre-norm residual block of S4/S5 models.

    The SSM mixes along time within each channel (S5: across channels too); the gated linear
    unit `a * sigmoid(b)`, `[a, b] = W z`, mixes channels (S4's "GLU" output layer). Everything
    but the SSM acts on one time step, so the step mode is the SSM's recurrence wrapped in the
    same pointwise maps.
    """

    ssm: AbstractSSM
    norm: eqx.nn.LayerNorm
    mix: eqx.nn.Linear

    def __init__(self, ssm: AbstractSSM, *, key: PRNGKeyArray):
        if not isinstance(ssm, AbstractSSM):
            raise TypeError(
                f"`ssm` must be an AbstractSSM (S4, S4D, S5), got {type(ssm).__name__}."
            )
        h = ssm.hidden
        self.ssm = ssm
        self.norm = eqx.nn.LayerNorm(h)
        self.mix = eqx.nn.Linear(h, 2 * h, key=key)

    def _pointwise(self, z):
        a, b = jnp.split(self.mix(jax.nn.gelu(z)), 2)
        return a * jax.nn.sigmoid(b)

    def __call__(self, x: Float[Array, "length hidden"]) -> Float[Array, "length hidden"]:
        z = self.ssm(jax.vmap(self.norm)(x))
        return x + jax.vmap(self._pointwise)(z)

    def step(self, recurrence: AbstractRecurrence, state: PyTree, x: Float[Array, " hidden"]):
        """One step with the SSM's `recurrence()`: `(state, x_k) -> (state, y_k)`."""
        state, z = recurrence.step(state, self.norm(x))
        return state, x + self._pointwise(z)


class SequenceModel(eqx.Module):
    """Encoder, `depth` SSM blocks, a final LayerNorm and a decoder, per time step.

    `model(x)` maps `(length, in_size)` to `(length, out_size)` in convolution mode; for
    generation or streaming, `recs = model.recurrence()`, `state = model.init_state(recs)`, then
    `state, y = model.step(recs, state, x_k)` per token. Pool outputs (last, mean) outside.

    **Arguments:** `in_size`, `out_size`, `hidden`, `depth`, `layer` in `("s4", "s4d", "s5")`,
    `key`, and keyword arguments for the layer (`state_size`, `length` for S4, `init`, ...).
    """

    encoder: eqx.nn.Linear
    blocks: tuple[SSMBlock, ...]
    norm: eqx.nn.LayerNorm
    decoder: eqx.nn.Linear

    def __init__(
        self,
        in_size: int,
        out_size: int,
        hidden: int = 64,
        depth: int = 2,
        *,
        layer: str = "s4d",
        key: PRNGKeyArray,
        **layer_kwargs,
    ):
        for name, v in (
            ("in_size", in_size),
            ("out_size", out_size),
            ("hidden", hidden),
            ("depth", depth),
        ):
            check_int(v, name, "SequenceModel")
        check_choice(layer, "layer", LAYERS, "SequenceModel")
        keys = jr.split(key, 2 * depth + 2)
        self.encoder = eqx.nn.Linear(in_size, hidden, key=keys[0])
        self.blocks = tuple(
            SSMBlock(
                LAYERS[layer](hidden, key=keys[2 + 2 * i], **layer_kwargs), key=keys[3 + 2 * i]
            )
            for i in range(depth)
        )
        self.norm = eqx.nn.LayerNorm(hidden)
        self.decoder = eqx.nn.Linear(hidden, out_size, key=keys[1])

    def __call__(self, x: Float[Array, "length in_size"]) -> Float[Array, "length out_size"]:
        if x.ndim != 2 or x.shape[1] != self.encoder.in_features:
            raise ValueError(
                f"`x` must have shape (length, {self.encoder.in_features}), got {x.shape}."
            )
        z = jax.vmap(self.encoder)(x)
        for block in self.blocks:
            z = block(z)
        return jax.vmap(lambda v: self.decoder(self.norm(v)))(z)

    def recurrence(self) -> tuple[AbstractRecurrence, ...]:
        """The blocks' recurrences (build once, reuse for every step)."""
        return tuple(b.ssm.recurrence() for b in self.blocks)

    def init_state(self, recurrences: tuple[AbstractRecurrence, ...]) -> tuple:
        return tuple(r.init_state() for r in recurrences)

    def step(self, recurrences, state, x: Float[Array, " in_size"]):
        """One token: `(state, x_k) -> (state, y_k)`."""
        z = self.encoder(x)
        new = []
        for block, rec, s in zip(self.blocks, recurrences, state, strict=True):
            s, z = block.step(rec, s, z)
            new.append(s)
        return tuple(new), self.decoder(self.norm(z))
