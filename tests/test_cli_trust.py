"""Trust at the command line (issue 15): exit statuses, one-line errors, locks, dry runs."""

import copy

import pytest
import yaml

from stfmr_lab.cli import main
from stfmr_lab.runner import SafeStateUnverified, run
from stfmr_lab.storage import read_run
from stfmr_lab.stream import RunStream
from tests.conftest import EXAMPLES


def _fault_config(faults=()):
    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    for inst in st["instruments"].values():
        inst["timeout_ms"] = 100
    return {
        "name": "trust",
        "station": st,
        "simulation": {"noise": False, "faults": list(faults)},
        "lockin": {"time_constant_s": 0.03, "settle_time_constants": 10},
        "measurements": [
            {"type": "map", "fields_oe": [1000], "biases_a": [0.0],
             "frequency": {"center": "kittel", "span_hz": 1.6e9, "points": 11}},
        ],
    }


class _Bench:
    def __init__(self):
        self.bench = None

    def start(self, info):
        self.bench = info["station"].bench


@pytest.fixture(scope="module")
def dc_queries(tmp_path_factory):
    """How many queries the DC source answers in a clean run of ``_fault_config``."""
    stream, rec = RunStream(), _Bench()
    stream.subscribe(rec)
    run(_fault_config(), sim=True, out=tmp_path_factory.mktemp("clean") / "c.h5", stream=stream)
    return rec.bench.query_count("dc")


def _unverified_config(dc_queries):
    # the DC source stops answering at its last query: the read-back of the exit path
    return _fault_config([{"instrument": "dc", "kind": "vanish", "at": dc_queries}])


def test_unverified_safe_state_exits_3_and_says_what_to_check(tmp_path, capsys, dc_queries):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(_unverified_config(dc_queries)))
    out = tmp_path / "u.h5"
    assert main(["run", str(cfg), "--sim", "--out", str(out)]) == 3
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("stfmr-lab:")]  # after the progress lines
    assert len(err) == 1
    assert "SAFE STATE NOT VERIFIED" in err[0]
    assert "bias" in err[0] and "DC source" in err[0]  # what was not verified, what to check
    d = read_run(out)
    assert d.status == "complete"  # every point measured: the data are whole
    assert d.attrs["safe_state"].startswith("NOT verified")


def test_unverified_safe_state_raises_in_python(tmp_path, dc_queries):
    with pytest.raises(SafeStateUnverified) as e:
        run(copy.deepcopy(_unverified_config(dc_queries)), sim=True, out=tmp_path / "u.h5")
    assert e.value.outcome == "complete"
    assert e.value.unverified == {"bias"}
    assert e.value.path == tmp_path / "u.h5"


# ---------------------------------------------------------------------- analyze: bad input
def _one_line_exit_2(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("stfmr-lab: error: ")
    assert len(err.splitlines()) == 1
    return err


def test_analyze_bad_files_get_one_line_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "missing.h5"
    assert "no such" in _one_line_exit_2(capsys, ["analyze", str(missing)])
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    _one_line_exit_2(capsys, ["analyze", str(empty)])
    text = tmp_path / "notes.h5"
    text.write_text("this is not HDF5\n" * 20)
    _one_line_exit_2(capsys, ["analyze", str(text)])
    assert not list(tmp_path.glob("*_report*"))  # nothing written for bad input


def test_analyze_truncated_file_exits_2(tmp_path, capsys):
    out = tmp_path / "r.h5"
    run(_fault_config(), sim=True, out=out)
    data = out.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    _one_line_exit_2(capsys, ["analyze", str(cut)])


def test_analyze_unwritable_report_folder_exits_2(tmp_path, capsys):
    out = tmp_path / "r.h5"
    run(_fault_config(), sim=True, out=out)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    err = _one_line_exit_2(capsys, ["analyze", str(out), "--report", str(blocker / "report")])
    assert "report folder" in err


# ---------------------------------------------------------------------- the bench lock
def _real_config(tmp_path):
    """A real-bench config (no --sim): there is no VISA library here, so opening fails after the lock."""
    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    p = tmp_path / "real.yaml"
    p.write_text(yaml.safe_dump({**_fault_config(), "station": st}))
    return p, st


def test_a_second_run_on_the_same_bench_is_refused(tmp_path, monkeypatch, capsys):
    import os
    import socket

    from stfmr_lab.locks import LOCK_DIR_ENV, BenchLock, LockHeld

    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path / "locks"))
    cfg, st = _real_config(tmp_path)
    with BenchLock(validate(st)):  # another run (here: this process) drives the bench
        err = _one_line_exit_2(capsys, ["run", str(cfg), "--out", str(tmp_path / "r.h5")])
        assert f"in use by process {os.getpid()}@{socket.gethostname()}" in err
        assert not (tmp_path / "r.h5").exists()
        with pytest.raises(LockHeld):
            BenchLock(validate(st)).acquire()
    assert not list((tmp_path / "locks").iterdir())  # released


def test_a_stale_lock_is_explained_and_taken_over_and_every_exit_releases_it(tmp_path, monkeypatch, capsys):
    import socket
    import subprocess
    import sys

    from stfmr_lab.locks import LOCK_DIR_ENV, BenchLock

    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path / "locks"))
    cfg, st = _real_config(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a run that was killed: its pid is gone
    lock = BenchLock(validate(st)).locks[1]
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text(f"owner: {dead.pid}@{socket.gethostname()}\nsince: 2026-12-01T22:00:00\ncommand: stfmr-lab run\n")
    # the lock is taken over (said on screen); the instruments do not answer here: exit 2, lock released
    assert main(["run", str(cfg), "--out", str(tmp_path / "r.h5")]) == 2
    out = capsys.readouterr()
    assert f"removed a stale lock on {lock.what}: its process ({dead.pid}@" in out.out
    assert len(out.err.strip().splitlines()) == 1
    assert not list((tmp_path / "locks").iterdir())


def validate(st):
    from stfmr_lab.station import validate_station

    return validate_station(copy.deepcopy(st))


# ---------------------------------------------------------------------- resume: the same bench only
class _StopAfterFirstSweep:
    def __init__(self, event):
        self.event = event

    def sweep_done(self, item):
        self.event.set()


def _aborted_run(tmp_path):
    """A run config beside its station file, stopped after its first sweep."""
    import threading

    from stfmr_lab.runner import RunAborted

    cfg = _fault_config()
    cfg["measurements"][0]["fields_oe"] = [950, 1050]
    station = cfg.pop("station")
    (tmp_path / "station.yaml").write_text(yaml.safe_dump(station))
    cfg["station"] = "station.yaml"
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump(cfg))
    stop, stream = threading.Event(), RunStream()
    stream.subscribe(_StopAfterFirstSweep(stop))
    with pytest.raises(RunAborted) as e:
        run(p, sim=True, out=tmp_path / "a.h5", stream=stream, stop_event=stop)
    return p, e.value.path, station


def test_resume_on_a_changed_station_is_refused_naming_the_change(tmp_path, capsys):
    cfg, path, station = _aborted_run(tmp_path)
    d = read_run(path)
    assert yaml.safe_load(d.attrs["station_yaml"]) == station and len(d.attrs["station_sha256"]) == 64
    changed = copy.deepcopy(station)
    changed["magnet"]["oe_per_a"] = 260.0
    (tmp_path / "station.yaml").write_text(yaml.safe_dump(changed))
    err = _one_line_exit_2(capsys, ["run", str(cfg), "--sim", "--resume", str(path)])
    assert "station changed" in err and "magnet.oe_per_a: 250" in err and "-> 260" in err
    # --out with --resume: refused, the file named by --resume is the one continued
    (tmp_path / "station.yaml").write_text(yaml.safe_dump(station))
    err = _one_line_exit_2(capsys, ["run", str(cfg), "--sim", "--resume", str(path), "--out", str(tmp_path / "b.h5")])
    assert "--out" in err and not (tmp_path / "b.h5").exists()
    # the other bench (real instead of simulated): refused
    assert "simulated bench (resume with --sim)" in _one_line_exit_2(capsys, ["run", str(cfg), "--resume", str(path)])
    # the same station: resumed, and the file counts every point of both sessions
    assert main(["run", str(cfg), "--sim", "--resume", str(path)]) == 0
    assert "complete: 22 of 22 planned points, 2 of 2 spectra\n" in capsys.readouterr().err  # both sessions counted
    d = read_run(path)
    assert d.status == "complete" and d.attrs["resumed"] == 1
    assert d.attrs["points_recorded"] == len(d.data["vmix"]) == d.attrs["planned_points"] == 22
    assert d.attrs["points_note"] == ""


# ---------------------------------------------------------------------- NeXus
def test_every_nxdata_group_has_axes_and_parameters_carry_units(tmp_path):
    import h5py
    import numpy as np

    path = run(_fault_config(), sim=True, out=tmp_path / "n.h5")
    with h5py.File(path, "r") as f:
        groups = []
        f.visititems(lambda name, obj: groups.append(name) if obj.attrs.get("NX_class") == "NXdata" else None)
        assert sorted(groups) == ["entry/data", "entry/dvdi"]
        for name in groups:
            g = f[name]
            axes = [a.decode() if isinstance(a, bytes) else a for a in g.attrs["axes"]]
            assert len(axes) == 1 and axes[0] in g and g.attrs[f"{axes[0]}_indices"].tolist() == [0]
            assert g[axes[0]].attrs["units"]
        assert [a.decode() if isinstance(a, bytes) else a for a in f["entry/data"].attrs["axes"]] == ["frequency"]
        sample = f["entry/sample"]
        assert sample["r_p_ohm"].attrs["units"] == "Ohm" and sample["r_p_ohm"][()] == sample.attrs["r_p_ohm"]
        assert sample["meff_4pi_oe"].attrs["units"] == "Oe" and sample["coil_oe_per_a"].attrs["units"] == "Oe/A"
        sp = f["entry/spectra"]
        assert sp["bias_target_current"].attrs["units"] == "A" and sp["bias_target_voltage"].attrs["units"] == "V"
        assert sp["bias_target_current"][0] == 0.0 and np.isnan(sp["bias_target_voltage"][0])


# ---------------------------------------------------------------------- what a bench user expects
def test_version(capsys):
    from stfmr_lab import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"stfmr-lab {__version__}"


def test_models_lists_every_supported_model_per_role(capsys):
    from stfmr_lab.station import ROLES

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for role, models in ROLES.items():
        assert f"{role}:" in out
        for model in models:
            assert f"  {model} " in out
    assert "SR830" in out and "Lake Shore 475" in out


def test_station_template_is_a_valid_station_and_never_overwrites(tmp_path, capsys):
    from stfmr_lab.station import load_station, validate_station

    p = tmp_path / "my_station.yaml"
    assert main(["station-template", str(p)]) == 0
    assert str(p) in capsys.readouterr().out
    st = load_station(p)
    assert st == validate_station({"instruments": st["instruments"], "name": st["name"]})  # every other key at its default
    assert "# also: rs_smb100a" in p.read_text()
    first = p.read_text()
    p.write_text(first + "# my edits\n")
    assert "exists" in _one_line_exit_2(capsys, ["station-template", str(p)])
    assert p.read_text().endswith("# my edits\n")


def test_dry_run_prints_plan_time_and_limits_and_opens_nothing(tmp_path, monkeypatch, capsys):
    from stfmr_lab.locks import LOCK_DIR_ENV, BenchLock

    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path / "locks"))
    cfg, st = _real_config(tmp_path)
    out = tmp_path / "new" / "r.h5"
    with BenchLock(validate(st)):  # a run drives the bench: a dry run does not need it
        assert main(["run", str(cfg), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "expected bench time" in text
    assert "1 resonance frequency sweeps: 1000 to 1000 Oe" in text
    assert "|field|" in text and "<= 3000 Oe" in text and "rf power at the device" in text
    assert "nothing was opened" in text
    assert not (tmp_path / "new").exists()  # not even the output folder
    # a plan beyond a limit: the same one-line error as a real run
    bad = _fault_config()
    bad["measurements"][0]["fields_oe"] = [5000]
    cfg.write_text(yaml.safe_dump(bad))
    assert "beyond the station limit" in _one_line_exit_2(capsys, ["run", str(cfg), "--dry-run"])


def test_progress_line_shows_the_set_point_and_counts(tmp_path, capsys):
    cfg = _fault_config()
    cfg["measurements"].insert(0, {"type": "dvdi", "fields_oe": [1000], "reference_loops": False, "max_voltage_v": 0.1,
                                   "currents_a": {"start": -1e-4, "stop": 1e-4, "points": 9}})
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(p), "--sim", "--out", str(tmp_path / "p.h5")]) == 0
    cap = capsys.readouterr()
    assert cap.out.count("run file:") == 1 and f"run file: {tmp_path / 'p.h5'}\n" in cap.out
    lines = cap.err.splitlines()
    assert any("at 1000 Oe" in ln and "GHz" in ln and "(virtual)" in ln for ln in lines)
    assert not any("(real)" in ln for ln in lines)
    # the I-V branches stop at 0.1 V (3190 Ohm: past 31 uA): planned and recorded differ, and the line says why
    d = read_run(tmp_path / "p.h5")
    n = d.attrs["points_recorded"]
    assert n < d.attrs["planned_points"] == 20
    last = [ln for ln in lines if ln.startswith("complete:")][0]
    assert f"complete: {n} of 20 planned points" in last
    assert f"{20 - n} fewer in I-V sweeps" in last and f"{20 - n} fewer in I-V sweeps" in d.attrs["points_note"]


def test_python_run_says_which_bench(tmp_path):
    import stfmr_lab

    with pytest.raises(TypeError, match="sim=True"):
        stfmr_lab.run(_fault_config(), out=tmp_path / "x.h5")
    assert not list(tmp_path.iterdir())
    assert read_run(stfmr_lab.run(_fault_config(), sim=True, out=tmp_path / "x.h5")).attrs["simulated"] == 1


# ---------------------------------------------------------------------- the event log
def test_event_log_beside_the_run_file(tmp_path):
    import re

    from stfmr_lab.runlog import log_path

    cfg = _fault_config([{"instrument": "lockin", "kind": "overload", "at": 30, "count": 2}])
    cfg["measurements"].insert(0, {"type": "dvdi", "fields_oe": [1000], "currents_a": [-1e-5, 0.0, 1e-5]})
    path = run(cfg, sim=True, out=tmp_path / "e.h5")
    lines = log_path(path).read_text().splitlines()
    assert log_path(path) == tmp_path / "e.log"
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d +\d+\.\d{3} s  ")
    assert all(stamp.match(ln) for ln in lines), lines
    text = "\n".join(lines)
    assert f"run file {path} on station" in lines[0] and "virtual clock" in lines[0]
    assert "magnet to the easy axis" in text  # an operator step (the simulated operator turns the magnet)
    assert "lock-in overload: sensitivity up to" in text
    assert "sweep spectrum 0 (resonance, 1000 Oe" in text and "done" in text
    assert lines[-1].endswith("run complete; safe state: verified")


def test_event_log_records_the_error_that_stopped_a_run(tmp_path):
    from stfmr_lab.runlog import log_path
    from stfmr_lab.runner import RunFailed

    cfg = _fault_config([{"instrument": "lockin", "kind": "error", "at": 20}])
    with pytest.raises(RunFailed):
        run(cfg, sim=True, out=tmp_path / "f.h5")
    text = log_path(tmp_path / "f.h5").read_text()
    assert any("  ERROR " in ln and "lockin" in ln for ln in text.splitlines())  # the error, naming the instrument
    assert "run failed; safe state: verified" in text


# ---------------------------------------------------------------------- config errors in the user's words
@pytest.mark.parametrize("change, where", [
    (lambda ms: ms[1].update(fields_oe=[1000, 4000]), "measurements[1].fields_oe: field 4000 Oe beyond"),
    (lambda ms: ms[1].update(biases_a=[0.0, 5e-4]), "measurements[1].biases_a: bias 0.0005 A beyond"),
    (lambda ms: ms[0].update(currents_a=[0.0, 5e-4]), "measurements[0].currents_a: bias current 0.0005 A beyond"),
    (lambda ms: ms[0].update(saturate_oe=3500), "measurements[0].saturate_oe: field 3500 Oe beyond"),
    (lambda ms: ms[1].update(frequency={"start_hz": 1e9, "stop_hz": 30e9, "points": 11}), "measurements[1].frequency: frequencies"),
])
def test_config_errors_name_the_sweep_as_the_user_wrote_it(tmp_path, capsys, change, where):
    cfg = _fault_config()
    cfg["measurements"].insert(0, {"type": "dvdi", "fields_oe": [1000], "currents_a": [-1e-5, 0.0, 1e-5]})
    change(cfg["measurements"])
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump(cfg))
    assert _one_line_exit_2(capsys, ["run", str(p), "--sim"]).startswith(f"stfmr-lab: error: {where}")


def test_resume_refuses_a_changed_touchstone_table(tmp_path, capsys):
    import threading

    import numpy as np

    from stfmr_lab.runner import RunAborted
    from tests.instruments.test_path import _s2p

    s2p, f, loss = _s2p(tmp_path)
    cfg = _fault_config()
    cfg["measurements"][0]["fields_oe"] = [950, 1050]
    cfg["station"]["path"] = {"touchstone": str(s2p)}
    p = tmp_path / "cfg.yaml"
    p.write_text(yaml.safe_dump(cfg))
    stop, stream = threading.Event(), RunStream()
    stream.subscribe(_StopAfterFirstSweep(stop))
    with pytest.raises(RunAborted) as e:
        run(p, sim=True, out=tmp_path / "t.h5", stream=stream, stop_event=stop)
    _s2p(tmp_path, f_hz=f, loss_db=np.asarray(loss) + 1.0)  # the same file name, re-measured 1 dB worse
    err = _one_line_exit_2(capsys, ["run", str(p), "--sim", "--resume", str(e.value.path)])
    assert f"path table {s2p} changed" in err
    _s2p(tmp_path, f_hz=f, loss_db=loss)  # the table the run used: resumed
    assert main(["run", str(p), "--sim", "--resume", str(e.value.path)]) == 0
    assert read_run(e.value.path).status == "complete"
