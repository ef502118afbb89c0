"""Every ```python block of the README runs on its own, in a fresh namespace.

To keep the test short the blocks run at small sizes, by regex substitution on the block's text
(nothing else changes): `steps=N` becomes `steps=min(N, 30)`, a config override
`train.steps=N` becomes `train.steps=20`, and the Koopman example uses 40 initial states
(`(200, 2)` -> `(40, 2)`), `degree=10` -> `degree=4` and a 6 x 6 pseudospectrum grid.
Blocks run in a temporary directory (they write run directories); paths to `experiments/`
point at the repository.
"""

import os
import pathlib
import re

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _small(code: str) -> str:
    code = re.sub(r"(?<![\w.])steps=(\d+)", lambda m: f"steps={min(int(m[1]), 30)}", code)
    code = re.sub(r"train\.steps=\d+", "train.steps=20", code)
    code = code.replace("(200, 2)", "(40, 2)").replace("degree=10", "degree=4")
    code = re.sub(r"linspace\((-?[\d.]+), ([\d.]+), 50\)", r"linspace(\1, \2, 6)", code)
    return code.replace('"experiments/', f'"{ROOT}/experiments/')


def test_readme_has_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_alone(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _small(BLOCKS[index])
    x64 = jax.config.jax_enable_x64
    try:
        exec(compile(code, f"README.md block {index}", "exec"), {"__name__": f"readme_{index}"})
    finally:  # a block may switch float64 on (the Koopman one does): restore for later tests
        jax.config.update("jax_enable_x64", x64)
    assert os.getcwd() == str(tmp_path)
