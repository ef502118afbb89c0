"""State-space sequence models: HiPPO matrices, their NPLR/DPLR forms, discretisation, S4 / S4D
kernels, S5 scans, initialisations, perturb-then-diagonalise (PTD), layers and a small model.

Conventions. Continuous systems are `x' = A x + B u`, `y = C x + D u`, stable convention
(eigenvalues in the left half-plane). Functions take one SSM and one sequence; `vmap` over
channels and batches. Diagonal and DPLR systems store one mode of each conjugate pair: a kernel
is `2 Re` of the sum over the stored modes (see `dplr`). HiPPO construction, NPLR/DPLR and PTD
run in NumPy float64 on the host whatever `jax_enable_x64` says; results follow `dtype`
(default: JAX's default float). Kernels, scans and layers follow the dtype of their inputs.

| paper                  | code                          |
|------------------------|-------------------------------|
| A, B, C, D             | `a`, `b`, `c`, `d`            |
| Lambda, P, V           | `eigenvalues`, `low_rank`, `eigenvectors` |
| Abar, Bbar             | `abar`, `bbar`                |
| Delta                  | `dt`                          |
| C~ = C (I - Abar^L)    | `c_tilde`                     |
| E (PTD)                | `perturbation`                |
"""

from ._discretise import METHODS as METHODS
from ._discretise import discretise as discretise
from ._discretise import discretise_diagonal as discretise_diagonal
from ._discretise import discretise_dplr as discretise_dplr
from ._discretise import dplr_dense as dplr_dense
from ._hippo import DPLR as DPLR
from ._hippo import MEASURES as MEASURES
from ._hippo import NPLR as NPLR
from ._hippo import conjugate_extend as conjugate_extend
from ._hippo import dplr as dplr
from ._hippo import hippo as hippo
from ._hippo import hippo_low_rank as hippo_low_rank
from ._hippo import nplr as nplr
from ._init import S4D_INITS as S4D_INITS
from ._init import log_uniform_timescales as log_uniform_timescales
from ._init import s4d_init as s4d_init
from ._init import s5_hippo_n as s5_hippo_n
from ._kernels import fft_conv as fft_conv
from ._kernels import naive_kernel as naive_kernel
from ._kernels import s4_c_from_tilde as s4_c_from_tilde
from ._kernels import s4_c_tilde as s4_c_tilde
from ._kernels import s4_kernel as s4_kernel
from ._kernels import s4d_kernel as s4d_kernel
from ._layers import S4 as S4
from ._layers import S4D as S4D
from ._layers import S5 as S5
from ._layers import AbstractSSM as AbstractSSM
from ._memory import hippo_basis as hippo_basis
from ._memory import hippo_memory as hippo_memory
from ._model import SequenceModel as SequenceModel
from ._model import SSMBlock as SSMBlock
from ._ptd import PTD as PTD
from ._ptd import perturb_then_diagonalise as perturb_then_diagonalise
from ._ptd import s4_ptd_init as s4_ptd_init
from ._ptd import s5_ptd_init as s5_ptd_init
from ._recurrence import AbstractRecurrence as AbstractRecurrence
from ._recurrence import DenseRecurrence as DenseRecurrence
from ._recurrence import DiagonalRecurrence as DiagonalRecurrence
from ._recurrence import DPLRRecurrence as DPLRRecurrence
from ._recurrence import MIMORecurrence as MIMORecurrence
from ._recurrence import dplr_recurrence as dplr_recurrence
from ._scan import parallel_scan as parallel_scan
from ._scan import s5_ssm as s5_ssm
from ._scan import sequential_scan as sequential_scan
from ._tasks import copying_batch as copying_batch
from ._tasks import digits_split as digits_split
from ._transfer import transfer_function as transfer_function
from ._transfer import transfer_function_diagonal as transfer_function_diagonal
from ._transfer import transfer_function_dplr as transfer_function_dplr
