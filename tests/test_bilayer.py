"""The bilayer (heavy-metal / ferromagnet) forward model against physics-sot.md's check values and properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stfmr_lab.bilayer import PARAMETERS, BilayerModel
from stfmr_lab.physics import DeviceModel


@pytest.fixture(scope="module")
def py_pt():
    return BilayerModel.preset("py_pt")


def test_check_values(py_pt):
    h0, delta, v_s, v_a = py_pt.line(9e9, 0.0, i_rf_a=5e-3)
    assert h0 == pytest.approx(1139.0, abs=0.5)
    assert delta == pytest.approx(40.6, abs=0.05)
    assert py_pt.lineshape_factor == pytest.approx(0.02917, abs=5e-6)
    assert math.sqrt(1 + py_pt.meff_4pi_oe / h0) == pytest.approx(2.753, abs=1.5e-3)
    assert v_s / v_a == pytest.approx(0.871, abs=1e-3)
    # xi_FMR formula of the inverse gives xi_dl back from the forward model's line
    assert (v_s / v_a) * py_pt.lineshape_factor * math.sqrt(1 + py_pt.meff_4pi_oe / h0) == pytest.approx(
        0.07, rel=1e-12
    )
    # size: a few to tens of uV at +10 dBm (I_RF ~ 5 mA through the default path at 9 GHz)
    peak = np.max(np.abs(py_pt.vmix(np.linspace(800, 1500, 701), 9e9, 0.0, 10.0)))
    assert 2e-6 < peak < 1e-4
    assert 4e-3 < py_pt.i_rf(9e9, 10.0, py_pt.resistance_ohm()) < 1e-2


def test_resonance_field_is_on_the_kittel_curve(py_pt):
    f = np.linspace(2e9, 20e9, 37)
    h0 = py_pt.resonance_field_oe(f)
    assert np.all(h0 > 0)
    assert py_pt.frequency_hz(h0) == pytest.approx(f, rel=1e-12)
    assert py_pt.resonance_field_oe(f, -1) == pytest.approx(-h0)
    # df/dH against a central difference
    dh = 1e-3
    num = (py_pt.frequency_hz(h0 + dh) - py_pt.frequency_hz(h0 - dh)) / (2 * dh)
    assert py_pt.df_dh_hz_per_oe(h0) == pytest.approx(num, rel=1e-7)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    f=st.floats(4e9, 20e9),
    i_dc=st.floats(-3e-3, 3e-3),
    xi=st.floats(-0.5, 0.5),
    flr=st.floats(-0.5, 0.5),
    phi=st.floats(10.0, 80.0),
)
def test_polarity_antisymmetry(f, i_dc, xi, flr, phi):
    m = BilayerModel.preset("py_pt", xi_dl=xi, field_like_ratio=flr, phi_deg=phi)
    h = np.linspace(1.0, 3000.0, 301)
    # without DC current Vmix(-H) = -Vmix(H); with it, reversing the field means reversing the current too
    assert m.vmix(-h, f, 0.0, i_rf_a=5e-3) == pytest.approx(-m.vmix(h, f, 0.0, i_rf_a=5e-3), rel=1e-12, abs=1e-22)
    assert m.vmix(-h, f, i_dc, i_rf_a=5e-3) == pytest.approx(-m.vmix(h, f, -i_dc, i_rf_a=5e-3), rel=1e-12, abs=1e-22)
    assert m.vmix(0.0, f, i_dc, i_rf_a=5e-3) == 0.0


@pytest.mark.parametrize("i_dc", [0.0, 1.5e-3])
def test_line_at_each_polarity_is_what_vmix_draws(py_pt, i_dc):
    f = 7e9
    h0, _, v_s, v_a = py_pt.line(f, 0.0, i_rf_a=5e-3)
    for p in (1, -1):
        centre, delta, vs_p, va_p = py_pt.line(f, i_dc, i_rf_a=5e-3, polarity=p)
        assert centre == pytest.approx(p * h0) and delta == pytest.approx(py_pt.linewidth_oe(f, i_dc, p))
        # at the centre only F_S = 1 contributes; one width away the odd part is V_A F_A = V_A / 2
        at = py_pt.vmix(centre, f, i_dc, i_rf_a=5e-3)
        odd = 0.5 * (
            py_pt.vmix(centre + delta, f, i_dc, i_rf_a=5e-3) - py_pt.vmix(centre - delta, f, i_dc, i_rf_a=5e-3)
        )
        assert at == pytest.approx(vs_p, rel=1e-9)
        assert odd == pytest.approx(0.5 * va_p, rel=1e-9)
        # V_S changes sign at -H0, V_A keeps it; the amplitudes go as 1 / Delta
        scale = py_pt.linewidth_oe(f, 0.0) / delta
        assert vs_p == pytest.approx(p * v_s * scale) and va_p == pytest.approx(v_a * scale)


def test_linewidth_linear_in_dc_current_with_opposite_slopes(py_pt):
    f = np.array([5e9, 9e9, 14e9])[:, None]
    i = np.linspace(-4e-3, 4e-3, 9)[None, :]
    plus = py_pt.linewidth_oe(f, i, 1)
    minus = py_pt.linewidth_oe(f, i, -1)
    assert np.allclose(np.diff(plus, 2, axis=1), 0.0, atol=1e-10)
    slope_p = np.diff(plus, axis=1)[:, 0] / 1e-3
    slope_m = np.diff(minus, axis=1)[:, 0] / 1e-3
    assert np.all(slope_p > 0) and slope_m == pytest.approx(-slope_p)
    assert plus[:, 4] == pytest.approx(minus[:, 4])  # I_dc = 0: same linewidth
    # the slope follows xi_dl (sign and size) and the Liu formula at 9 GHz
    h0_t = py_pt.resonance_field_oe(9e9) / 1e4
    ms = py_pt.mu0_ms_t / (4e-7 * math.pi)
    j_per_a = py_pt.shunt_hm / (py_pt.width_um * 1e-6 * py_pt.t_hm_nm * 1e-9)
    dalpha_di = math.sin(math.radians(45)) * 3.2911e-16 * 0.07 * j_per_a / ((h0_t + 0.375) * ms * 4e-9)
    assert slope_p[1] == pytest.approx(9e9 * dalpha_di / py_pt.gamma_2pi_hz_per_oe, rel=1e-9)
    neg = BilayerModel.preset("py_pt", xi_dl=-0.14)
    assert np.diff(neg.linewidth_oe(9e9, [0.0, 1e-3], 1))[0] / 1e-3 == pytest.approx(-2 * slope_p[1])


def test_amr_resistance_and_dc_voltage():
    m = BilayerModel.preset("py_pt", phi_deg=0.0)
    assert m.resistance_ohm() == pytest.approx(150.3)
    assert BilayerModel.preset("py_pt", phi_deg=90.0).resistance_ohm() == pytest.approx(150.0)
    r45 = BilayerModel.preset("py_pt").resistance_ohm(np.array([-500.0, 500.0]))
    assert r45 == pytest.approx([150.15, 150.15])
    assert BilayerModel.preset("py_pt").dc_voltage_v(500.0, 2e-3) == pytest.approx(150.15 * 2e-3)


def test_rf_path_is_the_mtj_models_rule():
    m = BilayerModel.preset("py_pt", loss_db_0=3.0, loss_db_per_ghz=0.7)
    d = DeviceModel.preset("paper", loss_db_0=3.0, loss_db_per_ghz=0.7)
    f = np.array([2e9, 9e9, 15e9])
    assert m.i_rf(f, 10.0, 150.15) == pytest.approx(d.i_rf(f, 10.0, 150.15), rel=1e-15)
    v_power = m.vmix(1200.0, f, 0.0, 10.0)
    v_irf = m.vmix(1200.0, f, 0.0, i_rf_a=m.i_rf(f, 10.0, m.resistance_ohm()))
    assert v_power == pytest.approx(v_irf, rel=1e-14)


def test_lineshape_parts_follow_the_torques():
    f = 9e9
    _, _, v_s0, v_a0 = BilayerModel.preset("py_pt", xi_dl=0.0).line(f, i_rf_a=5e-3)
    assert v_s0 == 0.0 and v_a0 > 0
    _, _, _, v_a2 = BilayerModel.preset("py_pt", field_like_ratio=1.0).line(f, i_rf_a=5e-3)
    assert v_a2 == pytest.approx(2 * v_a0)
    _, _, v_s_neg, _ = BilayerModel.preset("py_pt", xi_dl=-0.07).line(f, i_rf_a=5e-3)
    _, _, v_s_pos, _ = BilayerModel.preset("py_pt").line(f, i_rf_a=5e-3)
    assert v_s_neg == pytest.approx(-v_s_pos)
    # the background is field-independent and quadratic in I_RF
    bg = BilayerModel.preset("py_pt", bg_ohm_per_a=2.0)
    far = bg.vmix(np.array([-1e5, 1e5]), f, 0.0, i_rf_a=3e-3)
    assert far == pytest.approx([2.0 * 9e-6, 2.0 * 9e-6], rel=1e-3)


@pytest.mark.parametrize(
    "overrides, name",
    [
        ({"alpha": 0.0}, "alpha"),
        ({"mu0_ms_t": -1.0}, "mu0_ms_t"),
        ({"shunt_hm": 1.5}, "shunt_hm"),
        ({"t_hm_nm": float("nan")}, "t_hm_nm"),
        ({"width_um": "10"}, "width_um"),
        ({"g": True}, "g"),
        ({"s21_freq_hz": (1e9, 2e9)}, "s21_freq_hz"),
    ],
)
def test_bad_parameters_name_themselves(overrides, name):
    with pytest.raises(ValueError, match=name):
        BilayerModel.preset("py_pt", **overrides)


def test_bad_calls(py_pt):
    with pytest.raises(ValueError, match="preset"):
        BilayerModel.preset("cofeb_w")
    with pytest.raises(ValueError, match="rf_power_dbm / i_rf_a"):
        py_pt.vmix(1000.0, 9e9, 0.0)
    with pytest.raises(ValueError, match="rf_power_dbm / i_rf_a"):
        py_pt.vmix(1000.0, 9e9, 0.0, 10.0, i_rf_a=1e-3)
    with pytest.raises(ValueError, match="frequency_hz"):
        py_pt.vmix(1000.0, 0.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="critical current"):
        py_pt.linewidth_oe(9e9, -1.0, 1)


def test_every_parameter_documented_and_round_trips(py_pt):
    params = py_pt.params()
    assert set(PARAMETERS) <= set(params)
    assert BilayerModel(**params) == py_pt
    assert py_pt.replace(alpha=0.02).alpha == 0.02
