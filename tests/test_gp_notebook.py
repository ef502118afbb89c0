from helpers import run_notebook


def test_gp_notebook_runs(tmp_path, monkeypatch):
    outputs = run_notebook("gp_high_frequency.ipynb", tmp_path, monkeypatch)
    assert "GP relative L2" in outputs and "PINN relative L2" in outputs
    for png in ["gp_p1.png", "gp_spectrum.png", "gp_vs_pinn.png"]:
        assert (tmp_path / png).exists()
