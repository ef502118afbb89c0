"""What every experiment script shares: one timer, one environment record, one result writer.

Scripts are modules of the `experiments` package and run from the repository root,

    python -m experiments.pinn.accuracy --help

so that `from experiments._harness import ...` (and `from experiments.koopman.data import ...`)
works without touching `sys.path`. This module imports nothing but the standard library at import
time: it does not start JAX (a script may still configure it, e.g. `jax_num_cpu_devices`), and
the PyKoopman worker can use it in an environment without jaxsci.

Result files follow one rule: `write_result("<family>/<script>", data, variant=...)` writes
`experiments/results/<family>/<script>[_<variant>].json`, with the environment under `"env"`.
A run on an accelerator writes `..._<backend>.json` (`_gpu`, `_tpu`) beside it, so it never
overwrites the CPU figures that BENCHMARKS.md quotes.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parent
REPOSITORY = EXPERIMENTS.parent
CONFIGS = EXPERIMENTS / "configs"
RESULTS = EXPERIMENTS / "results"

_STATISTICS = {"median": statistics.median, "mean": statistics.fmean, "min": min}


def timed(fn, *args, repeats: int = 5, stat: str = "median", warmup: bool = True, output=False):
    """Wall-clock seconds of one call `fn(*args)`.

    `fn(*args)` is called once untimed (`warmup`: this compiles a jitted function), then
    `repeats` times, each call timed on its own and waited for with `jax.block_until_ready`
    (when JAX is loaded; other results are ready when returned). The result is `stat` of those
    `repeats` times:

    - `"median"` (default): the typical call, robust to a disturbed repeat on a shared machine;
    - `"mean"`: the average cost per call (what a rate such as flop/s is divided by);
    - `"min"`: the least disturbed call (best of `repeats`).

    `warmup=False` times the first call as well (compilation included when `fn` is new): with
    `repeats=1` that is a single call of a function compiled elsewhere, for calls too long to
    repeat. `output=True` returns `(seconds, the last call's output)`.
    """
    if stat not in _STATISTICS:
        raise ValueError(f"stat must be one of {sorted(_STATISTICS)}, got {stat!r}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    jax = sys.modules.get("jax")
    ready = jax.block_until_ready if jax is not None else (lambda x: x)
    out = ready(fn(*args)) if warmup else None
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = ready(fn(*args))
        times.append(time.perf_counter() - t0)
    seconds = float(_STATISTICS[stat](times))
    return (seconds, out) if output else seconds


def cpu_model() -> str:
    """The CPU's model name (`/proc/cpuinfo` on Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_simd() -> list[str]:
    """The vector instruction sets the CPU reports (`avx2`, `avx512f`, `fma`, ...; Linux):
    XLA's CPU code, and so the rounding of a long training run, depends on them (a training run
    on the edge of failing reproduced bitwise on one machine and not on another with the same
    versions and model name; BENCHMARKS.md, "The estimate checks its own degree")."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    return sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))
    except OSError:
        pass
    return []


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def command() -> str:
    """The command line that ran this process, as `python -m experiments.<family>.<script> ...`
    when run as a module."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    head = f"python -m {spec.name}" if spec is not None else f"python {sys.argv[0]}"
    return " ".join([head, *sys.argv[1:]])


def environment(packages=()) -> dict:
    """Where a result was measured: `jaxsci.runs`' versions (jaxsci, jax, jaxlib, equinox, optax,
    Python, device, backend, device count), those of `packages` (peers: `"deepxde"`,
    `"torch"`, ...), the CPU model and count, the load average and the command."""
    from jaxsci.runs._rundir import versions  # jaxsci.runs does not re-export it

    env = versions()
    env.update({name: package_version(name) for name in packages})
    env.update(
        cpu=cpu_model(),
        cpu_simd=cpu_simd(),
        cpu_count=os.cpu_count(),
        load_average=os.getloadavg(),
        platform=platform.platform(),
        command=command(),
    )
    return env


def result_path(name: str, variant: str = "") -> Path:
    """`experiments/results/<family>/<script>[_<variant>].json` for `name = "<family>/<script>"`
    (on an accelerator `..._<backend>.json`)."""
    family, _, stem = name.partition("/")
    if not family or not stem or "/" in stem or "." in stem:
        raise ValueError(f"name must be '<family>/<script>', got {name!r}")
    if "/" in variant or variant.endswith(".json"):
        raise ValueError(
            f"variant must be a file-name suffix without '/' or '.json', got {variant!r}"
        )
    if variant:
        stem = f"{stem}_{variant}"
    jax = sys.modules.get("jax")
    backend = jax.default_backend() if jax is not None else "cpu"
    if backend != "cpu":
        stem = f"{stem}_{backend}"
    return RESULTS / family / f"{stem}.json"


def write_result(name: str, data: dict, *, variant: str = "", packages=(), out=None) -> Path:
    """Write `{"env": environment(packages), **data}` to `result_path(name, variant)` (or to
    `out`, a path given on the command line), print one line saying where, return the path."""
    if "env" in data:
        raise ValueError("data must not have an 'env' key: write_result records the environment")
    path = Path(out) if out is not None else result_path(name, variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"env": environment(packages), **data}
    path.write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")
    try:
        shown = path.resolve().relative_to(REPOSITORY)
    except ValueError:
        shown = path
    print(f"wrote {shown}", flush=True)
    return path


def _json_default(x):
    if hasattr(x, "tolist"):  # NumPy and JAX arrays and scalars
        return x.tolist()
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
