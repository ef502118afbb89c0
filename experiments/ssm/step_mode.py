"""S4 streaming (step mode): the O(N r) DPLR step against the dense bilinear step, same layer.

    python -m experiments.ssm.step_mode

One S4 layer (H = 256 channels, N = 64 states, LegS, float32), L = 1024 tokens through
`recurrence().scan` (one `lax.scan` of `step`), with the DPLR recurrence `S4.recurrence()`
returns and the dense `Abar, Bbar` of `discretise_dplr` for the same parameters; convolution
mode beside them. Median of 5 after a warm-up. Writes `experiments/results/ssm/step_mode.json`
(on a GPU `..._gpu.json`).
"""

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from experiments._harness import timed, write_result
from jaxsci import ssm

H, N, L = 256, 64, 1024


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    argparse.ArgumentParser(description=__doc__, formatter_class=formatter).parse_args()
    layer = ssm.S4(H, N, L, key=jr.key(0))
    u = jr.normal(jr.key(1), (L, H))
    fast = layer.recurrence()
    lam, p, b, _, dt = layer._params()
    abar, bbar = jax.vmap(lambda *a: ssm.discretise_dplr(*a, "bilinear"))(lam, p, b, dt)
    dense = ssm.DenseRecurrence(abar, bbar, fast.c, layer.d)
    scan = eqx.filter_jit(lambda rec, u: rec.scan(u))
    conv = eqx.filter_jit(lambda m, u: m(u))
    t_fast, t_dense, t_conv = timed(scan, fast, u), timed(scan, dense, u), timed(conv, layer, u)
    y_fast, y_dense, y_conv = scan(fast, u), scan(dense, u), conv(layer, u)
    rel = lambda a, b: float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
    out = dict(
        H=H,
        N=N,
        L=L,
        dplr_scan_s=t_fast,
        dense_scan_s=t_dense,
        conv_s=t_conv,
        dense_over_dplr=t_dense / t_fast,
        rel_diff_dplr_dense=rel(y_fast, y_dense),
        rel_diff_dplr_conv=rel(y_fast, y_conv),
    )
    print(
        f"H={H} N={N} L={L}: DPLR step {t_fast / L * 1e6:.1f} us/token, dense step "
        f"{t_dense / L * 1e6:.1f} us/token ({t_dense / t_fast:.1f}x), convolution mode "
        f"{t_conv * 1e3:.1f} ms for the whole sequence; max rel. diff DPLR vs dense "
        f"{out['rel_diff_dplr_dense']:.1e}, vs convolution {out['rel_diff_dplr_conv']:.1e}"
    )
    write_result("ssm/step_mode", out)


if __name__ == "__main__":
    main()
