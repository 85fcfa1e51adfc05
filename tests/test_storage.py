"""The run file: contract layout attribute by attribute, never overwrite, crash survival."""

import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from stfmr_lab.runner import run
from stfmr_lab.storage import JOURNAL_SUFFIX, RunFile, StorageError, free_name, read_run
from stfmr_lab.units import COLUMNS
from tests.small_config import small_map

CONTRACT_COLUMNS = {
    "frequency": "Hz", "field": "Oe", "field_angle": "deg", "bias_current": "A", "bias_voltage": "V",
    "rf_power": "dBm", "lockin_x": "V", "lockin_y": "V", "vmix": "V", "time": "s", "spectrum": "",
}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    return run(small_map(), sim=True, out=tmp_path_factory.mktemp("run") / "small.h5")


def test_layout_follows_the_contract(small_run):
    with h5py.File(small_run, "r") as f:
        assert f.attrs["NX_class"] == "NXroot"
        assert f.attrs["default"] == "entry"
        assert f.attrs["program"] == "stfmr-lab"
        assert f.attrs["program_version"]
        e = f["entry"]
        assert e.attrs["NX_class"] == "NXentry"
        for key in ("start_time", "end_time"):
            assert "T" in e.attrs[key]  # ISO 8601
        assert e.attrs["status"] == "complete"
        assert "stfmr_lab.procedures" in e.attrs["procedure"]
        assert "measurements:" in e.attrs["config"]
        for role in ("source", "dc", "lockin", "magnet_supply", "gaussmeter"):
            g = e["instrument"][role]
            assert g.attrs["identification"]
            assert g.attrs["model"]
            assert len(g["settings"].attrs) > 0
        assert e["instrument"]["lockin"]["settings"].attrs["time_constant_s"] == pytest.approx(0.03)
        s = e["sample"]
        assert s["name"][()].decode() == "test junction"
        for key in ("r_p_ohm", "tmr0", "alpha", "ms_vol_emu", "meff_4pi_oe", "z0_ohm", "loss_db_0", "loss_db_per_ghz"):
            assert key in s.attrs
        assert s.attrs["alpha"] == pytest.approx(0.0095)
        d = e["data"]
        assert d.attrs["NX_class"] == "NXdata"
        assert d.attrs["signal"] == "vmix"
        n = d["vmix"].shape[0]
        assert n == 246
        for name, unit in CONTRACT_COLUMNS.items():
            assert d[name].shape == (n,), name
            assert d[name].attrs["units"] == unit, name
            assert d[name].ndim == 1 and d[name].maxshape == (None,)
        assert np.all(np.diff(d["time"][()]) > 0)
        assert set(d["field_angle"][()]) == {90.0}
        assert np.allclose(d["vmix"][()], d["lockin_x"][()] * np.pi / np.sqrt(2))
    assert not os.path.exists(str(small_run) + JOURNAL_SUFFIX)  # all in the file: journal gone


def test_never_overwrites(tmp_path):
    target = tmp_path / "r.h5"
    target.write_bytes(b"precious")
    p1 = run(small_map(measurements=small_map()["measurements"][:1]), sim=True, out=target)
    assert p1 == tmp_path / "r-1.h5"
    assert target.read_bytes() == b"precious"
    p2 = run(small_map(measurements=small_map()["measurements"][:1]), sim=True, out=target)
    assert p2 == tmp_path / "r-2.h5"
    assert free_name(target) == tmp_path / "r-3.h5"


def test_unwritable_output_is_refused_before_the_run(tmp_path):
    # a folder that cannot be made (its parent is a file): refused even for root
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    with pytest.raises(StorageError, match="cannot create folder"):
        run(small_map(), sim=True, out=blocker / "runs" / "x.h5")
    with pytest.raises(StorageError, match=".h5"):
        run(small_map(), sim=True, out=tmp_path / "x.csv")
    assert not list(tmp_path.glob("**/*.h5"))


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from stfmr_lab.storage import RunFile
    rf = RunFile.create(sys.argv[1], procedure="test", config_yaml="x: 1", instruments={}, sample={"name": "s"})
    n = int(sys.argv[2])
    for k in range(n):
        rf.append("data", {"frequency_hz": 1e9 + k, "field_oe": 1.0, "field_angle_deg": 90.0, "bias_current_a": 0.0,
            "bias_voltage_v": 0.0, "rf_power_dbm": -10.0, "lockin_x_v": k * 1e-6, "lockin_y_v": 0.0,
            "vmix_v": k * 2e-6, "time_s": float(k), "set_time_s": k - 0.5, "spectrum": k // 100, "overload": 0, "sensitivity_v": 1e-3,
            "sample_reason": 0})
        if k % 100 == 99:
            rf.flush()
    print("acknowledged", n, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("n", [1, 250, 1337])
def test_sigkill_loses_no_acknowledged_point(tmp_path, n):
    path = tmp_path / "k.h5"
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path), str(n)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    assert f"acknowledged {n}" in proc.stdout
    d = read_run(path)
    assert d.status == "interrupted"
    assert len(d.data["frequency"]) == n
    assert np.array_equal(d.data["frequency"], 1e9 + np.arange(n))
    assert d.recovered_points == n - (n // 100) * 100 if n >= 100 else n
    # resume writes the journal's points into the file
    rf = RunFile.resume(path)
    rf.close("aborted", safe_state="verified")
    with h5py.File(path, "r") as f:
        assert f["entry"]["data"]["frequency"].shape == (n,)
        assert f["entry"].attrs["resumed"] == 1


def test_columns_carry_units_in_python_names():
    for name, (py, unit, _dtype, _doc) in COLUMNS.items():
        if unit:
            assert py.endswith("_" + {"Hz": "hz", "Oe": "oe", "deg": "deg", "A": "a", "V": "v", "dBm": "dbm", "s": "s"}[unit]), name


# ---------------------------------------------------------------------- live run files (issue 15)
READER = textwrap.dedent(
    """
    import sys, h5py
    with h5py.File(sys.argv[1], "r") as f:  # plain h5py, default file locking
        print(f["entry"].attrs["status"], f["entry/data/vmix"].shape[0], f["entry/data"].attrs["signal"])
    """
)
HOLDER = textwrap.dedent(
    """
    import sys, h5py
    f = h5py.File(sys.argv[1], "r")  # a viewer left open (HDFView, silx) while the run goes on
    print("open", flush=True)
    sys.stdin.read()
    f.close()
    """
)


class _LiveReader:
    """At the start of each sweep (the previous ones written), reads the live file as a user would."""

    def __init__(self):
        self.path = None
        self.seen = []  # (sweep index, points in the file per another process, read_run's status, points)
        self.held = None

    def start(self, info):
        self.path = info["path"]

    def sweep_start(self, item):
        if item.index == 0:
            self.held = subprocess.Popen([sys.executable, "-c", HOLDER, self.path], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
            assert self.held.stdout.readline().strip() == "open"
            return
        r = subprocess.run([sys.executable, "-c", READER, self.path], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        status, n, signal_ = r.stdout.split()
        d = read_run(self.path)
        self.seen.append((item.index, int(n), d.status, len(d.data["vmix"]), signal_))


def test_a_live_run_file_opens_with_plain_h5py_while_the_run_writes(tmp_path):
    from stfmr_lab.runner import run
    from stfmr_lab.stream import RunStream
    from tests.test_cli_trust import _fault_config

    cfg = _fault_config()
    cfg["measurements"][0]["fields_oe"] = [950, 1000, 1050]
    stream, reader = RunStream(), _LiveReader()
    stream.subscribe(reader)
    path = run(cfg, sim=True, out=tmp_path / "live.h5", stream=stream)
    out, _ = reader.held.communicate("", timeout=60)  # the viewer held the file open for the whole run
    assert reader.held.returncode == 0
    # before sweeps 1 and 2: every point of the sweeps before is in the HDF5 file, and the run says "running"
    assert [(k, n, status, m) for k, n, status, m, _s in reader.seen] == [(1, 11, "running", 11), (2, 22, "running", 22)]
    assert read_run(path).status == "complete"
    assert len(read_run(path).data["vmix"]) == 33


def test_a_run_file_that_cannot_be_opened_at_a_sweeps_end_keeps_its_rows_for_the_next(tmp_path):
    """As on Windows when a viewer holds the file with HDF5's mandatory lock: the writer
    cannot open it; the rows wait (they are in the journal) and go in at the next sweep."""
    path = tmp_path / "held.h5"
    rf = RunFile.create(path, procedure="test", config_yaml="x: 1", instruments={}, sample={"name": "s"})
    row = {"frequency_hz": 1e9, "field_oe": 1.0, "field_angle_deg": 90.0, "bias_current_a": 0.0, "bias_voltage_v": 0.0,
           "rf_power_dbm": -10.0, "lockin_x_v": 0.0, "lockin_y_v": 0.0, "vmix_v": 0.0, "time_s": 0.0, "set_time_s": 0.0,
           "spectrum": 0, "overload": 0, "sensitivity_v": 1e-3, "sample_reason": 0}
    for k in range(10):
        rf.append("data", {**row, "frequency_hz": 1e9 + k})
    away = tmp_path / "held-elsewhere.h5"
    path.rename(away)  # the file cannot be opened for writing now
    rf.flush()
    assert rf.deferred == 1
    for k in range(10, 20):
        rf.append("data", {**row, "frequency_hz": 1e9 + k})
    away.rename(path)
    rf.flush()  # the next sweep's end writes both sweeps' rows
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["entry/data/frequency"][()], 1e9 + np.arange(20))
    rf.close("complete", safe_state="verified")
    assert read_run(path).data["frequency"].size == 20
