"""Dynamical-systems reconstruction: shallow PLRNN and AL-RNN trained by generalised or sparse
teacher forcing, and the field's metrics (D_stsp, D_H, sMAPE, valid prediction time)."""

from ._metrics import power_spectrum_distance as power_spectrum_distance
from ._metrics import smape as smape
from ._metrics import state_space_divergence as state_space_divergence
from ._metrics import state_space_divergence_gmm as state_space_divergence_gmm
from ._metrics import valid_prediction_time as valid_prediction_time
from ._models import ALRNN as ALRNN
from ._models import AbstractDSRModel as AbstractDSRModel
from ._models import ShallowPLRNN as ShallowPLRNN
from ._models import symbolic_code as symbolic_code
from ._training import AbstractForcing as AbstractForcing
from ._training import GeneralizedTeacherForcing as GeneralizedTeacherForcing
from ._training import Reconstruction as Reconstruction
from ._training import SparseTeacherForcing as SparseTeacherForcing
from ._training import forced_forecast as forced_forecast
from ._training import forced_predictions as forced_predictions
from ._training import reconstruct as reconstruct
