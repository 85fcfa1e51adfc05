"""Disk trouble mid-run: the run stops safely and the points are kept."""

import subprocess
import sys
import textwrap

import pytest

from stfmr_lab.runner import RunFailed, run
from stfmr_lab.storage import RunFile, read_run
from tests.small_config import small_map


def test_disk_nearly_full_stops_the_run_safely(tmp_path, monkeypatch):
    monkeypatch.setattr(RunFile, "reserve_bytes", 10**18)  # no disk has that much free
    with pytest.raises(RunFailed, match="disk nearly full") as e:
        run(small_map(), sim=True, out=tmp_path / "d.h5")
    d = read_run(e.value.path)
    assert d.attrs["status"] == "failed"
    assert d.attrs["safe_state"] == "verified"
    assert len(d.tables["dvdi"]["sweep"]) == 25  # the first sweep, whole


WRITE_LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    sys.path.insert(0, sys.argv[3])
    from tests.small_config import small_map
    from stfmr_lab.runner import run, RunFailed
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    try:
        run(small_map(), sim=True, out=sys.argv[1])
        print("COMPLETED")
    except RunFailed as e:
        print("FAILED", e)
    """
)


def test_write_failure_mid_run_keeps_the_journal_readable(tmp_path):
    from tests.conftest import REPO

    out = tmp_path / "w.h5"
    # 100 kB: the layout and the settings fit, the first sweep's batch does not
    r = subprocess.run([sys.executable, "-c", WRITE_LIMITED, str(out), "100000", str(REPO)], capture_output=True, text=True)
    assert "FAILED" in r.stdout
    assert "safe state: verified" in r.stdout
    d = read_run(out)  # the HDF5 columns are damaged; the journal has the points
    assert len(d.tables["dvdi"]["sweep"]) == 25
