"""The envelopes of the default kernel's components (`_spectrum.py` reads their frequencies).

Each component's spectral Gaussian stays inside its own band (`component_scales`): a
peak's `spread` (3) standard deviations away from zero frequency, the zero component's within
the highest frequency the spectrum shows (the main lobe `2 / L` where no peak is picked), none
wider in frequency than `envelope / L` (10 domain lengths^-1, the paper's rows). A solution of
a few periods on the domain so gets a smooth kernel; with every component at `10 / L`, a
correlation length of a tenth of the domain, the low-frequency 2D rows with Neumann and Robin
faces stopped at 1e-2 to 0.4 (BENCHMARKS.md). A localised solution (a bump, a boundary layer)
has no peak either and needs the narrow kernel (zoo_bump_2d 1.9e-5 -> 7.0e-2 with
`spread=3`), so the default, `spread="auto"`, takes `spread=3` only where `smooth_solution`
finds the solution smooth (its spectrum estimate below the frequency where `envelope` caps
the components, no operator layer).
"""

from __future__ import annotations

import math

import numpy as np

# `components="auto"`: stop when the candidates not yet taken hold at most this fraction of
# the energy of the solution's spectrum estimate (1e-4: a missed peak is below 1% in amplitude)
_ENERGY_LEFT = 1e-4


def component_scales(
    frequencies: np.ndarray, length: float, envelope: float, spread: float | None
) -> np.ndarray:
    """The envelopes `rho_q` (inverse lengths) of the zero-frequency component and of the
    peaks at `frequencies` (cycles per unit, zero excluded) on a domain of `length`.

    A component `exp(-rho^2 d^2) cos(2 pi mu d)` has a Gaussian spectral density around `mu`
    of standard deviation `rho / (pi sqrt 2)`. Each is at most `envelope / length`, and with
    `spread` each stays inside its own band: a peak's density ends (`spread` standard
    deviations) before zero frequency, which belongs to the zero component, `rho_q <= pi
    sqrt(2) mu_q / spread`; the zero component's ends at the highest frequency the spectrum
    shows (the highest peak, or the window's main lobe `2 / length` where there is none). A
    smooth solution (a few periods on the domain, no peak past the main lobe) so gets a wide,
    smooth kernel instead of one of correlation length `length / envelope` that reads its
    polynomial part as a rough field (issue 25: `gp_robin_2d` 9.5e-3 -> 3.7e-7 at 30^2), while
    a high-frequency solution keeps `envelope / length` everywhere. `spread=None`: every
    component at `envelope / length` (the kernel before)."""
    widest = envelope / length
    mu = np.asarray(frequencies, dtype=float)
    if spread is None:
        return np.full(len(mu) + 1, widest)
    top = max(float(mu.max()) if mu.size else 0.0, 2.0 / length)
    bands = np.concatenate([[top], mu])
    return np.minimum(widest, math.pi * math.sqrt(2.0) * bands / spread)


# `spread="auto"`: the spread of a solution `smooth_solution` finds smooth (`spectrum_spread.json`
# measured 3 on the GP table)
_AUTO_SPREAD = 3.0


def _layer_rates(operator, dim: int) -> np.ndarray:
    """Per dimension the largest `|Re lambda|` over the roots of the operator's symbol along
    that dimension alone (the terms that differentiate in no other dimension, `D_d ->
    lambda`): `exp(lambda x_d)` solves `L u = 0` along it, a layer of width `1 / |Re lambda|`
    (`-eps u'' + u'`: `1 / eps`). Zero where `operator` is None (unknown)."""
    rates = np.zeros(dim)
    if operator is None:
        return rates
    for d in range(dim):
        poly: dict[int, float] = {}
        for a, c in zip(*operator, strict=True):
            if all(o == 0 for j, o in enumerate(a) if j != d):
                poly[a[d]] = poly.get(a[d], 0.0) + float(c)
        degree = max((k for k, c in poly.items() if c != 0.0), default=0)
        if degree > 0:
            roots = np.roots([poly.get(k, 0.0) for k in range(degree, -1, -1)])
            rates[d] = float(np.max(np.abs(roots.real)))
    return rates


def smooth_solution(
    spectra, frequencies, lengths, operator, envelope: float, spread: float
) -> bool:
    """Whether the wide envelopes (`component_scales` with `spread`) suit the solution: the
    rule of `DefaultKernel(spread="auto")`.

    The wide envelopes differ from the narrow ones (`envelope / length`) only on components
    below the *reach* `spread * envelope / (pi sqrt 2 length)` (cycles per unit), past which
    `component_scales` caps them; there a component's spectral Gaussian reaches (`spread`
    standard deviations) no further than the narrow zero component's does. A solution is
    smooth when, per dimension,

    1. its spectrum estimate (`spectra`: `(|u^|, frequencies)`; `None` where there is none)
       holds all but `_ENERGY_LEFT` of its energy below the reach, the criterion that
       `components="auto"` stops at: a smooth solution's energy sits in the window's main
       lobe and its peaks' lobes, a bump's or a front's spreads past it (its Gaussian or
       exponential spectrum; zoo_bump_2d 5.7e-3, zoo_interior_layer_2d 4.1e-3 of the energy,
       the smooth rows at most 5e-6); a peak past the reach (the paper's rows) fails too, and
       so keeps the envelope those rows were measured with;
    2. the operator has no layer the source does not show: its homogeneous solutions
       `exp(lambda x_d)` (`_layer_rates`), which the boundary data excite, decay at the rate
       `|Re lambda|`, which must not exceed the wide zero component's `rho` (its envelope
       `exp(-rho^2 d^2)`: a layer thinner than the kernel's correlation length `1 / rho` is
       not in its reach). `zoo_boundary_layer` (`lambda = 1 / eps = 100` against `rho`
       2.96) has a constant source, and the Hann window hides a layer at the boundary from
       any spectrum of its values; `u'' - u` (`lambda = 1`) passes.

    Not seen: a localised feature present only in the boundary data."""
    beyond, layer = _smoothness(spectra, frequencies, lengths, operator, envelope, spread)
    return bool(np.all(beyond <= _ENERGY_LEFT) and np.all(layer <= 1.0))


def _smoothness(spectra, frequencies, lengths, operator, envelope, spread):
    """Per dimension the two quantities `smooth_solution` bounds: the fraction of the
    spectrum's energy past the reach (0 without a spectrum) and the layer's rate over the
    wide zero component's `rho`."""
    rates = _layer_rates(operator, len(lengths))
    beyond, layer = np.zeros(len(lengths)), np.zeros(len(lengths))
    for d, (spectrum, mu, length) in enumerate(zip(spectra, frequencies, lengths, strict=True)):
        reach = spread * envelope / (math.pi * math.sqrt(2.0) * length)
        if spectrum is not None:
            energy = np.asarray(spectrum[0]) ** 2
            total = float(energy.sum())
            beyond[d] = float(energy[spectrum[1] > reach].sum()) / total if total > 0 else 0.0
        rho = component_scales(mu, length, envelope, spread)[0]
        layer[d] = rates[d] / rho
    return beyond, layer
