"""The run directory every solver writes, and reads back.

```
RUN_DIR/
  config.toml          the resolved config (overrides applied): `jaxsci run RUN_DIR/config.toml`
                       reruns the experiment, `jaxsci run --resume RUN_DIR` continues it
  metrics.json         results per seed, their mean and spread, wall times, versions, device;
                       written last: its presence marks the run finished
  history_seed{S}.csv  the per-step loss and loss terms of each seed (trained solvers)
  learning_curve.png   the loss of every seed against the step
  model_seed{S}.eqx    the trained model of each seed (`jaxsci.runs.load` reads it back)
  result_seed{S}.json  the seed's row of metrics.json, written after its model and history:
                       its presence marks the seed finished (a resumed run skips it)
  checkpoint_seed{S}*.eqx  training checkpoints (`train/_checkpoint.py`), one per phase
  INTERRUPTED          written when a signal stopped the run: the signal, each seed's step,
                       the command that resumes it (removed when the run finishes)
  jaxsci.lock          held while a process writes the directory (`_lock.py`)
  ...                  the solver's own outputs (solution plot, spectrum)
```

Every file is written atomically (`train/_atomic.py`, through `NAME.PID.tmp`): a kill at any
instant leaves each file whole, old or new (and a `.tmp` that the finished run removes). A
model file holds the array leaves of the trained model (`eqx.tree_serialise_leaves`); its
structure is rebuilt from `config.toml` with `eqx.filter_eval_shape`, so nothing is computed
and no pickled code is read when loading.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import shlex
import signal
import time

import equinox as eqx
import jax
import numpy as np

from ..train import CheckpointError, checkpoint_info
from ..train._atomic import write_atomically
from ._config import to_dict, to_toml

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.json"
INTERRUPTED_FILE = "INTERRUPTED"


class RunDirError(ValueError):
    """A run directory that cannot be used as asked: it holds a finished or unfinished run,
    another process is writing it, or it is not a run directory."""


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
    return write_atomically(os.path.join(run_dir, CONFIG_FILE), to_toml(cfg))


def write_metrics(run_dir: str, metrics: dict) -> str:
    text = json.dumps({**metrics, "versions": versions()}, indent=2, default=_json_default)
    return write_atomically(os.path.join(run_dir, METRICS_FILE), text)


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
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(["step", *names])
    cols = [np.asarray(history[k]) for k in names]
    for i in range(n):
        w.writerow([i, *(repr(float(c[i])) for c in cols)])
    return write_atomically(os.path.join(run_dir, f"history_seed{seed}.csv"), text.getvalue())


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
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    plt.close(fig)
    return write_atomically(path, buffer.getvalue())


def save_model(path: str, model) -> None:
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, model)
    write_atomically(path, buffer.getvalue())


def load_model(path: str, skeleton):
    """Read the leaves written by `save_model` into `skeleton` (arrays or `ShapeDtypeStruct`s)."""
    with open(path, "rb") as f:
        return eqx.tree_deserialise_leaves(f, skeleton)


# ------------------------------------------------------------------ resuming


def write_row(run_dir: str, seed: int, row: dict) -> str:
    """`result_seed{S}.json`: the seed's row of `metrics.json`. Written after the seed's model
    and history, it marks the seed finished: a resumed run reads it back instead of training."""
    text = json.dumps(row, indent=1, default=_json_default)
    return write_atomically(os.path.join(run_dir, f"result_seed{seed}.json"), text)


def finished_row(run_dir: str, seed: int) -> dict | None:
    """The row of a finished seed (`write_row`), or `None` when the seed has not finished."""
    path = os.path.join(run_dir, f"result_seed{seed}.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def status(run_dir: str) -> str:
    """`"empty"` (no run in it), `"finished"` (it has `metrics.json`) or `"unfinished"` (a
    config or checkpoints, no metrics: interrupted, killed, or running)."""
    if os.path.isfile(os.path.join(run_dir, METRICS_FILE)):
        return "finished"
    if os.path.isfile(os.path.join(run_dir, CONFIG_FILE)) or glob.glob(
        os.path.join(run_dir, "checkpoint_seed*")
    ):
        return "unfinished"
    return "empty"


def has_results(run_dir: str) -> bool:
    """Whether a run has computed anything in `run_dir` (a checkpoint, a model, a finished
    seed): its `config.toml` then stays, so that `jaxsci run --resume` can continue it."""
    return any(
        glob.glob(os.path.join(run_dir, pattern))
        for pattern in ("checkpoint_seed*.eqx", "model_seed*.eqx", "result_seed*.json")
    )


# what a run writes: `--overwrite` removes these (and nothing else) before starting again
_RUN_FILES = (
    CONFIG_FILE,
    METRICS_FILE,
    INTERRUPTED_FILE,
    "*.eqx",
    "*.eqx.*",
    "*_seed*.csv",
    "*_seed*.json",
    "*.png",
    "*.tmp",
)


def clear(run_dir: str) -> list[str]:
    """Remove the files of an earlier run from `run_dir` (for `--overwrite`); other files stay."""
    removed = []
    for pattern in _RUN_FILES:
        for path in glob.glob(os.path.join(run_dir, pattern)):
            if os.path.isfile(path):
                os.remove(path)
                removed.append(path)
    return removed


def config_hash(cfg, ignore=()) -> str:
    """A digest of every config entry but `ignore` (dotted keys that leave the result alone):
    checkpoints record it, so that a checkpoint of another config is refused."""
    flat = {k: v for k, v in flat_config(cfg).items() if k not in ignore}
    text = json.dumps(flat, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def flat_config(cfg) -> dict:
    """The config as `{"section.key": value}`."""
    out = {}

    def walk(d, prefix):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                out[f"{prefix}{k}"] = v

    walk(to_dict(cfg), "")
    return out


def resume_command(run_dir: str) -> str:
    return f"jaxsci run --resume {shlex.quote(run_dir)}"


def checkpoints(run_dir: str) -> dict[str, int | str]:
    """Each checkpoint file of `run_dir` and the step it holds (or why it cannot be read)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "checkpoint_seed*.eqx"))):
        try:
            out[os.path.basename(path)] = checkpoint_info(path)["step"]
        except (CheckpointError, OSError, KeyError, ValueError) as e:
            out[os.path.basename(path)] = f"unreadable: {e}"
    return out


def mark_interrupted(run_dir: str, signum: int) -> dict:
    """Write `INTERRUPTED` (the signal, each checkpoint's step, the finished seeds, the command
    that resumes the run) and return what it holds."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = str(signum)
    finished = sorted(
        int(os.path.basename(p)[len("result_seed") : -len(".json")])
        for p in glob.glob(os.path.join(run_dir, "result_seed*.json"))
    )
    record = {
        "signal": name,
        "pid": os.getpid(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "finished_seeds": finished,
        "checkpoints": checkpoints(run_dir),
        "resume": resume_command(run_dir),
    }
    write_atomically(os.path.join(run_dir, INTERRUPTED_FILE), json.dumps(record, indent=1))
    return record


def remove_partial_writes(run_dir: str) -> None:
    """Remove the temporary files of writes a kill cut short (`NAME.PID.tmp`)."""
    for path in glob.glob(os.path.join(run_dir, "*.tmp")):
        try:
            os.remove(path)
        except OSError:
            pass


def unmark_interrupted(run_dir: str) -> None:
    try:
        os.remove(os.path.join(run_dir, INTERRUPTED_FILE))
    except FileNotFoundError:
        pass
