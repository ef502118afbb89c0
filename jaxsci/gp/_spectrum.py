"""The default kernel: per dimension a spectral mixture whose frequencies are those of the
solution, read from the problem's data on the grid (`spectral_frequencies`, `default_kernel`).

The data is the source `f = L u`, not `u`. A constant-coefficient operator is diagonal in
Fourier space, `f^(k) = sigma(k) u^(k)` with `sigma` its symbol (`-(2 pi k)^2` for `u_xx`), so
the solution's spectrum is the source's divided by the symbol. Reading peaks of `f^` directly
weighs each frequency of `u` by `|sigma|`: under a Laplacian a low tone of `u` sits 100-1000
times below the side lobes of a high one (issue 25). Here:

1. the source is windowed (Hann) along one axis and zero-padded (`_PAD` times), and its
   spectrum divided by `|sigma|` floored at the symbol's largest value over the window's main
   lobe around zero (`sigma` vanishes there; those frequencies belong to the zero-frequency
   component every mixture keeps). Per dimension the energies are summed over the other axes.
2. Candidates are local maxima of that estimate of `|u^|` away from zero. One that the
   window's known leakage (its exact transform, measured on the padded grid) from the
   stronger peaks of the *source's* spectrum explains within a factor `_LEAKAGE_MARGIN` is a
   side lobe and dropped; so is one closer than the main-lobe half width (the first null) to
   a kept one: two such tones are not resolved by the grid.
3. `components="auto"` keeps peaks, strongest in `u` first, until the ones left hold at most
   `_ENERGY_LEFT` of the energy of all the distinct peaks that are not side lobes (at most
   `_MAX_COMPONENTS`); an int keeps that many (fewer where fewer exist). A kept peak is
   located on the source's spectrum (a tone's peak there is where it is in `u`; dividing by
   a varying symbol shifts the peak of a low tone's lobe), by a parabola through the
   log-magnitude at the padded bins around it.

Problems without an `operator` (nonlinear residuals) get the symbol of the residual's
linearisation at `u = 0` at the domain's centre, read off by applying it to the monomials of
order up to 2 (`D^b (x - x0)^a / a!` at `x0` is 1 for `a = b`, else 0), so `u_xx + u^3 - u`
gives `-(2 pi k)^2 - 1`; a problem for which that fails (a system) keeps the source's
spectrum. A source that vanishes (advection) leaves the boundary data, which is `u` itself;
that branch keeps the first picker's strongest maxima (`_strongest_maxima`, the reason there).
A problem without a source (heat with an initial value) reads the distinct peaks of its value
data on the faces (`Dirichlet`, `InitialValue`), per dimension along the faces that dimension
runs through; a dimension whose data vanish there gets the zero component only.

4. The envelopes: `_envelopes.py` (`component_scales`, and `smooth_solution`, the rule of
   `spread="auto"`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..pde._conditions import Dirichlet, InitialValue
from ..pde._operators import LinearOperator
from ..pde._problem import Problem
from ._collocation import _condition_data, face_conditions
from ._envelopes import _AUTO_SPREAD, _ENERGY_LEFT, component_scales, smooth_solution
from ._grid import boundary_mask, boundary_values, mesh
from ._kernels import Product, SpectralMixture

# zero padding of the FFT along the axis whose frequencies are read (resolution 1/(pad L);
# less in 2D and above, to keep the padded spectrum at a few million bins)
_PAD = 8
_MAX_BINS = 1 << 22
# a peak of the source's spectrum at most this many times the leakage the Hann window predicts
# from the stronger peaks is a side lobe (non-tonal peaks, such as a tone times a ramp, leak
# more than a pure tone)
_LEAKAGE_MARGIN = 4.0
_MAX_COMPONENTS = 8


def _hann_profile(n: int, pad: int) -> tuple[np.ndarray, int]:
    """The magnitude of the Hann window's transform on the padded grid, by bin offset, relative
    to its peak, and its first null (the main lobe's half width) in padded bins."""
    prof = np.abs(np.fft.rfft(np.hanning(n), n=pad * n))
    prof = prof / prof[0]
    j = 1
    while j + 1 < len(prof) and prof[j + 1] < prof[j]:
        j += 1
    return prof, j


def _symbol(operator, kgrid) -> np.ndarray:
    """`|sigma(k)|` of `sum_a c_a D^a` on the broadcast frequency grids `kgrid` (cycles per
    unit), `D_d -> 2 pi i k_d`."""
    orders, coefficients = operator
    out = 0j
    for a, c in zip(orders, coefficients, strict=True):
        term = complex(c)
        for d, o in enumerate(a):
            if o:
                term = term * (2j * math.pi * kgrid[d]) ** o
        out = out + term
    return np.abs(out)


def spectral_frequencies(
    values: np.ndarray,
    axes: Sequence[np.ndarray],
    components: int | str = "auto",
    operator=None,
) -> list[np.ndarray]:
    """The strongest distinct frequencies (cycles per unit) of a field on a tensor grid, per
    dimension, from `values` of the field itself or of `L` applied to it.

    **Arguments:**

    - `values`: samples on the tensor grid of `axes` (shape `(len(a) for a in axes)`).
    - `axes`: the uniform grid axes.
    - `components`: `"auto"` (as many peaks as the energy of the spectrum asks for, at most
      8) or the number of peaks per dimension (fewer where fewer distinct peaks exist).
    - `operator`: `None` (`values` are the field), or a `LinearOperator` (or its `(orders,
      coefficients)`) `L` with `values = L u`: the peaks are those of `u`.

    **Returns:** per dimension the sorted frequencies (zero not included: the main lobe of
    the window around zero belongs to the zero-frequency component of `default_kernel`).
    """
    if components != "auto" and (
        isinstance(components, bool) or not isinstance(components, (int, np.integer))
    ):
        raise ValueError(
            f"spectral_frequencies: `components` must be 'auto' or an int, got {components!r}"
        )
    if isinstance(components, (int, np.integer)) and components < 0:
        raise ValueError(f"spectral_frequencies: `components` must be >= 0, got {components}")
    if isinstance(operator, LinearOperator):
        operator = (operator.orders, [float(c) for c in np.asarray(operator.coefficients)])
    values = np.asarray(values, dtype=float)
    axes = [np.asarray(a, dtype=float) for a in axes]
    shape = tuple(len(a) for a in axes)
    if values.shape != shape:
        raise ValueError(
            f"spectral_frequencies: `values` has shape {values.shape}, the axes give {shape}"
        )
    return [_axis_frequencies(values, axes, i, components, operator) for i in range(len(axes))]


def _axis_frequencies(values, axes, i, components, operator) -> np.ndarray:
    """`spectral_frequencies` of one dimension `i`."""
    source, field, freqs, prof, null = _axis_spectrum(values, axes, i, operator)
    return _peaks(source, field, freqs, prof, null, components)


def _axis_spectrum(values, axes, i, operator):
    """Along dimension `i`: the source's spectrum, the solution's spectrum estimate (the
    source's divided by the symbol; the same where `operator` is None), their frequencies,
    the Hann window's profile and its first null (`_hann_profile`)."""
    shape = values.shape
    spacing = [float(a[1] - a[0]) for a in axes]
    n = shape[i]
    pad = max(2, min(_PAD, _MAX_BINS // values.size))
    prof, null = _hann_profile(n, pad)
    v = np.moveaxis(values, i, -1)
    v = v - v.mean(axis=-1, keepdims=True)
    spec = np.fft.rfft(v * np.hanning(n), n=pad * n, axis=-1)
    freqs = np.fft.rfftfreq(pad * n, d=spacing[i])
    source = np.sqrt(np.sum(np.abs(spec.reshape(-1, len(freqs))) ** 2, 0))
    if operator is None:
        return source, source, freqs, prof, null
    # the other axes unwindowed and unpadded: their leakage only moves energy to higher
    # frequencies, where the symbol is larger
    other = [j for j in range(len(shape)) if j != i]
    spec = np.fft.fftn(spec, axes=list(range(len(other)))) if other else spec
    kgrid = [None] * len(shape)
    lobe = [None] * len(shape)
    for pos, j in enumerate(other):
        k = np.fft.fftfreq(shape[j], d=spacing[j])
        kgrid[j] = k.reshape([-1 if q == pos else 1 for q in range(len(shape))])
        lobe[j] = 2.0 / (shape[j] * spacing[j])  # two bins: past the rectangle's first null
    kgrid[i] = freqs.reshape([1] * len(other) + [-1])
    lobe[i] = freqs[null]
    sym = _symbol(operator, kgrid)
    near_zero = np.ones(sym.shape, bool)
    for j in range(len(shape)):
        near_zero = near_zero & (np.abs(kgrid[j]) <= lobe[j])
    # the symbol vanishes near zero (a Laplacian's) or on a surface (Helmholtz): floor it at
    # its largest value over the zero lobe, which the zero-frequency component covers
    floor = float(np.max(sym[near_zero]))
    sym = np.maximum(sym, floor) if floor > 0 else np.where(sym > 0, sym, 1.0)
    field = np.sqrt(np.sum((np.abs(spec) / sym).reshape(-1, len(freqs)) ** 2, 0))
    return source, field, freqs, prof, null


def _peaks(source, field, freqs, prof, null, components) -> np.ndarray:
    """Distinct peaks of `field` (the solution's spectrum estimate) that are not side lobes
    of `source`'s stronger peaks, strongest first, as many as `components` asks."""
    m = len(field)
    j = np.arange(null, m - 1)
    cand = j[(field[j] >= field[j - 1]) & (field[j] > field[j + 1])]
    if cand.size == 0 or not np.any(field[cand] > 0):
        return np.zeros(0)
    # locate each candidate on the source's spectrum: its local maximum within half a lobe
    half = max(1, null // 2)
    where = []
    for c in cand:
        lo, hi = max(1, c - half), min(m - 1, c + half + 1)
        where.append(lo + int(np.argmax(source[lo:hi])))
    where = np.asarray(where)
    # side lobes: the window's leakage from every stronger peak of the source, the strongest
    # bin of the zero lobe (the source's slow part, a tone too low to resolve) included
    peaks = np.concatenate([[int(np.argmax(source[: null + 1]))], where])
    height = source[peaks]
    leak = np.zeros(len(cand))
    for q in range(len(cand)):
        stronger = height > height[q + 1]
        offsets = np.abs(peaks[stronger] - where[q])
        leak[q] = np.sum(height[stronger] * prof[np.minimum(offsets, len(prof) - 1)])
    real = source[where] > _LEAKAGE_MARGIN * leak
    order = [q for q in np.argsort(-field[cand]) if real[q]]
    kept: list[int] = []
    for q in order:
        if all(abs(int(where[q]) - int(where[r])) >= null for r in kept):
            kept.append(q)
    if not kept:
        return np.zeros(0)
    energy = field[cand[kept]] ** 2
    if components == "auto":
        left = np.cumsum(energy[::-1])[::-1]  # energy of the peaks from index i on
        total = left[0]
        count = next((i for i in range(1, len(kept)) if left[i] <= _ENERGY_LEFT * total), len(kept))
        kept = kept[: min(count, _MAX_COMPONENTS)]
    else:
        kept = kept[: int(components)]
    out = []
    for q in kept:
        b = int(where[q])
        y0, y1, y2 = np.log(np.maximum(source[b - 1 : b + 2], 1e-300))
        denom = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denom if denom < 0 else 0.0
        out.append(freqs[b] + float(np.clip(shift, -0.5, 0.5)) * (freqs[1] - freqs[0]))
    return np.sort(np.asarray(out))


# The homogeneous branch (advection: frequencies from the boundary data) keeps the first
# picker: the `count` strongest local maxima, side lobes included. Its square first-order
# collocation on the Kronecker path is limited by conditioning, not by the frequencies: with
# the distinct peaks alone (x: none, t: the tone) `u_t + 20 u_x = 0` on a 60^2 grid has error
# 2.6e-3 against 1.9e-4 with the side lobes, and moves 3x when the tone moves by 1e-4; the
# extra components raise the numerical rank of the kernel on the grid.
_HOMOGENEOUS_COMPONENTS = 4


def _strongest_maxima(rows, axis, count) -> np.ndarray:
    """The `count` strongest local maxima of the mean Hann-windowed, 16x padded spectrum of
    `rows` (one line of data each) on `axis`, above 1e-3 of the strongest."""
    n = len(axis)
    v = rows - rows.mean(axis=-1, keepdims=True)
    pad = 16 * n
    spec = np.abs(np.fft.rfft(v * np.hanning(n), n=pad, axis=-1)).mean(0)
    freqs = np.fft.rfftfreq(pad, d=float(axis[1] - axis[0]))
    j = np.arange(1, len(spec) - 1)
    peaks = j[(spec[j] >= spec[j - 1]) & (spec[j] > spec[j + 1])]
    if peaks.size == 0:
        return np.zeros(0)
    peaks = peaks[np.argsort(-spec[peaks], kind="stable")]
    peaks = peaks[spec[peaks] > 1e-3 * spec[peaks[0]]][:count]
    return np.sort(freqs[peaks])


def _operator_terms(problem: Problem):
    """`(orders, coefficients)` of `problem.operator`, else of the residual's linearisation at
    `u = 0` at the domain's centre (monomial probes up to order 2, one jitted call), else
    None."""
    op = problem.operator
    if op is not None:
        return op.orders, [float(c) for c in np.asarray(op.coefficients)]
    dim = problem.dim
    dtype = jnp.result_type(float)
    x0 = 0.5 * (jnp.asarray(problem.domain.lower) + jnp.asarray(problem.domain.upper))
    x0 = x0.astype(dtype)
    top = 2
    orders = [a for a in itertools.product(range(top + 1), repeat=dim) if sum(a) <= top]
    # (x - x0)^a / a! with static integer powers: a one-hot over the powers per dimension
    onehot = np.zeros((len(orders), dim, top + 1))
    for p, a in enumerate(orders):
        for d, o in enumerate(a):
            onehot[p, d, o] = 1.0 / math.factorial(o)

    def probe(weights):
        def field(y, e):
            powers = jnp.stack([(y - x0) ** j for j in range(top + 1)], -1)
            return e * jnp.prod(jnp.sum(weights * powers, -1))

        def lhs(e):
            return problem.residual(lambda y: field(y, e), x0, problem.params)

        return jax.jvp(lhs, (jnp.zeros((), dtype),), (jnp.ones((), dtype),))[1]

    try:
        coefficients = np.asarray(jax.jit(jax.vmap(probe))(jnp.asarray(onehot, dtype)))
    except Exception:  # a residual the probe cannot linearise (a system): the source as is
        return None
    if coefficients.shape != (len(orders),) or not np.all(np.isfinite(coefficients)):
        return None
    keep = np.abs(coefficients) > 0
    if not keep.any():
        return None
    return tuple(a for a, k in zip(orders, keep, strict=True) if k), list(coefficients[keep])


def _face_data(problem: Problem, axes, pts) -> np.ndarray:
    """The value data of `problem` on the faces of the grid of `axes` (`Dirichlet` and
    `InitialValue` conditions; the exact solution on a face no condition speaks about, as
    the collocation takes it), zero elsewhere (the interior, `Neumann` and `Robin` faces)."""
    shape = tuple(len(a) for a in axes)
    out = np.zeros(shape)
    index = np.indices(shape).reshape(len(shape), -1)
    pts = np.asarray(pts)
    for (axis, side), cond in face_conditions(problem, "default_kernel").items():
        if cond is not None and not isinstance(cond, Dirichlet | InitialValue):
            continue
        on = index[axis] == (shape[axis] - 1 if side else 0)
        face = jnp.asarray(pts[on])
        if cond is None:
            data = jax.vmap(lambda x: problem.exact(x, problem.params))(face)
        else:
            data = _condition_data(cond, problem, face)
        out.reshape(-1)[on] = np.asarray(data)
    return out


def default_kernel(
    problem: Problem,
    axes,
    components: int | str = "auto",
    envelope: float = 10.0,
    spread: float | str | None = "auto",
) -> Product:
    """Per dimension a `SpectralMixture` with the frequencies of the solution read from the
    source's spectrum divided by the operator's symbol (`spectral_frequencies`; from the
    Dirichlet data on the faces where the source vanishes to rounding, as for advection), a
    zero-frequency component, unit weights and envelopes from `component_scales` (at most
    `envelope / (domain length)`, each component kept `spread` standard deviations inside its
    band; `spread="auto"`: 3 where `smooth_solution` finds the solution smooth, else None;
    `"none"` is None).
    `components`: `"auto"` (by the energy the peaks hold, at most 8 per dimension) or the
    number of peaks per dimension."""
    pts = mesh(axes)
    shape = tuple(len(a) for a in axes)
    np_axes = [np.asarray(a) for a in axes]
    if problem.source is None:
        # a source-free equation (heat with an initial value): the frequencies of its data
        if len(axes) == 1:
            raise ValueError(
                f"solve: problem {problem.name!r} has no `source` to read frequencies from; "
                "pass `kernel=`"
            )
        f = np.zeros(shape)
        g = _face_data(problem, np_axes, pts)
    else:
        f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts))
        f = f.reshape(shape)
        g = np.asarray(boundary_values(problem, pts)).reshape(shape) if len(axes) > 1 else None
    spectra = [None] * len(axes)  # per dimension the spectrum `smooth_solution` reads
    operator = None
    # a source at rounding level (1e-14 for advection, from autodiff of the exact solution)
    if g is None or (
        problem.source is not None
        and np.max(np.abs(f)) > 1e-10 * max(1.0, float(np.max(np.abs(g))))
    ):
        operator = _operator_terms(problem)
        # `spectral_frequencies`, each dimension's spectrum computed once for the peaks and
        # the smoothness rule
        values, float_axes = np.asarray(f, dtype=float), [np.asarray(a, float) for a in np_axes]
        per_axis = [_axis_spectrum(values, float_axes, i, operator) for i in range(len(axes))]
        found = [_peaks(*spectrum, components) for spectrum in per_axis]
        spectra = [spectrum[1:3] for spectrum in per_axis]
    else:
        # a homogeneous equation (advection): the solution's frequencies are those of its
        # boundary data; per dimension, the data on the faces along which that dimension varies
        found = []
        for i in range(len(axes)):
            lines = np.moveaxis(g, i, -1).reshape(-1, f.shape[i])
            on_face = np.asarray(boundary_mask([a for j, a in enumerate(axes) if j != i]))
            rows = lines[on_face]
            if np.max(np.abs(rows)) <= 1e-10 * max(1.0, float(np.max(np.abs(g)))):
                # no data along this dimension (zero Dirichlet faces): rounding has no peaks
                found.append(np.zeros(0))
                continue
            rows = rows if len(rows) > 1 else np.concatenate([rows, rows])
            which = np.arange(len(rows), dtype=float)  # the lines: only their count matters
            spectrum = _axis_spectrum(rows, [which, np_axes[i]], 1, None)
            spectra[i] = spectrum[1:3]
            if problem.source is not None:
                count = _HOMOGENEOUS_COMPONENTS if components == "auto" else int(components)
                found.append(_strongest_maxima(rows, np_axes[i], count))
            else:
                # a source-free problem's data: its distinct peaks, as for a source
                found.append(_peaks(*spectrum, components))
    lengths = [float(ax[-1] - ax[0]) for ax in axes]
    spread = None if spread == "none" else spread
    if spread == "auto":
        # the homogeneous branches read no symbol for their peaks; the layer test needs it
        operator = operator if operator is not None else _operator_terms(problem)
        smooth = smooth_solution(spectra, found, lengths, operator, envelope, _AUTO_SPREAD)
        spread = _AUTO_SPREAD if smooth else None
    kernels = []
    for length, mu in zip(lengths, found, strict=True):
        rho = component_scales(mu, length, envelope, spread)
        mu = np.concatenate([[0.0], mu])
        kernels.append(SpectralMixture(jnp.ones(len(mu)), jnp.asarray(mu), jnp.asarray(rho)))
    return Product(kernels)
