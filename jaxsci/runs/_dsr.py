"""DSR runs: a dysts system's standardised trajectory, a shPLRNN or AL-RNN trained on it by
generalised or sparse teacher forcing (`jaxsci.dsr.reconstruct`), once per seed; the final
model's D_stsp and D_H on a long free run against held-out data, and with
`eval.forecast_horizon` its sMAPE and valid prediction time from the end of the training data."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .. import dsr, dynamics
from ..train import Loop, checkpoint_tags
from . import _rundir
from ._config import library_default, setting
from ._runner import Outcome, Runner, register

_reconstruct = lambda name: library_default(dsr.reconstruct, name)  # noqa: E731


@dataclass
class DSRSystemConfig:
    name: str = setting("Lorenz")  # a dysts flow or map (jaxsci.dynamics.chaotic_systems)
    n_train: int = setting(100000, "positive")  # training points
    n_test: int = setting(100000, "positive")  # held-out points the free run is scored on
    pts_per_period: int = setting(
        library_default(dynamics.chaotic_trajectories, "pts_per_period"), "positive"
    )
    transient: int = setting(1000, "non-negative")  # points dropped from the start
    # the user's own data instead of a simulated trajectory: `.npy` files of shape
    # (time, observed), used as they are (standardise them first); `name` then only names
    # the system. `eval.forecast_horizon` scores a forecast from the end of the training data
    # against the start of the test data: meaningful only where the test file continues the
    # training file (VPT then in steps: the files' time step is not known here)
    train_file: str = ""
    test_file: str = ""


@dataclass
class DSRModelConfig:
    """`[model]`: `kind` and the arguments of that `jaxsci.dsr` model."""

    kind: str = setting("shplrnn", ("shplrnn", "alrnn"))  # dsr.ShallowPLRNN, dsr.ALRNN
    latent_size: int = setting(3, "positive")
    hidden_size: int = setting(100, "positive")  # shplrnn
    clipped: bool = library_default(dsr.ShallowPLRNN, "clipped")  # shplrnn
    n_relu: int = setting(2, "non-negative")  # alrnn


@dataclass
class ForcingConfig:
    """The `[forcing]` section is the forcing object `dsr.reconstruct` takes, chosen by `kind`:
    `"gtf"` is `dsr.GeneralizedTeacherForcing` (`alpha` not given: adaptive), `"sparse"`
    `dsr.SparseTeacherForcing` (`interval`); the library's defaults, checked by the library."""

    KINDS = {"gtf": dsr.GeneralizedTeacherForcing, "sparse": dsr.SparseTeacherForcing}


@dataclass
class DSRTrainConfig:
    """`[train]`: the arguments of `dsr.reconstruct`, with its defaults (`steps` has none);
    `chunk_size` is `train.Loop`'s."""

    steps: int = setting(20000, "positive")
    sequence_length: int = setting(_reconstruct("sequence_length"), "positive")
    batch_size: int = setting(_reconstruct("batch_size"), "positive")
    learning_rate: float = setting(_reconstruct("learning_rate"), "positive")
    final_learning_rate: float = setting(_reconstruct("final_learning_rate"), "positive")
    decay_interval: int | None = setting(_reconstruct("decay_interval"), "positive")
    noise: float = setting(_reconstruct("noise"), "non-negative")
    regularization: float = setting(_reconstruct("regularization"), "non-negative")
    chunk_size: int = setting(library_default(Loop, "chunk_size"), "positive")
    seeds: list[int] = setting([0], "non-empty")

    # where the settings of the earlier `[train]` section went
    MOVED = {
        "batch": "train.batch_size",
        "forcing": "forcing.kind",
        "alpha": "forcing.alpha",
        "interval": "forcing.interval",
    }


@dataclass
class DSREvalConfig:
    """`[eval]`: `n_bins` of `dsr.state_space_divergence`, `smoothing` (bins) of
    `dsr.power_spectrum_distance`, and the free-run steps discarded before scoring;
    `forecast_horizon` > 0 also scores a forecast from the end of the training data
    (`forecast_warmup` teacher-forced training points, then the free run) over that many test
    points by sMAPE and the valid prediction time (`vpt_threshold`, in Lyapunov times with
    dysts' `maximum_lyapunov_estimated`)."""

    n_bins: int = setting(library_default(dsr.state_space_divergence, "n_bins"), "positive")
    smoothing: float = setting(
        library_default(dsr.power_spectrum_distance, "smoothing"), "non-negative"
    )
    transient: int = setting(1000, "non-negative")
    forecast_horizon: int = setting(0, "non-negative")  # 0: no forecast scores
    forecast_warmup: int = setting(100, "positive")
    vpt_threshold: float = setting(
        library_default(dsr.valid_prediction_time, "threshold"), "positive"
    )


@dataclass
class DSRRunConfig:
    solver: str = "dsr"
    system: DSRSystemConfig = setting(default_factory=DSRSystemConfig)
    model: DSRModelConfig = setting(default_factory=DSRModelConfig)
    forcing: ForcingConfig = setting(default_factory=dsr.GeneralizedTeacherForcing)
    train: DSRTrainConfig = setting(default_factory=DSRTrainConfig)
    eval: DSREvalConfig = setting(default_factory=DSREvalConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return f"dsr_{self.model.kind}_{self.system.name}"


def _system(cfg: DSRRunConfig):
    name = cfg.system.name
    if name in dynamics.chaotic_systems("flow"):
        return dynamics.ChaoticFlow(name)
    if name in dynamics.chaotic_systems("map"):
        return dynamics.ChaoticMap(name)
    raise ValueError(
        f"system.name: unknown system {name!r}; expected a dysts flow or map "
        "(jaxsci.dynamics.chaotic_systems)"
    )


def _load_file(path: str, name: str):
    if not os.path.isfile(path):
        raise ValueError(f"system.{name}: no such file {path!r} (a .npy of shape (time, observed))")
    xs = np.load(path)
    if xs.ndim != 2 or not np.all(np.isfinite(xs)):
        raise ValueError(
            f"system.{name}: {path!r} must hold a finite array of shape (time, observed), got "
            f"shape {xs.shape}"
        )
    return jnp.asarray(xs, jnp.float32)


def data(cfg: DSRRunConfig):
    """`(train, test)`: one standardised trajectory split in two, float32; or the user's
    `system.train_file` and `system.test_file`."""
    sc = cfg.system
    if sc.train_file or sc.test_file:
        if not (sc.train_file and sc.test_file):
            raise ValueError("system.train_file, system.test_file: give both or neither")
        train, test = _load_file(sc.train_file, "train_file"), _load_file(sc.test_file, "test_file")
        if train.shape[1] != test.shape[1]:
            raise ValueError(
                f"system.test_file: {test.shape[1]} observed variables, system.train_file has "
                f"{train.shape[1]}"
            )
        return train, test
    xs = dynamics.chaotic_trajectories(
        _system(cfg),
        sc.transient + sc.n_train + sc.n_test,
        pts_per_period=sc.pts_per_period,
        standardize=True,
    )[0, sc.transient :]
    xs = jnp.asarray(xs, jnp.float32)
    return xs[: sc.n_train], xs[sc.n_train :]


def _model(cfg: DSRRunConfig, n_observed: int, key):
    mc = cfg.model
    if mc.kind == "alrnn":
        return dsr.ALRNN(n_observed, mc.latent_size, mc.n_relu, key=key)
    return dsr.ShallowPLRNN(n_observed, mc.latent_size, mc.hidden_size, clipped=mc.clipped, key=key)


def _lyapunov_time_per_step(cfg: DSRRunConfig) -> float | None:
    """Lyapunov times per sample (`data`'s grid: dysts' `linspace(0, period n / pts, n)`)."""
    if cfg.system.train_file:  # the user's data: their time step is unknown here
        return None
    system, sc = _system(cfg), cfg.system
    if system.maximum_lyapunov is None:
        return None
    if isinstance(system, dynamics.ChaoticMap):
        return float(system.maximum_lyapunov)
    n = sc.transient + sc.n_train + sc.n_test
    return system.period * n / (sc.pts_per_period * (n - 1)) * system.maximum_lyapunov


def forecast_scores(cfg: DSRRunConfig, model, train, test) -> dict:
    """sMAPE and VPT (steps, and Lyapunov times) of `forced_forecast` from the end of `train`
    over the first `eval.forecast_horizon` points of `test` (which follows `train`)."""
    ec = cfg.eval
    h = ec.forecast_horizon
    if h > test.shape[0]:
        raise ValueError(
            f"eval.forecast_horizon: {h} exceeds the {test.shape[0]} test points (system.n_test)"
        )
    if ec.forecast_warmup > train.shape[0]:
        raise ValueError(
            f"eval.forecast_warmup: {ec.forecast_warmup} exceeds the {train.shape[0]} training "
            "points (system.n_train)"
        )
    pred = dsr.forced_forecast(model, train[-ec.forecast_warmup :], h)
    truth = test[:h]
    finite = bool(jnp.all(jnp.isfinite(pred)))
    smape = float(dsr.smape(truth, pred)) if finite else None
    steps = float(dsr.valid_prediction_time(truth, pred, threshold=ec.vpt_threshold))
    if not finite:  # a diverged forecast is valid until its first non-finite point
        steps = min(steps, float(jnp.argmin(jnp.all(jnp.isfinite(pred), axis=1))))
    per_step = _lyapunov_time_per_step(cfg)
    return {
        "smape": smape,
        "vpt_steps": steps,
        "vpt": None if per_step is None else steps * per_step,
    }


def evaluate(cfg: DSRRunConfig, model, test) -> dict:
    """D_stsp and D_H of a free run from the first test point (after `eval.transient` steps)
    against the test trajectory."""
    ec = cfg.eval
    n = test.shape[0]
    gen = model.generate(test[0], ec.transient + n)[ec.transient :]
    dstsp = float(dsr.state_space_divergence(test, gen, n_bins=ec.n_bins))
    dh = float(dsr.power_spectrum_distance(test, gen, smoothing=ec.smoothing))
    # None (JSON null) where a free run diverged or collapsed to a constant (zero variance)
    return {k: (v if np.isfinite(v) else None) for k, v in (("d_stsp", dstsp), ("d_h", dh))}


def run(cfg: DSRRunConfig, out_dir: str, progress: bool) -> Outcome:
    train_x, test_x = data(cfg)
    tc = cfg.train
    runs, histories = [], {}
    for seed in tc.seeds:
        row = _rundir.finished_row(out_dir, seed)  # a resumed run keeps finished seeds
        if row is not None:
            runs.append(row)
            histories[seed] = _rundir.read_history(out_dir, seed)
            continue
        k_model, k_run = jr.split(jr.key(seed))
        t0 = time.perf_counter()
        with checkpoint_tags(seed=seed):
            rec = dsr.reconstruct(
                _model(cfg, train_x.shape[1], k_model),
                train_x,
                forcing=cfg.forcing,
                steps=tc.steps,
                key=k_run,
                sequence_length=tc.sequence_length,
                batch_size=tc.batch_size,
                learning_rate=tc.learning_rate,
                final_learning_rate=tc.final_learning_rate,
                decay_interval=tc.decay_interval,
                noise=tc.noise,
                regularization=tc.regularization,
                loop=Loop(
                    chunk_size=tc.chunk_size,
                    progress=progress,
                    checkpoint=os.path.join(out_dir, f"checkpoint_seed{seed}.eqx"),
                    resume=True,  # from the checkpoint a stopped run left (a fresh run has none)
                ),
                throw=False,
            )
        wall = time.perf_counter() - t0
        forecast = (
            forecast_scores(cfg, rec.model, train_x, test_x)
            if cfg.eval.forecast_horizon > 0
            else {}
        )
        row = {
            "seed": seed,
            **evaluate(cfg, rec.model, test_x),
            **{f"forecast_{k}": v for k, v in forecast.items()},
            "wall_s": wall,
            "final_loss": float(rec.history["loss"][-1]),
            "final_alpha": float(rec.history["alpha"][-1]),
            "steps": rec.stats["steps"],
            "steps_per_s": rec.stats["steps_per_s"],
            "result": rec.result.name,
            "failed_step": rec.stats["failed_step"],
        }
        runs.append(row)
        histories[seed] = rec.history
        _rundir.save_model(_rundir.model_path(out_dir, seed), rec.model)
        _rundir.write_history(out_dir, seed, rec.history)
        _rundir.write_row(out_dir, seed, row)

    def stat(key):
        vals = [r[key] for r in runs if r[key] is not None]
        return (float(np.mean(vals)), float(np.std(vals))) if vals else (None, None)

    (dstsp, dstsp_sd), (dh, dh_sd) = stat("d_stsp"), stat("d_h")
    forecast = {}
    if cfg.eval.forecast_horizon > 0:
        for k in ("smape", "vpt"):
            forecast[f"forecast_{k}"], forecast[f"forecast_{k}_std"] = stat(f"forecast_{k}")
    metrics = {
        "solver": "dsr",
        "system": cfg.system.name,
        "model": cfg.model.kind,
        "forcing": next(k for k, c in ForcingConfig.KINDS.items() if type(cfg.forcing) is c),
        "d_stsp": dstsp,
        "d_stsp_std": dstsp_sd,
        "d_h": dh,
        "d_h_std": dh_sd,
        **forecast,
        "wall_s": float(np.mean([r["wall_s"] for r in runs])),
        "runs": runs,
    }
    outputs = {
        "learning_curve": _rundir.plot_learning_curves(out_dir, histories, cfg.name)
        if cfg.plot
        else None
    }
    summary = (
        f"{cfg.name}: D_stsp {dstsp} (+- {dstsp_sd}), D_H {dh} (+- {dh_sd})"
        + (
            f", forecast sMAPE {forecast['forecast_smape']}, VPT {forecast['forecast_vpt']} "
            "Lyapunov times"
            if forecast
            else ""
        )
        + f" over {len(runs)} seed(s), wall {metrics['wall_s']:.1f} s per seed"
    )
    return Outcome(metrics, outputs, summary, all(r["failed_step"] is None for r in runs))


def load(cfg: DSRRunConfig, run_dir: str, seed: int):
    """The trained model of `seed`."""
    sc = cfg.system
    n_observed = (
        np.load(sc.train_file, mmap_mode="r").shape[1] if sc.train_file else _system(cfg).dim
    )
    like = _model(cfg, n_observed, jr.split(jr.key(seed))[0])
    return _rundir.load_model(_rundir.model_path(run_dir, seed), like)


@register
class DSRRunner(Runner):
    name = "dsr"
    config = DSRRunConfig
    description = "a shPLRNN / AL-RNN trained by teacher forcing on a dysts system (D_stsp, D_H)"

    run = staticmethod(run)
    load = staticmethod(load)

    def catalogue(self):
        return [
            'systems (solver = "dsr", [system] name = ...): '
            + ", ".join(dynamics.chaotic_systems("flow") + dynamics.chaotic_systems("map"))
        ]
