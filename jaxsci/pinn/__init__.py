"""Physics-informed neural networks: fields, strategies and `solve`."""

from ._diagnose import Diagnosis as Diagnosis
from ._diagnose import diagnose as diagnose
from ._fields import MLP as MLP
from ._fields import AbstractEmbedding as AbstractEmbedding
from ._fields import AbstractField as AbstractField
from ._fields import Constrained as Constrained
from ._fields import FourierFeatures as FourierFeatures
from ._fields import Linear as Linear
from ._fields import PeriodicEmbedding as PeriodicEmbedding
from ._fields import dirichlet_transform as dirichlet_transform
from ._fields import initial_transform as initial_transform
from ._options import Adam as Adam
from ._options import LBFGSPhase as LBFGSPhase
from ._options import Sampling as Sampling
from ._options import Weighting as Weighting
from ._pig import PIG as PIG
from ._pig_cells import Neighbours as Neighbours
from ._plot import plot_solution as plot_solution
from ._solution import PINNSolution as PINNSolution
from ._solution import evaluation_points as evaluation_points
from ._solution import solution_error as solution_error
from ._solve import constrained as constrained
from ._solve import solve as solve
from ._strategies import AdaptiveResampling as AdaptiveResampling
from ._strategies import CausalWeighting as CausalWeighting
from ._strategies import GradientBalancing as GradientBalancing
