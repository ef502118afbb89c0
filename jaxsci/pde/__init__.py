"""One PDE problem definition for every solver: domains, samplers, operators, conditions,
`Problem`, and a catalogue of canonical problems with exact or reference solutions."""

from ._catalogue import convection as convection
from ._catalogue import heat_1d as heat_1d
from ._catalogue import helmholtz_2d as helmholtz_2d
from ._catalogue import klein_gordon_1d as klein_gordon_1d
from ._catalogue import klein_gordon_2d as klein_gordon_2d
from ._catalogue import multiscale_poisson_1d as multiscale_poisson_1d
from ._catalogue import poisson_1d as poisson_1d
from ._catalogue import poisson_2d as poisson_2d
from ._catalogue import wave_1d as wave_1d
from ._conditions import AbstractCondition as AbstractCondition
from ._conditions import AbstractPointCondition as AbstractPointCondition
from ._conditions import Dirichlet as Dirichlet
from ._conditions import InitialValue as InitialValue
from ._conditions import InitialVelocity as InitialVelocity
from ._conditions import Neumann as Neumann
from ._conditions import Normalisation as Normalisation
from ._conditions import Observations as Observations
from ._conditions import Periodic as Periodic
from ._domain import AbstractDomain as AbstractDomain
from ._domain import Box as Box
from ._domain import Interval as Interval
from ._domain import SpaceTime as SpaceTime
from ._operators import LinearOperator as LinearOperator
from ._operators import component as component
from ._operators import derivative as derivative
from ._operators import gradient as gradient
from ._operators import laplacian as laplacian
from ._operators import partial as partial
from ._operators import time_derivative as time_derivative
from ._problem import LinearResidual as LinearResidual
from ._problem import Problem as Problem
from ._problem import relative_l2 as relative_l2
