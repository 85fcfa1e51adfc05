"""The command line: exit codes, one-line errors, files."""

import subprocess
import sys

import yaml

from stfmr_lab.cli import main
from stfmr_lab.storage import read_run
from tests.conftest import EXAMPLES
from tests.small_config import small_map


def _write(tmp_path, cfg, name="cfg.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(cfg))
    (tmp_path / "station.yaml").write_text((EXAMPLES / "station.yaml").read_text())
    return p


def test_run_sim_writes_a_complete_file(tmp_path, capsys):
    cfg = _write(tmp_path, small_map())
    out = tmp_path / "out.h5"
    assert main(["run", str(cfg), "--sim", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "expected bench time" in text
    assert "safe state: verified" in text
    assert read_run(out).status == "complete"


def test_bad_config_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = small_map()
    bad["lockin"]["time_constant_s"] = -1
    cfg = _write(tmp_path, bad)
    out = tmp_path / "out.h5"
    assert main(["run", str(cfg), "--sim", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stfmr-lab: error: lockin.time_constant_s:")
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_malformed_yaml_and_missing_file(tmp_path, capsys):
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n")
    assert main(["run", str(p), "--sim"]) == 2
    assert "malformed YAML" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "nope.yaml"), "--sim"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_reports_each_instrument(capsys):
    assert main(["check", str(EXAMPLES / "station.yaml"), "--sim"]) == 0
    out = capsys.readouterr().out
    for role in ("source", "dc", "lockin", "magnet_supply", "gaussmeter"):
        assert role in out
    assert "5 of 5 instruments answer" in out


def test_check_names_instruments_that_do_not_answer(tmp_path, capsys):
    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    st["visa_library"] = "@py"  # pyvisa-py starts without hardware; no GPIB card here
    p = tmp_path / "st.yaml"
    p.write_text(yaml.safe_dump(st))
    # a real bench with nothing connected: every instrument says why, one line each
    assert main(["check", str(p)]) == 1
    out = capsys.readouterr().out
    assert out.count("BAD") == 5
    assert out.count("not found") == 5
    assert "0 of 5 instruments answer (VISA backend @py)" in out


def test_python_m_entry_point(tmp_path):
    r = subprocess.run([sys.executable, "-m", "stfmr_lab", "run", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
