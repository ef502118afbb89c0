from helpers import run_notebook

# EDMD runs in the full notebook only (its float64 compilation)
MODELS = ("last value", "training mean", "shPLRNN + GTF", "AL-RNN + STF")


def test_chaos_notebook_runs(tmp_path, monkeypatch):
    outputs = run_notebook("chaos.ipynb", tmp_path, monkeypatch)
    assert "subregions used:" in outputs
    assert "shPLRNN + GTF: D_stsp = " in outputs and "AL-RNN + STF: D_stsp = " in outputs
    for model in MODELS:
        assert f"VPT {model:14s}: median " in outputs
    assert (tmp_path / "chaos_attractors.png").exists() and (tmp_path / "chaos_vpt.png").exists()
