"""Float32 means float32 on every backend: the entry points trace at full matmul precision.

On NVIDIA GPUs since Ampere, JAX's default precision for a float32 matrix product is TF32 (a
10-bit mantissa: relative error ~1e-3 per product, measured 2.9e-4 on a 512 x 512 product on an
H200), and the same holds on TPUs (bfloat16 passes). A CPU computes float32 products in float32
whatever the setting. So the same float32 program gives different digits on CPU and GPU, and on the
GPU the results a scientific solver reports lose digits: the README's main job (Helmholtz, 3
seeds) ends at 7.7e-3 relative L2 on an H200 with JAX's default against 4.9e-4 at full precision
(4.0e-4 on CPU), and a float32 EDMD at N = 501 returns eigenvalues off by O(1)
(BENCHMARKS.md, "GPU rows").

`full_precision` makes an entry point trace its matrix products at `"highest"` precision
(`jax.default_matmul_precision`, read when a product is traced: it holds for products traced
inside a jitted function too, and is part of JAX's compilation cache key), unless the caller has
chosen a precision (the `jax_default_matmul_precision` flag or its context manager set to
anything): an explicit choice, e.g. `with jax.default_matmul_precision("tensorfloat32"):` for
speed over digits, is kept. Library code never sets the flag globally.

On a CPU the setting changes no result (tested bit for bit in `tests/test_precision.py`).
Decorated: the family entry points that produce what a user reports (`pinn.solve`, `train.fit`,
`koopman.fit`, the ResDMD functions, `dsr.reconstruct`, ...). Building blocks (fields, SSM
kernels and layers) follow the caller's setting, as any JAX code does.
"""

from __future__ import annotations

import functools

import jax


def full_precision(fn):
    """Run `fn` with `jax.default_matmul_precision("highest")` unless the caller chose one."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if jax.config.jax_default_matmul_precision is not None:
            return fn(*args, **kwargs)
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return wrapper
