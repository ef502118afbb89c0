"""Regenerate `jaxsci/dynamics/_dysts_table.json` from the installed `dysts` (a test-only peer).

    python -m experiments.dsr.dysts_table

The table holds, for every system `jaxsci.dynamics` implements, the metadata dysts ships with it
(parameters, initial condition, integration step, dominant period, Lyapunov estimates, the
mean and standard deviation used for standardisation). dysts is Apache-2.0 (Gilpin 2021); the
values are copied as data, the right-hand sides are written in JAX in `_dysts.py` and checked
against dysts' own in `tests/test_dynamics_dysts.py`.
"""

import json
from importlib import metadata
from pathlib import Path

KEYS = (
    "parameters",
    "initial_conditions",
    "dt",
    "period",
    "maximum_lyapunov_estimated",
    "lyapunov_spectrum_estimated",
    "kaplan_yorke_dimension",
    "correlation_dimension",
    "mean",
    "std",
)


def main():
    import dysts

    from jaxsci.dynamics._dysts_fields import FLOW_FIELDS, MAP_STEPS

    data = Path(dysts.__file__).parent / "data"
    flows = json.loads((data / "chaotic_attractors.json").read_text())
    maps = json.loads((data / "discrete_maps.json").read_text())
    table = {
        "source": f"dysts {metadata.version('dysts')} (Apache-2.0), data/*.json",
        "flows": {n: {k: flows[n].get(k) for k in KEYS} for n in sorted(FLOW_FIELDS)},
        "maps": {n: {k: maps[n].get(k) for k in KEYS} for n in sorted(MAP_STEPS)},
    }
    out = Path(__file__).resolve().parents[2] / "jaxsci" / "dynamics" / "_dysts_table.json"
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {out} ({len(table['flows'])} flows, {len(table['maps'])} maps)")


if __name__ == "__main__":
    main()
