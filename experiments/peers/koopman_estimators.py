"""Koopman estimators against the peers: EDMD / kernel EDMD fit time against PyDMD, kooplearn and
PyKoopman on the same data in the same run, and the pseudospectrum on a z grid (fast Krylov path
and SVD path).

    # peers in the same process (PyDMD >= 1.0, kooplearn 2), PyKoopman in a subprocess:
    /work/peers-koopman-latest/bin/python -m experiments.peers.koopman_estimators
    python -m experiments.peers.koopman_estimators --no-peers     # jaxsci only
    python -m experiments.peers.koopman_estimators --quick        # small sizes (smoke test)

Data: the Chirikov standard map on the torus, x uniform, y = F(x); N real Fourier features
(orthogonal under uniform sampling, so the least-squares problem is well conditioned and every
library must return the same eigenvalues, which is checked: `max_eig_mismatch`, optimal matching).
EDMD methods get the same precomputed feature matrices, so only the estimator is timed; kernel
methods get the states. Times are wall-clock medians of `--repeats` calls after one warm-up
(jaxsci: compiled, `block_until_ready`); the long pseudospectrum calls are timed once, compiled
beforehand. Writes `experiments/results/peers/koopman_estimators[_VARIANT].json` (`--quick`:
variant `quick`).
"""

import argparse
import json
import os
import subprocess
import tempfile

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments._harness import REPOSITORY, package_version, timed, write_result  # noqa: E402
from experiments.koopman.data import fourier_dictionary, mismatch, standard_map_pairs  # noqa: E402
from jaxsci import dynamics as dy  # noqa: E402
from jaxsci import koopman as kp  # noqa: E402

PYKOOPMAN_PYTHON = "/work/peers-koopman/bin/python"
PEERS = ("numpy", "scipy", "pydmd", "kooplearn")


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
    p.add_argument("--variant", default="", help="result file suffix")
    a = p.parse_args()
    n = a.features or (101 if a.quick else 501)
    m = a.snapshots or (10_000 if a.quick else 100_000)
    mk = a.kernel_snapshots or (1000 if a.quick else 5000)
    rank = a.kernel_rank or min(n - 1, mk)
    grid = a.grid or (8 if a.quick else 200)
    svd_points = a.svd_points or (16 if a.quick else 100)
    skip = set(filter(None, a.skip.split(",")))
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
            t, out = timed(lambda fit=fit: fit(psi_x, psi_y), repeats=a.repeats, output=True)
            lam[f"edmd_{method}"] = np.asarray(out)
            row(f"edmd_fit({method})", "jaxsci", t, N=n, M=m)
        ref = lam["edmd_qr"]
        row_mismatch = dict(max_eig_mismatch_vs_qr=mismatch(lam["edmd_gram"], ref))
        rows[-1].update(row_mismatch)
    if "kernel" not in skip:
        est = kp.KernelEDMD(kp.GaussianKernel(lengthscale), rank=rank)
        fit = jax.jit(lambda u, v: kp.fit(est, u, v).eigenvalues)
        t, out = timed(
            lambda: fit(jnp.asarray(xk), jnp.asarray(yk)), repeats=a.repeats, output=True
        )
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
        t, _ = timed(
            lambda: fit(jnp.asarray(traj[:-1]), jnp.asarray(traj[1:])),
            repeats=a.repeats,
            output=True,
        )
        row("nystroem_kernel_edmd_fit", "jaxsci", t, landmarks=n, M=m)

    if not a.no_peers:
        peers(a, row, lam, traj, px, py, xk, yk, n, m, mk, rank, gamma, lengthscale, skip)

    if "pseudospectrum" not in skip:
        pseudospectrum_rows(a, row, d, n, m, grid, svd_points)

    variant = "_".join(filter(None, ["quick" if a.quick else "", a.variant]))
    write_result("peers/koopman_estimators", dict(rows=rows), variant=variant, packages=PEERS)


def peers(a, row, lam, traj, px, py, xk, yk, n, m, mk, rank, gamma, lengthscale, skip):
    try:
        import pydmd

        if "edmd" not in skip and "Y" in __import__("inspect").signature(pydmd.DMD.fit).parameters:
            t, out = timed(
                lambda: pydmd.DMD(svd_rank=-1).fit(px.T, py.T).eigs, repeats=a.repeats, output=True
            )
            row(
                "edmd_fit",
                f"pydmd {package_version('pydmd')}",
                t,
                N=n,
                M=m,
                max_eig_mismatch=mismatch(out, lam["edmd_qr"]),
            )
        if "kernel" not in skip and hasattr(pydmd, "EDMD"):

            def pk():
                est = pydmd.EDMD(svd_rank=rank, kernel_metric="rbf", kernel_params={"gamma": gamma})
                return est.fit(xk.T, yk.T).eigs

            t, out = timed(pk, repeats=a.repeats, output=True)
            row(
                "kernel_edmd_fit",
                f"pydmd {package_version('pydmd')}",
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

        v = package_version("kooplearn")
        assert kooplearn
        if "edmd" not in skip:
            stack = np.concatenate([px, py])  # one "trajectory" with lag M: exactly the pairs

            def kl():
                est = Ridge(
                    n_components=n, lag_time=m, reduced_rank=False, alpha=None, eigen_solver="dense"
                )
                return est.fit(stack).eig()

            t, out = timed(kl, repeats=a.repeats, output=True)
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

            t, out = timed(kk, repeats=a.repeats, output=True)
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

            t, _ = timed(kn, repeats=a.repeats, output=True)
            row("nystroem_kernel_edmd_fit", f"kooplearn {v}", t, landmarks=n, M=m)
    except ImportError as e:
        print("kooplearn (>= 2) unavailable:", e)
    if os.path.exists(PYKOOPMAN_PYTHON) and not ({"edmd", "kernel"} <= skip):
        with tempfile.TemporaryDirectory() as tmp:
            np.savez(os.path.join(tmp, "data.npz"), px=px, py=py, xk=xk, yk=yk)
            cmd = [
                PYKOOPMAN_PYTHON,
                "-m",
                "experiments.peers.pykoopman_worker",
                tmp,
                str(a.repeats),
                str(rank),
                str(lengthscale),
            ]
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPOSITORY)
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
    t_exact, tau_exact = timed(lambda: exact(data, sub), repeats=1, warmup=False, output=True)
    t_fast_sub, tau_fast = timed(lambda: fast(data, sub), repeats=1, warmup=False, output=True)
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
    t, tau = timed(lambda: fast(data, z), repeats=1, warmup=False, output=True)
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
