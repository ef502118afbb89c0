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
import os
import shutil
import tempfile
from pathlib import Path

import jax
import jax.random as jr
import pytest

LONG_TESTS = Path(__file__).with_name("long_tests.txt")


def pytest_configure(config):
    config.addinivalue_line("markers", "x64: run this test with jax_enable_x64")
    jax.config.update("jax_default_matmul_precision", "highest")
    _compilation_cache(config)


def _compilation_cache(config):
    """One persistent XLA compilation cache for the whole run, shared by its worker processes
    and by the processes tests start (notebook kernels, `jaxsci run`, multi-process runs), all
    of which inherit `JAX_COMPILATION_CACHE_DIR` from the process that made it. The suite is
    bound by XLA's compilation, and many tests compile the same program (the same solve on the
    same problem, a notebook's cell and a test's). An entry is used only for the same program,
    compile options and jaxlib, so what a test computes does not change; the first test to
    compile a program writes it, the next reads it. The cache is the command line's
    (`jaxsci.cli.compilation_cache`), in a fresh directory removed at the end of the run, so no
    run depends on an earlier one: `JAXSCI_COMPILATION_CACHE=off` runs without it, a directory
    named there is used and kept (a local loop of reruns), and a cache directory set through
    JAX itself is left as it is."""
    from jaxsci.cli import CACHE_ENV, compilation_cache

    if CACHE_ENV not in os.environ and not jax.config.jax_compilation_cache_dir:
        os.environ[CACHE_ENV] = config._jaxsci_cache_to_remove = tempfile.mkdtemp(
            prefix="jaxsci-test-xla-"
        )
    path = compilation_cache()
    if path is not None:  # for every process started from here on (an xdist worker: its own)
        os.environ["JAX_COMPILATION_CACHE_DIR"] = path
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"


def _long_ids() -> set[str]:
    lines = LONG_TESTS.read_text().splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in `long_tests.txt` `long`: the default run skips them (``-m 'not
    slow and not long'`` in pyproject.toml), ``-m long`` and CI run them. When the whole suite is
    collected, a listed test that no longer exists is an error (a renamed test would otherwise
    fall back into the default run unnoticed)."""
    long_ids = _long_ids()
    for item in items:
        if item.nodeid in long_ids:
            item.add_marker(pytest.mark.long)
    # `args_source` (pytest >= 7.4, the test extra's floor): no paths given on the command line
    whole = config.args_source == pytest.Config.ArgsSource.TESTPATHS and not config.option.keyword
    if whole:
        missing = sorted(long_ids - {item.nodeid for item in items})
        if missing:
            raise pytest.UsageError(
                f"{LONG_TESTS.name} lists tests that do not exist: {missing}; "
                "rename or remove them there"
            )


def pytest_unconfigure(config):
    path = getattr(config, "_jaxsci_cache_to_remove", None)
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


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
