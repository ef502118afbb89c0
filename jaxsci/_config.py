"""Typed experiment configuration, read from TOML and validated key by key.

A config names a catalogue problem, a field and a training recipe. Unknown keys and wrong types
raise a `ValueError` naming the key (`train.stepz: unknown key; ...`). `--set key=value`
overrides use the same validation.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, get_args, get_origin, get_type_hints


@dataclass
class ProblemConfig:
    name: str = "poisson_2d"
    args: dict[str, Any] = _field(default_factory=dict)


@dataclass
class FieldConfig:
    width: int = 64
    depth: int = 4
    activation: str = "tanh"
    fourier_features: int = 0  # 0: no Fourier-feature embedding
    fourier_scale: float = 1.0
    factorisation: bool = False  # random weight factorisation (mean 1.0, std 0.1)
    hard_dirichlet: bool = False  # multiply by a function vanishing on the spatial boundary
    periodic_axes: list[int] = _field(default_factory=list)


@dataclass
class TrainConfig:
    steps: int = 5000
    learning_rate: float = 1e-3
    decay_rate: float = 0.9
    decay_steps: int = 1000
    lbfgs_steps: int = 0  # L-BFGS refinement after Adam
    n_interior: int = 2000
    n_boundary: int = 256
    sampler: str = "uniform"
    resample_every: int = 0
    adaptive_every: int = 0  # 0: no residual-based adaptive resampling
    adaptive_candidates: int = 10000
    adaptive_replace: int = 200
    balancing: bool = False
    causal_chunks: int = 0  # 0: no causal weighting
    causal_tolerance: float = 1.0
    chunk_size: int = 1000
    seeds: list[int] = _field(default_factory=lambda: [0])
    float64: bool = False


@dataclass
class RunConfig:
    problem: ProblemConfig = _field(default_factory=ProblemConfig)
    field: FieldConfig = _field(default_factory=FieldConfig)
    train: TrainConfig = _field(default_factory=TrainConfig)
    output_dir: str = "runs"
    plot: bool = True


def _check_type(value, tp, where: str):
    origin = get_origin(tp)
    if origin is list:
        (item,) = get_args(tp)
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        return [_check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a table, got {type(value).__name__} {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool) or not isinstance(value, tp):
        raise ValueError(f"{where}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


def _build(cls, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ValueError(f"{prefix or 'config'}: expected a table, got {data!r}")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in names:
            raise ValueError(f"{where}: unknown key; expected one of {names}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, value, f"{where}.")
        else:
            kwargs[key] = _check_type(value, tp, where)
    return cls(**kwargs)


def load_config(source: str | dict, overrides: list[str] = ()) -> RunConfig:
    """A validated `RunConfig` from a TOML file path (or a dict), with `key=value` overrides
    (`train.steps=100`, `problem.args.a2=2`; values in TOML syntax, bare words as strings)."""
    if isinstance(source, dict):
        data = source
    else:
        with open(source, "rb") as f:
            data = tomllib.load(f)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {key}: {part!r} is not a table")
        node[parts[-1]] = value
    return _build(RunConfig, data, "")
