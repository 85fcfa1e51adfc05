"""The twin lock-in's output filter in virtual time, read through the real driver."""

import numpy as np
import pytest

from stfmr_lab.analysis.swept import response_matrix
from stfmr_lab.lockin_filter import autocorrelation, step_residual
from stfmr_lab.physics import LOCKIN_RMS_FACTOR
from tests.sim.test_bench import _prepare

TAU = 0.03


def _read(st):
    """X as Vmix, and the virtual time the reply was made (a query advances the clock by the
    bus latency and its own cost before the instrument answers)."""
    x = st["lockin"].read_xy()[0] / LOCKIN_RMS_FACTOR
    return x, st.clock.now()


def test_a_step_relaxes_as_the_analytic_step_response(sim_station):
    st = sim_station
    _prepare(st, tau_s=TAU)
    st.field.set_field(1000.0)
    src = st["source"]
    src.set_frequency_hz(7.0e9)
    st.clock.sleep(30 * TAU)
    v0, _ = _read(st)
    src.set_frequency_hz(8.6e9)  # onto the resonance
    t0 = st.clock.now()
    got, x = [], []
    for _ in range(12):
        st.clock.sleep(0.5 * TAU)
        v, t = _read(st)
        x.append((t - t0) / TAU)
        got.append(v)
    st.clock.sleep(30 * TAU)
    v1, _ = _read(st)
    assert abs(v1 - v0) > 10 * abs(v0)  # a real step
    want = v1 + (v0 - v1) * step_residual(np.array(x), 4)
    assert np.allclose(got, want, rtol=0, atol=1e-6 * abs(v1 - v0))


def test_a_fast_sweep_is_the_filter_applied_to_the_set_points(sim_station):
    """Steps every 1.5 time constants: the readings are W v (response_matrix), not v."""
    st = sim_station
    _prepare(st, tau_s=TAU)
    st.field.set_field(1000.0)
    src = st["source"]
    freqs = np.linspace(8.0e9, 9.2e9, 31)
    src.set_frequency_hz(freqs[0])
    st.clock.sleep(30 * TAU)
    t_set, t_read, got = [], [], []
    for f in freqs:
        src.set_frequency_hz(f)
        t_set.append(st.clock.now())
        st.clock.sleep(1.5 * TAU)
        v, t = _read(st)
        t_read.append(t)
        got.append(v)
    h = st.bench.field_oe()
    settled = st.bench.model.vmix(freqs, h, 0.0, -10.0)
    lagged = response_matrix(t_set, t_read, TAU, 4) @ settled
    peak = np.max(np.abs(settled))
    assert np.max(np.abs(np.array(got) - lagged)) < 1e-6 * peak  # the reply has 7 significant digits
    assert np.max(np.abs(np.array(got) - settled)) > 0.2 * peak  # the lag is large, and modelled


def test_noise_of_close_readings_is_correlated_as_the_filter_makes_it(make_station):
    st = make_station(noise=True, seed=5)
    _prepare(st, tau_s=TAU)
    st["source"].set_rf_enabled(False)  # noise only
    st.clock.sleep(30 * TAU)
    fast = []
    for _ in range(3000):
        st.clock.sleep(0.5 * TAU)
        fast.append(_read(st)[0])
    fast = np.array(fast)
    dt = 0.5 * TAU + st.bench.query_latency_s + st.bench.twins["lockin"].query_cost_s.get(b"SNAP? 1,2", 0.0)
    r1 = np.corrcoef(fast[:-1], fast[1:])[0, 1]
    assert r1 == pytest.approx(autocorrelation(dt / TAU, 4), abs=0.03)
    sd = st.bench.model.lockin_noise_v(TAU, 24) / LOCKIN_RMS_FACTOR
    assert np.std(fast) == pytest.approx(sd, rel=0.15)
