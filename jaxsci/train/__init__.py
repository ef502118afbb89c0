"""The optax training loop: scanned jitted chunks, checkpoints, NaN guard, ensembles."""

from ._checkpoint import CheckpointError as CheckpointError
from ._checkpoint import checkpoint_info as checkpoint_info
from ._checkpoint import checkpoint_tags as checkpoint_tags
from ._interrupt import Interrupted as Interrupted
from ._launch import initialize as initialize
from ._loop import Step as Step
from ._loop import TrainResult as TrainResult
from ._loop import TrainState as TrainState
from ._loop import fit as fit
from ._loop import init_state as init_state
from ._loop import load_checkpoint as load_checkpoint
from ._loop import make_step as make_step
from ._loop import prime_linesearch as prime_linesearch
from ._loop import save_checkpoint as save_checkpoint
from ._options import Loop as Loop
from ._sharding import data_mesh as data_mesh
from ._sharding import shard_state as shard_state
from ._sharding import to_local as to_local
