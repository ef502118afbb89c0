"""Physics-Informed Gaussians: accuracy against the MLP PINN, both through `jaxsci.runs`.

    python -m experiments.pig.accuracy                    # PIG on Helmholtz, seeds 0,1,2
    python -m experiments.pig.accuracy --mlp              # ... and the MLP main job, same run
    python -m experiments.pig.accuracy --config pig_klein_gordon_2d_paper \
        --mlp-config klein_gordon_2d_paper_mlp --set train.steps=5000 --mlp   # another row

A PIG config (`--config`, default `pig_helmholtz_2d`) and with `--mlp` an MLP config
(`--mlp-config`, default the main job's) through `jaxsci.runs`, as `jaxsci run` trains them:
final-iterate relative L2 on the evaluation grid, wall time of each seed (compile included).
`--set` overrides apply to both configs (a reduced CPU size of a paper config, for example).
`--curve` records the error along training and gives each field's time to the same error.

Writes `experiments/results/pig/accuracy[_<config>][_VARIANT].json` (`<config>` when it is not
`pig_helmholtz_2d`).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from experiments._harness import CONFIGS, write_result
from jaxsci import runs


def _run_config(name, seeds, overrides):
    path = str(CONFIGS / f"{name}.toml")
    conf = runs.load_config(path, [f"train.seeds={seeds}", "plot=false", *overrides])
    m = runs.run(conf, os.path.join("runs", f"bench_pig_{name}"), progress=False, overwrite=True)
    return {
        "config": runs.to_toml(conf),
        "rel_l2_mean": m["rel_l2"],
        "rel_l2_std": m["rel_l2_std"],
        "wall_s_mean": float(np.mean([r["wall_s"] for r in m["runs"]])),
        "runs": m["runs"],
    }


def accuracy(args):
    """A PIG config (and with `--mlp` an MLP config) through `jaxsci.runs`, as `jaxsci run`
    trains them, same seeds, same run."""
    seeds = [int(s) for s in args.seeds.split(",")]
    out = {"args": vars(args), "configs": [args.config, args.mlp_config]}
    overrides = args.set or []
    curve = ["train.error_curve=true"] if args.curve else []
    rows = {"PIG": _run_config(args.config, seeds, overrides + curve + (args.pig_set or []))}
    if args.mlp:
        # the default MLP config is the main job's own recipe: the PIG overrides do not apply
        main_job = args.mlp_config == "helmholtz_2d"
        rows[f"MLP ({args.mlp_config})"] = _run_config(
            args.mlp_config, seeds, curve + ([] if main_job else overrides)
        )
    out["rows"] = rows
    if args.curve and len(rows) == 2:
        out["equal_error"] = equal_error(rows)
    print("\n| field | rel. L2 per seed | mean ± std | wall s (mean) |\n|---|---|---|---|")
    for name, r in rows.items():
        per = ", ".join(f"{x['rel_l2']:.2e}" for x in r["runs"])
        print(
            f"| {name} | {per} | {r['rel_l2_mean']:.2e} ± {r['rel_l2_std']:.1e} "
            f"| {r['wall_s_mean']:.1f} |"
        )
    return out


def _time_to(curve, target):
    """Wall s of the first record at or below `target` (None: never reached)."""
    return next((t for _, t, e in curve if e <= target), None)


def equal_error(rows):
    """Per seed, each field's wall time to reach the error the worse of the two ends at (from
    the error curves, `train.error_curve`: the worse one's time is its whole run), and their
    ratio."""
    (a, ra), (b, rb) = rows.items()
    per_seed = []
    for x, y in zip(ra["runs"], rb["runs"], strict=True):
        target = max(x["error_curve"][-1][2], y["error_curve"][-1][2])
        ta, tb = _time_to(x["error_curve"], target), _time_to(y["error_curve"], target)
        per_seed.append({"seed": x["seed"], "target": target, a: ta, b: tb, "ratio": ta / tb})
    print("\ntime to the worse final error of each seed, s:")
    for r in per_seed:
        print(
            f"  seed {r['seed']} ({r['target']:.2e}): {a} {r[a]:.1f}, {b} {r[b]:.1f}, "
            f"ratio {r['ratio']:.2f}"
        )
    return per_seed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--mlp", action="store_true", help="also run an MLP config")
    ap.add_argument("--config", default="pig_helmholtz_2d", help="the PIG config")
    ap.add_argument("--mlp-config", default="helmholtz_2d", help="the MLP config (--mlp)")
    ap.add_argument("--set", nargs="*", help="config overrides, e.g. train.steps=5000")
    ap.add_argument("--pig-set", nargs="*", help="overrides of the PIG config only (field.*)")
    ap.add_argument(
        "--curve",
        action="store_true",
        help="record the error after every chunk (train.error_curve) and, with --mlp, each "
        "field's time to the higher of the two final errors",
    )
    ap.add_argument("--variant", default="", help="result file suffix (after the config's)")
    args = ap.parse_args()
    result = accuracy(args)
    config = "" if args.config == "pig_helmholtz_2d" else args.config
    variant = "_".join(filter(None, [config, args.variant]))
    write_result("pig/accuracy", result, variant=variant)


if __name__ == "__main__":
    main()
