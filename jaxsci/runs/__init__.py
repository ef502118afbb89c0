"""Experiment runs from config files, for every solver: `jaxsci run CONFIG`.

```python
from jaxsci import runs

cfg = runs.load_config("experiments/configs/helmholtz_2d.toml", ["train.steps=200"])
metrics = runs.run(cfg, "runs/helmholtz")       # the run directory (see below)
sol = runs.load("runs/helmholtz")               # the trained model, in one line
```

A run directory holds `config.toml` (the resolved config: `jaxsci run RUN_DIR/config.toml`
reruns it), `metrics.json` (results, wall times, versions, device), the loss history of each
seed (`history_seed{S}.csv`), `learning_curve.png`, the trained model of each seed
(`model_seed{S}.eqx`) and the solver's own outputs (solution plot, pseudospectrum). A run
stopped by a signal, Ctrl-C or a kill continues with `runs.resume(run_dir)` (`jaxsci run
--resume RUN_DIR`) to the result an uninterrupted run gives.
"""

from ._config import SOLVERS as SOLVERS
from ._config import load_config as load_config
from ._config import to_toml as to_toml
from ._run import catalogue as catalogue
from ._run import load as load
from ._run import resume as resume
from ._run import run as run
