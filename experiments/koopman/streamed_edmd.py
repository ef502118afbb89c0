"""EDMD on more snapshots than fit in memory: `koopman.gram_matrices` streaming blocks.

The Chirikov standard map on the torus with N = 501 real Fourier features (a constant, cos and
sin of the 250 shortest half-plane wavenumbers). Under uniform sampling the features are
orthogonal (G -> diag(1, 1/2, ..., 1/2): mean cos^2 = 1/2), so the Gram matrix has an exact
limit, and its Monte Carlo error must fall as M^(-1/2) with a known constant: an off-diagonal
entry averages a product of two features of distinct frequencies, variance about 1/4,
so the rms error times sqrt(M) tends to 1/2 (the diagonal's 1/8 variance moves it by < 1e-3).
That is the check against a truth at every M. The constant is an exact eigenfunction of the
map's Koopman operator, and the data map it to itself exactly, so one EDMD eigenvalue is 1 to
rounding at any M (the others, of a finite section of a chaotic map's operator, lie well inside
the unit disk).

Blocks of snapshot pairs are generated on the fly from their index (`x` uniform from
`fold_in(key, i)`, `y` the map of `x`), so M = 1e8 needs O(block x N) memory:

    python -m experiments.koopman.streamed_edmd --m 1e8        # 29 min on 2 cores
    python -m experiments.koopman.streamed_edmd --m 1e6,1e7    # the scaling rows

writes `experiments/results/koopman/streamed_edmd.json`, keeping the rows of other M already in
it (one M per process gives each row its own peak memory). The work is 3 M N^2 flops (G by SYRK,
A by GEMM, in the host BLAS on CPU through `koopman.gram_products`) plus the features.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments._harness import result_path, write_result  # noqa: E402
from experiments.koopman.data import fourier_dictionary  # noqa: E402
from jaxsci import dynamics as dy  # noqa: E402
from jaxsci import koopman as kp  # noqa: E402


def make_block(key, block: int, strength: float = 1.0):
    step = jax.vmap(dy.StandardMap(strength).step)

    @jax.jit
    def gen(i):
        x = jax.random.uniform(jax.random.fold_in(key, i), (block, 2), jnp.float64, 0, 2 * np.pi)
        return x, step(x)

    return gen


def one_run(m: int, block: int, n_features: int, seed: int):
    if m % block:
        raise ValueError(f"--m {m} must be a multiple of --block {block}")
    dictionary = fourier_dictionary(n_features)
    blocks = make_block(jax.random.key(seed), block)
    jax.block_until_ready(blocks(0))
    t0 = time.perf_counter()
    grams = kp.gram_matrices(dictionary, blocks, n_blocks=m // block)
    g = np.asarray(grams.g)
    wall = time.perf_counter() - t0
    limit = np.diag([1.0] + [0.5] * (n_features - 1))
    dev = g - limit
    t1 = time.perf_counter()
    model = kp.fit_gram(dictionary, grams)
    lam = np.asarray(model.eigenvalues)
    fit_s = time.perf_counter() - t1
    flops = 3.0 * m * n_features**2
    row = {
        "m": m,
        "n_features": n_features,
        "block": block,
        "wall_s": wall,
        "gflops": flops / wall / 1e9,
        # the Monte Carlo error of G against its exact limit: ~ M^(-1/2)
        "gram_error_max": float(np.max(np.abs(dev))),
        "gram_error_rms": float(np.sqrt(np.mean(dev**2))),
        "gram_error_rms_times_sqrt_m": float(np.sqrt(np.mean(dev**2)) * np.sqrt(m)),
        "fit_s": fit_s,
        # the constant is an exact eigenfunction with eigenvalue 1
        "eig_one_error": float(np.min(np.abs(lam - 1))),
        "spectral_radius": float(np.max(np.abs(lam))),
        # the process's peak so far (O(block N), whatever M): run one M per process to read it
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", default="1e6", help="comma-separated snapshot counts")
    ap.add_argument("--block", type=int, default=200_000)
    ap.add_argument("--n-features", type=int, default=501)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = []
    for m in [int(float(s)) for s in args.m.split(",")]:
        row = one_run(m, min(args.block, m), args.n_features, args.seed)
        rows.append(row)
        print(
            f"M = {m:.0e}, N = {row['n_features']}: {row['wall_s']:.1f} s "
            f"({row['gflops']:.1f} GFLOP/s in the products' count), |G - limit| rms "
            f"{row['gram_error_rms']:.2e} (x sqrt(M) = {row['gram_error_rms_times_sqrt_m']:.3f}), "
            f"eigenvalue 1 to {row['eig_one_error']:.1e} (fit {row['fit_s']:.1f} s)",
            flush=True,
        )
    path, old = result_path("koopman/streamed_edmd"), []
    if path.exists():
        old = [
            r for r in json.loads(path.read_text())["rows"] if r["m"] not in {x["m"] for x in rows}
        ]
    write_result("koopman/streamed_edmd", {"rows": sorted(old + rows, key=lambda r: r["m"])})


if __name__ == "__main__":
    main()
