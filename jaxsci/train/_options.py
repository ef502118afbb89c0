"""`Loop`: how a training run is driven (chunks, checkpoints, progress, devices)."""

from __future__ import annotations

import os
from collections.abc import Callable

import equinox as eqx
from jax.sharding import Mesh
from jaxtyping import PyTree

from .._checks import check_bool, check_int


class Loop(eqx.Module):
    """How `fit` (and every solver built on it) drives its steps; the results do not depend
    on these settings except through `mesh` (reduction order).

    - `chunk_size`: steps between two reports of the host, which reports, checkpoints and
      calls `callback` between chunks (at multiples of `chunk_size`, also in a resumed run).
      A run gives the same iterates whatever its chunk size.
    - `checkpoint`: a file path; the state and history are written there atomically after
      every chunk (`None`: no checkpoint).
    - `resume`: continue from `checkpoint` if it exists (same loss, parameter structure and
      optimiser): the continued run reproduces the uninterrupted one exactly.
    - `progress`: a tqdm bar on stderr (steps per second, time left, the loss), per chunk.
    - `callback`: `callback(steps_done, params)`, on the host after every chunk (e.g. to
      record a test error; its time counts in `stats["wall_s"]`). A solver passes its own
      object (`pinn.solve`: the field).
    - `mesh`: a `jax.sharding.Mesh` (`train.data_mesh()`) for data-parallel training:
      parameters replicated, the leading axis of `extra`'s arrays split over the devices (the
      members, for an ensemble). Same result as one device up to the order of reductions.
    """

    chunk_size: int = eqx.field(static=True, default=500)
    checkpoint: str | os.PathLike | None = eqx.field(static=True, default=None)
    resume: bool = eqx.field(static=True, default=False)
    progress: bool = eqx.field(static=True, default=False)
    callback: Callable[[int, PyTree], None] | None = eqx.field(static=True, default=None)
    mesh: Mesh | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_int(self.chunk_size, "chunk_size", "Loop")
        check_bool(self.resume, "resume", "Loop")
        check_bool(self.progress, "progress", "Loop")
        if self.resume and self.checkpoint is None:
            raise ValueError("Loop: `resume=True` needs a `checkpoint` path")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"Loop: `callback` must be callable, got {self.callback!r}")
        if self.mesh is not None and not isinstance(self.mesh, Mesh):
            raise TypeError(
                f"Loop: `mesh` must be a jax.sharding.Mesh (train.data_mesh()), got "
                f"{type(self.mesh).__name__}"
            )
