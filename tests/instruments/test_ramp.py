"""The one ramp helper (instruments/ramp.py), and the bias and field ramps built on it."""

import threading
from itertools import pairwise

import pytest
from stfmr_lab.instruments.ramp import RampStopped, ramp, ramp_steps

from stfmr_lab.sim.clock import VirtualClock


class Source:
    """A settable value that logs (bench time, value) at each write."""

    def __init__(self, clock, value=0.0):
        self.clock, self.value, self.log = clock, value, []

    def write(self, value):
        self.value = value
        self.log.append((self.clock.now(), value))


def _record_writes(monkeypatch, source, clock):
    """Wrap ``source.set_current_a``: every (bench time, current) written, in order."""
    writes = []
    original = source.set_current_a

    def recording(current_a):
        writes.append((clock.now(), current_a))
        original(current_a)

    monkeypatch.setattr(source, "set_current_a", recording)
    return writes


def test_steps_are_equal_within_the_limit_and_end_on_the_target():
    clock = VirtualClock()
    src = Source(clock, 0.1)
    n = ramp(src.write, 0.1, -0.25, max_step=0.1, dwell_s=0.5, sleep=clock.sleep)
    values = [v for _, v in src.log]
    assert n == 4 and len(values) == 4
    assert values[-1] == pytest.approx(-0.25, abs=1e-15)
    steps = [abs(b - a) for a, b in pairwise([0.1, *values])]
    assert max(steps) <= 0.1 and max(steps) - min(steps) < 1e-12
    assert [t for t, _ in src.log] == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert clock.now() == pytest.approx(2.0)  # a dwell after the last step too


def test_a_whole_number_of_steps_is_not_rounded_up():
    assert ramp_steps(0.0, 0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    assert ramp_steps(0.0, 0.3000001, 0.1) == 4
    assert ramp_steps(1.0, 1.0, 0.1) == 1  # already there: one write of the target


def test_rate_sets_the_dwell_from_the_step():
    clock = VirtualClock()
    src = Source(clock)
    n = ramp(src.write, 0.0, 1.0, max_step=0.3, rate_per_s=2.0, sleep=clock.sleep)
    assert n == 4
    assert clock.now() == pytest.approx(0.5)  # 1.0 at 2.0 per second, whatever the steps


def test_bad_arguments_are_refused_before_any_write():
    src = Source(VirtualClock())
    for kw in ({}, {"dwell_s": 1.0, "rate_per_s": 1.0}, {"rate_per_s": 0.0}):
        with pytest.raises(ValueError):
            ramp(src.write, 0.0, 1.0, max_step=0.5, sleep=lambda s: None, **kw)
    with pytest.raises(ValueError):
        ramp(src.write, 0.0, 1.0, max_step=0.0, dwell_s=1.0, sleep=lambda s: None)
    assert src.log == []


def test_a_stop_leaves_the_last_step_dwelt_and_says_where():
    clock = VirtualClock()
    src = Source(clock)
    calls = []

    def should_stop():
        calls.append(clock.now())
        return len(calls) > 3

    with pytest.raises(RampStopped) as stopped:
        ramp(src.write, 0.0, 1.0, max_step=0.1, dwell_s=0.2, sleep=clock.sleep, should_stop=should_stop)
    assert [v for _, v in src.log] == pytest.approx([0.1, 0.2, 0.3])
    assert stopped.value.value == src.value
    # every step had its whole dwell before the next check
    assert calls == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_field_ramp_with_a_stop_event_still_dwells(make_station, monkeypatch):
    """The magnet ramp checks the stop event between steps; it never skips a dwell."""
    st = make_station(noise=False)
    st.field.prepare()
    s = st.field.settings
    supply = st["magnet_supply"]
    writes = _record_writes(monkeypatch, supply, st.clock)
    stop = threading.Event()
    st.field.ramp_to_zero(stop)  # from 0 A: one write
    writes.clear()
    target_a = 4 * s.max_step_oe / s.oe_per_a
    st.field._ramp_current(target_a, stop)
    times = [t for t, _ in writes]
    assert len(writes) == 4 and writes[-1][1] == pytest.approx(target_a)
    dwell = s.max_step_oe / s.ramp_rate_oe_per_s
    assert all(b - a >= dwell * (1 - 1e-9) for a, b in pairwise(times))
    writes.clear()
    stop.set()
    with pytest.raises(RampStopped):
        st.field._ramp_current(0.0, stop)
    assert writes == []  # stopped before the first step: the current stays where it was
    assert supply.get_current_a() == pytest.approx(target_a)


def test_bias_ramp_steps_and_dwells_as_the_limits_say(make_station, monkeypatch):
    st = make_station(noise=False)
    from stfmr_lab.safety import Guard

    g = Guard(st)
    g.prepare_bias()
    writes = _record_writes(monkeypatch, st["dc"], st.clock)
    lim = g.limits
    target = 3.5 * lim.max_bias_step_a
    g.bias_to_current(target, measure=False)
    values = [v for _, v in writes]
    assert len(values) == 4 and values[-1] == pytest.approx(target)
    assert max(abs(b - a) for a, b in pairwise([0.0, *values])) <= lim.max_bias_step_a
    times = [t for t, _ in writes]
    assert all(b - a >= lim.bias_step_dwell_s * (1 - 1e-9) for a, b in pairwise(times))
