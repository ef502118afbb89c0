"""Every accelerator row BENCHMARKS.md promises, measured in one go and written as one JSON.

    python -m experiments.tools.device_rows            # on a GPU: the full rows, < 8 minutes
    python -m experiments.tools.device_rows --quick    # small sizes (CPU; what the tests run)

A session gets a device only now and then, for a few minutes: this script is prepared and tested
on CPU so that those minutes go to measuring. Rows (times are medians after compilation):

- `machine`: float32 matmul rate (4096^2, or 1024^2 quick) and copy bandwidth (the floor inputs).
- `edmd`: the EDMD fit (Gram path, features given) on the standard map with N = 501 Fourier
  features, M = 1e5 and 1e6 snapshots, float32 and float64; the ratio against the fastest CPU
  peer is taken from the CPU rows of `experiments/results/peers/koopman_estimators.json`
  (M = 1e5, N = 501, float64: same data, same fit; that run's peers were measured side by side).
- `ssm`: S4D and S4 kernels and the S5 layer (parallel scan) at H = 256, N = 64, L = 1K, 4K, 16K,
  forward and forward + backward (`experiments.ssm.kernels.ssm_rows`).
- `pseudospectrum`: a G x G grid of the Krylov pseudospectrum at N = 501 (G = 64).
- `pinn`: Adam steps per second of the README's main job (Helmholtz, 2-[64]x4-1 tanh, 4096
  points, no L-BFGS phase), float32.
- `pig`: each published-size PIG config (`pig_*_paper.toml`) for 400 steps: steps per second,
  the projected time of the full recipe, the error so far.

Each group runs while the time budget (`--budget`, seconds) lasts; a skipped group is recorded
as skipped. Writes `experiments/results/tools/device_rows[_quick]_<backend>.json` (on a CPU
without `_<backend>`), or `--out`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments._harness import CONFIGS, RESULTS, timed, write_result


def machine_rows(quick, repeats):
    n = 1024 if quick else 4096
    a = jax.random.normal(jax.random.key(0), (n, n))
    t_mm = timed(jax.jit(lambda a: a @ a), a, repeats=repeats)
    x = jax.random.normal(jax.random.key(1), ((4 if quick else 256) * 1024 * 1024,))
    t_cp = timed(jax.jit(lambda x: x * 1.0001 + 1.0), x, repeats=repeats)
    return [
        dict(row="matmul_f32", n=n, seconds=t_mm, flops_per_s=2 * n**3 / t_mm),
        dict(row="copy_f32", bytes=8 * x.size, seconds=t_cp, bytes_per_s=8 * x.size / t_cp),
    ]


def _cpu_peer(n, m):
    """The fastest peer's EDMD fit time at (N, M) from the CPU rows, with its library name."""
    path = RESULTS / "peers" / "koopman_estimators.json"
    if not path.exists():
        return None
    rows = json.loads(path.read_text())["rows"]
    peers = [
        r
        for r in rows
        if r["method"] == "edmd_fit"
        and r["library"] != "jaxsci"
        and r.get("N") == n
        and r.get("M") == m
    ]
    return min(peers, key=lambda r: r["seconds"]) if peers else None


def edmd_rows(quick, repeats):
    from experiments.koopman.data import fourier_dictionary, standard_map_pairs
    from jaxsci import koopman as kp

    n = 101 if quick else 501
    sizes = [2_000, 20_000] if quick else [100_000, 1_000_000]
    rows = []
    with jax.enable_x64(True):
        d = fourier_dictionary(n)
        feats = jax.jit(lambda z: kp.features(d, z))
        est = kp.EDMD(kp.Identity(), method="gram")
        fit = jax.jit(lambda u, v: kp.fit(est, u, v).eigenvalues)
        for m in sizes:
            x, y = standard_map_pairs(m, key=jax.random.key(0))
            px, py = jax.block_until_ready((feats(x), feats(y)))
            ref = None
            for dtype in (jnp.float64, jnp.float32):
                u, v = px.astype(dtype), py.astype(dtype)
                t = timed(fit, u, v, repeats=repeats)
                lam = np.sort_complex(np.asarray(fit(u, v)))
                ref = lam if ref is None else ref
                row = dict(
                    row="edmd_fit_gram",
                    N=n,
                    M=m,
                    dtype=jnp.dtype(dtype).name,
                    seconds=t,
                    flops=2 * 2 * m * n * n,  # two Gram products, the O(N^3) rest is minor
                    max_eig_diff_vs_f64=float(np.max(np.abs(lam - ref))),
                )
                peer = _cpu_peer(n, m)
                if peer is not None and dtype == jnp.float64:
                    row["cpu_peer"] = peer["library"]
                    row["cpu_peer_seconds"] = peer["seconds"]
                    row["speedup_vs_cpu_peer"] = peer["seconds"] / t
                rows.append(row)
            del px, py
    return rows


def ssm_rows_group(quick, repeats):
    from experiments.ssm.kernels import ssm_rows

    lengths = [256] if quick else [1024, 4096, 16384]
    return ssm_rows(lengths, repeats, fwd_bwd=True)[0]


def pseudospectrum_rows(quick, repeats):
    from experiments.koopman.data import fourier_dictionary, standard_map_pairs
    from jaxsci import koopman as kp

    n, m, g = (51, 2_000, 8) if quick else (501, 100_000, 64)
    with jax.enable_x64(True):
        d = fourier_dictionary(n)
        x, y = standard_map_pairs(m, key=jax.random.key(1))
        data = kp.residual_data(d, x, y)
        re, im = jnp.meshgrid(jnp.linspace(-1.5, 1.5, g), jnp.linspace(-1.5, 1.5, g))
        z = re + 1j * im
        ps = jax.jit(lambda data, z: kp.pseudospectrum(data, z))
        t = timed(ps, data, z, repeats=max(1, repeats // 2))
    return [dict(row="pseudospectrum_krylov", N=n, grid=f"{g}x{g}", seconds=t, per_z=t / g**2)]


def pinn_rows(quick, repeats):
    import equinox as eqx

    from jaxsci import pde, pinn, train

    # the main job's setting: zero Dirichlet data held exactly by the output transform
    problem = eqx.tree_at(lambda p: p.conditions, pde.helmholtz_2d(), ())
    n_points, steps, chunk = (512, 40, 20) if quick else (4096, 1500, 500)
    field = pinn.Constrained(
        pinn.MLP(2, width=64, depth=4, key=jax.random.key(0)),
        pinn.dirichlet_transform(problem.domain),
    )
    sol = pinn.solve(
        problem,
        field,
        key=jax.random.key(1),
        steps=steps,
        sampling=pinn.Sampling(n_interior=n_points),
        lbfgs=pinn.LBFGSPhase(steps=0),  # the Adam step alone (the default adds L-BFGS steps)
        loop=train.Loop(chunk_size=chunk),
    )
    return [
        dict(
            row="pinn_helmholtz_adam_step",
            points=n_points,
            steps=steps,
            steps_per_s=sol.stats["steps_per_s"],
            compile_s=sol.stats["compile_s"],
            rel_l2=sol.error(),
        )
    ]


PIG_PAPER = (
    "pig_helmholtz_2d_paper",
    "pig_klein_gordon_2d_paper",
    "pig_flow_mixing_paper",
    "pig_nonlinear_diffusion_paper",
)


def pig_rows(quick, repeats):
    """The published-size PIG recipes (`experiments/configs/pig_*_paper.toml`) for a few hundred
    steps each, through `jaxsci.runs` as `jaxsci run` trains them: the steady step rate, hence
    the time the full recipe would take on this device (the input for running them), and the
    error after those steps."""
    from jaxsci import runs

    small = ["field.n_gaussians=16", "sampling.n_interior=64", "sampling.n_boundary=32"]
    rows = []
    for name in PIG_PAPER:
        path = str(CONFIGS / f"{name}.toml")
        full = runs.load_config(path)
        steps = 4 if quick else 400
        over = [f"train.steps={steps}", f"train.chunk_size={steps // 2}", "train.seeds=[0]"]
        cfg = runs.load_config(path, over + ["plot=false"] + (small if quick else []))
        with tempfile.TemporaryDirectory() as out:
            m = runs.run(cfg, out, progress=False)
        run = m["runs"][0]
        rate = next(v for k, v in run.items() if k.endswith("_steps_per_s") and k != "steps_per_s")
        rows.append(
            dict(
                row=f"pig_{name}",
                gaussians_per_channel=cfg.field.n_gaussians,
                steps=steps,
                steps_per_s=rate,
                wall_s=run["wall_s"],
                full_recipe_steps=full.train.steps,
                full_recipe_s_projected=full.train.steps / rate,
                rel_l2=run["rel_l2"],
            )
        )
    return rows


GROUPS = {
    "machine": machine_rows,
    "edmd": edmd_rows,
    "ssm": ssm_rows_group,
    "pseudospectrum": pseudospectrum_rows,
    "pinn": pinn_rows,
    "pig": pig_rows,
}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="small sizes (CPU, tests)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--budget", type=float, default=450.0, help="seconds for all groups")
    p.add_argument("--only", default="", help="comma list of groups: " + ",".join(GROUPS))
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    repeats = 2 if a.quick else a.repeats
    only = [g for g in a.only.split(",") if g] or list(GROUPS)
    unknown = [g for g in only if g not in GROUPS]
    if unknown:
        p.error(f"--only: unknown group(s) {unknown}; expected {list(GROUPS)}")
    t_start = time.perf_counter()
    result = dict(quick=a.quick, groups={})
    for name in only:
        elapsed = time.perf_counter() - t_start
        if elapsed > a.budget:
            result["groups"][name] = {"skipped": f"time budget spent ({elapsed:.0f} s)"}
            print(f"[{name}] skipped: budget spent", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            rows = GROUPS[name](a.quick, repeats)
            result["groups"][name] = {"rows": rows, "group_s": time.perf_counter() - t0}
        except Exception as e:  # one broken group must not cost the others their minutes
            result["groups"][name] = {"error": f"{type(e).__name__}: {e}"}
        print(f"[{name}] {time.perf_counter() - t0:.1f} s", flush=True)
        for r in result["groups"][name].get("rows", []):
            print("   ", json.dumps(r), flush=True)
        if "error" in result["groups"][name]:
            print("    ERROR", result["groups"][name]["error"], flush=True)
    result["total_s"] = time.perf_counter() - t_start
    print(f"all groups in {result['total_s']:.0f} s")
    write_result("tools/device_rows", result, variant="quick" if a.quick else "", out=a.out)
    return 0 if not any("error" in g for g in result["groups"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
