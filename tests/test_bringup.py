"""``stfmr-lab check STATION.yaml --deep``: every role's configuration commands, the error
queues read after each one, per instrument what was accepted and what was refused."""

import pytest
import yaml

from stfmr_lab.bringup import deep_check
from stfmr_lab.cli import main
from tests.conftest import EXAMPLES

STATION = str(EXAMPLES / "station.yaml")


def _sim(tmp_path, simulation):
    p = tmp_path / "sim.yaml"
    p.write_text(yaml.safe_dump(simulation))
    return str(p)


def test_deep_check_passes_on_the_simulated_bench_and_switches_nothing_on(capsys, make_station):
    assert main(["check", STATION, "--sim", "--deep"]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 instruments took every configuration command (simulated)" in out
    # the configuration commands of each role, as sent
    for command in (":PULM:SOUR:INT SQU", ":PULM:INT:FREQ 250.0000", "RSLP 1", "OFSL3", ":SENS:VOLT:PROT 0.8000",
                    "FUNC:MODE CURR"):
        assert command in out
    assert "REFUSED" not in out and "FAILED" not in out
    # the same check on a station object: RF off, outputs off, zero current afterwards
    st = make_station()
    reports = deep_check(st)
    assert all(r.ok for r in reports)
    b = st.bench.twins
    assert not b["source"].rf_on and not b["dc"].output_on and b["dc"].current_set_a == 0.0
    assert int(b["magnet_supply"].p("output")) == 0


def test_refused_command_names_the_instrument_and_the_command(tmp_path, capsys):
    sim = _sim(tmp_path, {"faults": [{"instrument": "lockin", "kind": "refuse", "command": "RSLP"}]})
    assert main(["check", STATION, "--sim", "--deep", "--simulation", sim]) == 1
    out = capsys.readouterr().out
    bad = [ln for ln in out.splitlines() if ln.startswith("BAD")]
    assert len(bad) == 1 and "lockin" in bad[0] and "sr830" in bad[0]
    assert "REFUSED   reference external (TTL): 'RSLP 1' -> *ESR? = 32: command error" in out
    assert "4 of 5 instruments" in out


def test_wrong_model_in_the_station_file_is_named(tmp_path, capsys):
    sim = _sim(tmp_path, {"wired_models": {"lockin": "sr860"}})  # the station file says sr830
    assert main(["check", STATION, "--sim", "--deep", "--simulation", sim]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("BAD"))
    assert "lockin" in line and "NOT OPEN" in line and "SR860" in line and "model (sr830)" in line
    # identified before anything of the SR830's own is asked: its first words are writes (OUTX)
    assert "*IDN? answers 'Stanford_Research_Systems,SR860" in line


@pytest.mark.parametrize(
    "role, station_says, wired, expected, found",
    [
        # each timed out before: a query of the configured model went unanswered (*LANG? on a 2400, *OPT? on an SMB100A)
        ("dc", "keithley2450", "keithley2400", "MODEL 2450", "MODEL 2400"),
        ("source", "agilent_e8257d", "rs_smb100a", "E8257D", "SMB100A"),
        ("source", "rs_smb100a", "agilent_e8257d", "SMB100A", "E8257D"),
    ],
)
def test_a_wrong_model_is_named_not_a_timeout(station_config, role, station_says, wired, expected, found):
    """The station identifies each instrument (``*IDN?``) before the model's own queries:
    a wrong model at the address is named (expected and found), never reported as a VISA timeout."""
    from stfmr_lab.station import open_station

    station_config["instruments"][role]["model"] = station_says
    with pytest.raises(ConnectionError) as e:
        open_station(station_config, sim=True, simulation={"wired_models": {role: wired}})
    msg = str(e.value)
    assert msg.startswith(f"{role} (") and "*IDN? answers" in msg and found in msg
    assert f"not a {expected}" in msg and f"model ({station_says})" in msg
    assert "VI_ERROR_TMO" not in msg and "Timeout" not in msg and "\n" not in msg


def test_front_panel_settings_that_make_an_instrument_unusable_are_named(tmp_path, capsys):
    station = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    station["instruments"]["dc"]["model"] = "keithley2450"
    sp = tmp_path / "station.yaml"
    sp.write_text(yaml.safe_dump(station))
    sim = _sim(tmp_path, {"front_panel": {"dc": {"command_set": "SCPI2400"}, "gaussmeter": {"reading_mode": "2,1,1,1,1"}}})
    assert main(["check", str(sp), "--sim", "--deep", "--simulation", sim]) == 1
    out = capsys.readouterr().out
    assert "command set is SCPI2400 (*LANG?)" in out and "Command Set > SCPI" in out
    assert "reading mode is RMS" in out
    assert "3 of 5 instruments" in out


def test_an_output_found_on_is_left_alone(make_station):
    st = make_station()
    st["dc"].configure_current_source(0.8)
    st["dc"].set_output_enabled(True)
    st["dc"].set_current_a(1e-5)
    rep = next(r for r in deep_check(st) if r.role == "dc")
    assert rep.skipped.startswith("output found ON") and rep.steps == []
    assert st.bench.twins["dc"].current_set_a == 1e-5  # not touched


def test_simulation_file_only_with_sim(tmp_path, capsys):
    sim = _sim(tmp_path, {"faults": []})
    assert main(["check", STATION, "--deep", "--simulation", sim]) == 2
    assert "only with --sim" in capsys.readouterr().err
