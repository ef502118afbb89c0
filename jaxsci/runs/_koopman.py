"""Koopman runs: a system from `jaxsci.dynamics`, trajectories for fitting and held-out
trajectories for ResDMD, a dictionary, an estimator; the eigenvalues with their residuals, the
verified eigenpairs and a pseudospectrum plot. Always float64 (the family needs it)."""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import dynamics as dy
from .. import koopman as kp
from . import _rundir
from ._config import library_default, setting
from ._runner import Outcome, Runner, register

_SYSTEMS = {
    name: obj
    for name, obj in vars(dy).items()
    if inspect.isclass(obj)
    and issubclass(obj, dy.AbstractSystem)
    and not inspect.isabstract(obj)
    and not name.startswith("Abstract")
}


@dataclass
class SystemConfig:
    name: str = "Duffing"
    args: dict[str, Any] = setting({})


@dataclass
class DataConfig:
    n_trajectories: int = setting(200, "positive")
    n_steps: int = setting(20, "positive")
    dt: float = setting(0.3, "positive")
    lower: list[float] = setting([0.65, -0.35], "non-empty")  # box of initial states
    upper: list[float] = setting([1.35, 0.35], "non-empty")
    held_out_trajectories: int = setting(200, "positive")  # ResDMD data, drawn independently
    seed: int = 0


def _box(d, x):
    """legendre, chebyshev: the config's box, or the data's where the config gives none (or
    `[]`, as configs written before said it)."""
    lo = jnp.asarray(d.lower, jnp.float64) if d.lower else jnp.min(x, 0)
    hi = jnp.asarray(d.upper, jnp.float64) if d.upper else jnp.max(x, 0)
    return lo, hi


def _radial_basis(d, x, key):
    return kp.RadialBasis(kp.kmeans_centres(x, d.n_centres, key=key), d.width)


# `[dictionary] kind` -> its dictionary for the data `x` (`key`: radial_basis's k-means)
_DICTIONARIES = {
    "legendre": lambda d, x, key: kp.Legendre(*_box(d, x), d.degree),
    "chebyshev": lambda d, x, key: kp.Chebyshev(*_box(d, x), d.degree),
    "monomials": lambda d, x, key: kp.Monomials.of_degree(x.shape[1], d.degree),
    "fourier": lambda d, x, key: kp.Fourier(x.shape[1], d.n_modes, d.period),
    "radial_basis": _radial_basis,
    "identity": lambda d, x, key: kp.Identity(),
}


def _kernel_edmd(e, dictionary):
    return kp.KernelEDMD(kp.GaussianKernel(e.lengthscale), e.rank, e.n_landmarks, e.method)


# `[estimator] kind` -> its estimator on `dictionary`; each library class checks its options
_ESTIMATORS = {
    "edmd": lambda e, dictionary: kp.EDMD(dictionary, method=e.method, rank=e.rank),
    "dmd": lambda e, dictionary: kp.DMD(rank=e.rank),
    "reduced_rank": lambda e, dictionary: kp.ReducedRank(dictionary, e.rank, e.regularisation),
    "mpedmd": lambda e, dictionary: kp.MPEDMD(dictionary),
    "kernel_edmd": _kernel_edmd,
}


@dataclass
class DictionaryConfig:
    """`[dictionary]`: `kind` and the arguments of that `jaxsci.koopman` dictionary."""

    kind: str = setting(next(iter(_DICTIONARIES)), tuple(_DICTIONARIES))
    degree: int = setting(10, "non-negative")  # monomials, legendre, chebyshev
    lower: list[float] | None = None  # legendre, chebyshev: the box (absent: the data's)
    upper: list[float] | None = None
    n_modes: int = setting(4, "positive")  # fourier
    period: float = setting(library_default(kp.Fourier, "period"), "positive")
    n_centres: int = setting(100, "positive")  # radial_basis: k-means centres of the data
    width: float = setting(0.5, "positive")


@dataclass
class EstimatorConfig:
    """`[estimator]`: `kind` and the arguments of that `jaxsci.koopman` estimator, with the
    library's defaults (`rank`, `n_landmarks` absent: `None`, full rank and the full Gram
    matrix; `reduced_rank` and `kernel_edmd` need a `rank`)."""

    kind: str = setting(next(iter(_ESTIMATORS)), tuple(_ESTIMATORS))
    rank: int | None = setting(library_default(kp.EDMD, "rank"), "positive")
    method: str = library_default(kp.EDMD, "method")  # edmd, kernel_edmd (Nystroem)
    regularisation: float = setting(
        library_default(kp.ReducedRank, "regularisation"), "non-negative"
    )
    lengthscale: float = setting(1.0, "positive")  # kernel_edmd: Gaussian kernel
    n_landmarks: int | None = setting(library_default(kp.KernelEDMD, "n_landmarks"), "positive")

    def __post_init__(self):
        # the library checks the options when the config is read (on a stand-in dictionary)
        if self.kind in _ESTIMATORS:
            _ESTIMATORS[self.kind](self, kp.Identity())


@dataclass
class OutputsConfig:
    epsilon: float = setting(0.1, "positive")  # verified: ResDMD residual below this
    real: list[float] = setting([-1.2, 1.2])  # pseudospectrum window
    imag: list[float] = setting([-1.2, 1.2])
    grid: int = setting(60, "positive")  # points per axis (0 in plot = false runs)
    levels: list[float] = setting([0.01, 0.03, 0.1, 0.3])


@dataclass
class KoopmanRunConfig:
    solver: str = "koopman"
    system: SystemConfig = setting(default_factory=SystemConfig)
    data: DataConfig = setting(default_factory=DataConfig)
    dictionary: DictionaryConfig = setting(default_factory=DictionaryConfig)
    estimator: EstimatorConfig = setting(default_factory=EstimatorConfig)
    outputs: OutputsConfig = setting(default_factory=OutputsConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return f"koopman_{self.system.name.lower()}"


def _system(cfg: KoopmanRunConfig):
    sc = cfg.system
    if sc.name not in _SYSTEMS:
        raise ValueError(
            f"system.name: unknown system {sc.name!r}; expected one of {sorted(_SYSTEMS)}"
        )
    try:
        return _SYSTEMS[sc.name](**sc.args)
    except TypeError as e:
        raise ValueError(f"system.args: {e}") from None


def _data(cfg: KoopmanRunConfig, system):
    """`((x, y) for fitting, (x, y) held out)`, float64."""
    dc = cfg.data
    dim = dy.dimension(system)
    if len(dc.lower) != dim or len(dc.upper) != dim or not np.all(np.less(dc.lower, dc.upper)):
        raise ValueError(
            f"data.lower, data.upper: expected {dim} numbers each with lower < upper for "
            f"{cfg.system.name}, got {dc.lower} and {dc.upper}"
        )
    base = jax.random.key(dc.seed)

    def pairs(k, n):
        k0, kn = jax.random.split(k)
        lo, hi = jnp.asarray(dc.lower, jnp.float64), jnp.asarray(dc.upper, jnp.float64)
        x0 = jax.random.uniform(k0, (n, dim), jnp.float64, lo, hi)
        return dy.snapshot_pairs(dy.trajectories(system, x0, dt=dc.dt, n_steps=dc.n_steps, key=kn))

    return pairs(jax.random.fold_in(base, 0), dc.n_trajectories), pairs(
        jax.random.fold_in(base, 1), dc.held_out_trajectories
    )


def _fit(cfg: KoopmanRunConfig):
    """`(model, held-out data, residual dictionary)` from the config alone."""
    system = _system(cfg)
    (x, y), held = _data(cfg, system)
    key = jax.random.fold_in(jax.random.key(cfg.data.seed), 2)  # radial_basis: k-means
    dictionary = _DICTIONARIES[cfg.dictionary.kind](cfg.dictionary, x, key)
    model = kp.fit(_ESTIMATORS[cfg.estimator.kind](cfg.estimator, dictionary), x, y)
    return model, held


def _check_early(cfg: KoopmanRunConfig):
    """Static checks before any computation, each naming its key."""
    _system(cfg)
    for name in ("real", "imag"):
        v = getattr(cfg.outputs, name)
        if len(v) != 2 or not v[0] < v[1]:
            raise ValueError(f"outputs.{name}: expected [low, high] with low < high, got {v}")


def run(cfg: KoopmanRunConfig, out_dir: str, progress: bool) -> Outcome:
    _check_early(cfg)
    oc = cfg.outputs
    with jax.enable_x64(True):
        t0 = time.perf_counter()
        model, (xv, yv) = _fit(cfg)
        model = jax.block_until_ready(model)
        fit_s = time.perf_counter() - t0
        _rundir.save_model(_rundir.model_path(out_dir, cfg.data.seed), model)
        data = kp.residual_data(model.dictionary, xv, yv)
        res = np.asarray(kp.residuals(model, data))
        lam = np.asarray(model.eigenvalues)
        order = np.argsort(res)
        verified, _, vres = kp.verified_eigenpairs(model, data, epsilon=oc.epsilon)
        metrics = {
            "solver": "koopman",
            "system": cfg.system.name,
            "n_features": int(model.matrix.shape[0]),
            "n_snapshots": int(cfg.data.n_trajectories * cfg.data.n_steps),
            "fit_s": fit_s,
            "eigenvalues": [
                {"real": float(lam[i].real), "imag": float(lam[i].imag), "residual": float(res[i])}
                for i in order
            ],
            "verified": [
                {"real": float(v.real), "imag": float(v.imag), "residual": float(r)}
                for v, r in zip(verified, vres, strict=True)
            ],
            "epsilon": oc.epsilon,
        }
        outputs = {}
        if cfg.plot:
            t1 = time.perf_counter()
            re, im = np.meshgrid(np.linspace(*oc.real, oc.grid), np.linspace(*oc.imag, oc.grid))
            tau = np.asarray(kp.pseudospectrum(data, jnp.asarray(re + 1j * im)))
            metrics["pseudospectrum_s"] = time.perf_counter() - t1
            outputs["pseudospectrum"] = _plot_spectrum(out_dir, cfg, re, im, tau, lam, res)
    best = ", ".join(f"{v['real']:+.4f}{v['imag']:+.4f}i" for v in metrics["verified"][:4])
    summary = (
        f"{cfg.system.name}: {len(metrics['verified'])} of {len(lam)} eigenvalues verified "
        f"(residual < {oc.epsilon:g}) in {fit_s:.2f} s; leading: {best or 'none'}"
    )
    return Outcome(metrics, outputs, summary)


def _plot_spectrum(out_dir, cfg, re, im, tau, lam, res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    cs = ax.contour(re, im, tau, levels=sorted(cfg.outputs.levels), cmap="viridis")
    ax.clabel(cs, fontsize=7)
    sc = ax.scatter(lam.real, lam.imag, c=np.log10(np.maximum(res, 1e-16)), s=14, cmap="coolwarm")
    fig.colorbar(sc, ax=ax, label="log10 residual")
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(t), np.sin(t), "k:", lw=0.7)
    ax.set_aspect("equal")
    ax.set_xlabel("Re z")
    ax.set_ylabel("Im z")
    ax.set_title(f"{cfg.system.name}: eigenvalues and pseudospectrum contours")
    fig.tight_layout()
    path = os.path.join(out_dir, "pseudospectrum.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load(cfg: KoopmanRunConfig, run_dir: str, seed: int):
    """The fitted Koopman model (a `KoopmanModel`, float64)."""
    _check_early(cfg)
    with jax.enable_x64(True):
        like = eqx.filter_eval_shape(lambda: _fit(cfg)[0])
        return _rundir.load_model(_rundir.model_path(run_dir, seed), like)


@register
class KoopmanRunner(Runner):
    name = "koopman"
    config = KoopmanRunConfig
    description = "a Koopman estimator with ResDMD residuals and pseudospectrum on a system"

    run = staticmethod(run)
    load = staticmethod(load)

    def seeds(self, cfg):
        return [cfg.data.seed]

    def catalogue(self):
        return [
            'systems (solver = "koopman", [system] name = ...):',
            "  " + ", ".join(sorted(_SYSTEMS)),
        ]
