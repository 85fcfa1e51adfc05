"""The simulated bench through the real drivers: the resonance is the model's."""

import math

import numpy as np
import pytest

from stfmr_lab.physics import LOCKIN_RMS_FACTOR, DeviceModel


def _prepare(st, power_dbm=-10.0, tau_s=0.03):
    li, src, dc = st["lockin"], st["source"], st["dc"]
    li.configure_reference("external")
    li.set_time_constant_s(tau_s)
    li.set_slope_db_oct(24)
    li.set_sensitivity_v(1e-3)
    src.set_power_dbm(power_dbm)
    src.configure_chop(250.0, "internal")
    src.set_rf_enabled(True)
    dc.configure_current_source(0.8)
    dc.set_current_a(0.0)
    dc.set_output_enabled(True)
    st.field.prepare()


def _sweep(st, freqs, settle_s=1.0):
    out = []
    for f in freqs:
        st["source"].set_frequency_hz(f)
        st.clock.sleep(settle_s)
        out.append(st["lockin"].read_xy()[0] / LOCKIN_RMS_FACTOR)
    return np.array(out)


def test_frequency_sweep_reproduces_the_model(sim_station):
    st = sim_station
    _prepare(st)
    h = st.field.set_field(1000.0)
    assert h == pytest.approx(1000.0, abs=1.0)
    freqs = np.linspace(7.8e9, 9.4e9, 41)
    got = _sweep(st, freqs)
    want = DeviceModel.preset("paper").vmix(freqs, st.bench.field_oe(), 0.0, -10.0)
    # noise-free: the only difference is the lock-in's settling from the previous point
    assert np.max(np.abs(got - want)) < 2e-3 * np.max(np.abs(want))


def test_noisy_sweep_is_within_the_simulated_noise(make_station):
    st = make_station(noise=True, seed=3)
    _prepare(st, tau_s=0.1)
    st.field.set_field(1000.0)
    freqs = np.linspace(7.0e9, 10.0e9, 61)
    got = _sweep(st, freqs, settle_s=2.0)
    want = st.bench.model.vmix(freqs, st.bench.field_oe(), 0.0, -10.0)
    sd = st.bench.model.lockin_noise_v(0.1, 24) / LOCKIN_RMS_FACTOR
    resid = (got - want) / sd
    assert np.std(resid) < 3.0  # noise, not a model mismatch (the peak is ~7e4 sd)
    assert np.max(np.abs(got)) > 1e4 * sd


def test_resonance_moves_with_field_bias_and_power(sim_station):
    st = sim_station
    _prepare(st)
    freqs = np.linspace(6e9, 12e9, 121)

    def peak():
        v = _sweep(st, freqs, settle_s=0.5)
        return freqs[np.argmax(np.abs(v))], np.max(np.abs(v))

    st["lockin"].set_sensitivity_v(20e-3)
    st.field.set_field(900.0)
    f_900, a_900 = peak()
    st.field.set_field(1300.0)
    f_1300, _ = peak()
    assert f_1300 > f_900 + 0.5e9
    m = st.bench.model
    assert f_1300 == pytest.approx(m.resonance(st.bench.field_oe(), 0.0)[0], abs=60e6)
    st.field.set_field(900.0)
    st["source"].set_power_dbm(-4.0)
    _, a_900_more = peak()
    assert a_900_more / a_900 == pytest.approx(10 ** 0.6, rel=0.02)
    # bias: the voltage readback follows the junction's I-V at this angle
    st["dc"].set_current_a(1e-4)
    v, i = st["dc"].measure()
    assert v == pytest.approx(m.voltage(st.bench.theta(), 1e-4), rel=1e-5)


def test_rf_off_or_unchopped_gives_no_signal(sim_station):
    st = sim_station
    _prepare(st)
    st.field.set_field(1000.0)
    st["source"].set_frequency_hz(8.6e9)
    st.clock.sleep(1.0)
    assert abs(st["lockin"].read_xy()[0]) > 1e-4
    st["source"].set_rf_enabled(False)
    st.clock.sleep(1.0)
    assert abs(st["lockin"].read_xy()[0]) < 1e-8


def test_overload_when_signal_exceeds_sensitivity(sim_station):
    st = sim_station
    _prepare(st)
    st.field.set_field(1000.0)
    st["lockin"].set_sensitivity_v(100e-6)
    st["source"].set_frequency_hz(8.6e9)
    st.clock.sleep(1.0)
    x, _ = st["lockin"].read_xy()
    assert st["lockin"].overloaded()
    assert x == pytest.approx(1.09 * 100e-6)
    st["lockin"].set_sensitivity_v(1e-3)
    st.clock.sleep(1.0)
    st["lockin"].read_xy()
    assert not st["lockin"].overloaded()


def test_compliance_clamps_the_bias(sim_station):
    st = sim_station
    _prepare(st)
    st.field.set_field(1000.0)
    st["dc"].configure_current_source(0.3)
    st["dc"].set_current_a(1.5e-4)
    v, i = st["dc"].measure()
    assert v == pytest.approx(0.3, abs=1e-9)
    assert i < 1.5e-4


def test_easy_axis_reference_loop_has_hysteresis(sim_station):
    st = sim_station
    _prepare(st)
    st.field.set_axis("easy")
    st["dc"].set_current_a(1e-6)
    m = st.bench.model
    r = []
    for h in [100, 0, -30, -60, -20, 20, 60, 0]:
        st.field.set_field(h)
        v, i = st["dc"].measure()
        r.append(v / i)
    r_p, r_ap = 1 / m.g_p0, 1 / m.g_ap0
    states = ["P" if math.isclose(x, r_p, rel_tol=1e-3) else "AP" if math.isclose(x, r_ap, rel_tol=1e-3) else "?" for x in r]
    assert states == ["P", "P", "P", "AP", "AP", "AP", "P", "P"]


def test_virtual_clock_reports_bench_time_without_sleeping(sim_station):
    import time

    st = sim_station
    t0, v0 = time.perf_counter(), st.clock.now()
    st.clock.sleep(3600.0)
    assert st.clock.now() - v0 == pytest.approx(3600.0)
    assert time.perf_counter() - t0 < 1.0
