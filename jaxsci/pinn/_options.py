"""Option objects of `pinn.solve`: how points are sampled, how the loss is weighted, the
first phase's default optimiser and the L-BFGS phase. Each default lives here once; a run
config's `[sampling]`, `[weighting]`, `[optimizer]` and `[lbfgs]` sections are these objects."""

from __future__ import annotations

import equinox as eqx
import optax

from .._checks import check_choice, check_float, check_int
from ._strategies import (
    AdaptiveResampling,
    CausalWeighting,
    GradientBalancing,
    MagnitudeWeighting,
    NTKWeighting,
    ResidualDensityResampling,
)

SAMPLERS = ("halton", "uniform", "hammersley", "latin", "grid")
DETERMINISTIC_SAMPLERS = ("hammersley", "grid")  # the same points for every key


class Sampling(eqx.Module):
    """Where the loss is evaluated.

    - `n_interior`, `n_boundary`: collocation points in the domain and per condition.
    - `method`: `"halton"` (default), `"uniform"`, `"hammersley"`, `"latin"` or `"grid"`: how
      the interior points are drawn, and the conditions' points on their faces or slices too
      (i.i.d. for `"grid"`). `"hammersley"` is DeepXDE's default set, deterministic, so it
      cannot be redrawn: on Burgers its Adam phase ends 3.5x lower than with shifted Halton
      points (5.7e-2 against 2.0e-1, 6 seeds), on Helmholtz the whole recipe 1.7x higher
      (BENCHMARKS.md, "The same points on both sides"). Halton points lowered the Helmholtz
      error 3x against i.i.d. uniform ones at the same count and cost nothing on Poisson.
    - `resample_every`: draw fresh interior points every this many steps (0: fixed points).
    - `resample_boundary`: redraw the points of every condition at the same steps too
      (conditions with fixed data keep theirs). A local field (`PIG`) can fit fixed boundary
      points exactly and be wrong between them; the published PIG code redraws all.
    - `adaptive`: `AdaptiveResampling()` to move points where the residual is large, or
      `ResidualDensityResampling()` to redraw them all from a density that follows it.
    """

    n_interior: int = eqx.field(static=True, default=2000)
    n_boundary: int = eqx.field(static=True, default=256)
    method: str = eqx.field(static=True, default="halton")
    resample_every: int = eqx.field(static=True, default=0)
    resample_boundary: bool = eqx.field(static=True, default=False)
    adaptive: AdaptiveResampling | ResidualDensityResampling | None = None

    def __check_init__(self):
        check_int(self.n_interior, "n_interior", "Sampling")
        check_int(self.n_boundary, "n_boundary", "Sampling")
        check_choice(self.method, "method", SAMPLERS, "Sampling")
        check_int(self.resample_every, "resample_every", "Sampling", minimum=0)
        if self.resample_every and self.method in DETERMINISTIC_SAMPLERS:
            raise ValueError(
                f"Sampling: `resample_every` needs a random `method` (uniform, halton, latin); "
                f"{self.method!r} draws the same points every time"
            )
        if self.adaptive is not None and not isinstance(
            self.adaptive, (AdaptiveResampling, ResidualDensityResampling)
        ):
            raise TypeError(
                f"Sampling: `adaptive` must be an AdaptiveResampling, a "
                f"ResidualDensityResampling or None, got "
                f"{type(self.adaptive).__name__}"
            )

    @property
    def condition_method(self) -> str:
        """How the conditions' points are drawn: a grid is for the interior, so theirs are
        i.i.d. then."""
        return "uniform" if self.method == "grid" else self.method

    @property
    def moves_points(self) -> bool:
        return bool(self.resample_every) or self.adaptive is not None


class Weighting(eqx.Module):
    """How the loss terms are weighted.

    - `residual`: weight of the residual term (each condition carries its own `weight`).
    - `balancing`: `NTKWeighting()` (the default) to adapt the term weights by the traces of
      the terms' neural tangent kernels, `GradientBalancing()` by gradient norms, or `None`
      (each term keeps its weight). With one loss term (every Dirichlet face exact, no other
      condition) the NTK weight is 1 and training is the same, bit for bit, as with `None`.
      Why the default: on the zoo of user problems at the full default budget (BENCHMARKS.md,
      "NTK weights become the default") they took the interior layer from 4e-3-1.6e-2 to
      2e-4-3e-4 and the localised bump from 3.8e-2-6.7e-2 to 2.5e-3-3.7e-3, non-zero Dirichlet
      data and mixed faces 4-8x lower, and no row rose by more than 1.3x on the mean
      (advection-diffusion at 2e-4, inverse heat at 3e-5). The L-BFGS phase keeps the weights
      the first phase ended with; a line-search optimiser of your own as the first phase
      (`optax.lbfgs()`) sees them move every `every` steps, so pass `balancing=None` there
      for L-BFGS on one fixed loss.
    - `magnitude`: `MagnitudeWeighting()` to divide each term, once, by the size of its data
      (its loss at the zero field); a `balancing` then starts from and multiplies these.
    - `causal`: `CausalWeighting()` for evolution problems.
    """

    residual: float = eqx.field(static=True, default=1.0)
    balancing: GradientBalancing | NTKWeighting | None = NTKWeighting()
    causal: CausalWeighting | None = None
    magnitude: MagnitudeWeighting | None = None

    def __check_init__(self):
        check_float(self.residual, "residual", "Weighting", positive=True)
        for name, cls in [
            ("balancing", (GradientBalancing, NTKWeighting)),
            ("causal", (CausalWeighting,)),
            ("magnitude", (MagnitudeWeighting,)),
        ]:
            value = getattr(self, name)
            if value is not None and not isinstance(value, cls):
                raise TypeError(
                    f"Weighting: `{name}` must be a {' or a '.join(c.__name__ for c in cls)} "
                    f"or None, got {type(value).__name__}"
                )


class Adam(eqx.Module):
    """The default first-phase optimiser: Adam, its learning rate decaying by `decay_rate`
    every `decay_steps` steps (`optax.exponential_decay`). `solve(optimizer=None)` is
    `solve(optimizer=Adam())`; any optax transformation may be passed instead."""

    learning_rate: float = eqx.field(static=True, default=1e-3)
    decay_rate: float = eqx.field(static=True, default=0.9)
    decay_steps: int = eqx.field(static=True, default=1000)

    def __check_init__(self):
        check_float(self.learning_rate, "learning_rate", "Adam", positive=True)
        check_float(self.decay_rate, "decay_rate", "Adam", positive=True)
        check_int(self.decay_steps, "decay_steps", "Adam")

    def transformation(self) -> optax.GradientTransformation:
        # one object per setting, so that repeated `solve` calls share the compiled step
        key = (self.learning_rate, self.decay_rate, self.decay_steps)
        if key not in _ADAM:
            schedule = optax.exponential_decay(
                self.learning_rate, transition_steps=self.decay_steps, decay_rate=self.decay_rate
            )
            _ADAM[key] = optax.adam(schedule)
        return _ADAM[key]


_ADAM: dict[tuple, optax.GradientTransformation] = {}


class LBFGSPhase(eqx.Module):
    """The L-BFGS phase after the first optimiser, on the points the first phase ended with
    (fixed: no resampling, adaptive refinement or balancing in this phase; causal slab weights
    held at the first phase's last).

    - `steps`: its iterations; `"auto"`: five eighths of the first phase's steps after `Adam`
      (the default optimiser: 1250 after `solve`'s default 2000), none after an optax
      transformation of your own.
    - `memory`: pairs `(s, y)` kept (`optax.lbfgs(memory_size=...)`); PyTorch's 100.
    - `max_linesearch`: the zoom line search's most steps in one iteration (10; optax's own is
      20). A search that fails at float32 precision runs to its cap, and late in a phase many
      do: on the zoo (MLP 32 x 4, three seeds) a cap of 20 made 2.7-6.6x the evaluations of a
      cap of 10 where searches failed, the capped phase took 2-4.5x less time there and ended
      lower on nine of ten runs (1% higher on one); elsewhere both caps take the same
      evaluations (BENCHMARKS.md, "The line search capped at 10").
      `max_linesearch=20` is optax's `optax.lbfgs(memory_size=memory)` iterate for iterate.

    Why (BENCHMARKS.md, "What a bare `pinn.solve` gives"): after Adam has stalled, L-BFGS with
    PyTorch's history of 100 pairs keeps lowering the loss (optax's default history of 10
    gains ~3x less in the same steps); on fixed points a step reuses the value and gradient
    its line search computed (`train.fit(reuse_linesearch=True)`), about one evaluation per
    iteration, so an L-BFGS step costs about what an Adam step does. Five eighths: the zoo's
    budget 2000 + 1250 (BENCHMARKS.md, "The defaults since issue 27").
    """

    steps: int | str = eqx.field(static=True, default="auto")
    memory: int = eqx.field(static=True, default=100)
    max_linesearch: int = eqx.field(static=True, default=10)

    def __check_init__(self):
        if self.steps != "auto":
            check_int(self.steps, "steps", "LBFGSPhase (an int or 'auto')", minimum=0)
        check_int(self.memory, "memory", "LBFGSPhase")
        check_int(self.max_linesearch, "max_linesearch", "LBFGSPhase")

    def steps_after(self, first_steps: int, optimizer) -> int:
        """The phase's steps after a first phase of `first_steps` with `optimizer`."""
        if self.steps == "auto":
            return 5 * first_steps // 8 if isinstance(optimizer, Adam) else 0
        return self.steps

    def transformation(self) -> optax.GradientTransformation:
        # one object per memory size, so that repeated `solve` calls share the compiled step
        key = (self.memory, self.max_linesearch)
        if key not in _LBFGS:
            search = optax.scale_by_zoom_linesearch(
                max_linesearch_steps=self.max_linesearch, initial_guess_strategy="one"
            )
            _LBFGS[key] = optax.lbfgs(memory_size=self.memory, linesearch=search)
        return _LBFGS[key]


_LBFGS: dict[tuple[int, int], optax.GradientTransformation] = {}
