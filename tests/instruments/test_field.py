"""The field controller (instruments/field.py) on the simulated bench.

The simulated coil is off the station's coil constant (``coil_error``) and the pole
pieces keep a remanent field: only the closed loop on the gaussmeter gets the field right.
"""

import math

import pytest
from stfmr_lab.instruments.base import InstrumentError
from stfmr_lab.instruments.field import FieldController, FieldSettings, OperatorActionRequired


@pytest.fixture
def station(make_station):
    st = make_station(noise=True, seed=7, coil_error=0.05, remanence_oe=5.0)
    st.field.prepare()
    return st


def _record_currents(monkeypatch, supply):
    """Wrap the supply's set_current_a: every current the controller asks for, in order."""
    asked = [supply.get_current_a()]
    original = supply.set_current_a

    def recording(current_a):
        asked.append(current_a)
        original(current_a)

    monkeypatch.setattr(supply, "set_current_a", recording)
    return asked


@pytest.mark.parametrize("coil_error, remanence_oe", [(0.05, 5.0), (-0.2, -8.0), (0.3, 3.0)])
def test_closed_loop_reaches_the_target(make_station, coil_error, remanence_oe):
    st = make_station(noise=True, seed=3, coil_error=coil_error, remanence_oe=remanence_oe)
    st.field.prepare()
    tol = st.field.settings.tolerance_oe
    for target in (1000.0, -800.0, 250.0, 0.0, 2000.0, 40.0):
        h = st.field.set_field(target)
        assert abs(h - target) <= tol  # what the controller measured
        assert abs(st.bench.field_oe() - target) <= tol + 0.2  # the truth, within the probe noise
        assert st.field.last_field_oe == h


def test_open_loop_alone_would_miss(station):
    """The bench is not ideal: the coil constant alone misses by more than the tolerance."""
    st = station
    st["magnet_supply"].set_current_a(1000.0 / st.field.settings.oe_per_a)
    assert abs(st.bench.field_oe() - 1000.0) > 10 * st.field.settings.tolerance_oe
    assert abs(st.field.set_field(1000.0) - 1000.0) <= st.field.settings.tolerance_oe


def test_zero_field_nulls_the_remanence(station):
    st = station
    st.field.set_field(1500.0)
    st.field.set_field(0.0)
    assert abs(st.bench.field_oe()) <= st.field.settings.tolerance_oe + 0.2
    assert st["magnet_supply"].get_current_a() != 0.0  # a small current cancels the remanent field


def test_ramps_never_step_more_than_max_step(station, monkeypatch):
    st = station
    s = st.field.settings
    asked = _record_currents(monkeypatch, st["magnet_supply"])
    for target in (1200.0, -1200.0, 37.0, 2900.0, 0.0):
        st.field.set_field(target)
    st.field.ramp_to_zero()
    assert len(asked) > 100
    steps_oe = [abs(b - a) * s.oe_per_a for a, b in zip(asked, asked[1:], strict=False)]
    assert max(steps_oe) <= s.max_step_oe * (1 + 1e-9)
    assert asked[-1] == 0.0


def test_ramps_respect_the_ramp_rate(station):
    st = station
    s = st.field.settings
    t0 = st.clock.now()
    st.field.set_field(2000.0)
    assert st.clock.now() - t0 >= 2000.0 / s.ramp_rate_oe_per_s + s.settle_s


def test_settings_come_from_the_station_file(make_station, station_config):
    station_config["magnet"].update(max_step_oe=10.0, tolerance_oe=0.25, ramp_rate_oe_per_s=1000.0)
    st = make_station(config=station_config)
    s = st.field.settings
    assert (s.max_step_oe, s.tolerance_oe, s.ramp_rate_oe_per_s) == (10.0, 0.25, 1000.0)
    st.field.prepare()
    assert abs(st.field.set_field(500.0) - 500.0) <= 0.25


def test_set_axis_without_an_operator_stops_at_zero_field(station):
    st = station
    sup, gm = st["magnet_supply"], st["gaussmeter"]
    headless = FieldController(sup, gm, st.clock, st.field.settings, confirm_axis=None)
    headless.set_field(800.0)
    with pytest.raises(OperatorActionRequired, match="easy axis"):
        headless.set_axis("easy")
    assert sup.get_current_a() == 0.0
    assert abs(st.bench.field_oe()) <= abs(st.bench.magnet.remanence_oe)  # only the remanence left
    assert headless.axis == "hard" and st.bench.axis == "hard"
    headless.set_axis("hard")  # already there: nothing to confirm
    with pytest.raises(ValueError):
        headless.set_axis("diagonal")


def test_set_axis_refused_by_the_operator(station):
    st = station
    asked = []
    refusing = FieldController(
        st["magnet_supply"], st["gaussmeter"], st.clock, st.field.settings, confirm_axis=lambda a: asked.append(a)
    )
    refusing.set_field(300.0)
    with pytest.raises(OperatorActionRequired):
        refusing.set_axis("easy")
    assert asked == ["easy"] and refusing.axis == "hard"
    assert st["magnet_supply"].get_current_a() == 0.0


def test_set_axis_with_the_simulated_operator(station):
    st = station
    st.field.set_field(500.0)
    st.field.set_axis("easy")
    assert st.field.axis == "easy" and st.bench.axis == "easy" and st.field.field_angle_deg == 0.0
    assert st["magnet_supply"].get_current_a() == 0.0
    assert abs(st.field.set_field(-60.0) + 60.0) <= st.field.settings.tolerance_oe


def test_unreachable_field_raises_a_clear_error(make_station):
    """A gaussmeter that disagrees with the coil (here: a coil constant 20x too large and a
    tight iteration budget) ends in an InstrumentError naming the target."""
    st = make_station(coil_error=-0.5)
    st.field.prepare()
    st.field.settings = FieldSettings(oe_per_a=2500.0, tolerance_oe=0.01, max_iterations=1, settle_s=0.0)
    with pytest.raises(InstrumentError, match="target 1000.0 Oe"):
        st.field.set_field(1000.0)


def test_target_beyond_the_supply_is_refused_before_anything_moves(station):
    st = station
    lo, hi = st["magnet_supply"].current_range_a
    target = 1.2 * hi * st.field.settings.oe_per_a
    before = st["magnet_supply"].get_current_a()
    with pytest.raises((ValueError, InstrumentError)):
        st.field.set_field(target)
    assert math.isclose(st["magnet_supply"].get_current_a(), before)
