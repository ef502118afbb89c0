from helpers import run_notebook


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    outputs = run_notebook("pinn_quickstart.ipynb", tmp_path, monkeypatch)
    assert "relative L2" in outputs and "E = " in outputs
    assert (tmp_path / "helmholtz.png").exists()
