"""ODE systems and maps with known Koopman spectra, trajectories, snapshot pairs, delays."""

from ._systems import (
    AbstractFlow as AbstractFlow,
    AbstractMap as AbstractMap,
    AbstractSystem as AbstractSystem,
    CircleRotation as CircleRotation,
    DoublingMap as DoublingMap,
    Duffing as Duffing,
    LinearFlow as LinearFlow,
    LinearMap as LinearMap,
    LogisticMap as LogisticMap,
    Lorenz63 as Lorenz63,
    OrnsteinUhlenbeck as OrnsteinUhlenbeck,
    Pendulum as Pendulum,
    Roessler as Roessler,
    SlowManifold as SlowManifold,
    StandardMap as StandardMap,
    TorusRotation as TorusRotation,
    VanDerPol as VanDerPol,
    dimension as dimension,
)
from ._trajectories import (
    derivative_pairs as derivative_pairs,
    hankel as hankel,
    snapshot_pairs as snapshot_pairs,
    trajectories as trajectories,
)
