"""Koopman benchmark: EDMD / kernel EDMD fit time and a pseudospectrum grid, jaxsci vs peers.

    python experiments/bench_koopman.py            # N=500 features, M=1e5 snapshots, 200x200 grid
    python experiments/bench_koopman.py --quick    # small sizes (smoke test)

Peers (PyDMD, PyKoopman, kooplearn) are timed in the same run when importable. All methods get
the same precomputed feature matrices (random Fourier features of damped-Duffing snapshots), so
only the estimator is timed. Times are wall-clock medians of `--repeats` runs after one warm-up
(jaxsci: after compilation; `block_until_ready`). Writes experiments/results/koopman_<backend>.json.
"""

import argparse
import json
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxsci import dynamics as dy, koopman as kp  # noqa: E402


def timed(fn, repeats):
    out = fn()
    jax.block_until_ready(out)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--features", type=int, default=None)
    p.add_argument("--snapshots", type=int, default=None)
    p.add_argument("--grid", type=int, default=None)
    p.add_argument("--kernel-snapshots", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-peers", action="store_true")
    a = p.parse_args()
    n = a.features or (100 if a.quick else 500)
    m = a.snapshots or (10_000 if a.quick else 100_000)
    # 20x20 by default: one SVD of a 2N x N matrix per z (~0.17 s each at N=500 on an H100);
    # a 200x200 grid at N=500 (40,000 SVDs) takes far longer than a benchmark run; pass --grid 200.
    grid = a.grid or (10 if a.quick else 20)
    mk = a.kernel_snapshots or (1000 if a.quick else 2000)
    backend = jax.default_backend()
    dev = str(jax.devices()[0].device_kind)
    rows = []

    def row(method, library, seconds, **extra):
        rows.append(dict(method=method, library=library, seconds=seconds, **extra))
        print(f"{method:34s} {library:10s} {seconds:10.4f} s  {extra}", flush=True)

    # data: damped Duffing, many short trajectories
    key = jax.random.key(0)
    n_traj = max(m // 20, 1)
    x0 = jax.random.uniform(key, (n_traj, 2), minval=-2, maxval=2)
    x, y = dy.snapshot_pairs(dy.trajectories(dy.Duffing(), x0, dt=0.3, n_steps=20))
    x, y = x[:m], y[:m]
    rff = kp.RandomFourierFeatures.sample(2, n, 1.0, key=jax.random.key(1), dtype=jnp.float64)
    psi_x, psi_y = kp.features(rff, x), kp.features(rff, y)
    jax.block_until_ready(psi_y)
    ident = kp.EDMD(kp.Identity())
    gram = kp.EDMD(kp.Identity(), method="gram")

    fit_edmd = jax.jit(lambda px, py: kp.fit(ident, px, py).eigenvalues)
    t, lam = timed(lambda: fit_edmd(psi_x, psi_y), a.repeats)
    lam_j = np.asarray(lam)
    row("edmd_fit(qr)", "jaxsci", t, N=n, M=int(x.shape[0]))
    fit_gram = jax.jit(lambda px, py: kp.fit(gram, px, py).eigenvalues)
    t, lam_g = timed(lambda: fit_gram(psi_x, psi_y), a.repeats)
    row("edmd_fit(gram)", "jaxsci", t, N=n, M=int(x.shape[0]))

    kern = kp.gaussian_kernel(1.0)
    fit_ny = jax.jit(lambda xx, yy: kp.fit(kp.KernelEDMD(kern, rank=n, n_landmarks=n), xx, yy).eigenvalues)
    t, _ = timed(lambda: fit_ny(x, y), a.repeats)
    row("kernel_edmd_nystroem_fit", "jaxsci", t, N=n, M=int(x.shape[0]))
    xk, yk = x[:mk], y[:mk]
    fit_k = jax.jit(lambda xx, yy: kp.fit(kp.KernelEDMD(kern, rank=min(n, mk)), xx, yy).eigenvalues)
    t, _ = timed(lambda: fit_k(xk, yk), a.repeats)
    row("kernel_edmd_full_fit", "jaxsci", t, rank=min(n, mk), M=mk)

    data = kp.residual_data(ident.dictionary, psi_x, psi_y)
    re, im = np.meshgrid(np.linspace(-1.5, 1.5, grid), np.linspace(-1.5, 1.5, grid))
    z = jnp.asarray(re + 1j * im)
    ps = jax.jit(lambda d, zz: kp.pseudospectrum(d, zz, chunk_size=64))
    t, _ = timed(lambda: ps(data, z), 1)
    row("pseudospectrum", "jaxsci", t, N=n, grid=f"{grid}x{grid}")

    if not a.no_peers:
        px, py = np.asarray(psi_x), np.asarray(psi_y)
        try:
            from pydmd import DMD

            def pydmd_fit():
                return DMD(svd_rank=n).fit(px.T, py.T).eigs

            t, lam_p = timed(pydmd_fit, a.repeats)
            err = max(np.min(np.abs(lam_j - l)) for l in lam_p)
            row("edmd_fit", "pydmd", t, N=n, M=int(x.shape[0]), max_eig_mismatch=float(err))
        except Exception as e:  # noqa: BLE001
            print("pydmd unavailable:", type(e).__name__, e)
        try:
            import pykoopman as pk

            def pk_fit():
                mdl = pk.Koopman(observables=pk.observables.Identity(), regressor=pk.regression.EDMD())
                mdl.fit(px, y=py)
                return np.linalg.eigvals(mdl.ur @ mdl.A @ mdl.ur.conj().T) if False else mdl.lamda.diagonal() if np.ndim(mdl.lamda) == 2 else mdl.lamda

            t, lam_k = timed(pk_fit, a.repeats)
            err = max(np.min(np.abs(lam_j - l)) for l in np.ravel(lam_k))
            row("edmd_fit", "pykoopman", t, N=n, M=int(x.shape[0]), max_eig_mismatch=float(err))
        except Exception as e:  # noqa: BLE001
            print("pykoopman unavailable:", type(e).__name__, e)
        try:
            from pydmd import EDMD as PEDMD

            xkn, ykn = np.asarray(xk), np.asarray(yk)

            def pydmd_kernel():
                return PEDMD(svd_rank=min(n, mk), kernel_metric="rbf", kernel_params={"gamma": 0.5}).fit(xkn.T, ykn.T).eigs

            t, _ = timed(pydmd_kernel, a.repeats)
            row("kernel_edmd_full_fit", "pydmd", t, rank=min(n, mk), M=mk)
        except Exception as e:  # noqa: BLE001
            print("pydmd EDMD unavailable:", type(e).__name__, e)

    out = dict(backend=backend, device=dev, platform=platform.platform(), quick=a.quick, rows=rows)
    path = os.path.join(os.path.dirname(__file__), "results", f"koopman_{backend}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
