"""Shared by the training experiments (`ssm_copying.py`, `ssm_digits.py`): train over several
seeds, report the final-iterate metric of each, and write the summary JSON."""

import json
import os
import platform

import jax
import jax.random as jr
import numpy as np


def run_seeds(train_one, n_seeds: int, metric: str) -> list[dict]:
    """`train_one(key) -> (result dict with metric and "wall_s", model)` for seeds 0..n-1."""
    rows = []
    for seed in range(n_seeds):
        res, _ = train_one(jr.key(seed))
        rows.append(dict(seed=seed, **res))
        print(f"seed {seed}: {metric} {res[metric]:.4f}  wall {res['wall_s']:.1f} s", flush=True)
    return rows


def write_summary(path: str, rows: list[dict], metric: str, **setup) -> dict:
    """Mean and spread of `metric` and the wall time over `rows`, with `setup` and the machine;
    printed and written to `path` as JSON."""
    values = np.array([r[metric] for r in rows])
    summary = dict(
        **setup,
        **{f"{metric}_mean": float(values.mean()), f"{metric}_std": float(values.std())},
        wall_s_mean=float(np.mean([r["wall_s"] for r in rows])),
        device=str(jax.devices()[0].device_kind),
        machine=platform.processor() or platform.machine(),
        runs=rows,
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=1))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
    return summary
