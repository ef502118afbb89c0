"""The runner protocol: what a solver family provides to `jaxsci run`, and the one registry.

A family is one file, `runs/_<family>.py`: its config dataclasses and a `Runner` subclass
decorated with `@register`. `jaxsci.runs` imports every such module by itself, so adding a
family touches nothing else in `runs/` or `cli.py`: `load_config` learns its `solver = ...`
name, `run` and `load` dispatch to it, and `jaxsci run --help` / `--list` describe it.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

from ._config import SOLVERS


@dataclasses.dataclass
class Outcome:
    """What `Runner.run` returns.

    - `metrics`: what goes into `metrics.json` (results, wall times; JSON-serialisable). Per
      seed rows go under `metrics["runs"]`, each with its `seed` and `result`
      (`jaxsci.RESULTS` member name) when the family trains.
    - `outputs`: name -> path of each file written besides `metrics.json` and `config.toml`
      (plots; `None` where a plot was not made).
    - `summary`: one line for a person (the CLI prints it).
    - `ok`: `False` when any seed failed (a non-finite step, an unmet tolerance): the CLI
      then exits with status 1.
    """

    metrics: dict[str, Any]
    outputs: dict[str, str | None]
    summary: str
    ok: bool = True

    def seed_lines(self) -> list[str]:
        """One line per seed: its result, error and wall time where the metrics have them."""
        lines = []
        for row in self.metrics.get("runs", []):
            parts = [f"seed {row.get('seed')}: {row.get('result', 'successful')}"]
            if row.get("failed_step") is not None:
                parts.append(f"at step {row['failed_step']}")
            for key, fmt in [
                ("rel_l2", "rel_l2 {:.3e}"),
                ("error_estimate", "error estimate {:.1e}"),
                ("accuracy", "accuracy {:.4f}"),
            ]:
                if row.get(key) is not None:
                    parts.append(fmt.format(row[key]))
            if row.get("wall_s") is not None:
                parts.append(f"wall {row['wall_s']:.1f} s")
            lines.append(", ".join(parts))
        return lines


class Runner(abc.ABC):
    """One solver family's runs.

    Class attributes: `name` (the config's `solver = ...`), `config` (its config dataclass,
    built and validated by `load_config`), `description` (one line for `--help`). `run` and
    `load` may be the family module's functions (`run = staticmethod(run)`).
    """

    name: ClassVar[str]
    config: ClassVar[type]
    description: ClassVar[str]

    @abc.abstractmethod
    def run(self, cfg, out_dir: str, progress: bool) -> Outcome:
        """Run `cfg` (an instance of `config`), write the family's files (trained models as
        `model_seed{S}.eqx`, histories, plots) into `out_dir`, and return an `Outcome`.

        The same call continues an interrupted run (`jaxsci run --resume`): `out_dir` then
        holds what the interrupted process wrote. A family that trains resumes each seed from
        its checkpoint (`train.Loop(checkpoint=..., resume=True)`: a fresh directory has none,
        so the same code starts from step 0), marks a finished seed with
        `_rundir.write_row` after its model and history, and skips a seed that
        `_rundir.finished_row` returns. A family that does not checkpoint simply runs again
        (its result is deterministic)."""

    @abc.abstractmethod
    def load(self, cfg, run_dir: str, seed: int):
        """The trained model (or solution) of `seed` in `run_dir`."""

    def resumable_overrides(self, cfg) -> tuple[str, ...]:
        """The config keys that `jaxsci run --resume RUN_DIR --set KEY=VALUE` may change: those
        that leave every result (parameters, losses, metrics, plots) as they are. By default
        `train.chunk_size`, where the config has one (`train.Loop`: the iterates do not depend
        on it); a family whose metrics do depend on it says so by overriding this."""
        train = getattr(cfg, "train", None)
        return ("train.chunk_size",) if hasattr(train, "chunk_size") else ()

    def seeds(self, cfg) -> list[int]:
        """The seeds a run of `cfg` produces a model for."""
        return list(cfg.train.seeds)

    def catalogue(self) -> list[str]:
        """Lines for `jaxsci run --list`: what a config of this family can name."""
        return []


RUNNERS: dict[str, Runner] = {}


def register(cls: type[Runner]) -> type[Runner]:
    """Class decorator: make a `Runner` subclass the runner of `cls.name`."""
    for attr in ("name", "config", "description"):
        if not hasattr(cls, attr):
            raise TypeError(f"register: {cls.__name__} has no `{attr}`")
    if cls.name in RUNNERS:
        raise ValueError(f"register: solver {cls.name!r} is registered twice")
    RUNNERS[cls.name] = cls()
    SOLVERS[cls.name] = cls.config
    return cls
