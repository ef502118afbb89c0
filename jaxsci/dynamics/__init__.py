"""ODE systems and maps with known Koopman spectra, the dysts chaotic systems, trajectories,
snapshot pairs, delays, Lyapunov spectra and attractor dimensions."""

from ._dysts import ChaoticFlow as ChaoticFlow
from ._dysts import ChaoticMap as ChaoticMap
from ._dysts import chaotic_systems as chaotic_systems
from ._dysts import chaotic_trajectories as chaotic_trajectories
from ._lyapunov import correlation_dimension as correlation_dimension
from ._lyapunov import kaplan_yorke_dimension as kaplan_yorke_dimension
from ._lyapunov import lyapunov_spectrum as lyapunov_spectrum
from ._systems import (
    AbstractFlow as AbstractFlow,
)
from ._systems import (
    AbstractMap as AbstractMap,
)
from ._systems import (
    AbstractSystem as AbstractSystem,
)
from ._systems import (
    CircleRotation as CircleRotation,
)
from ._systems import (
    DoublingMap as DoublingMap,
)
from ._systems import (
    Duffing as Duffing,
)
from ._systems import (
    LinearFlow as LinearFlow,
)
from ._systems import (
    LinearMap as LinearMap,
)
from ._systems import (
    LogisticMap as LogisticMap,
)
from ._systems import (
    Lorenz63 as Lorenz63,
)
from ._systems import (
    OrnsteinUhlenbeck as OrnsteinUhlenbeck,
)
from ._systems import (
    Pendulum as Pendulum,
)
from ._systems import (
    Roessler as Roessler,
)
from ._systems import (
    SlowManifold as SlowManifold,
)
from ._systems import (
    StandardMap as StandardMap,
)
from ._systems import (
    TorusRotation as TorusRotation,
)
from ._systems import (
    VanDerPol as VanDerPol,
)
from ._systems import (
    dimension as dimension,
)
from ._trajectories import (
    derivative_pairs as derivative_pairs,
)
from ._trajectories import (
    hankel as hankel,
)
from ._trajectories import (
    snapshot_pairs as snapshot_pairs,
)
from ._trajectories import (
    trajectories as trajectories,
)
