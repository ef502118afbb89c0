"""SSM kernel benchmark: H = 256 channels, N = 64 states (32 stored conjugate modes), float32.

    python -m experiments.ssm.kernels                    # L = 1024, 4096, 16384
    python -m experiments.ssm.kernels --lengths 1024     # quick

Rows: S4D Vandermonde kernel, S4 Cauchy/Woodbury kernel (forward, and forward + backward of a
sum-of-squares loss), FFT convolution of a (L, H) sequence with (H, L) kernels, and the S5 layer
map with the parallel (`associative_scan`) and the sequential (`lax.scan`) scan. Times are
medians of `--repeats` runs after compilation (`block_until_ready`).

Floor column. For each row we count the arithmetic (`flops`) and the bytes a perfect
implementation must move between memory and the cores (inputs and outputs, float32 / complex64),
and measure this machine's float32 matmul rate and memory bandwidth in the same run. The floor is
`max(flops / matmul rate, bytes / bandwidth)` and `x floor` is measured time / floor. Counting
conventions: complex multiply 6, complex add 2, complex multiply-add 8, a reciprocal or a
transcendental (exp, sin, cos) 1 flop (so exp-heavy kernels get an optimistic floor); a real FFT
of size n costs 2.5 n log2 n; a backward pass costs 2x the forward flops. Writes
`experiments/results/ssm/kernels[_VARIANT].json` (on a GPU `..._gpu.json`). `ssm_rows` is also
the `ssm` group of `experiments.tools.device_rows`.
"""

import argparse
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from experiments._harness import timed, write_result
from jaxsci import ssm

H, N = 256, 64
M = N // 2


def machine_peaks(repeats):
    n = 2048
    a = jr.normal(jr.key(0), (n, n))
    t_mm = timed(jax.jit(lambda a: a @ a), a, repeats=repeats)
    x = jr.normal(jr.key(1), (64 * 1024 * 1024,))  # 256 MB
    t_cp = timed(jax.jit(lambda x: x * 1.0001 + 1.0), x, repeats=repeats)
    return 2 * n**3 / t_mm, 2 * x.size * 4 / t_cp  # flop/s, bytes/s (read + write)


def counts(kind, length):
    f = length // 2 + 1
    log = math.log2
    if kind == "s4d_kernel_fwd_bwd":
        fwd, nbytes = counts("s4d_kernel", length)
        return 3 * fwd, nbytes + H * M * 8 * 2  # read the cotangent, write the gradients
    if kind == "s5_parallel_scan_fwd_bwd":
        fwd, nbytes = counts("s5_parallel_scan", length)
        return 3 * fwd, 2 * nbytes
    if kind == "s4d_kernel":
        # one complex MAC per (channel, mode, lag); the two-level Vandermonde needs only
        # 2 sqrt(L) complex exponentials (exp, sin, cos) per mode
        return H * M * (8 * length + 3 * 2 * math.isqrt(length)), H * length * 4
    if kind in ("s4_kernel", "s4_kernel_fwd_bwd"):
        # per (h, f, m): two denominators (16), two reciprocals (2 x 6), four Cauchy sums over
        # the mode and its conjugate (4 x 2 x 8); then the irfft of each channel
        fwd = H * f * M * (16 + 12 + 64) + H * 2.5 * length * log(length)
        if kind == "s4_kernel":
            return fwd, H * length * 4
        return 3 * fwd, H * length * 4 + H * M * 8 * 4  # read the cotangent, write the grads
    if kind == "fft_conv":
        n = 2 * length
        return H * (3 * 2.5 * n * log(n) + 6 * (n // 2 + 1)), 3 * H * length * 4
    if kind.startswith("s5"):
        # B u (M x H complex times real: 4 flops per MAC), the recurrence (8), 2 Re C x (4)
        return length * (M * H * 4 + M * 8 + H * M * 4), 2 * length * H * 4
    raise ValueError(kind)


def ssm_rows(lengths, repeats, fwd_bwd=False):
    """The kernel rows at each length, and this machine's `(matmul flop/s, bytes/s)`; with
    `fwd_bwd`, also forward + backward of the S4D kernel and of the S5 layer."""
    peak_flops, bandwidth = machine_peaks(repeats)
    key = jr.key(0)
    k1, k2, k3, k4 = jr.split(key, 4)
    lam, b = ssm.s4d_init("legs", N)
    d = ssm.dplr("legs", N)
    dts = ssm.log_uniform_timescales((H,), key=k1)
    cs = (jr.normal(k2, (H, M)) + 1j * jr.normal(k3, (H, M))).astype(jnp.complex64)
    s5 = ssm.S5(H, N, 4, key=k4)
    s5_seq = ssm.S5(H, N, 4, scan="sequential", key=k4)
    rows = []
    for length in lengths:
        s4d = jax.jit(
            jax.vmap(lambda c, dt, length=length: ssm.s4d_kernel(lam, b, c, dt, length), (0, 0))
        )
        s4 = jax.jit(
            jax.vmap(
                lambda c, dt, length=length: ssm.s4_kernel(
                    d.eigenvalues, d.low_rank, d.b, c, dt, length
                )
            )
        )

        def s4_loss(c, dt, length=length):
            k = jax.vmap(
                lambda c, dt: ssm.s4_kernel(d.eigenvalues, d.low_rank, d.b, c, dt, length)
            )(c, dt)
            return jnp.sum(k**2)

        s4_grad = jax.jit(jax.grad(s4_loss, argnums=(0, 1)))
        u = jr.normal(k2, (length, H))
        kern = s4d(cs, dts)
        conv = jax.jit(lambda u, k: jax.vmap(ssm.fft_conv, in_axes=(1, 0), out_axes=1)(u, k))
        cases = [
            ("s4d_kernel", s4d, (cs, dts)),
            ("s4_kernel", s4, (cs, dts)),
            ("s4_kernel_fwd_bwd", s4_grad, (cs, dts)),
            ("fft_conv", conv, (u, kern)),
            ("s5_parallel_scan", jax.jit(lambda u: s5(u)), (u,)),
            ("s5_sequential_scan", jax.jit(lambda u: s5_seq(u)), (u,)),
        ]
        if fwd_bwd:
            s4d_loss = lambda c, dt, s4d=s4d: jnp.sum(s4d(c, dt) ** 2)
            s5_loss = lambda layer, u: jnp.sum(layer(u) ** 2)
            cases += [
                ("s4d_kernel_fwd_bwd", jax.jit(jax.grad(s4d_loss, argnums=(0, 1))), (cs, dts)),
                ("s5_parallel_scan_fwd_bwd", eqx.filter_jit(eqx.filter_grad(s5_loss)), (s5, u)),
            ]
        for name, fn, args in cases:
            t = timed(fn, *args, repeats=repeats)
            flops, nbytes = counts(name, length)
            floor = max(flops / peak_flops, nbytes / bandwidth)
            row = dict(
                kernel=name,
                L=length,
                H=H,
                N=N,
                seconds=t,
                gflops=flops / 1e9,
                mbytes=nbytes / 1e6,
                floor_s=floor,
                bound="compute" if flops / peak_flops > nbytes / bandwidth else "memory",
                x_floor=t / floor,
            )
            rows.append(row)
            print(
                f"{name:26s} L={length:6d} {t * 1e3:10.2f} ms  {flops / 1e9:8.3f} GFLOP "
                f"{nbytes / 1e6:8.2f} MB "
                f" floor {floor * 1e3:8.3f} ms ({row['bound']})  x{t / floor:7.1f}",
                flush=True,
            )
        par = next(r for r in rows if r["kernel"] == "s5_parallel_scan" and r["L"] == length)
        seq = next(r for r in rows if r["kernel"] == "s5_sequential_scan" and r["L"] == length)
        print(
            f"  S5 parallel / sequential time at L={length}: {par['seconds'] / seq['seconds']:.2f}"
        )
    return rows, (peak_flops, bandwidth)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 16384])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--variant", default="", help="result file suffix")
    a = p.parse_args()
    backend = jax.default_backend()
    device = str(jax.devices()[0].device_kind)
    rows, (peak_flops, bandwidth) = ssm_rows(a.lengths, a.repeats)
    print(
        f"device {device} ({backend}); float32 matmul {peak_flops / 1e9:.1f} GFLOP/s, "
        f"copy bandwidth {bandwidth / 1e9:.1f} GB/s"
    )
    out = dict(peak_matmul_flops=peak_flops, copy_bandwidth_bytes=bandwidth, rows=rows)
    write_result("ssm/kernels", out, variant=a.variant)


if __name__ == "__main__":
    main()
