from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "hippo_s4.ipynb"


def test_hippo_s4_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXSCI_NOTEBOOK_SMALL", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "max reconstruction error" in outputs and "copy accuracy = " in outputs
    accuracy = float(outputs.split("copy accuracy = ")[1].split()[0])
    assert accuracy > 0.9
    for png in ("hippo_memory.png", "s4d_kernels.png", "transfer.png"):
        assert (tmp_path / png).exists()
