"""The equal-wall-time comparison of `experiments.pinn.lbfgs_phase --table ... --peer ...`
picks jaxsci's error at the last time mark within the peer's fastest seed's seconds."""

import json

from experiments.pinn import lbfgs_phase


def _write(path, rows, args):
    path.write_text(json.dumps({"env": {}, "args": args, "rows": rows}))
    return str(path)


def test_peer_table_reads_jaxsci_at_the_peers_seconds(tmp_path, capsys):
    marks = [[100, 10.0, 0.5], [200, 50.0, 0.05], [300, 90.0, 0.01]]
    mine = [
        {
            "problem": "p",
            "seed": s,
            "max_linesearch": 10,
            "rel_l2": 0.01,
            "wall_s": 90.0,
            "marks": marks,
        }
        for s in (0, 1)
    ]
    jx = _write(tmp_path / "j.json", mine, {"max_linesearch": "10"})
    # fastest peer seed 60 s: jaxsci's mark at 50 s (0.05) is read, not the final 0.01
    peer = [
        {"problem": "p", "rel_l2": [0.1, 0.2], "wall_s": [60.0, 70.0]},
        {"problem": "q", "rel_l2": [1.0], "wall_s": [5.0]},
    ]
    px = _write(tmp_path / "p.json", peer, {})
    lbfgs_phase.peer_table([jx], [px])
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("| p |"))
    assert "5.00e-02 / 5.00e-02" in line and line.endswith("| 3.00 |")  # 0.15 / 0.05
    assert "1 of 1 rows" in out  # q has no jaxsci run: not compared
