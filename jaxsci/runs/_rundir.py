"""The run directory every solver writes, and reads back.

```
RUN_DIR/
  config.toml          the resolved config (overrides applied): `jaxsci run RUN_DIR/config.toml`
                       reruns the experiment
  metrics.json         results per seed, their mean and spread, wall times, versions, device
  history_seed{S}.csv  the per-step loss and loss terms of each seed (trained solvers)
  learning_curve.png   the loss of every seed against the step
  model_seed{S}.eqx    the trained model of each seed (`jaxsci.runs.load` reads it back)
  ...                  the solver's own outputs (solution plot, spectrum, training checkpoints)
```

A model file holds the array leaves of the trained model (`eqx.tree_serialise_leaves`); its
structure is rebuilt from `config.toml` with `eqx.filter_eval_shape`, so nothing is computed
and no pickled code is read when loading.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import platform

import equinox as eqx
import jax
import numpy as np

from ._config import to_toml

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.json"


def model_path(run_dir: str, seed: int) -> str:
    return os.path.join(run_dir, f"model_seed{seed}.eqx")


def versions() -> dict:
    """Versions of the packages a result depends on, and the device it ran on."""
    out = {}
    for name in ("jaxsci", "jax", "jaxlib", "equinox", "optax"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    out["device"] = str(jax.devices()[0].device_kind)
    out["backend"] = jax.default_backend()
    out["device_count"] = jax.device_count()
    return out


def write_config(run_dir: str, cfg) -> str:
    path = os.path.join(run_dir, CONFIG_FILE)
    with open(path, "w") as f:
        f.write(to_toml(cfg))
    return path


def write_metrics(run_dir: str, metrics: dict) -> str:
    path = os.path.join(run_dir, METRICS_FILE)
    with open(path, "w") as f:
        json.dump({**metrics, "versions": versions()}, f, indent=2, default=_json_default)
    return path


def _json_default(x):
    if isinstance(x, np.generic | np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


def write_history(run_dir: str, seed: int, history: dict[str, np.ndarray]) -> str | None:
    """One CSV row per step: `step`, `loss` and the other recorded terms (scalars per step)."""
    if not history:
        return None
    names = [k for k in history if np.ndim(history[k]) == 1]
    n = len(history["loss"])
    path = os.path.join(run_dir, f"history_seed{seed}.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", *names])
        cols = [np.asarray(history[k]) for k in names]
        for i in range(n):
            w.writerow([i, *(repr(float(c[i])) for c in cols)])
    return path


def read_history(run_dir: str, seed: int) -> dict[str, np.ndarray]:
    path = os.path.join(run_dir, f"history_seed{seed}.csv")
    data = np.genfromtxt(path, delimiter=",", names=True)
    return {k: np.atleast_1d(data[k]) for k in data.dtype.names if k != "step"}


def plot_learning_curves(run_dir: str, histories: dict[int, dict], title: str) -> str | None:
    """`learning_curve.png`: the loss of each seed against the step (log scale)."""
    if not any(histories.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for seed, h in histories.items():
        if h:
            loss = np.asarray(h["loss"])
            ax.plot(np.arange(len(loss)), loss, lw=1, label=f"seed {seed}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(run_dir, "learning_curve.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_model(path: str, model) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        eqx.tree_serialise_leaves(f, model)
    os.replace(tmp, path)


def load_model(path: str, skeleton):
    """Read the leaves written by `save_model` into `skeleton` (arrays or `ShapeDtypeStruct`s)."""
    with open(path, "rb") as f:
        return eqx.tree_deserialise_leaves(f, skeleton)
