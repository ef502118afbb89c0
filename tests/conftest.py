"""Shared fixtures.

Tests run in float32 by default, like user code. A test that needs float64 (GP solves, Koopman
eigenproblems, HiPPO identities, reference solvers) is marked ``@pytest.mark.x64`` or takes the
``x64`` fixture; either enables ``jax_enable_x64`` for that test only.

Matrix products run at full precision in every test (``jax_default_matmul_precision =
"highest"``): the tests compare float32 results against references computed in the test itself,
and on a GPU JAX's default is TF32 for float32 products (~1e-3 relative), which the references
would not share (25 tests failed so on an H200 before this line: BENCHMARKS.md, "GPU rows"). On
a CPU the setting changes no result. The library's own entry points take the same precision
when the caller chose none (`jaxsci/_precision.py`, tested in `tests/test_precision.py`).
"""

import itertools

import jax
import jax.random as jr
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "x64: run this test with jax_enable_x64")
    jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(autouse=True)
def _x64_marker(request):
    if request.node.get_closest_marker("x64") is None:
        yield
    else:
        with jax.enable_x64(True):
            yield


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


@pytest.fixture
def getkey():
    """Returns a function giving a fresh PRNG key on each call (deterministic per test)."""
    counter = itertools.count()
    base = jr.key(0)
    return lambda: jr.fold_in(base, next(counter))
