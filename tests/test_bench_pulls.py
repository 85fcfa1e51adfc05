"""bench_pulls keeps its run files when asked and measures an analysis on the same runs."""

from __future__ import annotations

import pytest

from benchmarks import bench_pulls


def test_keep_reuses_the_runs_and_gives_the_same_pulls(tmp_path, capsys):
    args = ["--small", "--seeds", "1", "--keep", str(tmp_path), "--set", "spike_probability=0"]
    bench_pulls.main(args)
    first = capsys.readouterr().out
    files = sorted(p.name for p in tmp_path.glob("*.h5"))
    assert files == ["realistic_small_1_spike_probability=0.h5"]
    stamp = (tmp_path / files[0]).stat().st_mtime_ns
    bench_pulls.main(args)
    second = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == files  # no second run file
    assert (tmp_path / files[0]).stat().st_mtime_ns == stamp  # and the first one untouched
    pulls = [line for line in first.splitlines() if "pulls" in line and not line.startswith("seed")]
    assert pulls and pulls == [line for line in second.splitlines() if "pulls" in line and not line.startswith("seed")]


def test_set_takes_booleans_and_refuses_words(tmp_path):
    keys = bench_pulls.simulation_keys(["noise=false", "ripple_db=0", "flicker_rel=2.5"])
    assert keys == {"noise": False, "ripple_db": 0.0, "flicker_rel": 2.5} and keys["noise"] is False
    assert bench_pulls.config(1, True, keys)["simulation"]["noise"] is False
    with pytest.raises(SystemExit):
        bench_pulls.main(["--small", "--seeds", "1", "--keep", str(tmp_path), "--set", "ripple_db=lots"])
    assert not list(tmp_path.glob("*.h5"))
