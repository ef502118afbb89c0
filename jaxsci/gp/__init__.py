"""GP spectral-mixture PDE solver (Fang et al., ICLR 2024): kernels, Kronecker algebra,
`solve` and its option objects (solver paths, the default kernel, kernel training)."""

from ._estimate import error_estimate as error_estimate
from ._grid import grid_axes as grid_axes
from ._kernels import AbstractKernel as AbstractKernel
from ._kernels import Matern32 as Matern32
from ._kernels import Matern52 as Matern52
from ._kernels import Product as Product
from ._kernels import SpectralMixture as SpectralMixture
from ._kernels import SquaredExponential as SquaredExponential
from ._kernels import StudentTMixture as StudentTMixture
from ._kernels import derivative_kernel as derivative_kernel
from ._kernels import gram as gram
from ._kronecker import KroneckerEig as KroneckerEig
from ._kronecker import kron_dense as kron_dense
from ._kronecker import kron_logdet as kron_logdet
from ._kronecker import kron_matvec as kron_matvec
from ._kronecker import kron_solve as kron_solve
from ._kronecker import operator_factors as operator_factors
from ._options import DefaultKernel as DefaultKernel
from ._options import TrainKernel as TrainKernel
from ._solution import GPSolution as GPSolution
from ._solve import solve as solve
from ._solvers.auto import AutoSolver as AutoSolver
from ._solvers.base import AbstractSolver as AbstractSolver
from ._solvers.dense import Dense as Dense
from ._solvers.gauss_newton import GaussNewton as GaussNewton
from ._solvers.kronecker import Kronecker as Kronecker
from ._solvers.newton_krylov import NewtonKrylov as NewtonKrylov
from ._spectrum import default_kernel as default_kernel
from ._spectrum import spectral_frequencies as spectral_frequencies
from ._tolerance import solve_to_tolerance as solve_to_tolerance
