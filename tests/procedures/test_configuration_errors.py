"""A command an instrument refuses during configuration stops the run before its first point."""

import pytest

from stfmr_lab.runner import RunFailed, run
from stfmr_lab.storage import read_run
from tests.small_config import small_map


@pytest.mark.parametrize(
    "role, header, command",
    [
        ("lockin", "RSLP", "'RSLP 1'"),  # an SR830 firmware that would not take the TTL slope
        ("source", ":PULM:SOUR:INT", "':PULM:SOUR:INT SQU'"),  # a PSG without the pulse generator
        ("dc", ":SENS:VOLT:PROT", "':SENS:VOLT:PROT 0.8000'"),
    ],
)
def test_refused_configuration_command_stops_before_the_first_point(tmp_path, role, header, command):
    cfg = small_map(simulation={"noise": False, "faults": [{"instrument": role, "kind": "refuse", "command": header}]})
    with pytest.raises(RunFailed) as e:
        run(cfg, sim=True, out=tmp_path / "r.h5")
    msg = str(e.value)
    assert f"{role}: " in msg and f"refused {command}" in msg and "\n" not in msg
    d = read_run(e.value.path)
    assert d.attrs["status"] == "failed" and command in d.attrs["error"]
    assert len(d.data["vmix"]) == 0 and len(d.tables["dvdi"]["sweep"]) == 0  # nothing measured
    assert d.attrs["safe_state"] == "verified"


def test_error_queued_since_opening_stops_before_configuration(tmp_path):
    """An entry that arrives between opening and configuration (here: injected at the
    open-time snapshot) is reported before any configuration command is sent."""
    cfg = small_map(simulation={"noise": False, "faults": [{"instrument": "source", "kind": "error", "at": 4}]})
    with pytest.raises(RunFailed, match="before configuration: source: -222") as e:
        run(cfg, sim=True, out=tmp_path / "q.h5")
    assert len(read_run(e.value.path).data["vmix"]) == 0
