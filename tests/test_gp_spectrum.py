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
    from jaxsci.gp._envelopes import component_scales

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
    with pytest.raises(TypeError, match="'auto'.*`spread`"):
        gp.DefaultKernel(spread="wide")
    assert gp.DefaultKernel().spread == "auto"
    # None is stored as "none", which a run config writes and reads back (TOML has no null)
    assert gp.DefaultKernel(spread=None).spread == "none"
    assert gp.DefaultKernel(spread=None) == gp.DefaultKernel(spread="none")


# `DefaultKernel(spread="auto")`: the rule `smooth_solution` that picks the wide envelopes
# (spread 3) for a smooth solution and the narrow ones (spread None) elsewhere
_REACH = 3.0 * 10.0 / (math.pi * math.sqrt(2.0))  # on a unit domain: where the cap binds


def _laplacian_terms(dim):
    op = pde.LinearOperator.laplacian(dim)
    return op.orders, [float(c) for c in np.asarray(op.coefficients)]


def _smoothness_1d(f, x):
    from jaxsci.gp._envelopes import _smoothness
    from jaxsci.gp._spectrum import _axis_spectrum

    op = _laplacian_terms(1)
    spectrum = _axis_spectrum(f, [x], 0, op)[1:3]
    beyond, layer = _smoothness([spectrum], [np.zeros(0)], [1.0], op, 10.0, 3.0)
    return float(beyond[0]), float(layer[0])


def test_smooth_solution_gaussian_bump_closed_form():
    # u = exp(-s^2 / 2), s = (x - 1/2) / w, from f = u'' = (s^2 - 1) u / w^2: |u^(k)|^2 is a
    # Gaussian of standard deviation 1 / (2 sqrt 2 pi w) (cycles per unit), so the fraction
    # of its energy past the reach is erfc(reach / (sqrt 2 std)); the Hann window convolves
    # the spectrum with its own, which only widens it
    from jaxsci.gp._envelopes import _ENERGY_LEFT

    x = np.linspace(0.0, 1.0, 100)
    for width in (0.05, 0.03):
        s = (x - 0.5) / width
        f = (s**2 - 1) / width**2 * np.exp(-(s**2) / 2)
        beyond, layer = _smoothness_1d(f, x)
        std = 1.0 / (2 * math.sqrt(2) * math.pi * width)
        tail = math.erfc(_REACH / (math.sqrt(2) * std))  # 2.7e-3 (0.05), 9.3e-2 (0.03)
        assert tail > 10 * _ENERGY_LEFT
        assert tail <= beyond <= 3 * tail and layer == 0.0
    # a bump of width 0.2 (a fifth of the domain): its tail 3.6e-33, the window's leakage
    # 7e-10; smooth
    s = (x - 0.5) / 0.2
    beyond, _ = _smoothness_1d((s**2 - 1) / 0.04 * np.exp(-(s**2) / 2), x)
    assert beyond <= 1e-2 * _ENERGY_LEFT


def test_smooth_solution_low_frequency_closed_forms():
    # solutions of a period or two plus a polynomial: their energy sits in the window's main
    # lobe (2 cycles) and their peaks' lobes, far below the reach (6.75 cycles)
    from jaxsci.gp._envelopes import _ENERGY_LEFT

    x = np.linspace(0.0, 1.0, 64)
    w = 3 * math.pi
    for f in (-(math.pi**2) * np.sin(math.pi * x), 6 * x, -(w**2) * np.sin(w * x)):
        beyond, layer = _smoothness_1d(f, x)
        assert beyond <= 1e-2 * _ENERGY_LEFT and layer == 0.0


def test_layer_rates_closed_form():
    # exp(lambda x) solves L u = 0 along x where lambda is a root of the symbol along x:
    # -eps u'' + u' has roots 0 and 1 / eps; Lap - I has +-1 along each axis; Lap only 0
    from jaxsci.gp._envelopes import _layer_rates

    for eps in (1e-2, 0.5):
        rates = _layer_rates(([(2,), (1,)], [-eps, 1.0]), 1)
        np.testing.assert_allclose(rates, [1 / eps], rtol=1e-12)
    op = pde.LinearOperator.laplacian(2) - pde.LinearOperator.identity(2)
    terms = op.orders, [float(c) for c in np.asarray(op.coefficients)]
    np.testing.assert_allclose(_layer_rates(terms, 2), [1.0, 1.0], rtol=1e-12)
    np.testing.assert_array_equal(_layer_rates(_laplacian_terms(2), 2), [0.0, 0.0])
    np.testing.assert_array_equal(_layer_rates(None, 2), [0.0, 0.0])


def test_smooth_solution_boundary_layer_from_the_operator():
    # -eps u'' + u' = 1: the constant source shows nothing (no spectrum); the layer's rate
    # 1 / eps against the wide zero component's rho, pi sqrt 2 (2 / L) / 3 = 2.96 without a
    # peak, decides: a layer (eps = 1e-2, zoo_boundary_layer; 0.3) or a gentle exponential
    from jaxsci.gp._envelopes import _smoothness, smooth_solution

    rho = math.pi * math.sqrt(2) * 2 / 3
    for eps, smooth in ((1e-2, False), (0.3, False), (0.5, True)):
        op = ([(2,), (1,)], [-eps, 1.0])
        _, layer = _smoothness([None], [np.zeros(0)], [1.0], op, 10.0, 3.0)
        assert float(layer[0]) == pytest.approx(1 / eps / rho, rel=1e-12)
        assert smooth_solution([None], [np.zeros(0)], [1.0], op, 10.0, 3.0) is smooth


def _envelopes(kernel):
    return [np.exp(np.asarray(k.log_scales)) for k in kernel.kernels]


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(_envelopes(a), _envelopes(b), strict=True))


@pytest.mark.x64
@pytest.mark.parametrize(
    "name, n, wide",
    [
        # paper rows where spread=3 would change an envelope (P2 2.73e-7 -> 2.97e-7 with it):
        # a peak past the reach keeps the narrow kernel
        ("gp_p2", 200, False),
        # localised: a bump (its energy past the reach), a boundary layer (its operator)
        ("zoo_bump_2d", 36, False),
        ("zoo_boundary_layer", 160, False),
        # smooth: one or two periods and a polynomial, a small tone of 4 cycles
        ("gp_robin_2d", 16, True),
        ("zoo_multiscale_2d", 36, True),
    ],
)
def test_auto_spread_picks_the_kernel(name, n, wide):
    prob = pde.get_problem(name)
    axes = grid_axes(prob, n)
    narrow = gp.default_kernel(prob, axes, spread=None)
    spread3 = gp.default_kernel(prob, axes, spread=3.0)
    auto = gp.DefaultKernel(spread="auto")(prob, axes)
    assert not _same(narrow, spread3)  # the choice matters on this row
    assert _same(auto, spread3 if wide else narrow)
