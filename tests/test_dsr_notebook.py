from helpers import run_notebook


def test_dsr_notebook_runs(tmp_path, monkeypatch):
    outputs = run_notebook("dsr.ipynb", tmp_path, monkeypatch)
    assert "Lyapunov spectrum:" in outputs and "subregions used:" in outputs
    assert "shPLRNN+GTF: D_stsp = " in outputs and "AL-RNN+STF: D_stsp = " in outputs
    assert (tmp_path / "dsr_attractors.png").exists()
