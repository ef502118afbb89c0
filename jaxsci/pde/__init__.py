"""One PDE problem definition for every solver: domains, samplers, operators, conditions,
`Problem`, and a catalogue of canonical problems with exact or reference solutions."""

from ._allen_cahn import allen_cahn_solution as allen_cahn_solution
from ._burgers import burgers_slope as burgers_slope
from ._burgers import burgers_solution as burgers_solution
from ._burgers import burgers_steepest_slope as burgers_steepest_slope
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
from ._eigenproblems import barrier_well as barrier_well
from ._eigenproblems import finite_well as finite_well
from ._eigenproblems import infinite_well as infinite_well
from ._flow_mixing import flow_mixing as flow_mixing
from ._gp_problems import gp_a1 as gp_a1
from ._gp_problems import gp_a2 as gp_a2
from ._gp_problems import gp_ac2 as gp_ac2
from ._gp_problems import gp_advection as gp_advection
from ._gp_problems import gp_p1 as gp_p1
from ._gp_problems import gp_p2 as gp_p2
from ._gp_problems import gp_p3 as gp_p3
from ._gp_problems import gp_p4 as gp_p4
from ._gp_problems import gp_p5 as gp_p5
from ._gp_problems import gp_q1 as gp_q1
from ._gp_problems import gp_q2 as gp_q2
from ._nonlinear_diffusion import nonlinear_diffusion as nonlinear_diffusion
from ._nonlinear_diffusion import (
    nonlinear_diffusion_solution as nonlinear_diffusion_solution,
)
from ._operators import LinearOperator as LinearOperator
from ._operators import component as component
from ._operators import derivative as derivative
from ._operators import directional_derivative as directional_derivative
from ._operators import gradient as gradient
from ._operators import laplacian as laplacian
from ._operators import partial as partial
from ._operators import time_derivative as time_derivative
from ._problem import LinearResidual as LinearResidual
from ._problem import Problem as Problem
from ._problem import relative_l2 as relative_l2
from ._reference_problems import allen_cahn as allen_cahn
from ._reference_problems import burgers as burgers
from ._registry import PROBLEMS as PROBLEMS
from ._registry import get_problem as get_problem
from ._registry import register as register
from ._schrodinger import barrier_well_levels as barrier_well_levels
from ._schrodinger import finite_well_levels as finite_well_levels
from ._schrodinger import finite_well_state as finite_well_state
from ._schrodinger import infinite_well_levels as infinite_well_levels
from ._schrodinger import infinite_well_state as infinite_well_state
from ._zoo import ZOO as ZOO
from ._zoo import ZOO_LEARN as ZOO_LEARN
from ._zoo import zoo_advection_diffusion as zoo_advection_diffusion
from ._zoo import zoo_boundary_layer as zoo_boundary_layer
from ._zoo import zoo_bump_2d as zoo_bump_2d
from ._zoo import zoo_convection_30 as zoo_convection_30
from ._zoo import zoo_convection_50 as zoo_convection_50
from ._zoo import zoo_dirichlet_data_2d as zoo_dirichlet_data_2d
from ._zoo import zoo_heat as zoo_heat
from ._zoo import zoo_interior_layer_2d as zoo_interior_layer_2d
from ._zoo import zoo_inverse_heat as zoo_inverse_heat
from ._zoo import zoo_mixed_2d as zoo_mixed_2d
from ._zoo import zoo_multiscale_2d as zoo_multiscale_2d
from ._zoo import zoo_nonlinear_2d as zoo_nonlinear_2d
from ._zoo import zoo_poisson_3d as zoo_poisson_3d
from ._zoo import zoo_reaction_diffusion as zoo_reaction_diffusion
from ._zoo import zoo_two_tone_1d as zoo_two_tone_1d

PROBLEMS.update(ZOO)  # the zoo of user problems (issue 27): `get_problem('zoo_bump_2d')`
