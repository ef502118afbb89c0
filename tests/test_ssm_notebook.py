from helpers import run_notebook


def test_hippo_s4_notebook_runs(tmp_path, monkeypatch):
    outputs = run_notebook("hippo_s4.ipynb", tmp_path, monkeypatch)
    assert "max reconstruction error" in outputs and "copy accuracy = " in outputs
    accuracy = float(outputs.split("copy accuracy = ")[1].split()[0])
    assert accuracy > 0.9
    for png in ("hippo_memory.png", "s4d_kernels.png", "transfer.png"):
        assert (tmp_path / png).exists()
