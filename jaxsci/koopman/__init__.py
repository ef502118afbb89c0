"""Koopman operator learning: dictionaries, DMD/EDMD/kernel EDMD/RRR, ResDMD residuals,
pseudospectra, spectra with error control, and measure-preserving EDMD.

Float64 is expected throughout (enable `jax_enable_x64`); float32 input warns. Small N x N
eigenproblems are solved on the host (see `eig`); Gram/QR/SVD work runs on the default device.
"""

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
from ._eig import eig as eig
from ._estimators import (
    DMD as DMD,
    EDMD as EDMD,
    AbstractEstimator as AbstractEstimator,
    KernelEDMD as KernelEDMD,
    KernelFeatures as KernelFeatures,
    KoopmanModel as KoopmanModel,
    ReducedRank as ReducedRank,
    fit as fit,
    gaussian_kernel as gaussian_kernel,
    polynomial_kernel as polynomial_kernel,
)
from ._mpedmd import MPEDMD as MPEDMD, MPEDMDModel as MPEDMDModel
from ._resdmd import (
    ResidualData as ResidualData,
    pseudospectrum as pseudospectrum,
    residual_data as residual_data,
    residuals as residuals,
    spectrum_estimates as spectrum_estimates,
)
