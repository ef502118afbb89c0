"""The equal-wall-time comparison of `experiments.pinn.lbfgs_phase --table ... --peer ...`
picks jaxsci's error at the last time mark within the peer's fastest seed's seconds."""

import json

from experiments.pinn import field_levers, lbfgs_phase


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
    lbfgs_phase.peer_table(lbfgs_phase.first_cap_rows([jx]), [px])
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("| p |"))
    assert "5.00e-02 / 5.00e-02" in line and line.endswith("| 3.00 |")  # 0.15 / 0.05
    assert "1 of 1 rows" in out  # q has no jaxsci run: not compared


def test_field_levers_table_counts_rows_at_the_target_at_the_end_and_by_the_seconds(tmp_path):
    def lever(name, variant, seed, err, marks):
        return {
            "name": name,
            "variant": variant,
            "seed": seed,
            "err": err,
            "s": 150.0,
            "marks": marks,
        }

    late = [[500, 60.0, 0.5], [1000, 130.0, 1e-3]]  # at 1e-3 only after 120 s
    early = [[500, 60.0, 5e-3], [1000, 130.0, 1e-4]]
    rows = [
        lever("a", "ffd", 0, 1e-3, late),
        lever("b", "ff0.7", 0, 1e-4, early),  # renamed to ffd: counted with `a`
        lever("c", "ffd", 0, 0.5, early),  # fails at the end, though 5e-3 at 60 s
    ]
    files = [_write(tmp_path / "f.json", rows, {})]
    plain = [
        {
            "problem": p,
            "seed": 0,
            "max_linesearch": 10,
            "rel_l2": e,
            "wall_s": 90.0,
            "marks": [[125, 50.0, e]],
        }
        for p, e in (("a", 0.02), ("b", 1e-3), ("c", 1e-3))
    ]
    plain_files = [_write(tmp_path / "p.json", plain, {"max_linesearch": "10"})]
    counts = field_levers.table(files, plain_files, rename=["ff0.7=ffd"])
    # ffd, seed 0: 3 rows; at the end a and b; by 120 s b and c; plain: b and c, both times
    assert counts == {("ffd", 0): [3, 2, 2, 2, 2]}
    # the plain calls from zoo files instead: a later file's row wins; no marks, so no plain
    # row counts by 120 s
    zoo = [
        {"problem": "a", "solver": "mlp", "seeds": [0], "rel_l2": [0.5], "wall_s": 300.0},
        {"problem": "b", "solver": "pig", "seeds": [0], "rel_l2": [9.0], "wall_s": 300.0},
    ]
    later = [
        {"problem": "a", "solver": "mlp", "seeds": [0, 1], "rel_l2": [1e-3, 1.0], "wall_s": 600.0}
    ]
    zoo_files = [_write(tmp_path / "z1.json", zoo, {}), _write(tmp_path / "z2.json", later, {})]
    assert field_levers.zoo_rows(zoo_files) == {
        "a": {
            0: {"rel_l2": 1e-3, "marks": [], "wall_s": 300.0},
            1: {"rel_l2": 1.0, "marks": [], "wall_s": 300.0},
        }
    }
    counts = field_levers.table(files, rename=["ff0.7=ffd"], plain_zoo=zoo_files)
    assert counts == {("ffd", 0): [3, 2, 2, 1, 0]}
    # the estimate column: each run's estimate over its error, "-" where none was recorded
    assert field_levers._ratios([{"err": 0.5, "estimate": 0.25}, {"err": 1.0}]) == "0.50 / -"


def test_field_levers_peer_reads_each_variant_at_the_peers_seconds(tmp_path, capsys):
    def lever(name, variant, err_at_50):
        marks = [[500, 50.0, err_at_50], [1000, 90.0, err_at_50 / 10]]
        return {
            "name": name,
            "variant": variant,
            "seed": 0,
            "err": err_at_50 / 10,
            "s": 90.0,
            "marks": marks,
        }

    rows = [lever("p", "ffd", 0.05), lever("p", "ff0.7", 0.5), lever("q", "domain", 2.0)]
    files = [_write(tmp_path / "f.json", rows, {})]
    peer = [
        {"problem": "p", "rel_l2": [0.1, 0.2], "wall_s": [60.0, 70.0]},  # cut at 60 s: 50 s mark
        {"problem": "q", "rel_l2": [1.0], "wall_s": [95.0]},  # cut at 95 s: the final mark
    ]
    px = [_write(tmp_path / "p.json", peer, {})]
    # each variant compared on its own rows: ffd 0.15 / 0.05 (lower), ff0.7 0.15 / 0.5 (higher),
    # domain 1.0 / 0.2 (lower)
    assert field_levers.peer(files, px) == {"domain": (1, 1), "ff0.7": (0, 1), "ffd": (1, 1)}
    assert "| p | 1.00e-01 / 2.00e-01 | 60-70 | 5.00e-02 |" in capsys.readouterr().out
    # renamed, ff0.7's run replaces ffd's on row p (the later row wins)
    assert field_levers.peer(files, px, rename=["ff0.7=ffd"]) == {"domain": (1, 1), "ffd": (0, 1)}
