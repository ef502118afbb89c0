"""The default kernel: per dimension a spectral mixture whose frequencies are read from the
problem's data on the grid (`spectral_frequencies`, `default_kernel`)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..pde._problem import Problem
from ._grid import boundary_mask, boundary_values, mesh
from ._kernels import Product, SpectralMixture


def spectral_frequencies(values: np.ndarray, axes: Sequence[np.ndarray], components: int):
    """The `components` strongest frequencies (cycles per unit) of `values` on a tensor grid,
    per dimension: peaks of the zero-padded FFT magnitude, averaged over the other axes."""
    out = []
    for i, ax in enumerate(axes):
        v = np.moveaxis(values, i, -1)
        v = v - v.mean(axis=-1, keepdims=True)
        n = len(ax)
        pad = 16 * n
        spec = np.abs(np.fft.rfft(v * np.hanning(n), n=pad, axis=-1))
        spec = spec.reshape(-1, spec.shape[-1]).mean(0)
        freqs = np.fft.rfftfreq(pad, d=float(ax[1] - ax[0]))
        peaks = [
            j for j in range(1, len(spec) - 1) if spec[j] >= spec[j - 1] and spec[j] > spec[j + 1]
        ]
        peaks = sorted(peaks, key=lambda j: -spec[j])
        chosen = (
            [freqs[j] for j in peaks if spec[j] > 1e-3 * spec[peaks[0]]][:components]
            if peaks
            else []
        )
        out.append(np.asarray(sorted(chosen)))
    return out


def default_kernel(problem: Problem, axes, components: int = 4, envelope: float = 10.0) -> Product:
    """Per dimension a `SpectralMixture` with frequencies from the source's spectrum (from the
    Dirichlet data on the faces where the source vanishes to rounding, as for advection), a
    zero-frequency component, unit weights and envelope `rho = envelope / (domain length)`."""
    if problem.source is None:
        raise ValueError(
            f"solve: problem {problem.name!r} has no `source` to read frequencies from; pass "
            "`kernel=`"
        )
    pts = mesh(axes)
    f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts))
    f = f.reshape(tuple(len(a) for a in axes))
    np_axes = [np.asarray(a) for a in axes]
    g = np.asarray(boundary_values(problem, pts)).reshape(f.shape) if len(axes) > 1 else None
    # a source at rounding level (1e-14 for advection, from autodiff of the exact solution)
    if g is None or np.max(np.abs(f)) > 1e-10 * max(1.0, float(np.max(np.abs(g)))):
        found = spectral_frequencies(f, np_axes, components)
    else:
        # a homogeneous equation (advection): the solution's frequencies are those of its
        # boundary data; per dimension, the data on the faces along which that dimension varies
        found = []
        for i in range(len(axes)):
            lines = np.moveaxis(g, i, -1).reshape(-1, f.shape[i])
            on_face = np.asarray(boundary_mask([a for j, a in enumerate(axes) if j != i]))
            rows = lines[on_face]
            found.append(
                spectral_frequencies(rows, [np.arange(len(rows)), np_axes[i]], components)[1]
            )
    kernels = []
    for ax, mu in zip(axes, found, strict=True):
        length = float(ax[-1] - ax[0])
        mu = np.concatenate([[0.0], mu])
        kernels.append(SpectralMixture(jnp.ones(len(mu)), jnp.asarray(mu), envelope / length))
    return Product(kernels)
