"""Koopman on one CPU: the EDMD Gram fit with `gram_products` (host BLAS) against plain numpy,
kooplearn and jaxsci's XLA-dot path, on the same arrays in the same run.

    /work/peers-koopman/bin/python -m experiments.koopman.gram_fit --repeats 7   # with kooplearn
    python -m experiments.koopman.gram_fit --quick                             # smoke test

Data as in `experiments.peers.koopman_estimators`: standard map, N Fourier features (default
501), M snapshot pairs (default 1e5), float64, features precomputed so only the estimator is
timed. Rows:

- `numpy`: the plain fit, G = Psi_X^T Psi_X / M and A = Psi_X^T Psi_Y / M (OpenBLAS), K = G^-1 A
  (`solve`), `eig(K)`;
- `jaxsci`: `fit(EDMD(Identity(), method="gram"), psi_x, psi_y)` under `jax.jit`, eigenvalues out
  (validation, the Gram products through `gram_products`, the pseudo-inverse and `eig`);
- `jaxsci_before`: the Gram fit as it was before `gram_products` (three XLA dots: with the
  `Identity` dictionary Psi_X^T W X is a third N x N product, now recognised as G);
- `kooplearn`: `Ridge(reduced_rank=False, alpha=None, eigen_solver="dense")`, as in
  `experiments.peers.koopman_estimators`;
- `products_*`: the two Gram products alone (numpy, `gram_products` host BLAS, and
  `gram_products(method="xla")`, XLA's dot).

Each round runs every row once, in a rotated order (interleaved repeats); the table gives the
median over rounds, after one warm-up each, with the load average around every round (the
machine is shared). This interleaving is the script's own loop, not `_harness.timed`. Writes
`experiments/results/koopman/gram_fit.json` (`--quick`: a temporary file).
"""

import argparse
import os
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from experiments.koopman.data import fourier_dictionary, mismatch, standard_map_pairs  # noqa: E402
from jaxsci import koopman as kp  # noqa: E402
from jaxsci.koopman._estimators import gram_model, validate_pairs  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--features", type=int, default=None, help="odd N")
    p.add_argument("--snapshots", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    p.add_argument("--no-peers", action="store_true")
    a = p.parse_args()
    n = a.features or (101 if a.quick else 501)
    m = a.snapshots or (5_000 if a.quick else 100_000)
    repeats = 2 if a.quick and a.repeats == 5 else a.repeats

    x, y = standard_map_pairs(m, key=jax.random.key(0))
    feats = jax.jit(lambda z: kp.features(fourier_dictionary(n), z))
    psi_x, psi_y = jax.block_until_ready((feats(x), feats(y)))
    px, py = np.asarray(psi_x), np.asarray(psi_y)
    w = jnp.full((m,), 1.0 / m)

    def numpy_fit():
        g, c = px.T @ px / m, px.T @ py / m
        return np.linalg.eig(np.linalg.solve(g, c))[0]

    jaxsci_fit = jax.jit(lambda u, v: kp.fit(kp.EDMD(kp.Identity(), method="gram"), u, v))

    @jax.jit
    def before_fit(u, v):
        # `EDMD.fit_pairs` of the Gram path as it was before `gram_products`: three XLA dots
        # (Psi_X^T W X is a third N x N product here, since X = Psi_X for `Identity`)
        u, v, weights = validate_pairs(u, v)
        psi_u, psi_v = kp.features(kp.Identity(), u), kp.features(kp.Identity(), v)
        wc = weights[:, None]
        g = jnp.conj(psi_u.T) @ (wc * psi_u)
        c = jnp.conj(psi_u.T) @ (wc * psi_v)
        cx = jnp.conj(psi_u.T) @ (wc * u)
        return gram_model(kp.Identity(), g, c, cx).eigenvalues

    host_products = jax.jit(lambda u, v: kp.gram_products(u, v, weights=w))
    xla_products = jax.jit(lambda u, v: kp.gram_products(u, v, weights=w, method="xla"))
    fns = {
        "numpy": numpy_fit,
        "jaxsci": lambda: jaxsci_fit(psi_x, psi_y).eigenvalues,
        "jaxsci_before": lambda: before_fit(psi_x, psi_y),
        "products_numpy": lambda: (px.T @ px / m, px.T @ py / m),
        "products_gram_products": lambda: host_products(psi_x, psi_y),
        "products_xla_dot": lambda: xla_products(psi_x, psi_y),
    }
    if not a.no_peers:
        try:
            from kooplearn.linear_model import Ridge

            stack = np.concatenate([px, py])  # one "trajectory" with lag M: exactly the pairs

            def kooplearn_fit():
                est = Ridge(
                    n_components=n, lag_time=m, reduced_rank=False, alpha=None, eigen_solver="dense"
                )
                return est.fit(stack).eig()

            fns["kooplearn"] = kooplearn_fit
        except ImportError as e:
            print("kooplearn unavailable:", e)

    eigs = {k: np.asarray(jax.block_until_ready(f())) for k, f in fns.items()}  # warm-up
    names = list(fns)
    times = {k: [] for k in names}
    loads = []
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        load_before = os.getloadavg()[0]
        for k in order:
            t = time.perf_counter()
            jax.block_until_ready(fns[k]())
            times[k].append(time.perf_counter() - t)
        loads.append((load_before, os.getloadavg()[0]))
        print(f"round {r}: " + " ".join(f"{k}={times[k][-1]:.3f}" for k in names), flush=True)
        print(f"  load average {loads[-1][0]:.2f} -> {loads[-1][1]:.2f}", flush=True)

    med = {k: float(np.median(v)) for k, v in times.items()}
    rows = []
    for k in names:
        # the fastest round too: on a shared machine it is the one least disturbed
        row = dict(name=k, median_s=med[k], min_s=min(times[k]), seconds=times[k])
        if not k.startswith("products"):
            row["max_eig_mismatch_vs_numpy"] = mismatch(eigs[k], eigs["numpy"])
        rows.append(row)
        print(f"{k:24s} {med[k]:8.3f} s  ({med[k] / med['numpy']:.2f}x numpy)")
    fastest = {k: min(v) for k, v in times.items()}
    goals = dict(
        jaxsci_over_numpy=med["jaxsci"] / med["numpy"],
        jaxsci_over_numpy_fastest_rounds=fastest["jaxsci"] / fastest["numpy"],
    )
    goals["within_1.2x_numpy"] = goals["jaxsci_over_numpy"] <= 1.2
    if "kooplearn" in med:
        goals["kooplearn_over_jaxsci"] = med["kooplearn"] / med["jaxsci"]
        goals["at_least_2x_kooplearn"] = goals["kooplearn_over_jaxsci"] >= 2.0
        goals["kooplearn_over_jaxsci_fastest_rounds"] = fastest["kooplearn"] / fastest["jaxsci"]
    print(goals)
    out = dict(N=n, M=m, rounds=repeats, load_average_per_round=loads, rows=rows, goals=goals)
    quick = os.path.join(tempfile.gettempdir(), "gram_fit_quick.json") if a.quick else None
    write_result("koopman/gram_fit", out, packages=("numpy", "kooplearn"), out=quick)


if __name__ == "__main__":
    main()
