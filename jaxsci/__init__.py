"""jaxsci: a JAX toolkit for scientific machine learning.

Subpackages (import the one you need):

- `jaxsci.pde`      domains, samplers, differential operators, `Problem`, canonical problems
- `jaxsci.train`    the optax training loop (scanned chunks, checkpoints, NaN guard)
- `jaxsci.pinn`     physics-informed neural networks: fields and `solve`
- `jaxsci.koopman`  DMD, EDMD, kernel EDMD, RRR, ResDMD, pseudospectra, mpEDMD, deep Koopman
- `jaxsci.dynamics` ODE systems and maps, trajectories, snapshot pairs
- `jaxsci.ssm`      HiPPO, S4 / S4D / S5 kernels and layers, PTD
"""

__version__ = "0.1.0"

from ._results import RESULTS as RESULTS
from ._results import SolveFailed as SolveFailed
