"""Typed run configs, read from TOML and validated key by key, for every solver.

A config names the solver it runs at the top (`solver = "pinn"`, the default, `"koopman"`,
`"ssm"`, `"gp"`) and holds that solver's sections. Each solver's config is a dataclass tree;
every key is checked against it: unknown keys, wrong types and out-of-range values raise a
`ValueError` naming the key (`train.stepz: unknown key; ...`, `train.seeds: must not be
empty`), and a section that belongs to another solver says so. A section whose settings
depend on a `kind` (the PINN's `[field]`: `"mlp"` or `"pig"`) picks its dataclass by that key;
so does a setting typed as a union of option classes, by the class's snake-case name
(`[weighting.balancing] kind = "gradient_balancing"`; without `kind`, the class of the
library's default, or the union's first where the default is None).
An optional section is switched off by `kind = "none"` (`[weighting.balancing] kind =
"none"`): the way to say "none" where the library's default is not.
`--set key=value` overrides go through the same validation.

`to_toml` writes a config back: the resolved config of a run directory reproduces the run.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import tomllib
import types
from collections.abc import Callable
from dataclasses import field as _field
from typing import Any, get_args, get_origin, get_type_hints

# solver name -> config dataclass; filled by `_runner.register`
SOLVERS: dict[str, type] = {}


def setting(default: Any = dataclasses.MISSING, check: str | tuple | None = None, **kwargs):
    """A dataclass field with an optional value check: `"positive"`, `"non-negative"`,
    `"non-empty"`, `"probability"` (in (0, 1)), or a tuple of the allowed values."""
    if isinstance(default, list | dict):
        value = default
        kwargs["default_factory"] = lambda: type(value)(value)
    elif default is not dataclasses.MISSING:
        kwargs["default"] = default
    return _field(metadata={"check": check} if check else {}, **kwargs)


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "positive": (lambda v: v > 0, "must be positive"),
    "non-negative": (lambda v: v >= 0, "must be non-negative"),
    "non-empty": (lambda v: len(v) > 0, "must not be empty"),
    "probability": (lambda v: 0 < v < 1, "must lie in (0, 1)"),
}


def _dataclass_in(tp):
    """The dataclass of a hint `C` or `C | None`, or None."""
    if dataclasses.is_dataclass(tp):
        return tp
    if isinstance(tp, types.UnionType):
        found = [a for a in get_args(tp) if dataclasses.is_dataclass(a)]
        return found[0] if found else None
    return None


def _optional(tp) -> bool:
    """Whether a hint admits None (`C | None`)."""
    return isinstance(tp, types.UnionType) and type(None) in get_args(tp)


def _snake(name: str) -> str:
    """`NTKWeighting` -> `ntk_weighting`, `GradientBalancing` -> `gradient_balancing`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _kinds_of(tp, default: Any = None) -> dict | None:
    """The classes a section of hint `tp` chooses between by its `kind` key: a config class's
    own `KINDS`, or for a union of option classes (`GradientBalancing | NTKWeighting | None`)
    each class under its snake-case name; the first is the one a table without `kind` gets:
    the class of the setting's `default` where it is one of them, else the union's first.
    None for a single class."""
    if isinstance(tp, types.UnionType):
        found = [a for a in get_args(tp) if dataclasses.is_dataclass(a)]
        if len(found) > 1:
            found.sort(key=lambda c: type(default) is not c)  # stable: the default's first
            return {_snake(c.__name__): c for c in found}
    return getattr(_dataclass_in(tp), "KINDS", None)


def _check_type(value, tp, where: str):
    origin = get_origin(tp)
    if isinstance(tp, types.UnionType):
        for arg in get_args(tp):
            try:
                return _check_type(value, arg, where)
            except ValueError:
                continue
        names = " or ".join(getattr(a, "__name__", str(a)) for a in get_args(tp))
        raise ValueError(f"{where}: expected {names}, got {type(value).__name__} {value!r}")
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
    if tp is float and not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite float, got {value!r}")
    return value


def _build(cls, data, prefix: str, kinds: dict | None = None):
    where_table = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ValueError(f"{where_table}: expected a table, got {data!r}")
    kinds = kinds if kinds is not None else getattr(cls, "KINDS", None)
    if kinds is not None:  # a section whose dataclass depends on its `kind`
        kind = data.get("kind", next(iter(kinds)))
        if kind not in kinds:
            raise ValueError(f"{prefix}kind: unknown kind {kind!r}; expected one of {list(kinds)}")
        cls = kinds[kind]
        data = {k: v for k, v in data.items() if k != "kind"}
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if kinds is None or f.name != "kind"}
    kwargs = {}
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in fields:
            moved = getattr(cls, "MOVED", {}).get(key)
            if moved is not None:
                raise ValueError(f"{where}: moved to `{moved}` (see CHANGELOG.md)")
            hint = ""
            if kinds is not None:
                owners = [
                    k for k, c in kinds.items() if key in {f.name for f in dataclasses.fields(c)}
                ]
                if owners:
                    hint = f" (a setting of kind {owners[0]!r}, this one is {kind!r})"
            raise ValueError(f"{where}: unknown key{hint}; expected one of {list(fields)}")
        tp = hints[key]
        nested = _dataclass_in(tp)
        if nested is not None and _optional(tp) and isinstance(value, dict):
            if value.get("kind") == "none":  # the section switched off
                if len(value) > 1:
                    raise ValueError(
                        f'{where}: kind "none" takes no other keys, got {sorted(value)}'
                    )
                kwargs[key] = None
                continue
        if nested is not None:
            kinds = _kinds_of(tp, _default_of(fields[key]))
            kwargs[key] = _build(nested, value, f"{where}.", kinds)
            continue
        kwargs[key] = _check_type(value, tp, where)
        check = fields[key].metadata.get("check")
        if check is not None:
            if isinstance(check, tuple):
                ok, message = check.__contains__, f"expected one of {list(check)}"
            else:
                ok, message = _CHECKS[check]
            if not ok(kwargs[key]):
                raise ValueError(f"{where}: {message}, got {kwargs[key]!r}")
    try:  # an option class of the library checks itself (`__check_init__`)
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where_table}: {e}") from None


def _apply_overrides(data: dict, overrides) -> None:
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


def load_config(source: str | dict, overrides: list[str] = ()):
    """A validated run config from a TOML file path (or a dict), with `key=value` overrides
    (`train.steps=100`, `problem.args.a2=2`; values in TOML syntax, bare words as strings).

    Returns the dataclass of the solver the config names (`solver = ...`, default `"pinn"`)."""
    if isinstance(source, dict):
        data = json.loads(json.dumps(source))  # a deep copy: overrides never touch the caller's
    else:
        try:
            with open(source, "rb") as f:
                data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{source}: not valid TOML: {e}") from None
    _apply_overrides(data, overrides)
    solver = data.pop("solver", "pinn")
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown solver {solver!r}; expected one of {sorted(SOLVERS)}")
    cls = SOLVERS[solver]
    own = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in own:
            others = [
                s for s, c in SOLVERS.items() if key in {f.name for f in dataclasses.fields(c)}
            ]
            if others:
                raise ValueError(
                    f"{key}: a section of a {' or '.join(map(repr, sorted(others)))} config, "
                    f"but this config runs solver "
                    f"{solver!r} (its sections: {sorted(own - {'solver'})})"
                )
    return _build(cls, data, "")


def library_default(fn, name: str):
    """The default of argument `name` of `fn` (a function or an option class): a config field's
    default is read from the library, never restated."""
    return inspect.signature(fn).parameters[name].default


@dataclasses.dataclass
class ProblemConfig:
    """`[problem]`: a catalogue problem by name, with keyword arguments for its constructor
    (the PINN and GP families share it)."""

    name: str = "poisson_2d"
    args: dict[str, Any] = setting({})


# ------------------------------------------------------------------ writing TOML


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # TOML basic strings share JSON's escapes
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"to_toml: cannot write {type(v).__name__} {v!r}")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def to_dict(cfg) -> dict:
    """The config as nested dicts, with `solver` and every section's `kind`."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if v is None:  # an absent optional table (`[sampling.adaptive]` not given) ...
            default = _default_of(f)
            if default is not None and default is not dataclasses.MISSING:
                # ... unless absent would read back as a default that is not None
                out[f.name] = {"kind": "none"}
            continue
        out[f.name] = _section_dict(cfg, f, v) if dataclasses.is_dataclass(v) else v
    return out


def _default_of(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _section_dict(owner, field: dataclasses.Field, value) -> dict:
    """`to_dict(value)` of `owner`'s section `field`; for a section chosen by `kind` whose class
    (a library option object) has no `kind` field, with the `kind` that reads it back, unless it
    is the default one."""
    out = to_dict(value)
    kinds = _kinds_of(get_type_hints(type(owner))[field.name], _default_of(field))
    if kinds is not None and "kind" not in out:
        kind = next(k for k, c in kinds.items() if type(value) is c)
        if kind != next(iter(kinds)):
            out = {"kind": kind, **out}
    return out


def to_toml(cfg) -> str:
    """The config as TOML text that `load_config` reads back to an equal config."""
    data = to_dict(cfg)
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines.append(f"\n[{name}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"
