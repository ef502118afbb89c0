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


def test_component_scales_closed_form():
    # exp(-rho^2 d^2) cos(2 pi mu d) has a Gaussian spectral density around mu of standard
    # deviation rho / (pi sqrt 2): measured here by quadrature of its Fourier transform
    from jaxsci.gp._spectrum import component_scales

    def spectral_std(rho):
        d = np.linspace(-40.0, 40.0, 1 << 16)
        k = np.fft.rfftfreq(len(d), d[1] - d[0])
        dens = np.abs(np.fft.rfft(np.exp(-(rho**2) * d**2)))
        dens[0] *= 0.5  # the half line's end point (the density is even)
        return math.sqrt(np.sum(k**2 * dens) / np.sum(dens))

    length, envelope, spread = 2.0, 10.0, 3.0
    # no peak: the zero component's density ends (3 standard deviations) at the window's main
    # lobe 2 / length
    (rho0,) = component_scales(np.zeros(0), length, envelope, spread)
    assert spectral_std(rho0) == pytest.approx(2.0 / length / spread, rel=1e-6)
    # a low peak: its density ends before zero frequency, the zero component's at the peak
    rho = component_scales(np.array([1.5]), length, envelope, spread)
    assert [spectral_std(r) for r in rho] == pytest.approx([0.5, 0.5], rel=1e-6)
    # a high peak: every component at the envelope, as without the rule
    np.testing.assert_array_equal(
        component_scales(np.array([40.0]), length, envelope, spread), [5.0, 5.0]
    )
    np.testing.assert_array_equal(
        component_scales(np.array([1.5]), length, envelope, None), [5.0, 5.0]
    )


@pytest.mark.x64
def test_default_kernel_smooth_solution_is_wide():
    # gp_robin_2d (one and 1.5 periods per axis, Robin faces): no peak past the main lobe, so
    # the zero component spans the lobe; with every component at the envelope (length / 10)
    # the same grid gave 0.2 at 24^2 (BENCHMARKS "GP beyond Dirichlet boxes")
    prob = pde.get_problem("gp_robin_2d")
    kernel = gp.default_kernel(prob, grid_axes(prob, 16), spread=3.0)
    for k in kernel.kernels:
        np.testing.assert_array_equal(np.asarray(k.frequencies), [0.0])
        assert float(np.exp(k.log_scales[0])) == pytest.approx(math.pi * math.sqrt(2) * 2 / 3)


@pytest.mark.slow
@pytest.mark.x64
def test_default_kernel_smooth_solution_solve():
    # 160 s on 2 cores under load 22 (compiling the Robin rows): slow
    sol = gp.solve(pde.get_problem("gp_robin_2d"), gp.DefaultKernel(spread=3.0), grid=16)
    assert float(sol.error()) <= 1e-4


@pytest.mark.x64
def test_default_kernel_source_free_reads_the_initial_data():
    # heat without a source, u = exp(-kappa (12 pi)^2 t) sin(12 pi x): the initial data holds
    # 6 cycles per unit in x; the data on the faces x = 0, 1 vanish, so t gets no peak
    kappa = 1e-3

    def exact(x, p):
        return jnp.exp(-kappa * (12 * math.pi) ** 2 * x[1]) * jnp.sin(12 * math.pi * x[0])

    prob = pde.Problem(
        pde.SpaceTime(pde.Interval(0.0, 1.0), 0.0, 1.0),
        residual=lambda u, x, p: pde.time_derivative(u, x) - kappa * pde.partial(u, x, 0, 2),
        conditions=[pde.InitialValue(exact), pde.Dirichlet(0.0)],
        exact=exact,
        name="heat_six_cycles",
    )
    kx, kt = gp.default_kernel(prob, grid_axes(prob, 64)).kernels
    lobe = 2.0 / 1.0
    np.testing.assert_allclose(np.asarray(kx.frequencies), [0.0, 6.0], atol=lobe / 8)
    np.testing.assert_array_equal(np.asarray(kt.frequencies), [0.0])


def test_default_kernel_bad_spread():
    with pytest.raises(ValueError, match="spread"):
        gp.DefaultKernel(spread=0.0)
    with pytest.raises(TypeError, match="spread"):
        gp.DefaultKernel(spread="wide")
    assert gp.DefaultKernel().spread is None
