"""The PINN run's config (`PINNRunConfig`, its sections) and what it describes: the problem as
trained and the field. The runner itself is `_pinn.py`; this module registers nothing."""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import numpy as np

from .. import pde, pinn, train
from ._config import ProblemConfig, library_default, setting

_mlp = lambda name: library_default(pinn.MLP, name)  # noqa: E731
_pig = lambda name: library_default(pinn.PIG, name)  # noqa: E731
_ff = lambda name: library_default(pinn.FourierFeatures, name)  # noqa: E731


@dataclass
class MLPFieldConfig:
    kind: str = "mlp"
    width: int = setting(_mlp("width"), "positive")
    depth: int = setting(_mlp("depth"), "positive")
    activation: str = _mlp("activation")  # checked by pinn.MLP
    fourier_features: int = setting(0, "non-negative")  # 0: no Fourier-feature embedding
    fourier_scale: float | None = setting(_ff("scale"), "positive")  # None: 1 / sqrt(dim)
    # the scale in cycles per domain side (`lengths=` the sides), as `pinn.MLP(problem.domain)`
    # builds them; false: cycles per unit of x
    fourier_per_side: bool = True
    factorisation: bool = False  # random weight factorisation (mean 1.0, std 0.1)
    hard_initial: bool = False  # the initial value exactly: u0(x) + (t - t0)/(t1 - t0) N(x, t)
    periodic_axes: list[int] = setting([])


@dataclass
class PIGFieldConfig:
    """Physics-Informed Gaussians (`pinn.PIG`): `n_gaussians` per channel feeding a tiny MLP;
    `[field.neighbours]` is `pinn.Neighbours` itself (the cutoff, the largest sigma, the cell
    list's sizes, the dense sum's block; an absent key is the library's default)."""

    kind: str = "pig"
    n_gaussians: int = setting(400, "positive")
    channels: int = setting(_pig("channels"), "positive")
    hidden: int = setting(_pig("hidden"), "positive")
    activation: str = _pig("activation")
    scale: float = setting(_pig("scale"), "positive")  # initial sigma, a fraction of the side
    covariance: str = _pig("covariance")
    init: str = _pig("init")
    weight_std: float = setting(_pig("weight_std"), "positive")
    neighbours: pinn.Neighbours = setting(default_factory=pinn.Neighbours)
    hard_initial: bool = False  # as the MLP's

    # where the settings of the earlier `[field]` section went
    MOVED = {k: f"field.neighbours.{k}" for k in ("cutoff", "max_scale", "block")}


@dataclass
class FieldConfig:
    """The `[field]` section: its settings depend on `kind`."""

    KINDS = {"mlp": MLPFieldConfig, "pig": PIGFieldConfig}


@dataclass
class LBFGSOptimizerConfig:
    """`[optimizer] kind = "lbfgs"`: the first phase is L-BFGS with a zoom line search."""

    kind: str = "lbfgs"
    memory: int = setting(library_default(pinn.LBFGSPhase, "memory"), "positive")
    max_linesearch: int = setting(library_default(pinn.LBFGSPhase, "max_linesearch"), "positive")


@dataclass
class OptimizerConfig:
    """The `[optimizer]` section: `kind = "adam"` is `pinn.Adam` (the default of
    `pinn.solve`), `"lbfgs"` an `optax.lbfgs`."""

    KINDS = {"adam": pinn.Adam, "lbfgs": LBFGSOptimizerConfig}


@dataclass
class TrainConfig:
    steps: int = setting(library_default(pinn.solve, "steps"), "non-negative")
    # "auto", true or false
    hard_dirichlet: bool | str = library_default(pinn.solve, "hard_dirichlet")
    chunk_size: int = setting(library_default(train.Loop, "chunk_size"), "positive")
    # record the relative L2 error on the evaluation grid after every chunk (metrics.json's
    # `error_curve` of each run: [step, wall s, rel. L2]; its time counts in the wall time)
    error_curve: bool = False
    # each seed's `PINNSolution.error_estimate()` in its row: "auto" where the problem has no
    # exact or reference solution (there it is the only number), true or false. It costs about
    # as much as a short run (Poisson 1D's 6000 steps: 14 s beside 33 s on a loaded 2-core CPU)
    error_estimate: bool | str = setting("auto", ("auto", True, False))
    seeds: list[int] = setting([0], "non-empty")
    float64: bool = False

    # where the settings of the earlier `[train]` section went
    MOVED = {
        **{k: f"sampling.{k}" for k in ("n_interior", "n_boundary", "resample_every")},
        "resample_boundary": "sampling.resample_boundary",
        "sampler": "sampling.method",
        "adaptive_every": "sampling.adaptive.every",
        "adaptive_candidates": "sampling.adaptive.n_candidates",
        "adaptive_replace": "sampling.adaptive.n_replace",
        "residual_weight": "weighting.residual",
        "balancing": "weighting.balancing (a table: [weighting.balancing])",
        "causal_chunks": "weighting.causal.n_chunks",
        "causal_tolerance": "weighting.causal.tolerance",
        "lbfgs_steps": "lbfgs.steps",
        "lbfgs_memory": "lbfgs.memory",
        "optimizer": "optimizer.kind",
        "learning_rate": "optimizer.learning_rate",
        "decay_rate": "optimizer.decay_rate",
        "decay_steps": "optimizer.decay_steps",
    }


@dataclass
class MeshConfig:
    data: int = setting(1, "positive")  # devices the collocation points are split over


@dataclass
class PINNRunConfig:
    """A PINN run: `[sampling]`, `[weighting]`, `[optimizer]` and `[lbfgs]` are
    `pinn.Sampling`, `pinn.Weighting`, `pinn.Adam` and `pinn.LBFGSPhase` themselves, so a
    config and the same `pinn.solve` call in Python give the same result."""

    solver: str = "pinn"
    problem: ProblemConfig = setting(default_factory=ProblemConfig)
    field: FieldConfig = setting(default_factory=MLPFieldConfig)  # chosen by `kind`
    optimizer: OptimizerConfig = setting(default_factory=pinn.Adam)  # chosen by `kind`
    sampling: pinn.Sampling = setting(default_factory=pinn.Sampling)
    weighting: pinn.Weighting = setting(default_factory=pinn.Weighting)
    lbfgs: pinn.LBFGSPhase = setting(default_factory=pinn.LBFGSPhase)
    train: TrainConfig = setting(default_factory=TrainConfig)
    mesh: MeshConfig = setting(default_factory=MeshConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return self.problem.name


def build_field(cfg: PINNRunConfig, problem: pde.Problem, key) -> pinn.AbstractField:
    """The field a config describes, initialised from `key`."""
    fc = cfg.field
    kemb, kmlp = jax.random.split(key)
    out = "scalar" if problem.n_outputs == 0 else problem.n_outputs
    if fc.kind == "pig":
        field = pinn.PIG(
            problem.domain,
            fc.n_gaussians,
            channels=fc.channels,
            hidden=fc.hidden,
            activation=fc.activation,
            scale=fc.scale,
            covariance=fc.covariance,
            init=fc.init,
            weight_std=fc.weight_std,
            out_size=out,
            neighbours=fc.neighbours,
            key=kmlp,
        )
        return _hard(field, cfg, problem)
    embedding = None
    if fc.fourier_features and fc.periodic_axes:
        raise ValueError("field: use either `fourier_features` or `periodic_axes`, not both")
    if fc.fourier_features:
        sides = np.subtract(problem.domain.upper, problem.domain.lower)
        embedding = pinn.FourierFeatures(
            problem.dim,
            fc.fourier_features,
            fc.fourier_scale,
            lengths=sides if fc.fourier_per_side else None,
            key=kemb,
        )
    if fc.periodic_axes:
        periods = [problem.domain.upper[a] - problem.domain.lower[a] for a in fc.periodic_axes]
        embedding = pinn.PeriodicEmbedding(problem.dim, fc.periodic_axes, periods)
    field = pinn.MLP(
        problem.dim,
        out,
        fc.width,
        fc.depth,
        fc.activation,
        embedding,
        (1.0, 0.1) if fc.factorisation else None,
        key=kmlp,
    )
    return _hard(field, cfg, problem)


def _hard(field, cfg: PINNRunConfig, problem: pde.Problem) -> pinn.AbstractField:
    """The field with the initial value of the catalogue problem imposed exactly when the
    config asks for it (`problem` is trained without it); zero Dirichlet data is `pinn.solve`'s
    own `hard_dirichlet`."""
    fc = cfg.field
    if fc.hard_initial:
        try:
            full = pde.get_problem(cfg.problem.name, **cfg.problem.args)
            field = pinn.Constrained(field, pinn.initial_transform(full))
        except ValueError as e:
            raise ValueError(f"field.hard_initial: {e}") from None
    return field


def _without_hard_conditions(cfg: PINNRunConfig, problem: pde.Problem) -> pde.Problem:
    """Drop the conditions a hard constraint of the field already satisfies (periodicity along
    embedded axes, the initial value)."""
    hard_initial = cfg.field.hard_initial
    periodic_axes = getattr(cfg.field, "periodic_axes", [])
    keep = []
    for c in problem.conditions:
        if isinstance(c, pde.Periodic) and c.axis in periodic_axes:
            continue
        if hard_initial and isinstance(c, pde.InitialValue):
            continue
        keep.append(c)
    return eqx.tree_at(lambda p: p.conditions, problem, tuple(keep))


def problem_as_trained(cfg: PINNRunConfig) -> pde.Problem:
    """The catalogue problem of `cfg` without the conditions its field imposes exactly."""
    return _without_hard_conditions(cfg, pde.get_problem(cfg.problem.name, **cfg.problem.args))
