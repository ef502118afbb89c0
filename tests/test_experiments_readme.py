"""`experiments/README.md` maps every benchmark script: a script added without its row (the
question it answers, its BENCHMARKS.md section, its result files) fails here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "experiments"


def test_every_experiment_script_is_in_the_map():
    text = (ROOT / "README.md").read_text()
    scripts = [
        p.relative_to(ROOT).as_posix()
        for p in sorted(ROOT.glob("*/*.py"))
        if not p.name.startswith("_") and p.parent.name != "results"
    ]
    assert len(scripts) > 30  # the glob found the scripts
    missing = [s for s in scripts if f"`{s}`" not in text]
    assert not missing, f"experiments/README.md has no row for {missing}"
