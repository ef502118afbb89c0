"""The default kernel's frequency picker (`gp.spectral_frequencies`, `gp.default_kernel`): the
frequencies of the solution, not of the source (issue 25)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import gp, pde
from jaxsci.gp._grid import grid_axes
from jaxsci.gp._spectrum import _operator_terms


def _tones(x, tones):
    return sum(a * np.sin(2 * math.pi * f * x + phase) for a, f, phase in tones)


def test_two_tones_closed_form_no_side_lobes():
    # two tones of a field sampled on [0, 1]: the Hann window's main lobe (first null) is
    # 2 / L = 2 cycles per unit wide; its side lobes (the strongest at 2.5 bins, -31 dB) are
    # local maxima of the spectrum that must not be taken, even when 6 peaks are asked for
    x = np.linspace(0.0, 1.0, 256)
    tones = [(1.0, 9.7, 0.3), (0.2, 3.3, 1.0)]
    for components in ("auto", 2, 6):
        (found,) = gp.spectral_frequencies(_tones(x, tones), [x], components)
        np.testing.assert_allclose(found, [3.3, 9.7], atol=0.05)
    (one,) = gp.spectral_frequencies(_tones(x, tones), [x], 1)
    np.testing.assert_allclose(one, [9.7], atol=0.05)


def test_frequencies_of_u_from_the_source():
    # f = u'' of u = sin(2 pi 8 x) + 0.3 cos(2 pi 1.2 x) on [0, 2 pi]: the low tone is 4.6e-5
    # of the high one in energy of f, 0.09 in energy of u. Divided by the symbol -(2 pi k)^2,
    # both are found; read off f as it is, only the high one holds energy enough
    x = np.linspace(0.0, 2 * math.pi, 400)
    w1, w2 = 2 * math.pi * 8.0, 2 * math.pi * 1.2
    f = -(w1**2) * np.sin(w1 * x) - 0.3 * w2**2 * np.cos(w2 * x)
    lap = pde.LinearOperator.laplacian(1)
    (of_u,) = gp.spectral_frequencies(f, [x], "auto", lap)
    np.testing.assert_allclose(of_u, [1.2, 8.0], atol=0.05)
    (of_f,) = gp.spectral_frequencies(f, [x], "auto")
    np.testing.assert_allclose(of_f, [8.0], atol=0.05)


@pytest.mark.x64
def test_two_tone_default_kernel_finds_both_tones():
    # gp_two_tone: u = sin(75x) + 0.3 cos(7x) on [0, 2 pi]; a picker on the source's spectrum
    # took four side lobes of the high tone and missed the low one (1.3e-6 at 400 points)
    prob = pde.get_problem("gp_two_tone")
    axes = grid_axes(prob, 400)
    (kernel,) = gp.default_kernel(prob, axes).kernels
    lobe = 2.0 / (2 * math.pi)  # the window's main-lobe half width, cycles per unit
    freqs = np.asarray(kernel.frequencies)
    assert freqs[0] == 0.0 and len(freqs) == 3
    np.testing.assert_allclose(freqs[1:], [7 / (2 * math.pi), 75 / (2 * math.pi)], atol=lobe / 4)


@pytest.mark.slow
@pytest.mark.x64
def test_two_tone_default_solve():
    # ~3 s warm, 10-30 s with compilation on 2 shared cores
    sol = gp.solve(pde.get_problem("gp_two_tone"), grid=400)
    assert float(sol.error()) <= 1e-6


def test_nonlinear_residual_symbol_from_its_linearisation():
    # u_xx + u (u^2 - 1) = f linearised at u = 0 is u_xx - u
    orders, coefficients = _operator_terms(pde.get_problem("gp_a1"))
    assert dict(zip(orders, coefficients, strict=True)) == pytest.approx({(0,): -1.0, (2,): 1.0})


def test_spectral_frequencies_bad_input():
    x = np.linspace(0.0, 1.0, 32)
    with pytest.raises(ValueError, match="components"):
        gp.spectral_frequencies(np.sin(x), [x], "many")
    with pytest.raises(ValueError, match="shape"):
        gp.spectral_frequencies(np.zeros((3, 4)), [x], "auto")
    assert jnp.asarray(gp.spectral_frequencies(np.zeros(32), [x])[0]).size == 0
