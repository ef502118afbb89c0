"""Option objects of `gp.solve` other than the solver path: the default kernel
(`DefaultKernel`) and kernel training (`TrainKernel`). Each default lives here once; a run
config's `[gp.kernel]` and `[gp.train]` sections are these objects."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
from jaxtyping import Array

from .._checks import check_choice, check_float, check_int
from ..pde._problem import Problem
from ._kernels import Product
from ._spectrum import default_kernel


def _spread(value):
    """`spread=None` stored as `"none"`: a run config (TOML has no null) writes it and reads it
    back, where an absent key would read back the default, `"auto"`."""
    return "none" if value is None else value


class DefaultKernel(eqx.Module):
    """The kernel `gp.solve(kernel=None)` builds: per dimension a `SpectralMixture` whose
    frequencies are the distinct peaks of the solution's spectrum, estimated as the source's
    (zero-padded, windowed) spectrum divided by the operator's symbol (of the Dirichlet data
    where the source vanishes, as for advection), plus a zero-frequency component, with unit
    weights (`gp.default_kernel`).

    - `components`: `"auto"` (the peaks holding all but 1e-4 of the energy, at most 8 per
      dimension; on every row of the GP table it picks the same kernel error as 4) or the
      number of peaks per dimension.
    - `envelope`: the largest `rho * length` of a component, its Gaussian envelope in units
      of the domain length; 10 resolves the paper's high-frequency rows.
    - `spread`: each component's spectral Gaussian is kept this many standard deviations
      inside its band (`_envelopes.component_scales`): a peak's away from zero frequency, the
      zero component's within the highest frequency the spectrum shows, so a smooth solution
      (no peak past the window's main lobe) gets a wide kernel; `None` (stored as `"none"`):
      every component at `envelope`. 3 takes the low-frequency rows with Neumann/Robin faces
      from 1e-2..0.4 to 4e-7..4e-5 but breaks localised solutions whose spectrum has no peak
      (zoo_bump_2d 1.9e-5 -> 7.0e-2, zoo_boundary_layer 2.5e-3 -> 0.87). `"auto"` (the
      default): 3 where the solution is smooth, `None` elsewhere, by a rule that needs no
      solve (`_envelopes.smooth_solution`): the solution's spectrum estimate holds all but
      1e-4 of its energy below the frequency past which `envelope` caps the components (a
      bump's, a front's or a high tone's does not), and the operator has no boundary layer
      (a real root of its symbol along a dimension) faster than the wide zero component's
      envelope.
      It keeps every paper row's kernel and the localised rows' narrow one (BENCHMARKS.md,
      `experiments/gp/kernel_rule.py`).
    """

    components: int | str = eqx.field(static=True, default="auto")
    envelope: float = eqx.field(static=True, default=10.0)
    spread: float | str = eqx.field(static=True, default="auto", converter=_spread)

    def __check_init__(self):
        if self.components != "auto":  # a value `default_kernel` may read itself
            check_int(self.components, "components", "DefaultKernel (an int or 'auto')")
        check_float(self.envelope, "envelope", "DefaultKernel", positive=True)
        if self.spread not in ("auto", "none"):
            check_float(
                self.spread,
                "spread",
                "DefaultKernel (a number, 'auto', 'none' or None)",
                positive=True,
            )

    def __call__(self, problem: Problem, axes: Sequence[Array]) -> Product:
        """The kernel for `problem` on the tensor grid of `axes`."""
        return default_kernel(problem, axes, self.components, self.envelope, self.spread)


TRAIN_MODES = ("exact", "adam")


class TrainKernel(eqx.Module):
    """Kernel-parameter training before the final solve (`_train.py`, Fang et al., ICLR 2024).
    `gp.solve(train=None)` keeps the kernel. Dense paths only (`Dense`, `GaussNewton`).

    - `mode`: `"exact"` (linear problems: Adam on the kernel parameters, the loss of Fang et
      al. evaluated at the exact collocation solve for those parameters, then the final solve)
      or `"adam"` (the paper: Adam on the grid values and the kernel parameters jointly, from
      the exact solve of the initial kernel).
    - `steps`: Adam steps (`jaxsci.train.fit`).
    - `learning_rate`: the initial step size, with a cosine decay to a tenth; `None`: 5e-2 for
      `"exact"`, 1e-3 for `"adam"`, whose grid values start at the exact solve and move by
      about the step size in Adam's first step.
    - `fit_weight`: the weight of the boundary and equation fit against the GP and Jeffreys
      priors (per grid point) in the training loss.
    - `jitter`: the relative level below which training treats the kernel's spectrum as
      rounding (the jitter of `K` and the Tikhonov level of its collocation solve).
    """

    mode: str = eqx.field(static=True, default="exact")
    steps: int = eqx.field(static=True, default=200)
    learning_rate: float | None = eqx.field(static=True, default=None)
    fit_weight: float = eqx.field(static=True, default=1e4)
    jitter: float = eqx.field(static=True, default=1e-10)

    def __check_init__(self):
        check_choice(self.mode, "mode", TRAIN_MODES, "TrainKernel")
        check_int(self.steps, "steps", "TrainKernel")
        if self.learning_rate is not None:
            check_float(self.learning_rate, "learning_rate", "TrainKernel", positive=True)
        check_float(self.fit_weight, "fit_weight", "TrainKernel", positive=True)
        check_float(self.jitter, "jitter", "TrainKernel", positive=True)

    @property
    def step_size(self) -> float:
        """`learning_rate`, or the default of `mode`."""
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-2 if self.mode == "exact" else 1e-3
