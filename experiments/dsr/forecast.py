"""One forecasting benchmark for every family that forecasts, over dysts flows (issue 26).

    python -m experiments.dsr.forecast                 # the benchmark (writes as it goes)
    python -m experiments.dsr.forecast --table         # the markdown tables from the JSON
    python -m experiments.dsr.forecast --merge prefix_vpt s4d_steps5000 rnn_steps20000
        # one table of several result files: a later file's model replaces an earlier one's

Protocol (Gilpin 2021, dysts, the "fine" granularity): per system one trajectory from dysts'
initial condition, sampled at 100 points per dominant period (`chaotic_trajectories`) and
standardised by dysts' metadata; the first `--train-periods` (10) periods, 1000 points, are
the training data of every model; the forecast starts at the end of the training data.
sMAPE is over the next `--horizon` (50) points (dysts' horizon); the valid prediction time
(VPT) is over a longer forecast, `--vpt-horizon` points, so that it is not capped at half a
period: the first step whose pointwise sMAPE exceeds 30 (Gilpin 2023), in Lyapunov times
`steps * dt * lambda_max` (`dt` the sampling step, period/100 up to dysts' grid), with
dysts' `maximum_lyapunov_estimated` (for Lorenz 0.892, within 1.5% of `lyapunov_spectrum`'s
0.905; the other field, 1.09, is the one that is off). For Lorenz-63, Rossler and Lorenz-96
every model also free-runs `--free-run` points from the end of the training data, scored by
D_stsp (30 bins) and D_H (smoothing 20) against the true continuation.

Models (all on the same standardised training points):

- `last`: repeat the last training value; `mean`: the training mean (naive baselines).
- `edmd`: Hankel EDMD, `koopman.EDMD(TimeDelays(delays, constant=True))` on rows of
  `delays` consecutive states, forecast by the Koopman model's spectral predictor
  `x_n = Re sum_j lambda_j^n phi_j(h) xi_j` from the last Hankel row, read off the newest
  state of the predicted row (float64).
- `kedmd`: kernel EDMD on the same Hankel rows, Gaussian kernel with the median pairwise
  distance as length scale, `rank` leading modes, forecast the same way (float64).
- `s4d`: `ssm.SequenceModel` (S4D layers) trained one step ahead on random windows (the
  increment `x_{t+1} - x_t` is the output), 3 seeds as one vmapped ensemble through
  `train.fit`; forecast in its recurrent mode: warm-up on the last `window` training points,
  then autoregressive.
- `shplrnn`: clipped shPLRNN (M = dim, H = 50) trained by adaptive GTF; `alrnn`: AL-RNN
  (M = 20, P = 2) trained by sparse teacher forcing (interval 16). Both with
  `dsr.reconstruct`'s loss (`dsr.forced_predictions` on random windows), forcing, adaptive
  alpha and optimiser (RAdam, exponential decay), but through `train.fit(ensemble=True)`:
  `reconstruct` trains one seed per call and compiles anew at every call (15-25 s each on
  this loaded CPU), which 20 systems x 3 seeds x 2 models cannot afford. Forecast: identity
  teacher forcing along the last `window` training points (which sets the unobserved
  units), then the free run.

Trained models: 3 seeds; the per-system score is the mean over seeds, the table gives the
median over systems. `wall_s` is the time to fit all seeds of a model on one system and
forecast, compilation included (upper bounds: the 2-core machine is shared).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from experiments._harness import result_path, write_result
from jaxsci import dsr, dynamics, koopman, ssm, train
from jaxsci.dsr import forced_forecast as rnn_forecast
from jaxsci.dsr._training import _product_bound_alpha

NAME = "dsr/forecast"
MODELS = ("last", "mean", "edmd", "kedmd", "s4d", "shplrnn", "alrnn")
TRAINED = ("s4d", "shplrnn", "alrnn")
FREE_RUN_SYSTEMS = ("Lorenz", "Rossler", "Lorenz96")
VPT_THRESHOLD = 30.0
PTS_PER_PERIOD = 100


def benchmark_systems(n: int) -> list[str]:
    """Lorenz, Rossler and Lorenz96, then the other flows of `dynamics.chaotic_systems("flow")`
    in its (alphabetical) order, `n` in all; none is skipped (every flow has dysts' mean/std)."""
    others = [s for s in dynamics.chaotic_systems("flow") if s not in FREE_RUN_SYSTEMS]
    return [*FREE_RUN_SYSTEMS, *others][:n]


def system_data(name: str, n_train: int, n_after: int):
    """`(train, future)`: one standardised float64 trajectory split at `n_train`."""
    system = dynamics.ChaoticFlow(name)
    xs = dynamics.chaotic_trajectories(
        system,
        n_train + n_after,
        initial_states=jnp.asarray(system.initial_condition, jnp.float64)[None],
        pts_per_period=PTS_PER_PERIOD,
        standardize=True,
    )[0]
    return np.asarray(xs[:n_train]), np.asarray(xs[n_train:])


# --- naive baselines -------------------------------------------------------------------------


def forecast_last(train_x, n):
    return np.repeat(train_x[-1:], n, axis=0)


def forecast_mean(train_x, n):
    return np.repeat(train_x.mean(0, keepdims=True), n, axis=0)


# --- Koopman: Hankel EDMD and kernel EDMD ----------------------------------------------------


def _hankel_pairs(train_x, delays):
    rows = np.asarray(dynamics.hankel(jnp.asarray(train_x), delays))
    return rows[:-1], rows[1:], rows[-1]


def koopman_forecast(model, last_row, n, dim):
    """The spectral predictor from the last Hankel row; the newest state of each row."""
    rows = model.predict(jnp.asarray(last_row), n)[1:]
    return np.asarray(rows[:, -dim:])


def fit_edmd(train_x, delays):
    x, y, last = _hankel_pairs(train_x, delays)
    model = koopman.fit(koopman.EDMD(koopman.TimeDelays(delays, constant=True)), x, y)
    return model, last


def fit_kedmd(train_x, delays, rank):
    x, y, last = _hankel_pairs(train_x, delays)
    sub = x[:: max(1, x.shape[0] // 300)]
    d2 = np.sum((sub[:, None] - sub[None]) ** 2, -1)
    lengthscale = float(np.sqrt(np.median(d2[np.triu_indices(sub.shape[0], 1)])))
    est = koopman.KernelEDMD(koopman.GaussianKernel(lengthscale), rank=rank)
    return koopman.fit(est, x, y), last


# --- SSM: S4D sequence model, one step ahead -------------------------------------------------


def _float32(tree):
    return jax.tree.map(lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, tree)


class _OneStepLoss(eqx.Module):
    """Mean squared error of the predicted increments on `batch` random windows."""

    window: int = eqx.field(static=True)
    batch: int = eqx.field(static=True)

    def __call__(self, model, extra, key):
        data = extra["data"]
        start = jr.randint(key, (self.batch,), 0, data.shape[0] - self.window)
        idx = start[:, None] + jnp.arange(self.window + 1)[None]
        w = data[idx]
        pred = jax.vmap(model)(w[:, :-1])
        return jnp.mean((pred - (w[:, 1:] - w[:, :-1])) ** 2), {}


def ssm_forecast(model, warmup, n):
    """Recurrent mode: the warm-up states in, then the model's own increments."""
    recs = model.recurrence()
    state = model.init_state(recs)

    def feed(state, x):
        state, dx = model.step(recs, state, x)
        return state, x + dx

    state, preds = jax.lax.scan(feed, state, warmup)

    def free(carry, _):
        state, x = carry
        state, dx = model.step(recs, state, x)
        return (state, x + dx), x

    return jax.lax.scan(free, (state, preds[-1]), None, length=n)[1]


class SSMTrainer:
    """One `train.fit` ensemble per call; the loss and optimiser objects are reused, so systems
    of the same dimension share one compilation."""

    def __init__(self, args):
        self.args = args
        self.loss = _OneStepLoss(args.window, args.batch)
        self.optimizer = optax.adam(optax.cosine_decay_schedule(args.ssm_lr, args.steps, 0.05))
        self.forecast = eqx.filter_jit(eqx.filter_vmap(ssm_forecast, in_axes=(0, None, None)))

    def init(self, dim, key):
        a = self.args
        model = ssm.SequenceModel(
            dim, dim, a.ssm_hidden, a.ssm_depth, layer="s4d", state_size=a.ssm_state, key=key
        )
        return _float32(model)

    def __call__(self, train_x, seeds, n):
        dim = train_x.shape[1]
        keys = jnp.stack([jr.key_data(jr.split(jr.key(s))[0]) for s in seeds])
        models = eqx.filter_vmap(lambda k: self.init(dim, jr.wrap_key_data(k)))(keys)
        data = jnp.asarray(train_x, jnp.float32)
        run_keys = jnp.stack([jr.key_data(jr.split(jr.key(s))[1]) for s in seeds])
        res = train.fit(
            self.loss,
            models,
            self.optimizer,
            steps=self.args.steps,
            key=jr.wrap_key_data(run_keys),
            extra={"data": jnp.broadcast_to(data, (len(seeds), *data.shape))},
            loop=train.Loop(chunk_size=self.args.steps),
            ensemble=True,
            throw=False,
        )
        preds = self.forecast(res.params, data[-self.args.window :], n)
        return np.asarray(preds, np.float64), res


# --- DSR: shPLRNN + GTF, AL-RNN + sparse TF ---------------------------------------------------


class _ForcedLoss(eqx.Module):
    """`dsr.reconstruct`'s loss: the mean squared error of `dsr.forced_predictions` on
    `batch` random windows of `sequence_length + 1` points (no forcing noise)."""

    forcing: dsr.AbstractForcing
    sequence_length: int = eqx.field(static=True)
    batch: int = eqx.field(static=True)

    def windows(self, data, key):
        start = jr.randint(key, (self.batch,), 0, data.shape[0] - self.sequence_length)
        return data[start[:, None] + jnp.arange(self.sequence_length + 1)[None]]

    def __call__(self, model, extra, key):
        w = self.windows(extra["data"], key)
        f = lambda v: dsr.forced_predictions(model, v, self.forcing, extra["alpha"])  # noqa: E731
        return jnp.mean((jax.vmap(f)(w) - w[:, 1:]) ** 2), {"alpha": extra["alpha"]}


class _AdaptiveAlpha(eqx.Module):
    """GTF's adaptive alpha as `dsr.reconstruct` computes it (its `_AnnealAlpha`, private):
    every `update_interval` steps the estimate `max(0, 1 - 1/G)`, `G` the largest over a batch
    of windows of the geometric mean of the Jacobian's spectral norm at the data states; the
    estimate replaces a smaller alpha, else alpha decays towards it."""

    loss: _ForcedLoss

    def __call__(self, model, extra, key, step):
        f = self.loss.forcing
        model = jax.lax.stop_gradient(model)

        def update(alpha):
            w = self.loss.windows(extra["data"], key)
            est = _product_bound_alpha(model, w).astype(alpha.dtype)
            return jnp.where(est > alpha, est, f.decay * alpha + (1 - f.decay) * est)

        alpha = jax.lax.cond(
            (step + 1) % f.update_interval == 0, update, lambda a: a, extra["alpha"]
        )
        return {**extra, "alpha": alpha}


class RNNTrainer:
    """3 seeds of one DSR model as one `train.fit` ensemble: `dsr.reconstruct`'s loss,
    forcing and optimiser (RAdam, exponential decay), with the loss and optimiser objects
    reused so that systems of the same dimension share one compilation (`dsr.reconstruct`
    builds a new optimiser per call and has no ensemble mode: one compilation per seed and
    system, 15-25 s each on this loaded CPU)."""

    def __init__(self, kind, args):
        self.kind, self.args = kind, args
        if kind == "shplrnn":
            forcing = dsr.GeneralizedTeacherForcing()  # adaptive alpha
        else:
            forcing = dsr.SparseTeacherForcing(args.interval)
        self.loss = _ForcedLoss(forcing, args.sequence_length, args.batch)
        self.update = _AdaptiveAlpha(self.loss) if kind == "shplrnn" else None
        decay = args.rnn_final_lr / args.rnn_lr
        self.optimizer = optax.radam(optax.exponential_decay(args.rnn_lr, args.steps, decay))
        self.forecast = eqx.filter_jit(eqx.filter_vmap(rnn_forecast, in_axes=(0, None, None)))

    def init(self, dim, key):
        a = self.args
        if self.kind == "shplrnn":
            return dsr.ShallowPLRNN(dim, dim, a.hidden, clipped=True, key=key)
        return dsr.ALRNN(dim, a.alrnn_latent, a.alrnn_relu, key=key)

    def __call__(self, train_x, seeds, n):
        dim = train_x.shape[1]
        keys = [jr.split(jr.key(s)) for s in seeds]
        models = eqx.filter_vmap(lambda k: self.init(dim, jr.wrap_key_data(k)))(
            jnp.stack([jr.key_data(k[0]) for k in keys])
        )
        data = jnp.asarray(train_x, jnp.float32)
        m = len(seeds)
        res = train.fit(
            self.loss,
            models,
            self.optimizer,
            steps=self.args.steps,
            key=jr.wrap_key_data(jnp.stack([jr.key_data(k[1]) for k in keys])),
            extra={
                "data": jnp.broadcast_to(data, (m, *data.shape)),
                "alpha": jnp.ones((m,), jnp.float32),
            },
            update_extra=self.update,
            loop=train.Loop(chunk_size=self.args.steps),
            ensemble=True,
            throw=False,
        )
        preds = self.forecast(res.params, data[-self.args.window :], n)
        return np.asarray(preds, np.float64), res


# --- scoring ---------------------------------------------------------------------------------


def _finite(v):
    v = float(v)
    return v if math.isfinite(v) else None


def scores(pred, future, args, lyap_time_per_step):
    """sMAPE over the first `horizon` points, VPT (Lyapunov times) over `vpt_horizon`."""
    pred = np.asarray(pred, np.float64)
    h = args.horizon
    smape = _finite(dsr.smape(jnp.asarray(future[:h]), jnp.asarray(pred[:h])))
    bad = ~np.all(np.isfinite(pred[: args.vpt_horizon]), axis=1)
    pred = np.where(bad[:, None], 1e30, pred[: args.vpt_horizon])
    steps = float(
        dsr.valid_prediction_time(
            jnp.asarray(future[: args.vpt_horizon]), jnp.asarray(pred), threshold=VPT_THRESHOLD
        )
    )
    return {"smape": smape if smape is not None else 200.0, "vpt": steps * lyap_time_per_step}


def free_run_scores(pred, future):
    pred, future = np.asarray(pred, np.float64), np.asarray(future, np.float64)
    if not np.all(np.isfinite(pred)):
        return {"d_stsp": None, "d_h": None}
    x_true, x_gen = jnp.asarray(future), jnp.asarray(pred)
    # D_H standardises each series: undefined for a coordinate that does not move (a constant
    # forecast gives rounding noise, not a spectrum)
    constant = bool(np.any(np.ptp(pred, axis=0) <= 1e-12 * (1 + np.abs(pred).max())))
    return {
        "d_stsp": _finite(dsr.state_space_divergence(x_true, x_gen, n_bins=30)),
        "d_h": None
        if constant
        else _finite(dsr.power_spectrum_distance(x_true, x_gen, smoothing=20.0)),
    }


def floor(args) -> dict:
    """What a perfect model scores on a free run: D_stsp and D_H between two consecutive true
    segments of `free_run` points after the training points (its own trajectory of
    `n_train + 2 free_run` points, so on a grid 1e-4 apart from the benchmark's)."""
    n_train = args.train_periods * PTS_PER_PERIOD
    out = {}
    for name in FREE_RUN_SYSTEMS:
        _, future = system_data(name, n_train, 2 * args.free_run)
        out[name] = free_run_scores(future[args.free_run :], future[: args.free_run])
        print(name, out[name], flush=True)
    return out


def run_system(name, args, trainers):
    system = dynamics.ChaoticFlow(name)
    n_train = args.train_periods * PTS_PER_PERIOD
    free = name in FREE_RUN_SYSTEMS and args.free_run > 0
    # the same trajectory length for every system, so that the training points do not depend
    # on whether a system is free-run (dysts' grid spacing depends on the length)
    n_out = max(args.vpt_horizon, args.free_run)
    train_x, future = system_data(name, n_train, n_out)
    dim = train_x.shape[1]
    n = n_train + n_out
    lt = system.period * n / (PTS_PER_PERIOD * (n - 1)) * system.maximum_lyapunov
    rows = []
    for model in args.models:
        t0 = time.perf_counter()
        seeds = args.seeds if model in TRAINED else [None]
        extra = {}
        if model == "last":
            preds = [forecast_last(train_x, n_out)]
        elif model == "mean":
            preds = [forecast_mean(train_x, n_out)]
        elif model == "edmd":
            km, last = fit_edmd(train_x, args.delays)
            preds = [koopman_forecast(km, last, n_out, dim)]
        elif model == "kedmd":
            km, last = fit_kedmd(train_x, args.delays, args.rank)
            preds = [koopman_forecast(km, last, n_out, dim)]
        elif model == "s4d":
            out, res = trainers["s4d"](train_x, args.seeds, n_out)
            preds = list(out)
            extra = {"final_loss": np.asarray(res.history["loss"])[:, -1].tolist()}
        else:
            out, res = trainers[model](train_x, args.seeds, n_out)
            preds = list(out)
            extra = {"final_loss": np.asarray(res.history["loss"])[:, -1].tolist()}
            if "alpha" in res.history:
                extra["final_alpha"] = np.asarray(res.history["alpha"])[:, -1].tolist()
        wall = time.perf_counter() - t0
        per_seed = [scores(p, future, args, lt) for p in preds]
        row = {
            "system": name,
            "dim": dim,
            "model": model,
            "seeds": seeds,
            "smape": statistics.fmean(s["smape"] for s in per_seed),
            "vpt": statistics.fmean(s["vpt"] for s in per_seed),
            "smape_seeds": [s["smape"] for s in per_seed],
            "vpt_seeds": [s["vpt"] for s in per_seed],
            "wall_s": wall,
            **extra,
        }
        if free:
            fr = [free_run_scores(p[: args.free_run], future[: args.free_run]) for p in preds]
            row["free_run"] = fr
        rows.append(row)
        print(
            f"{name:20s} {model:8s} VPT {row['vpt']:6.3f}  sMAPE {row['smape']:7.2f}  "
            f"{wall:6.1f} s",
            flush=True,
        )
    return rows


def settings(args) -> dict:
    keys = (
        "train_periods horizon vpt_horizon free_run seeds steps batch window sequence_length "
        "delays rank hidden alrnn_latent alrnn_relu interval rnn_lr rnn_final_lr ssm_hidden "
        "ssm_depth ssm_state ssm_lr"
    ).split()
    return {
        **{k: getattr(args, k) for k in keys},
        "pts_per_period": PTS_PER_PERIOD,
        "vpt_threshold": VPT_THRESHOLD,
        "lyapunov": "dysts maximum_lyapunov_estimated",
    }


# --- tables ----------------------------------------------------------------------------------


def _median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else float("nan")


def table(data: dict) -> str:
    rows = data["rows"]
    systems = list(dict.fromkeys(r["system"] for r in rows))
    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    out = [
        f"Median over {len(systems)} systems (per system: mean over seeds for trained models)",
        "",
        "| model | median VPT (Lyapunov times) | median sMAPE | best VPT on | "
        "mean wall s per system |",
        "|---|---|---|---|---|",
    ]
    best = {}
    for s in systems:
        srow = [r for r in rows if r["system"] == s]
        if srow:
            top = max(srow, key=lambda r: r["vpt"])
            best[top["model"]] = best.get(top["model"], 0) + 1
    for m in models:
        mr = [r for r in rows if r["model"] == m]
        out.append(
            f"| {m} | {_median([r['vpt'] for r in mr]):.3f} | "
            f"{_median([r['smape'] for r in mr]):.1f} | {best.get(m, 0)} | "
            f"{statistics.fmean(r['wall_s'] for r in mr):.1f} |"
        )
    out += ["", "Per system: VPT (Lyapunov times) / sMAPE", ""]
    out.append("| system | " + " | ".join(models) + " |")
    out.append("|---|" + "---|" * len(models))
    for s in systems:
        cells = []
        for m in models:
            r = next((r for r in rows if r["system"] == s and r["model"] == m), None)
            cells.append("" if r is None else f"{r['vpt']:.2f} / {r['smape']:.1f}")
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    fr = [r for r in rows if "free_run" in r]
    if fr:
        out += [
            "",
            "Free runs: D_stsp / D_H (mean over seeds; n/a: diverged, or D_H of a constant run)",
            "",
        ]
        out.append("| system | " + " | ".join(models) + " |")
        out.append("|---|" + "---|" * len(models))
        for s in dict.fromkeys(r["system"] for r in fr):
            cells = []
            for m in models:
                r = next((r for r in fr if r["system"] == s and r["model"] == m), None)
                if r is None:
                    cells.append("")
                    continue
                ds = [f["d_stsp"] for f in r["free_run"] if f["d_stsp"] is not None]
                dh = [f["d_h"] for f in r["free_run"] if f["d_h"] is not None]
                n_bad = len(r["free_run"]) - len(ds)
                dh_s = f"{statistics.fmean(dh):.3f}" if dh else "n/a"
                cell = f"{statistics.fmean(ds):.2f} / {dh_s}" if ds else "n/a"
                cells.append(cell + (f" ({n_bad} n/a)" if ds and n_bad else ""))
            out.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def merge(variants: list[str]) -> dict:
    """The rows of several result files (`--variant`s) as one: each model from the last file
    that has it; the files must agree on every setting but the training steps."""
    merged, first, source, systems = {}, None, {}, {}
    for v in variants:
        with open(result_path(NAME, v)) as f:
            data = json.load(f)
        st = {k: x for k, x in data["settings"].items() if k not in ("steps", "free_run")}
        if first is not None and st != first:
            diff = sorted(k for k in set(st) | set(first) if st.get(k) != first.get(k))
            raise SystemExit(f"--merge: {v} differs from the first file in {diff}")
        first = st
        for r in data["rows"]:
            merged[(r["system"], r["model"])] = r
            systems.setdefault(r["system"], len(systems))
            source[r["model"]] = f"{v} ({data['settings']['steps']} steps)"
    rows = sorted(merged.values(), key=lambda r: (systems[r["system"]], MODELS.index(r["model"])))
    return {"rows": rows, "source": source}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", action="store_true", help="print the tables of the JSON and stop")
    p.add_argument("--merge", nargs="+", default=None, help="print one table of these variants")
    p.add_argument(
        "--floor", action="store_true", help="D_stsp/D_H of the truth against itself, and stop"
    )
    p.add_argument("--n-systems", type=int, default=20)
    p.add_argument("--systems", nargs="*", default=None, help="names (default: --n-systems)")
    p.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--train-periods", type=int, default=10)
    p.add_argument("--horizon", type=int, default=50, help="sMAPE horizon (points)")
    p.add_argument("--vpt-horizon", type=int, default=1000, help="VPT forecast (points)")
    p.add_argument("--free-run", type=int, default=10000, help="points (0: none)")
    p.add_argument("--steps", type=int, default=1000, help="training steps (trained models)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--window", type=int, default=100, help="SSM window; RNN/SSM warm-up")
    p.add_argument("--sequence-length", type=int, default=50, help="RNN training windows")
    p.add_argument("--delays", type=int, default=8, help="Hankel rows of the Koopman models")
    p.add_argument("--rank", type=int, default=100, help="kernel EDMD modes")
    p.add_argument("--hidden", type=int, default=50, help="shPLRNN H")
    p.add_argument("--alrnn-latent", type=int, default=20)
    p.add_argument("--alrnn-relu", type=int, default=2)
    p.add_argument("--interval", type=int, default=16, help="AL-RNN sparse forcing interval")
    p.add_argument("--rnn-lr", type=float, default=3e-3)
    p.add_argument("--rnn-final-lr", type=float, default=1e-4)
    p.add_argument("--ssm-hidden", type=int, default=32)
    p.add_argument("--ssm-depth", type=int, default=2)
    p.add_argument("--ssm-state", type=int, default=32)
    p.add_argument("--ssm-lr", type=float, default=3e-3)
    p.add_argument("--variant", default="", help="result file suffix")
    p.add_argument("--out", default=None, help="result file path (overrides --variant)")
    args = p.parse_args(argv)
    if args.horizon > args.vpt_horizon:
        p.error(f"--horizon ({args.horizon}) must not exceed --vpt-horizon ({args.vpt_horizon})")
    for name in ("window", "sequence_length"):
        if getattr(args, name) >= args.train_periods * PTS_PER_PERIOD:
            p.error(f"--{name.replace('_', '-')} must be shorter than the training data")
    return args


def main(argv=None):
    args = parse(argv)
    jax.config.update("jax_enable_x64", True)  # the Koopman fits; trained models are float32
    path = args.out or result_path(NAME, args.variant)
    if args.merge:
        data = merge(args.merge)
        print("Models from: " + ", ".join(f"{m}: {v}" for m, v in data["source"].items()))
        print(table(data))
        return None
    if args.table:
        with open(path) as f:
            print(table(json.load(f)))
        return None
    if args.floor:
        data = {"settings": settings(args), "floor": floor(args)}
        write_result(NAME, data, variant=args.variant or "floor", out=args.out)
        return data
    names = args.systems or benchmark_systems(args.n_systems)
    known = dynamics.chaotic_systems("flow")
    for n in names:
        if n not in known:
            raise SystemExit(f"--systems: unknown flow {n!r}; expected one of {known}")
    trainers = {"s4d": SSMTrainer(args), **{k: RNNTrainer(k, args) for k in ("shplrnn", "alrnn")}}
    data = {"settings": settings(args), "systems": names, "rows": []}
    t0 = time.perf_counter()
    for name in names:
        data["rows"] += run_system(name, args, trainers)
        data["total_wall_s"] = time.perf_counter() - t0
        write_result(NAME, data, variant=args.variant, out=args.out)
    print(table(data))
    return data


if __name__ == "__main__":
    main()
