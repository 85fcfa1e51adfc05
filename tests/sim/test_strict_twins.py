"""Every twin refuses what its instrument refuses: an unknown or malformed header is not
executed and shows in the driver's error check (-113 in a SCPI queue, the command-error bit
of *ESR? for the SR830, SR860 and Lake Shore meters)."""

import pytest

MODELS = [
    ("source", "agilent_e8257d", ':PULM:INT:FUNC:SHAP SQU', '-113,"Undefined header"'),
    ("source", "rs_smb100a", "SOUR:MOD:ALL:STAT ON", '-113,"Undefined header"'),
    ("dc", "keithley2400", ":SOUR:CURR:LEV banana", '-113,"Undefined header"'),
    ("dc", "keithley2450", "*LANG SCPI9", '-113,"Undefined header;1;2026/01/01 00:00:00.000"'),
    ("lockin", "sr830", "RSLP 7", "*ESR? = 32: command error"),
    ("lockin", "sr860", "RSLP 1", "*ESR? = 32: command error"),  # an SR830 command
    ("magnet_supply", "kepco_bop", "FUNC:MODE AMPS", '-113,"Undefined header"'),
    ("gaussmeter", "lakeshore455", "RDGMODEX 1", "*ESR? = 32: command error"),
    ("gaussmeter", "lakeshore475", "UNIT 9", "*ESR? = 32: command error"),
]


@pytest.mark.parametrize("role, model, command, error", MODELS, ids=[m[1] for m in MODELS])
def test_unknown_or_malformed_command_is_refused_and_reported(make_station, station_config, role, model, command, error):
    station_config["instruments"][role]["model"] = model
    st = make_station(config=station_config)
    inst = st[role]
    before = inst.snapshot()
    assert inst.check_errors() == []
    inst.write(command)
    assert error in inst.check_errors()
    assert inst.check_errors() == []  # reading cleared it
    assert inst.snapshot() == before  # nothing changed
