"""Koopman operator learning: dictionaries, DMD/EDMD/kernel EDMD/RRR, generator estimation,
ResDMD residuals, pseudospectra, spectra with error control, measure-preserving EDMD, and deep
Koopman models with an information-theoretic objective.

Float64 is expected throughout (enable `jax_enable_x64`); float32 input warns. Small N x N
eigenproblems are solved on the host (see `eig`); Gram/QR/SVD/Cholesky work runs on the
default device.
"""

from ._deep import (
    DeepKoopman as DeepKoopman,
    InformationKoopmanLoss as InformationKoopmanLoss,
    fit_deep_koopman as fit_deep_koopman,
)
from ._dictionaries import (
    AbstractDictionary as AbstractDictionary,
    Chebyshev as Chebyshev,
    Fourier as Fourier,
    FunctionDictionary as FunctionDictionary,
    Identity as Identity,
    Legendre as Legendre,
    Monomials as Monomials,
    RadialBasis as RadialBasis,
    RandomFourierFeatures as RandomFourierFeatures,
    TimeDelays as TimeDelays,
    features as features,
    kmeans_centres as kmeans_centres,
    monomial_exponents as monomial_exponents,
)
from ._eig import eig as eig, unitary_eig as unitary_eig
from ._estimators import (
    DMD as DMD,
    EDMD as EDMD,
    AbstractEstimator as AbstractEstimator,
    ReducedRank as ReducedRank,
    fit as fit,
)
from ._generator import GeneratorEDMD as GeneratorEDMD, generator_from_koopman as generator_from_koopman
from ._kernel import (
    AbstractKernel as AbstractKernel,
    GaussianKernel as GaussianKernel,
    KernelEDMD as KernelEDMD,
    KernelFeatures as KernelFeatures,
    PolynomialKernel as PolynomialKernel,
    gaussian_kernel as gaussian_kernel,
    polynomial_kernel as polynomial_kernel,
)
from ._information import info_nce as info_nce, von_neumann_entropy as von_neumann_entropy
from ._model import (
    AbstractKoopmanModel as AbstractKoopmanModel,
    GeneratorModel as GeneratorModel,
    KoopmanModel as KoopmanModel,
)
from ._mpedmd import MPEDMD as MPEDMD, MPEDMDModel as MPEDMDModel
from ._pseudospectrum import pseudospectrum as pseudospectrum
from ._resdmd import (
    ResidualData as ResidualData,
    residual_data as residual_data,
    residuals as residuals,
    spectrum_estimates as spectrum_estimates,
)
