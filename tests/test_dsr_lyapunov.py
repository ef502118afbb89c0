"""Lyapunov spectra and attractor dimensions against known values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import dynamics


@pytest.mark.x64
def test_lorenz63_spectrum():
    """Lorenz-63 (sigma, rho, beta) = (10, 28, 8/3): (0.906, 0, -14.57) (Sprott 2003, "Chaos
    and time-series analysis", table A.1), to 2 digits; the sum equals the trace of the
    Jacobian, -(sigma + 1 + beta), exactly (volume contraction)."""
    spectrum = jax.jit(
        lambda x: dynamics.lyapunov_spectrum(
            dynamics.Lorenz63(), x, dt=0.1, n_steps=5000, transient=100
        )
    )(jnp.array([1.0, 1.0, 20.0]))
    lam = np.asarray(spectrum)
    assert abs(lam[0] - 0.906) < 0.01
    assert abs(lam[1]) < 0.01
    assert abs(lam[2] - -14.57) < 0.01
    assert lam.sum() == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-6)
    assert float(dynamics.kaplan_yorke_dimension(spectrum)) == pytest.approx(2.062, abs=0.002)


@pytest.mark.x64
def test_dysts_lorenz_metadata_disagree():
    """dysts' Lorenz entry (beta = 2.667) gives `maximum_lyapunov_estimated` 0.892 and
    `lyapunov_spectrum_estimated[0]` 1.09: they disagree with each other. The QR spectrum of
    the same system says 0.905, so we trust neither to better than 2% and the second not at
    all; the jaxsci value is what VPT's Lyapunov time uses."""
    lorenz = dynamics.ChaoticFlow("Lorenz")
    assert lorenz.maximum_lyapunov == pytest.approx(0.8917, abs=1e-4)
    assert lorenz.lyapunov_spectrum_estimate[0] == pytest.approx(1.0911, abs=1e-4)
    lam = dynamics.lyapunov_spectrum(
        lorenz, jnp.asarray(lorenz.initial_condition), dt=0.1, n_steps=3000, n_exponents=1
    )
    assert abs(float(lam[0]) - 0.905) < 0.02
    assert abs(float(lam[0]) - lorenz.lyapunov_spectrum_estimate[0]) > 0.1


@pytest.mark.x64
def test_logistic_map_ln2_and_henon():
    lam = dynamics.lyapunov_spectrum(
        dynamics.LogisticMap(r=4.0), jnp.array([0.3]), n_steps=20000, transient=10
    )
    assert float(lam[0]) == pytest.approx(np.log(2), abs=5e-3)
    # Henon (1.4, 0.3): 0.419 and ln(0.3) - 0.419 (the sum is log|det J| = ln 0.3 exactly)
    lam = dynamics.lyapunov_spectrum(
        dynamics.ChaoticMap("Henon"), jnp.array([0.1, 0.1]), n_steps=20000, transient=100
    )
    assert float(lam[0]) == pytest.approx(0.419, abs=5e-3)
    assert float(lam.sum()) == pytest.approx(np.log(0.3), abs=1e-10)


@pytest.mark.x64
def test_linear_flow_spectrum_is_real_parts():
    matrix = jnp.array([[-1.0, 2.0, 0.0], [-2.0, -1.0, 0.0], [0.0, 0.0, 0.5]])
    lam = dynamics.lyapunov_spectrum(
        dynamics.LinearFlow(matrix), jnp.array([1.0, 0.0, 1.0]), dt=0.5, n_steps=40
    )
    np.testing.assert_allclose(np.asarray(lam), [0.5, -1.0, -1.0], atol=1e-6)


def test_vmap_and_float32():
    x0 = jnp.array([[0.2], [0.3], [0.7]], jnp.float32)
    lam = jax.vmap(lambda x: dynamics.lyapunov_spectrum(dynamics.LogisticMap(), x, n_steps=2000))(
        x0
    )
    assert lam.shape == (3, 1) and lam.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(lam[:, 0]), np.log(2), atol=0.03)


def test_kaplan_yorke_cases():
    assert float(dynamics.kaplan_yorke_dimension(jnp.array([-0.1, -1.0]))) == 0.0
    assert float(dynamics.kaplan_yorke_dimension(jnp.array([0.5, 0.1]))) == 2.0
    # Henon: 1 + 0.419 / 1.623
    d = dynamics.kaplan_yorke_dimension(jnp.array([0.419, -1.623]))
    assert float(d) == pytest.approx(1 + 0.419 / 1.623, rel=1e-6)


@pytest.mark.x64
def test_correlation_dimension():
    rng = np.random.default_rng(0)
    square = jnp.asarray(rng.uniform(size=(1000, 2)))
    assert float(dynamics.correlation_dimension(square)) == pytest.approx(2.0, abs=0.1)
    theta = rng.uniform(0, 2 * np.pi, 1000)
    circle = jnp.stack([jnp.cos(theta), jnp.sin(theta)], 1)
    assert float(dynamics.correlation_dimension(circle)) == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
@pytest.mark.x64
def test_correlation_dimension_henon():
    # Henon attractor: 1.21 +- 0.01 (Grassberger & Procaccia 1983)
    xs = dynamics.chaotic_trajectories(dynamics.ChaoticMap("Henon"), 1300)[0, 100:]
    assert float(dynamics.correlation_dimension(xs)) == pytest.approx(1.21, abs=0.06)


def test_bad_input():
    with pytest.raises(TypeError, match="lyapunov_spectrum: `system` must be"):
        dynamics.lyapunov_spectrum(dynamics.OrnsteinUhlenbeck(), jnp.zeros(1), n_steps=5)
    with pytest.raises(ValueError, match=r"`initial_state` must have shape \(3,\)"):
        dynamics.lyapunov_spectrum(dynamics.Lorenz63(), jnp.zeros(2), n_steps=5)
    with pytest.raises(ValueError, match="lyapunov_spectrum: `n_exponents` must be an int in"):
        dynamics.lyapunov_spectrum(dynamics.Lorenz63(), jnp.ones(3), n_steps=5, n_exponents=4)
    with pytest.raises(ValueError, match="lyapunov_spectrum: `dt` must be a positive float"):
        dynamics.lyapunov_spectrum(dynamics.Lorenz63(), jnp.ones(3), n_steps=5, dt=0.0)
    with pytest.raises(ValueError, match="kaplan_yorke_dimension: `spectrum` must be"):
        dynamics.kaplan_yorke_dimension(jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match="correlation_dimension: `quantiles`"):
        dynamics.correlation_dimension(jnp.zeros((20, 2)), quantiles=(0.5, 0.1))
