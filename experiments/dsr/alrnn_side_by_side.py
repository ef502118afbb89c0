"""jaxsci's AL-RNN side by side with the authors' PyTorch AL-RNN on its own Lorenz-63 tutorial.

The official code (`alrnn_python` in github DurstewitzLab/ALRNN-DSR) is run from its own
tutorial notebook: its code cells are executed as they are (the model, the training routine,
the data, the hyperparameters: M = 20, P = 2, sequence length 200, batch 16, sparse identity
forcing every 16 steps, RAdam 1e-3 -> 1e-5 with one exponential decay per epoch, 2000 epochs
of 50 batches), with these patches, recorded in the results JSON:

- one thread (`torch.set_num_threads(1)`), and seeds for `random`, NumPy and torch;
- `seaborn` (plots only) replaced by a stub when it is not installed;
- the training cell calls `train_sh(..., ssi=10**9, use_best_model=False)`: the final
  checkpoint (jaxsci's rule), not the best by D_stsp on the training data, and no metric
  evaluation every 20 epochs inside the timed loop (one is left, at epoch 0: the loop's own
  `e % ssi == 0`);
- the plotting and saving cells are not run.

jaxsci trains `dsr.ALRNN(3, 20, 2)` on the same arrays (the tutorial's `lorenz63_train.npy`
from point 500 on) with the same settings, through `dsr.reconstruct` with
`SparseTeacherForcing(16)` and `decay_interval=50`. Both final models are scored by the same
code (jaxsci's metrics) on the same held-out data as the tutorial's analysis cell: a free run
of 11,000 steps from the first test point, the first 1000 dropped, D_stsp (30 bins) against the
whole test series and D_H (smoothing 20) against its first 10,000 points. The tutorial's own
metric functions are reported beside them for the PyTorch models, and so is the checkpoint the
repository ships (`models/lorenz_m20_p2`, the tutorial's best-by-D_stsp model).

Both sides run on one thread (`OMP_NUM_THREADS=1`, XLA's single-threaded Eigen); each run is
its own process, one after the other. Wall time is the training call only; jaxsci's includes
its compilation, reported separately (`compile_s`).

    python experiments/dsr/alrnn_side_by_side.py --alrnn-python /tmp/alrnn/alrnn_python \\
        --seeds 0 1

Results: `experiments/results/dsr/alrnn_side_by_side.json` (merged per run: a run adds or
replaces its own entry).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results" / "dsr" / "alrnn_side_by_side.json"
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
# the tutorial's cells, identified by a line each must contain (checked, so a changed
# tutorial fails loudly instead of running something else)
CELLS = {
    "imports": "from dataset import TimeSeriesDataset",
    "model": "class AL_RNN(nn.Module):",
    "training": "def train_sh(",
    "data": 'np.load("lorenz63_train.npy")',
    "init": "P=2",
    "hyper": "n_interleave=16",
    "optim": "num_epochs = 2000",
}
PATCHES = [
    "torch.set_num_threads(1); random/numpy/torch seeded with --seed",
    "seaborn replaced by a stub module when absent (plots only)",
    "training cell replaced by train_sh(model, dataset, optimizer, scheduler, loss_fn, "
    "num_epochs=num_epochs, alpha=alpha, n_interleave=n_interleave, batches_per_epoch=50, "
    "ssi=10**9, use_best_model=False): final checkpoint, no per-20-epoch evaluation",
    "plotting, saving and symbolic-code cells not run",
]


def _cells(alrnn_python: Path) -> dict[str, str]:
    nb = json.loads((alrnn_python / "AL-RNN_tutorial.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    found = {}
    for name, marker in CELLS.items():
        hits = [c for c in code if marker in c]
        if len(hits) != 1:
            raise SystemExit(f"alrnn_side_by_side: tutorial cell {name!r} ({marker!r}) not found")
        found[name] = hits[0]
    return found


def _score(x_test, orbit) -> dict:
    """jaxsci's metrics, as the tutorial's analysis cell applies its own."""
    import jax.numpy as jnp

    from jaxsci import dsr

    x_test, orbit = jnp.asarray(x_test), jnp.asarray(orbit)
    finite = bool(jnp.all(jnp.isfinite(orbit)))
    return {
        "d_stsp": float(dsr.state_space_divergence(x_test, orbit, n_bins=30)) if finite else None,
        "d_h": float(dsr.power_spectrum_distance(x_test[: orbit.shape[0]], orbit, smoothing=20.0))
        if finite
        else None,
    }


T_GEN, T_TRANSIENT = 10000, 1000


def run_torch(alrnn_python: Path, seed: int, epochs: int, save: Path | None = None) -> dict:
    import random
    import types

    import numpy as np
    import torch

    torch.set_num_threads(1)
    try:
        import seaborn  # noqa: F401
    except ImportError:
        sys.modules["seaborn"] = types.ModuleType("seaborn")
    cells = _cells(alrnn_python)
    os.chdir(alrnn_python)
    sys.path.insert(0, str(alrnn_python))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    ns: dict = {}
    for name in ("imports", "model", "training", "data", "init", "hyper"):
        exec(cells[name], ns)
    optim = cells["optim"].replace("num_epochs = 2000", f"num_epochs = {epochs}")
    exec(optim, ns)
    t0 = time.perf_counter()
    ns["train_sh"](
        ns["model"],
        ns["dataset"],
        ns["optimizer"],
        ns["scheduler"],
        ns["loss_fn"],
        num_epochs=epochs,
        alpha=ns["alpha"],
        n_interleave=ns["n_interleave"],
        batches_per_epoch=50,
        ssi=10**9,
        use_best_model=False,
    )
    wall = time.perf_counter() - t0
    out = {"wall_s": wall, "steps": epochs * 50}

    def evaluate(model):
        # the tutorial's analysis cell, with its own metrics beside jaxsci's
        x_test = ns["X_test"]
        x0 = torch.tensor(x_test[:]).unsqueeze(0)
        orbit = ns["predict_free_sequence"](model, x0[:, 0, :], T_GEN + T_TRANSIENT)
        orbit = orbit.detach().numpy()[0][T_TRANSIENT:, :3]
        theirs = {
            "d_stsp": ns["state_space_divergence_binning"](torch.tensor(orbit), x0[0]),
            "d_h": float(ns["power_spectrum_error"](torch.tensor(orbit), x0[0, :T_GEN])),
        }
        return {**_score(x_test, orbit), "their_metrics": theirs}

    out["final"] = evaluate(ns["model"])
    if save is not None:
        torch.save(ns["model"].state_dict(), save.with_suffix(".pt"))
    shipped = ns["AL_RNN"](M=20, P=2, N=3)
    shipped.load_state_dict(torch.load("models/lorenz_m20_p2"))
    out["shipped_checkpoint"] = evaluate(shipped)
    out["torch"] = torch.__version__
    return out


def run_jaxsci(
    alrnn_python: Path, seed: int, epochs: int, save: Path | None = None, select: bool = False
) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    from jaxsci import dsr, train

    x_train = np.load(alrnn_python / "lorenz63_train.npy").astype(np.float32)[500:]
    x_test = np.load(alrnn_python / "lorenz63_test.npy").astype(np.float32)[500:]
    steps = epochs * 50
    model = dsr.ALRNN(3, 20, 2, key=jr.key(seed))
    # --select: the tutorial's default model selection (`use_best_model=True`, `ssi=20`): every
    # 20 epochs a free run of 10,000 steps from the first training point, D_stsp against the
    # training data, the best model kept; its time is measured and reported apart
    train_x = jnp.asarray(x_train)

    @eqx.filter_jit
    def train_dstsp(m):
        return dsr.state_space_divergence(train_x, m.generate(train_x[0], 10000), n_bins=30)

    best = {"d_stsp": np.inf, "model": None, "epoch": None, "seconds": 0.0}

    def keep_best(done, params):
        t = time.perf_counter()
        d = float(train_dstsp(params))
        if d <= best["d_stsp"]:  # the tutorial keeps the latest of equal values
            best.update(d_stsp=d, model=params, epoch=done // 50)
        best["seconds"] += time.perf_counter() - t

    t0 = time.perf_counter()
    rec = dsr.reconstruct(
        model,
        x_train,
        forcing=dsr.SparseTeacherForcing(interval=16),
        steps=steps,
        key=jr.key(1000 + seed),
        sequence_length=200,
        batch_size=16,
        learning_rate=1e-3,
        final_learning_rate=1e-5,
        decay_interval=50,
        loop=train.Loop(chunk_size=1000, callback=keep_best)
        if select
        else train.Loop(chunk_size=min(5000, steps)),
    )
    jax.block_until_ready(rec.model)
    wall = time.perf_counter() - t0
    if save is not None:
        import equinox as eqx

        eqx.tree_serialise_leaves(save.with_suffix(".eqx"), rec.model)
    orbit = rec.model.generate(jax.numpy.asarray(x_test[0]), T_GEN + T_TRANSIENT)[T_TRANSIENT:]
    out = {}
    if select:
        orbit_best = best["model"].generate(jnp.asarray(x_test[0]), T_GEN + T_TRANSIENT)
        out["best_by_train_dstsp"] = {
            **_score(x_test, np.asarray(orbit_best[T_TRANSIENT:])),
            "epoch": best["epoch"],
            "train_d_stsp": best["d_stsp"],
        }
        out["selection_s"] = best["seconds"]
    return {
        **out,
        "select": select,
        "wall_s": wall,
        "compile_s": float(rec.stats["compile_s"]),
        "steps_per_s": float(rec.stats["steps_per_s"]),
        "steps": steps,
        "final_loss": float(rec.history["loss"][-1]),
        "final": _score(x_test, np.asarray(orbit)),
        "jax": jax.__version__,
    }


def _provenance(alrnn_python: Path) -> dict:
    def git(*args):
        try:
            return subprocess.run(
                ["git", *args], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit_file = alrnn_python / "COMMIT"
    return {
        "official_code": "github DurstewitzLab/ALRNN-DSR, alrnn_python/AL-RNN_tutorial.ipynb",
        "official_commit": commit_file.read_text().strip() if commit_file.exists() else None,
        "patches": PATCHES,
        "jaxsci_commit": git("rev-parse", "HEAD"),
        "machine": f"{platform.machine()} {platform.processor()} ({os.cpu_count()} cores)",
        "threads": ONE_THREAD,
        "evaluation": f"free run of {T_GEN + T_TRANSIENT} steps from the first test point, "
        f"first {T_TRANSIENT} dropped; D_stsp (30 bins) vs the whole test series, D_H "
        f"(smoothing 20) vs its first {T_GEN} points; jaxsci.dsr metrics",
    }


def _merge(entry: dict, out: Path) -> None:
    data = json.loads(out.read_text()) if out.exists() else {"runs": []}
    data["runs"] = [
        r
        for r in data["runs"]
        if (r["impl"], r["seed"], r["epochs"]) != (entry["impl"], entry["seed"], entry["epochs"])
    ]
    data["runs"].append(entry)
    data["runs"].sort(key=lambda r: (r["epochs"], r["seed"], r["impl"]))
    data["summary"] = _summary(data["runs"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")


def _summary(runs: list[dict]) -> dict:
    import numpy as np

    table = {}
    for epochs in sorted({r["epochs"] for r in runs}):
        rows = {}
        for impl in ("torch", "jaxsci", "jaxsci+select"):
            rs = [r for r in runs if r["impl"] == impl and r["epochs"] == epochs]
            if not rs:
                continue

            def stats(values):
                v = np.asarray([np.nan if x is None else x for x in values], float)
                return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}

            rows[impl] = {
                "seeds": [r["seed"] for r in rs],
                "wall_s": stats([r["wall_s"] for r in rs]),
                "d_stsp": stats([r["final"]["d_stsp"] for r in rs]),
                "d_h": stats([r["final"]["d_h"] for r in rs]),
            }
            if impl == "jaxsci+select":
                rows[impl]["best_by_train_dstsp"] = {
                    k: stats([r["best_by_train_dstsp"][k] for r in rs]) for k in ("d_stsp", "d_h")
                }
        if "torch" in rows and "jaxsci" in rows:
            rows["wall_ratio_torch_over_jaxsci"] = (
                rows["torch"]["wall_s"]["median"] / rows["jaxsci"]["wall_s"]["median"]
            )
        table[str(epochs)] = rows
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alrnn-python", type=Path, required=True, help="alrnn_python folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=2000, help="the tutorial's 2000")
    parser.add_argument("--impl", choices=["torch", "jaxsci", "both"], default="both")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--select", action="store_true", help="jaxsci: also keep the tutorial's best-by-D_stsp"
    )
    parser.add_argument("--save-dir", type=Path, default=None, help="keep the final models")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path = args.alrnn_python.resolve()
    if not (path / "AL-RNN_tutorial.ipynb").exists():
        raise SystemExit(f"--alrnn-python: no AL-RNN_tutorial.ipynb in {path}")
    if args.worker:  # one run, in a process started with one thread
        run = run_torch if args.impl == "torch" else run_jaxsci
        save = None
        if args.save_dir is not None:
            args.save_dir.mkdir(parents=True, exist_ok=True)
            save = args.save_dir / f"{args.impl}_seed{args.seeds[0]}_epochs{args.epochs}"
        kwargs = {"select": True} if args.select and args.impl == "jaxsci" else {}
        print(json.dumps(run(path, args.seeds[0], args.epochs, save, **kwargs)))
        return
    impls = ["torch", "jaxsci"] if args.impl == "both" else [args.impl]
    for seed in args.seeds:
        for impl in impls:
            cmd = [sys.executable, __file__, "--alrnn-python", str(path), "--worker"]
            cmd += ["--impl", impl, "--seeds", str(seed), "--epochs", str(args.epochs)]
            if args.save_dir is not None:
                cmd += ["--save-dir", str(args.save_dir.resolve())]
            if args.select:
                cmd += ["--select"]
            env = {**os.environ, **ONE_THREAD}
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"{impl} seed {seed} failed")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            name = impl + ("+select" if args.select and impl == "jaxsci" else "")
            entry = {"impl": name, "seed": seed, "epochs": args.epochs, **result}
            entry["provenance"] = _provenance(path)
            _merge(entry, args.out)
            f = entry["final"]
            print(
                f"{impl:7s} seed {seed}: wall {entry['wall_s']:8.1f} s"
                + (f" (compile {entry['compile_s']:.1f} s)" if "compile_s" in entry else "")
                + f"  D_stsp {f['d_stsp']}  D_H {f['d_h']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
