"""Shared fixtures.

Tests run in float32 by default, like user code. A test that needs float64 (GP solves, Koopman
eigenproblems, HiPPO identities, reference solvers) is marked ``@pytest.mark.x64`` or takes the
``x64`` fixture; either enables ``jax_enable_x64`` for that test only.
"""

import itertools

import jax
import jax.random as jr
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "x64: run this test with jax_enable_x64")


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
