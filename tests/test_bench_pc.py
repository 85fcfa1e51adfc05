"""The bench PC: the VISA backend named in the station file, serial-line settings, and files
and names that work on Windows as on Linux (spaces, non-ASCII letters, CRLF, a BOM)."""

import os
import subprocess
import sys

import pytest
import yaml
from pyvisa.constants import Parity, StopBits

from stfmr_lab.cli import main
from stfmr_lab.schema import ConfigError
from stfmr_lab.station import SERIAL_LINE, open_station, serial_session_kwargs, validate_station
from stfmr_lab.storage import read_run
from tests.conftest import EXAMPLES, REPO
from tests.small_config import small_map

TINY = {  # one short spectrum and a short I-V: the run is over in a second or two
    "measurements": [
        {"type": "dvdi", "fields_oe": [1000], "currents_a": {"start": -1.0e-4, "stop": 1.0e-4, "points": 9},
         "reference_loops": False},
        {"type": "map", "fields_oe": [1000], "biases_v": [0.1], "frequency": {"center": "kittel", "span_hz": 2.0e9, "points": 11}},
    ]
}


def _station(**changes) -> dict:
    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text(encoding="utf-8"))
    st.update(changes)
    return st


def _write(path, data) -> str:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------- VISA backend
def _ivi_installed() -> bool:
    import pyvisa

    try:
        pyvisa.ResourceManager("@ivi").close()
    except Exception:
        return False
    return True


def _backends(tmp_path):
    junk = tmp_path / "libvisa.so"
    junk.write_bytes(b"not a shared library")
    out = {
        "a path that is not there": (str(tmp_path / "NI VISA" / "visa64.dll"), "no such file"),
        "a file that is no library": (str(junk), "cannot be loaded"),
    }
    if not _ivi_installed():  # true on CI; a PC with NI-VISA skips this case
        out["IVI absent"] = ("@ivi", "install NI-VISA or Keysight IO Libraries Suite")
    return out


def test_a_missing_backend_is_one_line_at_check_and_run(tmp_path, capsys):
    for label, (library, says) in _backends(tmp_path).items():
        station = _write(tmp_path / "station.yaml", _station(visa_library=library))
        assert main(["check", station]) == 2, label
        out, err = capsys.readouterr()
        assert out == "", label  # no per-instrument lines
        assert err.count("\n") == 1 and "VISA backend" in err and says in err, (label, err)

        cfg = _write(tmp_path / "cfg.yaml", small_map(**TINY))
        run_file = tmp_path / "never.h5"
        assert main(["run", cfg, "--out", str(run_file)]) == 2, label
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and says in err, (label, err)
        assert not run_file.exists() and not (tmp_path / "never.h5.journal").exists()


def test_pyvisa_py_not_installed_says_what_to_install(tmp_path):
    station = _write(tmp_path / "station.yaml", _station(visa_library="@py"))
    hide = "import sys; sys.modules['pyvisa_py'] = None; from stfmr_lab.cli import main; sys.exit(main(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", hide, "check", station], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1
    assert "pyvisa-py is not installed" in r.stderr and 'pip install "stfmr-lab[pyvisa-py]"' in r.stderr


def test_pyvisa_py_without_hardware_names_each_instrument_not_found():
    with pytest.raises(ConnectionError) as e:
        open_station(validate_station(_station(visa_library="@py")))
    parts = str(e.value).split("; ")
    assert [p.split(" ")[0] for p in parts] == ["source", "dc", "lockin", "magnet_supply", "gaussmeter"]
    assert all("not found: pyvisa-py needs" in p and "GPIB addresses" in p for p in parts)
    assert "\n" not in str(e.value)


def test_visa_library_values_are_checked():
    assert validate_station(_station())["visa_library"] == "@ivi"
    assert validate_station(_station(visa_library="@py"))["visa_library"] == "@py"
    for bad in ("@sim", "@ni", "", "  "):
        with pytest.raises(ConfigError, match="visa_library"):
            validate_station(_station(visa_library=bad))


# ---------------------------------------------------------------------- serial lines
def _serial_station(gaussmeter="lakeshore455", **serial):
    st = _station()
    st["instruments"]["gaussmeter"] = {"model": gaussmeter, "address": "ASRL3::INSTR"}
    if serial:
        st["instruments"]["gaussmeter"]["serial"] = serial
    st["instruments"]["magnet_supply"]["address"] = "ASRL4::INSTR"
    return st


def test_serial_defaults_are_the_models_manual_values():
    cfg = validate_station(_serial_station())
    assert cfg["instruments"]["gaussmeter"]["serial"] == {
        "baud_rate": 9600, "data_bits": 7, "parity": "odd", "stop_bits": 1,
        "write_termination": "\r\n", "read_termination": "\r\n",
    }
    ls475 = validate_station(_serial_station("lakeshore475"))["instruments"]["gaussmeter"]["serial"]
    assert (ls475["data_bits"], ls475["parity"], ls475["stop_bits"]) == (7, "odd", 1) == tuple(
        SERIAL_LINE["lakeshore475"][k] for k in ("data_bits", "parity", "stop_bits")
    )
    assert cfg["instruments"]["magnet_supply"]["serial"]["data_bits"] == 8  # no manual values: VISA's 8N1
    assert "serial" not in cfg["instruments"]["dc"]  # GPIB: no serial line


def test_serial_overrides_and_refusals():
    s = validate_station(_serial_station(baud_rate=57600, parity="none", data_bits=8, stop_bits=2, write_termination="\\r\\n"))
    g = s["instruments"]["gaussmeter"]["serial"]
    assert (g["baud_rate"], g["parity"], g["data_bits"], g["stop_bits"]) == (57600, "none", 8, 2)
    assert g["write_termination"] == "\r\n"  # '\r\n' typed in single quotes means CR LF too
    assert validate_station(_serial_station(stop_bits=1.5))["instruments"]["gaussmeter"]["serial"]["stop_bits"] == 1.5
    bad = [
        (dict(parity="ODD"), "parity"),
        (dict(stop_bits=3), "stop_bits"),
        (dict(data_bits=9), "data_bits"),
        (dict(baud_rate=0), "baud_rate"),
        (dict(read_termination="END"), "read_termination"),
        (dict(flow_control=1), "flow_control"),
    ]
    for serial, key in bad:
        with pytest.raises(ConfigError, match=f"gaussmeter.serial.{key}"):
            validate_station(_serial_station(**serial))
    st = _station()
    st["instruments"]["dc"]["serial"] = {"baud_rate": 9600}
    with pytest.raises(ConfigError, match=r"dc\.serial: serial settings need a serial \(ASRL\.\.\.\) address"):
        validate_station(st)


def test_check_shows_each_serial_line(tmp_path, capsys):
    station = _write(tmp_path / "station.yaml", _serial_station(baud_rate=19200, stop_bits=1.5))
    assert main(["check", station, "--sim"]) == 0
    lines = capsys.readouterr().out.splitlines()
    gauss = next(ln for ln in lines if ln.split()[1] == "gaussmeter")
    assert gauss.startswith("ok ") and gauss.endswith("[serial: 19200 baud, 7O1.5]")
    assert next(ln for ln in lines if ln.split()[1] == "magnet_supply").endswith("[serial: 9600 baud, 8N1]")
    assert "serial" not in next(ln for ln in lines if ln.split()[1] == "dc")


def test_serial_settings_reach_the_simulated_resource(make_station):
    cfg = validate_station(_serial_station(baud_rate=19200))
    st = make_station(config=cfg)
    conn = st["gaussmeter"].adapter.connection  # the pyvisa-sim ASRL session
    assert (conn.baud_rate, conn.data_bits, conn.parity, conn.stop_bits) == (19200, 7, Parity.odd, StopBits.one)
    assert (conn.write_termination, conn.read_termination) == ("\r\n", "\r\n")
    kepco = st["magnet_supply"].adapter.connection
    assert (kepco.baud_rate, kepco.data_bits, kepco.parity) == (9600, 8, Parity.none)
    st["magnet_supply"].current_setpoint_a = 0.0
    assert abs(st["gaussmeter"].read_field_oe()) < 50.0  # 7-bit characters, both ways, still a reading


def test_serial_settings_reach_the_port_through_pyvisa_py():
    """The station's settings, opened as ``open_station`` opens them (pymeasure's VISAAdapter),
    on pyserial's loopback port through pyvisa-py: what is written comes back."""
    from pymeasure.adapters import VISAAdapter

    st = _station(visa_library="@py")
    st["instruments"]["gaussmeter"] = {
        "model": "lakeshore455", "address": "ASRLloop://::INSTR", "serial": {"baud_rate": 19200, "stop_bits": 2},
    }
    settings = validate_station(st)["instruments"]["gaussmeter"]["serial"]
    adapter = VISAAdapter("ASRLloop://::INSTR", visa_library="@py", timeout=500, **serial_session_kwargs(settings))
    try:
        conn = adapter.connection
        port = conn.visalib.sessions[conn.session].interface  # the pyserial port pyvisa-py opened
        assert (port.baudrate, port.bytesize, port.parity, port.stopbits) == (19200, 7, "O", 2)
        conn.write("RDGFIELD?")
        assert conn.read_raw() == b"RDGFIELD?\r\n"  # the 455's write termination went out
    finally:
        adapter.close()

    # and open_station takes that port, then the 455's own checks find no gaussmeter on it
    station = open_station(validate_station(st), strict=False)
    try:
        assert set(station.errors) == {"source", "dc", "lockin", "magnet_supply", "gaussmeter"}
        assert "not found" not in station.errors["gaussmeter"]  # opened: the echo is no Lake Shore
    finally:
        station.close()


# ---------------------------------------------------------------------- names and files
def _run_files(tmp_path, cfg_data, name="cfg.yaml", newline="\n", bom=False):
    station = (EXAMPLES / "station.yaml").read_text(encoding="utf-8")
    (tmp_path / "station.yaml").write_bytes((("\ufeff" if bom else "") + station.replace("\n", newline)).encode("utf-8"))
    text = "# µ0·Ms in T, R in Ω: non-ASCII comments\n" + yaml.safe_dump(cfg_data, allow_unicode=True, sort_keys=False)
    p = tmp_path / name
    p.write_bytes((("\ufeff" if bom else "") + text.replace("\n", newline)).encode("utf-8"))
    return p


def test_run_names_with_spaces_and_non_ascii_letters(tmp_path, capsys):
    folder = tmp_path / "Messungen Größe µ"
    cfg = _run_files(tmp_path, small_map(name="Probe ü – Lauf 1", output={"directory": str(folder)}, **TINY))
    assert main(["run", str(cfg), "--sim"]) == 0
    assert main(["run", str(cfg), "--sim"]) == 0  # same name again: a new file beside it
    out = capsys.readouterr().out
    first, second = folder / "Probe ü – Lauf 1.h5", folder / "Probe ü – Lauf 1-1.h5"
    assert f"run file: {first}" in out and f"run file: {second}" in out
    for path in (first, second):
        run = read_run(path)
        assert run.status == "complete"
        assert yaml.safe_load(run.attrs["config"])["name"] == "Probe ü – Lauf 1"
    from stfmr_lab.runlog import log_path

    expected = [first, second, log_path(first), log_path(second)]  # journals removed, event logs beside
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in expected)


@pytest.mark.parametrize("name", ["a/b", "dir\\run", "12:30 run", 'say "hi"', "CON", "nul.backup", "run.", "run "])
def test_run_names_that_cannot_be_file_names_everywhere_are_refused(tmp_path, capsys, name):
    cfg = _run_files(tmp_path, small_map(name=name, output={"directory": str(tmp_path / "runs")}, **TINY))
    assert main(["run", str(cfg), "--sim"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("stfmr-lab: error: name: ")
    assert not (tmp_path / "runs").exists()


def test_crlf_and_bom_configs_run_like_lf_ones(tmp_path, capsys):
    cfg = _run_files(tmp_path, small_map(**TINY), newline="\r\n", bom=True)
    assert b"\r\n" in cfg.read_bytes() and b"\r\n" in (tmp_path / "station.yaml").read_bytes()
    assert main(["check", str(tmp_path / "station.yaml"), "--sim"]) == 0
    out = tmp_path / "crlf.h5"
    assert main(["run", str(cfg), "--sim", "--out", str(out)]) == 0
    capsys.readouterr()
    stored = read_run(out).attrs["config"]
    assert "\r" not in stored and "\ufeff" not in stored and "µ0·Ms" in stored
    assert yaml.safe_load(stored) == yaml.safe_load(cfg.read_text(encoding="utf-8-sig"))


def test_a_config_that_is_not_utf8_is_one_line(tmp_path, capsys):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("name: Probe \xfc\n".encode("latin-1"))
    assert main(["run", str(p), "--sim"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8 text" in err


def test_output_in_a_legacy_code_page_never_crashes_a_run(tmp_path):
    """Windows writes redirected output in cp1252, which has no "Ω": the run still completes."""
    cfg = _run_files(tmp_path, small_map(name="Ω probe", output={"directory": str(tmp_path / "runs")}, **TINY))
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    r = subprocess.run([sys.executable, "-m", "stfmr_lab", "run", str(cfg), "--sim"], capture_output=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode("cp1252")[-800:]
    assert "run file: " in r.stdout.decode("cp1252") and "\\u03a9 probe.h5" in r.stdout.decode("cp1252")
    assert read_run(tmp_path / "runs" / "Ω probe.h5").status == "complete"


def test_no_text_file_depends_on_the_os_locale(tmp_path):
    """Every text file the product reads or writes names its encoding: on Windows the default is
    cp1252, not UTF-8. Python's EncodingWarning (-X warn_default_encoding) made an error for
    stfmr_lab's own modules, over check, run (a CRLF config with non-ASCII text) and the quick demo
    (run, analysis, report)."""
    cfg = _run_files(tmp_path, small_map(name="Lauf µ", **TINY), newline="\r\n")
    script = (
        "import sys, warnings\n"
        "warnings.filterwarnings('error', category=EncodingWarning, module=r'stfmr_lab(\\.|$)')\n"
        "from stfmr_lab.cli import main\n"
        "for argv in (['check', 'station.yaml', '--sim'], ['run', 'cfg.yaml', '--sim', '--out', 'r.h5'],\n"
        "             ['demo', '--quick', '--out', 'demo']):\n"
        "    code = main(argv)\n"
        "    if code:\n"
        "        sys.exit(code)\n"
    )
    r = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-c", script], capture_output=True, text=True, cwd=cfg.parent
    )
    assert r.returncode == 0, r.stderr[-1500:]
    assert read_run(tmp_path / "r.h5").status == "complete"
    assert (tmp_path / "demo" / "report" / "summary.txt").is_file()
