"""Koopman benchmark: EDMD / kernel EDMD fit time against PyDMD, kooplearn and PyKoopman on the
same data in the same run, and the pseudospectrum on a z grid (fast Krylov path and SVD path).

    # peers in the same process (PyDMD >= 1.0, kooplearn 2), PyKoopman in a subprocess:
    /work/peers-koopman-latest/bin/python experiments/bench_koopman.py
    python experiments/bench_koopman.py --no-peers          # jaxsci only
    python experiments/bench_koopman.py --quick             # small sizes (smoke test)

Data: the Chirikov standard map on the torus, x uniform, y = F(x); N real Fourier features
(orthogonal under uniform sampling, so the least-squares problem is well conditioned and every
library must return the same eigenvalues, which is checked: `max_eig_mismatch`, optimal matching).
EDMD methods get the same precomputed feature matrices, so only the estimator is timed; kernel
methods get the states. Times are wall-clock medians of `--repeats` runs after one warm-up
(jaxsci: compiled, `block_until_ready`). Writes experiments/results/koopman_<backend>.json.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from koopman_data import fourier_dictionary, standard_map_pairs  # noqa: E402

from jaxsci import dynamics as dy  # noqa: E402
from jaxsci import koopman as kp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PYKOOPMAN_PYTHON = "/work/peers-koopman/bin/python"


def timed(fn, repeats):
    """Median of `repeats` runs after a warm-up; `repeats=0`: one run, no warm-up (the caller
    compiled already)."""
    if repeats == 0:
        t = time.perf_counter()
        out = jax.block_until_ready(fn())
        return time.perf_counter() - t, out
    out = jax.block_until_ready(fn())
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def mismatch(a, b):
    a, b = np.ravel(np.asarray(a)), np.ravel(np.asarray(b))
    if a.shape != b.shape:
        return float("nan")
    cost = np.abs(a[:, None] - b[None, :])
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


def version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--features", type=int, default=None, help="odd N (constant + cos/sin pairs)")
    p.add_argument("--snapshots", type=int, default=None)
    p.add_argument("--kernel-snapshots", type=int, default=None)
    p.add_argument("--kernel-rank", type=int, default=None)
    p.add_argument("--grid", type=int, default=None, help="G for a G x G pseudospectrum grid")
    p.add_argument("--svd-points", type=int, default=None, help="grid points timed on the SVD path")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--skip", default="", help="comma list of: edmd,kernel,nystroem,pseudospectrum")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    n = a.features or (101 if a.quick else 501)
    m = a.snapshots or (10_000 if a.quick else 100_000)
    mk = a.kernel_snapshots or (1000 if a.quick else 5000)
    rank = a.kernel_rank or min(n - 1, mk)
    grid = a.grid or (8 if a.quick else 200)
    svd_points = a.svd_points or (16 if a.quick else 100)
    skip = set(filter(None, a.skip.split(",")))
    backend = jax.default_backend()
    rows = []

    def row(method, library, seconds, **extra):
        rows.append(dict(method=method, library=library, seconds=seconds, **extra))
        info = " ".join(f"{k}={v}" for k, v in extra.items())
        print(f"{method:28s} {library:10s} {seconds:10.4f} s  {info}", flush=True)

    d = fourier_dictionary(n)
    x, y = standard_map_pairs(m, key=jax.random.key(0))
    feats = jax.jit(lambda z: kp.features(d, z))
    psi_x, psi_y = jax.block_until_ready((feats(x), feats(y)))
    px, py = np.asarray(psi_x), np.asarray(psi_y)
    xk, yk = np.asarray(x[:mk]), np.asarray(y[:mk])
    lengthscale = 1.0
    gamma = 1 / (2 * lengthscale**2)
    print(
        f"data: standard map, N={n} Fourier features, M={m}; kernel: M={mk}, rank={rank}",
        flush=True,
    )
    lam = {}

    if "edmd" not in skip:
        for method in ("qr", "gram"):
            est = kp.EDMD(kp.Identity(), method=method)
            fit = jax.jit(lambda u, v, est=est: kp.fit(est, u, v).eigenvalues)
            t, out = timed(lambda fit=fit: fit(psi_x, psi_y), a.repeats)
            lam[f"edmd_{method}"] = np.asarray(out)
            row(f"edmd_fit({method})", "jaxsci", t, N=n, M=m)
        ref = lam["edmd_qr"]
        row_mismatch = dict(max_eig_mismatch_vs_qr=mismatch(lam["edmd_gram"], ref))
        rows[-1].update(row_mismatch)
    if "kernel" not in skip:
        est = kp.KernelEDMD(kp.GaussianKernel(lengthscale), rank=rank)
        fit = jax.jit(lambda u, v: kp.fit(est, u, v).eigenvalues)
        t, out = timed(lambda: fit(jnp.asarray(xk), jnp.asarray(yk)), a.repeats)
        lam["kernel"] = np.asarray(out)
        row("kernel_edmd_fit", "jaxsci", t, rank=rank, M=mk)
    # Nystroem: one long standard-map trajectory (kooplearn's Nystroem estimator takes a single
    # trajectory with lag 1: its centres are drawn from it, so the [X; Y] lag-M trick fails there)
    traj = np.asarray(
        dy.trajectories(dy.StandardMap(), jnp.array([[1.0, 2.0]]), dt=1.0, n_steps=m)[0]
    )
    if "nystroem" not in skip:
        est = kp.KernelEDMD(kp.GaussianKernel(lengthscale), rank=n, n_landmarks=n, method="gram")
        fit = jax.jit(lambda u, v: kp.fit(est, u, v).eigenvalues)
        t, _ = timed(lambda: fit(jnp.asarray(traj[:-1]), jnp.asarray(traj[1:])), a.repeats)
        row("nystroem_kernel_edmd_fit", "jaxsci", t, landmarks=n, M=m)

    if not a.no_peers:
        peers(a, row, lam, traj, px, py, xk, yk, n, m, mk, rank, gamma, lengthscale, skip)

    if "pseudospectrum" not in skip:
        pseudospectrum_rows(a, row, d, n, m, grid, svd_points)

    out = dict(
        backend=backend,
        device=str(jax.devices()[0].device_kind),
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        load_average=os.getloadavg(),
        command=" ".join([os.path.basename(sys.executable)] + sys.argv),
        versions={k: version(k) for k in ("jax", "numpy", "scipy", "pydmd", "kooplearn")},
        rows=rows,
    )
    path = a.out or os.path.join(
        HERE, "results", f"koopman_{backend}{'_quick' if a.quick else ''}.json"
    )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


def peers(a, row, lam, traj, px, py, xk, yk, n, m, mk, rank, gamma, lengthscale, skip):
    try:
        import pydmd

        if "edmd" not in skip and "Y" in __import__("inspect").signature(pydmd.DMD.fit).parameters:
            t, out = timed(lambda: pydmd.DMD(svd_rank=-1).fit(px.T, py.T).eigs, a.repeats)
            row(
                "edmd_fit",
                f"pydmd {version('pydmd')}",
                t,
                N=n,
                M=m,
                max_eig_mismatch=mismatch(out, lam["edmd_qr"]),
            )
        if "kernel" not in skip and hasattr(pydmd, "EDMD"):

            def pk():
                est = pydmd.EDMD(svd_rank=rank, kernel_metric="rbf", kernel_params={"gamma": gamma})
                return est.fit(xk.T, yk.T).eigs

            t, out = timed(pk, a.repeats)
            row(
                "kernel_edmd_fit",
                f"pydmd {version('pydmd')}",
                t,
                rank=rank,
                M=mk,
                max_eig_mismatch=mismatch(out, lam["kernel"]),
            )
    except ImportError as e:
        print("pydmd unavailable:", e)
    try:
        import kooplearn
        from kooplearn.kernel import KernelRidge, NystroemKernelRidge
        from kooplearn.linear_model import Ridge

        v = version("kooplearn")
        assert kooplearn
        if "edmd" not in skip:
            stack = np.concatenate([px, py])  # one "trajectory" with lag M: exactly the pairs

            def kl():
                est = Ridge(
                    n_components=n, lag_time=m, reduced_rank=False, alpha=None, eigen_solver="dense"
                )
                return est.fit(stack).eig()

            t, out = timed(kl, a.repeats)
            row(
                "edmd_fit",
                f"kooplearn {v}",
                t,
                N=n,
                M=m,
                max_eig_mismatch=mismatch(out, lam["edmd_qr"]),
            )
        if "kernel" not in skip:
            ks = np.concatenate([xk, yk])

            def kk():
                est = KernelRidge(
                    n_components=rank,
                    lag_time=mk,
                    reduced_rank=False,
                    kernel="rbf",
                    gamma=gamma,
                    alpha=None,
                    eigen_solver="dense",
                )
                return est.fit(ks).eig()

            t, out = timed(kk, a.repeats)
            row(
                "kernel_edmd_fit",
                f"kooplearn {v}",
                t,
                rank=rank,
                M=mk,
                max_eig_mismatch=mismatch(out, lam["kernel"]),
            )
        if "nystroem" not in skip:

            def kn():
                # kooplearn draws its own random Nystroem centres (jaxsci: strided ones), so only
                # the time is compared, not the eigenvalues
                est = NystroemKernelRidge(
                    n_components=n,
                    lag_time=1,
                    reduced_rank=False,
                    kernel="rbf",
                    gamma=gamma,
                    alpha=None,
                    n_centers=n,
                    random_state=0,
                    eigen_solver="dense",
                )
                return est.fit(traj).eig()

            t, _ = timed(kn, a.repeats)
            row("nystroem_kernel_edmd_fit", f"kooplearn {v}", t, landmarks=n, M=m)
    except ImportError as e:
        print("kooplearn (>= 2) unavailable:", e)
    if os.path.exists(PYKOOPMAN_PYTHON) and not ({"edmd", "kernel"} <= skip):
        with tempfile.TemporaryDirectory() as tmp:
            np.savez(os.path.join(tmp, "data.npz"), px=px, py=py, xk=xk, yk=yk)
            cmd = [
                PYKOOPMAN_PYTHON,
                os.path.join(HERE, "koopman_peer_pykoopman.py"),
                tmp,
                str(a.repeats),
                str(rank),
                str(lengthscale),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                print("pykoopman run failed:", res.stderr[-2000:])
                return
            for r in json.loads(res.stdout.strip().splitlines()[-1]):
                key = "edmd_qr" if r["method"] == "edmd_fit" else "kernel"
                if (r["method"] == "edmd_fit" and "edmd" in skip) or (
                    r["method"] != "edmd_fit" and "kernel" in skip
                ):
                    continue
                extra = dict(N=n, M=m) if r["method"] == "edmd_fit" else dict(rank=rank, M=mk)
                extra["max_eig_mismatch"] = mismatch(
                    np.asarray(r["re"]) + 1j * np.asarray(r["im"]), lam[key]
                )
                row(r["method"], r["library"] + " (subprocess)", r["seconds"], **extra)


def pseudospectrum_rows(a, row, d, n, m, grid, svd_points):
    xv, yv = standard_map_pairs(m, key=jax.random.key(1))  # held out from any fit
    data = jax.block_until_ready(kp.residual_data(d, xv, yv))
    re, im = np.meshgrid(np.linspace(-1.2, 1.2, grid), np.linspace(-1.2, 1.2, grid))
    z = jnp.asarray(re + 1j * im)
    fast = jax.jit(lambda dd, zz: kp.pseudospectrum(dd, zz))
    exact = jax.jit(lambda dd, zz: kp.pseudospectrum(dd, zz, method="svd"))
    sub = z.reshape(-1)[:: max(1, z.size // svd_points)][:svd_points]
    jax.block_until_ready((fast(data, sub[:1]), exact(data, sub[:1])))  # compile
    t_exact, tau_exact = timed(lambda: exact(data, sub), 0)
    t_fast_sub, tau_fast = timed(lambda: fast(data, sub), 0)
    rel = np.abs(np.asarray(tau_fast) - np.asarray(tau_exact)) / np.asarray(tau_exact)
    row(
        "pseudospectrum_svd",
        "jaxsci",
        t_exact,
        N=n,
        points=int(sub.size),
        per_z=t_exact / sub.size,
        extrapolated_200x200_s=t_exact / sub.size * 40000,
    )
    row(
        "pseudospectrum_krylov",
        "jaxsci",
        t_fast_sub,
        N=n,
        points=int(sub.size),
        per_z=t_fast_sub / sub.size,
        max_rel_diff_vs_svd=float(rel.max()),
    )
    t, tau = timed(lambda: fast(data, z), 0)
    row(
        "pseudospectrum_krylov",
        "jaxsci",
        t,
        N=n,
        grid=f"{grid}x{grid}",
        per_z=t / z.size,
        tau_min=float(np.min(tau)),
        tau_max=float(np.max(tau)),
    )


if __name__ == "__main__":
    main()
