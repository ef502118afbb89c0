"""Koopman operator learning: dictionaries, DMD/EDMD/kernel EDMD/RRR, generator estimation,
ResDMD residuals, pseudospectra, spectra with error control, measure-preserving EDMD, and deep
Koopman models with an information-theoretic objective.

Float64 is expected throughout (enable `jax_enable_x64`); float32 input warns. Small N x N
eigenproblems are solved on the host (see `eig`); Gram/QR/SVD/Cholesky work runs on the
default device.
"""

from ._deep import DeepKoopman as DeepKoopman
from ._deep import InformationKoopmanLoss as InformationKoopmanLoss
from ._deep import fit_deep_koopman as fit_deep_koopman
from ._dictionaries import AbstractDictionary as AbstractDictionary
from ._dictionaries import Chebyshev as Chebyshev
from ._dictionaries import Fourier as Fourier
from ._dictionaries import FunctionDictionary as FunctionDictionary
from ._dictionaries import Identity as Identity
from ._dictionaries import Legendre as Legendre
from ._dictionaries import Monomials as Monomials
from ._dictionaries import RadialBasis as RadialBasis
from ._dictionaries import RandomFourierFeatures as RandomFourierFeatures
from ._dictionaries import TimeDelays as TimeDelays
from ._dictionaries import features as features
from ._dictionaries import kmeans_centres as kmeans_centres
from ._dictionaries import monomial_exponents as monomial_exponents
from ._eig import eig as eig
from ._eig import unitary_eig as unitary_eig
from ._estimators import DMD as DMD
from ._estimators import EDMD as EDMD
from ._estimators import AbstractEstimator as AbstractEstimator
from ._estimators import ReducedRank as ReducedRank
from ._estimators import fit as fit
from ._generator import GeneratorEDMD as GeneratorEDMD
from ._generator import generator_from_koopman as generator_from_koopman
from ._gram import gram_products as gram_products
from ._information import info_nce as info_nce
from ._information import von_neumann_entropy as von_neumann_entropy
from ._kernel import AbstractKernel as AbstractKernel
from ._kernel import GaussianKernel as GaussianKernel
from ._kernel import KernelEDMD as KernelEDMD
from ._kernel import KernelFeatures as KernelFeatures
from ._kernel import PolynomialKernel as PolynomialKernel
from ._kernel import gaussian_kernel as gaussian_kernel
from ._kernel import nystroem_features as nystroem_features
from ._kernel import polynomial_kernel as polynomial_kernel
from ._model import AbstractKoopmanModel as AbstractKoopmanModel
from ._model import GeneratorModel as GeneratorModel
from ._model import KoopmanModel as KoopmanModel
from ._mpedmd import MPEDMD as MPEDMD
from ._mpedmd import MPEDMDModel as MPEDMDModel
from ._pseudospectrum import pseudospectrum as pseudospectrum
from ._resdmd import ResidualData as ResidualData
from ._resdmd import residual_data as residual_data
from ._resdmd import residuals as residuals
from ._resdmd import spectrum_estimates as spectrum_estimates
from ._resdmd import verified_eigenpairs as verified_eigenpairs
from ._streaming import GramMatrices as GramMatrices
from ._streaming import blocks_of as blocks_of
from ._streaming import fit_gram as fit_gram
from ._streaming import gram_matrices as gram_matrices
