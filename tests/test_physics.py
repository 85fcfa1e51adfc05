"""The forward model against physics.md's check values, derivatives and properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stfmr_lab.physics import LOCKIN_RMS_FACTOR, PARAMETERS, TORKANCE_UNIT_J_PER_V, DeviceModel


@pytest.fixture(scope="module")
def paper():
    return DeviceModel.preset("paper")


def test_paper_check_values(paper):
    par, _ = paper.torkances_at(math.pi / 2, 0.0)
    assert par / TORKANCE_UNIT_J_PER_V == pytest.approx(0.1441, abs=5e-5)
    assert paper.tmr(0.0) == pytest.approx(1.54)
    f0, hwhm = paper.resonance(1000.0, 0.0)
    assert f0 == pytest.approx(8.61e9, rel=2e-3)
    assert hwhm == pytest.approx(168e6, rel=5e-3)
    assert math.degrees(paper.theta(1000.0)) == pytest.approx(75.5, abs=0.05)
    f = np.linspace(7e9, 10e9, 3001)
    v = paper.vmix(f, 1000.0, 0.0, -10.0)
    assert v.max() == pytest.approx(0.63e-3, rel=0.01)
    assert f[np.argmax(v)] == pytest.approx(f0, abs=2e6)


def test_torkance_at_theta_is_sin_theta_times_90deg(paper):
    par, perp = paper.torkances(1000.0, 0.0)
    par90, _ = paper.torkances_at(math.pi / 2, 0.0)
    assert par == pytest.approx(par90 * math.sin(paper.theta(1000.0)))
    assert perp == 0.0


def test_voltage_inverts_current(paper):
    theta = np.linspace(0, np.pi, 7)[:, None]
    i = np.linspace(-3e-4, 3e-4, 41)[None, :]
    v = paper.voltage(theta, i)
    assert np.allclose(paper.current(theta, v), i, rtol=0, atol=1e-18)
    assert np.all(np.diff(v, axis=1) > 0)


def test_negative_gp_quad_still_inverts():
    m = DeviceModel.preset("paper", gp_quad_per_v2=-0.3)
    i = np.linspace(-1e-4, 1e-4, 21)
    v = m.voltage(1.0, i)
    assert np.allclose(m.current(1.0, v), i, atol=1e-18)


@pytest.mark.parametrize("theta", [0.3, 1.318, 2.5])
@pytest.mark.parametrize("current", [-1.2e-4, -2e-5, 0.0, 7e-5, 1.5e-4])
def test_analytic_derivatives_match_central_differences(paper, theta, current):
    dI = 1e-9
    num = (paper.differential_resistance(theta, current + dI) - paper.differential_resistance(theta, current - dI)) / (
        2 * dI
    )
    ana = paper.d2v_di2(theta, current)
    scale = max(abs(ana), 1.0)
    assert abs(num - ana) / scale < 1e-6
    dth = 1e-6
    num = (paper.differential_resistance(theta + dth, current) - paper.differential_resistance(theta - dth, current)) / (
        2 * dth
    )
    ana = paper.d2v_dtheta_di(theta, current)
    assert abs(num - ana) / max(abs(ana), 1.0) < 1e-6
    # R_d itself is the derivative of V(I)
    num = (paper.voltage(theta, current + dI) - paper.voltage(theta, current - dI)) / (2 * dI)
    assert num == pytest.approx(paper.differential_resistance(theta, current), rel=1e-6)


def test_vmix_symmetric_at_zero_bias_apart_from_irf_slope(paper):
    f0, hwhm = paper.resonance(1000.0, 0.0)
    df = np.linspace(0.2, 5, 25) * hwhm
    up = paper.vmix(f0 + df, 1000.0, 0.0, -10.0)
    down = paper.vmix(f0 - df, 1000.0, 0.0, -10.0)
    assert not np.allclose(up, down, rtol=1e-3)  # the path loss makes it lopsided
    r_d = paper.differential_resistance(paper.theta(1000.0), 0.0)
    norm_up = up / paper.i_rf(f0 + df, -10.0, r_d) ** 2
    norm_down = down / paper.i_rf(f0 - df, -10.0, r_d) ** 2
    assert np.allclose(norm_up, norm_down, rtol=1e-9)
    # with a flat path the spectrum itself is symmetric
    flat = paper.replace(loss_db_per_ghz=0.0)
    assert np.allclose(flat.vmix(f0 + df, 1000.0, 0.0, -10.0), flat.vmix(f0 - df, 1000.0, 0.0, -10.0), rtol=1e-9)


def test_antisymmetric_part_flips_with_bias_sign(paper):
    flat = paper.replace(loss_db_per_ghz=0.0)
    f0, hwhm = flat.resonance(1000.0, 1e-4)
    f = f0 + np.array([-hwhm, hwhm])
    vp = flat.vmix(f, 1000.0, 1e-4, -10.0)
    vn = flat.vmix(f, 1000.0, -1e-4, -10.0)
    assert np.sign(vp[1] - vp[0]) == -np.sign(vn[1] - vn[0])


def test_linewidth_falls_for_positive_bias(paper):
    # positive bias favours antiparallel alignment (seed's convention) and lowers the damping
    currents = np.linspace(-1.2e-4, 1.2e-4, 9)
    _, hwhm = paper.resonance(1000.0, currents)
    assert np.all(np.diff(hwhm) < 0)
    assert np.all(np.diff(paper.alpha_eff(1000.0, currents)) < 0)
    assert paper.alpha_eff(1000.0, 0.0) == pytest.approx(paper.alpha)


def test_tmr_falls_with_bias(paper):
    v = np.linspace(0, 0.6, 13)
    tmr = paper.tmr(v)
    assert np.all(np.diff(tmr) < 0)
    assert np.allclose(paper.tmr(-v), tmr)
    assert paper.tmr(0.54) == pytest.approx(0.43, abs=0.03)  # the seed's 43 % at 540 mV


def test_resonance_moves_with_field(paper):
    fields = np.array([600.0, 1000.0, 1500.0, 2000.0])
    f0, _ = paper.resonance(fields, 0.0)
    assert np.all(np.diff(f0) > 0)
    assert np.allclose(paper.resonance(-fields, 0.0)[0], f0)


def test_vmix_scales_with_power(paper):
    a = paper.vmix(8.6e9, 1000.0, 5e-5, -10.0)
    b = paper.vmix(8.6e9, 1000.0, 5e-5, -7.0)
    assert b / a == pytest.approx(10 ** 0.3, rel=1e-12)


def test_easy_axis_hysteresis(paper):
    s = 1
    states = []
    for h in [0, -30, -50, -10, 30, 50, 0]:
        s = int(paper.easy_axis_state(h, s))
        states.append(s)
    assert states == [1, 1, -1, -1, -1, 1, 1]
    assert paper.easy_axis_theta(-1) == pytest.approx(np.pi)
    # G at theta = pi is G_AP
    assert paper.conductance(np.pi, 0.0) == pytest.approx(paper.g_ap0)


def test_s21_table_replaces_linear_loss(paper):
    f = np.array([1e9, 20e9])
    tab = paper.replace(s21_freq_hz=tuple(f), s21_loss_db=tuple(paper.path_loss_db(f)))
    assert tab.path_loss_db(8e9) == pytest.approx(paper.path_loss_db(8e9))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"alpha": -0.01}, "alpha"),
        ({"polarization": 1.0}, "polarization"),
        ({"polarization": -0.1}, "polarization"),
        ({"r_p_ohm": 0}, "r_p_ohm"),
        ({"ms_vol_emu": float("nan")}, "ms_vol_emu"),
        ({"tmr0": "big"}, "tmr0"),
    ],
)
def test_invalid_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DeviceModel(**kwargs)


def test_no_resonance_below_hk(paper):
    with pytest.raises(ValueError, match="field_oe"):
        paper.resonance(150.0, 0.0)
    with pytest.raises(ValueError, match="field_oe"):
        paper.vmix(8e9, [1000.0, -200.0], 0.0, -10.0)


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset"):
        DeviceModel.preset("nope")


def test_every_parameter_has_a_range():
    assert set(PARAMETERS) <= set(DeviceModel().params())


def test_lockin_noise(paper):
    assert paper.lockin_noise_v(0.1, 24) == pytest.approx(10e-9 * math.sqrt(5 / 64 / 0.1))
    assert LOCKIN_RMS_FACTOR == pytest.approx(0.4502, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(
    field=st.floats(250, 5000),
    current=st.floats(-1.5e-4, 1.5e-4),
    power=st.floats(-30, 0),
)
def test_vmix_is_finite_and_matches_scalar_evaluation(field, current, power):
    m = DeviceModel.preset("paper")
    f0, hwhm = m.resonance(field, current)
    f = np.linspace(f0 - 5 * hwhm, f0 + 5 * hwhm, 11)
    vec = m.vmix(f, field, current, power)
    assert np.all(np.isfinite(vec))
    assert vec[5] == pytest.approx(float(m.vmix(float(f[5]), field, current, power)), rel=1e-12)
