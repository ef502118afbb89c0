from helpers import run_notebook


def test_pig_notebook_runs(tmp_path, monkeypatch):
    outputs = run_notebook("pig.ipynb", tmp_path, monkeypatch)
    assert "relative L2" in outputs and "saved pig_gaussians.png" in outputs
    assert (tmp_path / "pig_gaussians.png").exists()
