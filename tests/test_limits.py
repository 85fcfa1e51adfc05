"""The station's limits in one object: its defaults, its one rule, and the three places that use it."""

import dataclasses
import math

import pytest
import yaml

from stfmr_lab.gui import forms
from stfmr_lab.limits import DEFAULT_LIMITS, Limits
from stfmr_lab.safety import Guard, SafetyError
from stfmr_lab.station import validate_station
from tests.conftest import EXAMPLES


def test_one_set_of_defaults_for_the_schema_and_the_object():
    data = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    data.pop("limits", None)
    filled = validate_station(data)["limits"]
    assert filled == dataclasses.asdict(DEFAULT_LIMITS)
    assert Limits.from_config({}) == Limits.from_config(None) == DEFAULT_LIMITS
    assert Limits.from_config({"max_field_oe": 500}).max_field_oe == 500.0
    with pytest.raises(ValueError, match="max_feild_oe"):
        Limits.from_config({"max_feild_oe": 500})


def test_values_within_the_limits_have_no_problems():
    lim = Limits()
    assert lim.problems(
        field_oe=[-3000.0, 0.0, 3000.0], bias_current_a=2e-4, bias_voltage_v=[-0.7, 0.7], rf_power_dbm=0.0,
        frequency_hz=[1e9, 20e9], rf_power_at_device_dbm=[(-5.0, 8e9), (-10.0, 9e9)],
    ) == []
    # a bias at its limit give or take rounding is within it; a field is not given that slack
    assert lim.problems(bias_current_a=2e-4 * (1 + 1e-13)) == []
    assert lim.problems(field_oe=3000.0000001) != []


def test_each_quantity_out_of_range_is_one_line_with_units():
    lim = Limits()
    lines = lim.problems(
        field_oe=[100.0, -4000.0, 3500.0], bias_current_a=[0.0, 5e-4], bias_voltage_v=-0.9, rf_power_dbm=[-3.0, 5.0],
        frequency_hz=[2e9, 25e9], rf_power_at_device_dbm=[(-4.0, 8e9), (-2.5, 9e9)],
    )
    assert lines == [
        "field -4000 Oe beyond the station limit \u00b13000 Oe",  # the worst, with its sign
        "bias current 0.0005 A beyond the station limit \u00b10.0002 A",
        "bias voltage -0.9 V beyond the station limit \u00b10.7 V",
        "rf power 5 dBm above the station limit 0 dBm",
        "frequencies 2e+09 to 2.5e+10 Hz outside the station range 1e+09 to 2e+10 Hz",
        "rf power at the device -2.5 dBm above the station limit -5 dBm (at 9.000 GHz)",
    ]
    assert lim.problems(frequency_hz=0.5e9) == ["frequency 5e+08 Hz outside the station range 1e+09 to 2e+10 Hz"]


def test_not_a_number_is_always_out_of_range():
    lim = Limits()
    for key in ("field_oe", "bias_current_a", "bias_voltage_v", "rf_power_dbm", "frequency_hz"):
        assert len(lim.problems(**{key: math.nan})) == 1, key
    assert len(lim.problems(rf_power_at_device_dbm=(math.nan, 8e9))) == 1


def test_display_units_change_the_words_not_the_rule():
    lim = Limits()
    assert lim.problems(bias_current_a=5e-4, current_unit="uA") == [
        "bias current 500 \u00b5A beyond the station limit \u00b1200 \u00b5A"
    ]
    assert lim.problems(frequency_hz=25e9, frequency_unit="GHz", names={"frequency_hz": "f"}) == [
        "f 25 GHz outside the station range 1 to 20 GHz"
    ]
    assert lim.hint("bias_current_a", current_unit="uA") == "|I| \u2264 200 \u00b5A"
    assert lim.hint("field_oe") == "|H| \u2264 3000 Oe"


def test_the_guard_the_config_check_and_the_forms_say_the_same_line(make_station, tmp_path):
    st = make_station(noise=False)
    st.field.prepare()
    g = Guard(st)
    line = "field 4000 Oe beyond the station limit \u00b13000 Oe"
    supply = st["magnet_supply"]
    before = supply.get_current_a()
    with pytest.raises(SafetyError) as e:
        g.field_to(4000.0)
    assert str(e.value) == line
    assert supply.get_current_a() == before  # refused before anything moved
    with pytest.raises(SafetyError, match=r"^bias current 0\.001 A beyond the station limit \u00b10\.0002 A$"):
        g.bias_to_current(1e-3)
    assert st["dc"].get_current_a() == 0.0
    assert forms.limit_problems({"field_oe": 4000.0}, st.config["limits"], {"field_oe": "Field (Oe)"}) == {
        "field_oe": f"Field (Oe): {line}"
    }
    from stfmr_lab.config import validate_run_config
    from stfmr_lab.schema import ConfigError
    from tests.small_config import small_map

    cfg = small_map()
    cfg["measurements"][1]["fields_oe"] = [1000.0, 4000.0]
    with pytest.raises(ConfigError) as c:
        validate_run_config(cfg)
    assert str(c.value) == f"measurements[1].fields_oe: {line}"
