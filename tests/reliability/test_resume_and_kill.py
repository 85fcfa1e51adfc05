"""Data survival: SIGKILL at random moments loses no acknowledged point; resume completes the grid."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import yaml

from stfmr_lab.runner import RunAborted, run
from stfmr_lab.storage import read_run
from stfmr_lab.stream import RunStream
from tests.small_config import small_map


def _grid(d):
    """The settings grid of a run: one tuple per point, in order."""
    sp = d.tables["spectra"]
    target = {int(i): (f, b) for i, f, b in zip(sp["index"], sp["field_target"], sp["bias_target"], strict=True)}
    D = d.data
    return [(int(s), target[int(s)], round(float(f))) for s, f in zip(D["spectrum"], D["frequency"], strict=True)]


def _iv_grid(d):
    iv = d.tables["dvdi"]
    return sorted((int(s), round(float(i) * 1e9)) for s, i in zip(iv["sweep"], iv["bias_current"], strict=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = run(small_map(), sim=True, out=tmp_path_factory.mktemp("ref") / "ref.h5")
    return read_run(path)


@pytest.mark.parametrize("stop_after", [5, 100, 200])
def test_resume_after_abort_completes_the_same_grid(tmp_path, reference, stop_after):
    stop = threading.Event()

    class Stopper:
        n = 0

        def row(self, table, row):
            if table not in ("data", "dvdi"):
                return
            self.n += 1
            if self.n == stop_after:
                stop.set()

    stream = RunStream()
    stream.subscribe(Stopper())
    cfg = small_map()
    with pytest.raises(RunAborted) as e:
        run(cfg, sim=True, out=tmp_path / "r.h5", stream=stream, stop_event=stop)
    path = e.value.path
    partial = read_run(path)
    assert partial.status == "aborted"
    n_partial = len(partial.data["vmix"]) + len(partial.tables["dvdi"]["sweep"])
    assert n_partial == stop_after
    again = run(cfg, sim=True, resume=path)
    assert again == path
    d = read_run(path)
    assert d.status == "complete"
    assert d.attrs["resumed"] == 1
    assert _grid(d) == _grid(reference)
    assert _iv_grid(d) == _iv_grid(reference)
    assert np.all(np.diff(d.data["time"]) > 0)


def test_resume_refuses_a_complete_file_and_another_config(tmp_path, reference):
    from stfmr_lab.schema import ConfigError

    with pytest.raises(ConfigError, match="complete"):
        run(small_map(), sim=True, resume=reference.path)


KILLED_RUN = textwrap.dedent(
    """
    import sys, yaml
    from stfmr_lab.runner import run
    from stfmr_lab.stream import RunStream

    class Ack:
        # subscribed at 'start', after the run file: a row printed here is on disk
        def row(self, table, row):
            if table in ("data", "dvdi"):
                print("ack", flush=True)

    class Hook:
        def start(self, info):
            stream.subscribe(Ack())

    stream = RunStream()
    stream.subscribe(Hook())
    cfg = yaml.safe_load(open(sys.argv[1]))
    run(cfg, sim=True, out=sys.argv[2], stream=stream)
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_moment_then_resume(tmp_path, reference, seed):
    cfg = small_map()
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    (tmp_path / "station.yaml").write_text((__import__("tests.conftest").conftest.EXAMPLES / "station.yaml").read_text())
    out = tmp_path / "k.h5"
    kill_at = random.Random(seed).randint(1, 300)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(cfg_path), str(out)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    acks = 0
    for line in proc.stdout:
        if line.startswith("ack"):
            acks += 1
            if acks == kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    d = read_run(out)
    assert d.status == "interrupted"
    present = len(d.data["vmix"]) + len(d.tables["dvdi"]["sweep"])
    # every acknowledged point is there (the child runs ahead of our reading of its pipe,
    # so more may be there too)
    assert present >= acks
    run(cfg_path, sim=True, resume=out)
    final = read_run(out)
    assert final.status == "complete"
    assert _grid(final) == _grid(reference)
    assert _iv_grid(final) == _iv_grid(reference)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly(tmp_path, sig):
    cfg = small_map()
    cfg_path = tmp_path / "cfg.yaml"
    (tmp_path / "station.yaml").write_text((__import__("tests.conftest").conftest.EXAMPLES / "station.yaml").read_text())
    out = tmp_path / "s.h5"
    # a slow-ish run: realtime clock sped up, so the signal lands mid-run
    cfg["simulation"].update(realtime=True, speedup=20.0)
    cfg_path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen(
        [sys.executable, "-m", "stfmr_lab", "run", str(cfg_path), "--sim", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    for line in proc.stdout:
        if line.startswith("run file:"):
            break
    import time

    time.sleep(1.5)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "safe state: verified" in stdout
    d = read_run(out)
    assert d.attrs["status"] == "aborted"
    assert d.attrs["safe_state"] == "verified"
    assert len(d.data["vmix"]) + len(d.tables["dvdi"]["sweep"]) > 0
