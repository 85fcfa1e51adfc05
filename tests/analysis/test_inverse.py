"""The inverse functions round-trip against the forward model (DeviceModel)."""

import math

import numpy as np
import pytest

from stfmr_lab.analysis import (
    alpha_eff,
    calibrate_irf2,
    carry_irf2,
    conductances_from_loop,
    d2v_di2_from_dvdi,
    d2v_dtheta_di,
    fit_linewidth_bias,
    fit_spectra,
    fit_tau_perp,
    irf2_from_background,
    irf2_from_path,
    kittel_fit,
    kittel_frequencies,
    omega_perp_from_f0,
    omega_perp_from_field,
    predicted_dtau_par_dv,
    theta_from_conductance,
    to_torkance_units,
    torkance_errors,
    torkances_from_fit,
)
from stfmr_lab.analysis.inverse import local_polynomial_derivative
from stfmr_lab.physics import ERG_PER_J, TORKANCE_UNIT_J_PER_V, DeviceModel

CURRENTS = np.linspace(-1.3e-4, 1.3e-4, 41)
FIELDS = np.array([800.0, 900.0, 1000.0, 1100.0, 1200.0])


@pytest.fixture(scope="module")
def paper():
    return DeviceModel.preset("paper")


# ------------------------------------------------------------------------------------ derivatives
def test_local_polynomial_derivative_is_exact_for_polynomials():
    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(-2, 3, 30))
    y = 1.5 - 2 * x + 0.7 * x**2 - 0.3 * x**3
    assert np.allclose(local_polynomial_derivative(x, y, window=7, degree=3), -2 + 1.4 * x - 0.9 * x**2, atol=1e-9)
    xe = np.array([-1.234, 0.5, 2.9])
    assert np.allclose(
        local_polynomial_derivative(x, y, x_eval=xe, window=4, degree=3, deriv=0),
        1.5 - 2 * xe + 0.7 * xe**2 - 0.3 * xe**3,
        atol=1e-9,
    )
    shuffled = rng.permutation(x.size)
    assert np.allclose(local_polynomial_derivative(x[shuffled], y[shuffled]), (-2 + 1.4 * x - 0.9 * x**2)[shuffled])


@pytest.mark.parametrize("field_oe", [800.0, 1000.0, 1200.0])
def test_d2v_di2_from_measured_dvdi(paper, field_oe):
    theta = paper.theta(field_oe)
    dvdi = paper.differential_resistance(theta, CURRENTS)
    got = d2v_di2_from_dvdi(CURRENTS, dvdi)
    want = paper.d2v_di2(theta, CURRENTS)
    assert np.max(np.abs(got - want)) <= 1e-3 * np.max(np.abs(want))
    # several curves at once (last axis = current)
    both = d2v_di2_from_dvdi(CURRENTS, np.stack([dvdi, 2 * dvdi]))
    assert np.allclose(both[1], 2 * got, rtol=1e-9, atol=1e-9 * np.abs(got).max())


def test_theta_from_conductance(paper):
    theta = paper.theta(FIELDS)
    g = paper.conductance(theta, 0.0)
    assert np.allclose(theta_from_conductance(g, paper.g_p(0.0), paper.g_ap(0.0)), theta, atol=1e-12)
    # at bias too, with G_P(V), G_AP(V) at the same voltage
    v = 0.3
    assert theta_from_conductance(paper.conductance(1.1, v), paper.g_p(v), paper.g_ap(v)) == pytest.approx(1.1)
    # readings slightly beyond the reference values clip to 0 / pi
    assert theta_from_conductance(1.001 * paper.g_p0, paper.g_p0, paper.g_ap0) == 0.0
    assert theta_from_conductance(0.999 * paper.g_ap0, paper.g_p0, paper.g_ap0) == pytest.approx(math.pi)


def test_conductances_from_easy_axis_loop(paper):
    h = np.concatenate([np.linspace(200, -200, 41), np.linspace(-200, 200, 41)])
    state, states = 1, []
    for hh in h:
        state = int(paper.easy_axis_state(hh, state))
        states.append(state)
    r = 1.0 / paper.conductance(paper.easy_axis_theta(np.array(states)), 0.0)
    g_p, g_ap = conductances_from_loop(r)
    assert g_p == pytest.approx(paper.g_p0) and g_ap == pytest.approx(paper.g_ap0)
    with pytest.raises(ValueError):
        conductances_from_loop(np.full(10, 3190.0))


def test_d2v_dtheta_di_from_curves_across_fields(paper):
    theta = paper.theta(FIELDS)
    curves = np.array([paper.differential_resistance(t, CURRENTS) for t in theta])
    grid, got = d2v_dtheta_di(theta, CURRENTS, curves)
    want = np.array([paper.d2v_dtheta_di(t, grid) for t in theta])
    assert np.array_equal(grid, CURRENTS)
    assert np.max(np.abs(got / want - 1)) < 2e-3
    # curves measured on different current grids are interpolated onto a common one
    currents = [CURRENTS * (1 + 0.01 * k) for k in range(FIELDS.size)]
    curves = [paper.differential_resistance(t, c) for t, c in zip(theta, currents, strict=True)]
    grid2, got2 = d2v_dtheta_di(theta, currents, curves, current_grid_a=np.linspace(-1.2e-4, 1.2e-4, 25))
    want2 = np.array([paper.d2v_dtheta_di(t, grid2) for t in theta])
    assert np.max(np.abs(got2 / want2 - 1)) < 2e-3


# ------------------------------------------------------------------------------------ I_RF
def test_irf2_from_background_and_carry(paper):
    theta, f, p_dbm = paper.theta(1000.0), 9e9, -10.0
    i_ref, i_other = 1.2e-4, -7e-5
    c = paper.background(f, theta, i_ref, p_dbm)
    irf2 = irf2_from_background(c, paper.d2v_di2(theta, i_ref))
    r_ref, r_other = paper.differential_resistance(theta, i_ref), paper.differential_resistance(theta, i_other)
    assert irf2 == pytest.approx(paper.i_rf(f, p_dbm, r_ref) ** 2, rel=1e-12)
    assert carry_irf2(irf2, r_ref, r_other) == pytest.approx(paper.i_rf(f, p_dbm, r_other) ** 2, rel=1e-12)
    assert irf2_from_path(p_dbm, paper.path_loss_db(f), r_other) == pytest.approx(
        paper.i_rf(f, p_dbm, r_other) ** 2, rel=1e-12
    )
    assert np.isnan(irf2_from_background(1e-6, 0.0))


def test_calibrate_irf2_over_biases(paper):
    theta, f, p_dbm = paper.theta(1000.0), 9e9, -10.0
    r_d = paper.differential_resistance(theta, CURRENTS)
    c = paper.background(f, theta, CURRENTS, p_dbm)
    rng = np.random.default_rng(2)
    err = 2e-7
    cal = calibrate_irf2(c + rng.normal(0, err, c.size), paper.d2v_di2(theta, CURRENTS), r_d, offset_err_v=err)
    k_true = paper.i_rf(f, p_dbm, r_d[0]) ** 2 * (50.0 + r_d[0]) ** 2
    assert cal.k_a2_ohm2 == pytest.approx(k_true, rel=5 * cal.k_err_a2_ohm2 / k_true)
    assert 0 < cal.k_err_a2_ohm2 < 0.01 * k_true
    assert not cal.used[CURRENTS.size // 2]  # zero bias: d2V/dI2 = 0 is excluded
    assert np.allclose(cal.irf2(r_d), paper.i_rf(f, p_dbm, r_d) ** 2, rtol=0.01)
    exact = calibrate_irf2(c, paper.d2v_di2(theta, CURRENTS), r_d)
    assert exact.k_a2_ohm2 == pytest.approx(k_true, rel=1e-9)


# ------------------------------------------------------------------------------------ torkances
def forward_pieces(model, field_oe, current_a, frequency_hz=9e9, p_dbm=-10.0):
    theta = model.theta(field_oe)
    f0, hwhm = model.resonance(field_oe, current_a)
    _, omega_perp = model.kittel(field_oe)
    r_d = model.differential_resistance(theta, current_a)
    irf2 = model.i_rf(frequency_hz, p_dbm, r_d) ** 2
    d2t = model.d2v_dtheta_di(theta, current_a)
    sigma = 2 * np.pi * hwhm
    par, perp = model.torkances(field_oe, current_a)
    amp = 0.5 * d2t * irf2 * model.gamma / (2 * model.ms_vol_emu * sigma)
    v_sym = amp * par * r_d * ERG_PER_J
    v_asym = -amp * omega_perp * perp * r_d * ERG_PER_J
    return dict(
        v_sym=v_sym,
        v_asym=v_asym,
        sigma_rad_s=sigma,
        omega_perp=omega_perp,
        d2v_dtheta_di=d2t,
        irf2=irf2,
        ms_vol_emu=model.ms_vol_emu,
        gamma=model.gamma,
        r_d=r_d,
    ), (par, perp)


@pytest.mark.parametrize("field_oe", [800.0, 1000.0, 1200.0])
def test_torkances_from_exact_forward_quantities(paper, field_oe):
    args, (par, perp) = forward_pieces(paper, field_oe, CURRENTS)
    got_par, got_perp = torkances_from_fit(**args)
    assert np.allclose(got_par, par, rtol=1e-6, atol=0)
    assert np.allclose(got_perp, perp, rtol=1e-6, atol=1e-9 * np.abs(perp).max())
    assert np.max(np.abs(got_perp - perp)) <= 1e-6 * np.abs(perp).max()


def test_torkance_units_and_prediction(paper):
    theta = paper.theta(1000.0)
    par, _ = paper.torkances(1000.0, 0.0)
    assert to_torkance_units(par, theta) == pytest.approx(0.1441, abs=5e-5)  # physics.md check value
    assert predicted_dtau_par_dv(paper.g_p0, paper.polarization) == pytest.approx(par / math.sin(theta), rel=1e-12)
    assert to_torkance_units(TORKANCE_UNIT_J_PER_V) == pytest.approx(1.0)


def test_torkance_error_propagation(paper):
    args, _ = forward_pieces(paper, 1000.0, 1e-4)
    par, perp = torkances_from_fit(**args)
    e_par, e_perp = torkance_errors(**args, v_sym_err=0.01 * abs(args["v_sym"]), v_asym_err=0.02 * abs(args["v_asym"]))
    assert e_par == pytest.approx(0.01 * abs(par)) and e_perp == pytest.approx(0.02 * abs(perp))
    e_par, e_perp = torkance_errors(**args, sigma_err_rad_s=0.03 * args["sigma_rad_s"], irf2_err=0.04 * args["irf2"])
    assert e_par == pytest.approx(0.05 * abs(par)) and e_perp == pytest.approx(0.05 * abs(perp))
    # Monte Carlo agrees with the first-order propagation for small errors
    rng = np.random.default_rng(4)
    vs = args["v_sym"] * (1 + 0.01 * rng.standard_normal(4000))
    r_d = args["r_d"] * (1 + 0.01 * rng.standard_normal(4000))
    mc, _ = torkances_from_fit(**{**args, "v_sym": vs, "r_d": r_d})
    e_par, _ = torkance_errors(**args, v_sym_err=0.01 * abs(args["v_sym"]), r_d_err=0.01 * args["r_d"])
    assert np.std(mc) == pytest.approx(e_par, rel=0.05)


def test_end_to_end_flat_path_map_gives_the_model_torkances():
    """Spectra -> fits -> I_RF^2 from the backgrounds and dV/dI -> torkances, vs the model."""
    model = DeviceModel.preset("paper", loss_db_per_ghz=0.0)  # I_RF independent of f
    h = 1000.0
    theta = model.theta(h)
    f0, hwhm = model.resonance(h, 0.0)
    f = np.linspace(f0 - 7 * hwhm, f0 + 7 * hwhm, 201)
    fits = fit_spectra(f, np.array([model.vmix(f, h, i, -10.0) for i in CURRENTS]))
    assert np.all(fits.ok)
    # the bench side: dV/dI(I) at this field and at neighbouring fields
    thetas = model.theta(FIELDS)
    dvdi = np.array([model.differential_resistance(t, CURRENTS) for t in thetas])
    k = list(FIELDS).index(h)
    r_d = dvdi[k]
    d2v = d2v_di2_from_dvdi(CURRENTS, r_d)
    cal = calibrate_irf2(fits.offset, d2v, r_d)
    _, d2t = d2v_dtheta_di(thetas, CURRENTS, dvdi)
    omega_perp = omega_perp_from_f0(fits.f0_hz, h, model.hk_oe, model.gamma)
    par, perp = torkances_from_fit(
        fits.v_sym,
        fits.v_asym,
        2 * np.pi * fits.hwhm_hz,
        omega_perp,
        d2t[k],
        cal.irf2(r_d),
        model.ms_vol_emu,
        model.gamma,
        r_d,
    )
    want_par, want_perp = model.torkances(h, CURRENTS)
    assert np.max(np.abs(par / want_par - 1)) < 5e-3
    assert np.max(np.abs(perp - want_perp)) < 5e-3 * np.abs(want_perp).max()
    a1 = fit_tau_perp(model.voltage(theta, CURRENTS), perp / math.sin(theta))
    assert a1.a1 == pytest.approx(model.a1_perp, rel=5e-3)


# ------------------------------------------------------------------------------------ resonance, damping
def test_kittel_fit_recovers_meff_and_hk(paper):
    f0, _ = paper.resonance(FIELDS, 0.0)
    fit = kittel_fit(FIELDS, f0, paper.gamma)
    assert fit.meff_4pi_oe == pytest.approx(paper.meff_4pi_oe, rel=1e-9)
    assert fit.hk_oe == pytest.approx(paper.hk_oe, rel=1e-9)
    assert np.allclose(fit.f0_hz(FIELDS), f0, rtol=1e-12)
    # negative fields: same resonance; noisy data with given errors: truth within a few sigma
    rng = np.random.default_rng(8)
    err = 2e6
    h = np.concatenate([FIELDS, -FIELDS])
    noisy = kittel_fit(
        h,
        np.concatenate([f0, f0]) + rng.normal(0, err, 2 * FIELDS.size),
        paper.gamma,
        f0_err_hz=err,
        absolute_sigma=True,
    )
    assert abs(noisy.meff_4pi_oe - paper.meff_4pi_oe) < 4 * noisy.stderr["meff_4pi_oe"]
    assert abs(noisy.hk_oe - paper.hk_oe) < 4 * noisy.stderr["hk_oe"]
    assert 0 < noisy.stderr["hk_oe"] < 50


def test_kittel_frequencies_and_omega_perp(paper):
    omega_m, omega_perp = paper.kittel(FIELDS)
    got_m, got_p = kittel_frequencies(FIELDS, paper.meff_4pi_oe, paper.hk_oe, paper.gamma)
    assert np.allclose(got_m, omega_m) and np.allclose(got_p, omega_perp)
    assert np.allclose(omega_perp_from_field(-FIELDS, paper.meff_4pi_oe, paper.hk_oe, paper.gamma), omega_perp)
    assert np.allclose(omega_perp_from_f0(omega_m / (2 * np.pi), FIELDS, paper.hk_oe, paper.gamma), omega_perp)


def test_alpha_eff_matches_model(paper):
    omega_m, omega_perp = paper.kittel(1000.0)
    _, hwhm = paper.resonance(1000.0, CURRENTS)
    assert np.allclose(alpha_eff(2 * np.pi * hwhm, omega_m, omega_perp), paper.alpha_eff(1000.0, CURRENTS))
    assert alpha_eff(2 * np.pi * paper.resonance(1000.0, 0.0)[1], omega_m, omega_perp) == pytest.approx(paper.alpha)


@pytest.mark.parametrize("field_oe", [800.0, 1200.0])
def test_linewidth_bias_fit_gives_alpha_and_in_plane_torkance(paper, field_oe):
    theta = paper.theta(field_oe)
    omega_m, omega_perp = paper.kittel(field_oe)
    _, hwhm = paper.resonance(field_oe, CURRENTS)
    v = paper.voltage(theta, CURRENTS)
    fit = fit_linewidth_bias(
        v,
        2 * np.pi * hwhm,
        theta_rad=theta,
        omega_m=omega_m,
        omega_perp=omega_perp,
        ms_vol_emu=paper.ms_vol_emu,
        gamma=paper.gamma,
    )
    assert fit.alpha == pytest.approx(paper.alpha, rel=1e-9)
    par, _ = paper.torkances(field_oe, 0.0)
    assert fit.dtau_par_dv_over_sin == pytest.approx(par / math.sin(theta), rel=1e-9)
    assert to_torkance_units(fit.dtau_par_dv_over_sin) == pytest.approx(0.1441, abs=5e-5)


def test_fit_tau_perp(paper):
    theta = paper.theta(1000.0)
    v = paper.voltage(theta, CURRENTS)
    _, perp = paper.torkances(1000.0, CURRENTS)
    fit = fit_tau_perp(v, perp / math.sin(theta))
    assert fit.a1 == pytest.approx(paper.a1_perp, rel=1e-9)
    assert fit.a1_j_per_v2 == pytest.approx(paper.a1_perp * TORKANCE_UNIT_J_PER_V, rel=1e-9)
    # the integrated curve is A1 V^2 (the trapezoid rule is exact for a linear integrand)
    assert np.allclose(
        fit.tau_perp_over_sin_j, fit.a1_j_per_v2 * fit.voltage_v**2, rtol=0, atol=1e-9 * fit.a1_j_per_v2 * v.max() ** 2
    )
    rng = np.random.default_rng(6)
    err = 0.05 * np.abs(perp).max()
    noisy = fit_tau_perp(
        v, perp / math.sin(theta) + rng.normal(0, err, v.size), err=err, absolute_sigma=True, offset=True
    )
    assert abs(noisy.a1 - paper.a1_perp) < 4 * noisy.a1_err
    assert abs(noisy.offset_j_per_v) < 4 * noisy.offset_err_j_per_v


def test_torkance_errors_carry_the_fits_amplitude_width_correlation(paper):
    """V_S and the width of one fit are correlated: the propagated error of V_S sigma must
    follow the Monte Carlo spread of correlated draws, not the independent sum."""
    args, _ = forward_pieces(paper, 1000.0, 1e-4)
    rel = np.array([0.01, 0.02])
    rho = -0.6
    cov_rel = np.array([[rel[0] ** 2, rho * rel[0] * rel[1]], [rho * rel[0] * rel[1], rel[1] ** 2]])
    rng = np.random.default_rng(11)
    draws = rng.multivariate_normal([0.0, 0.0], cov_rel, size=20000)
    vs = args["v_sym"] * (1 + draws[:, 0])
    sig = args["sigma_rad_s"] * (1 + draws[:, 1])
    mc, _ = torkances_from_fit(**{**args, "v_sym": vs, "sigma_rad_s": sig})
    cov = rho * rel[0] * rel[1] * args["v_sym"] * args["sigma_rad_s"]
    e_corr, _ = torkance_errors(**args, v_sym_err=rel[0] * abs(args["v_sym"]), sigma_err_rad_s=rel[1] * args["sigma_rad_s"],
                                v_sym_sigma_cov=cov)
    e_ind, _ = torkance_errors(**args, v_sym_err=rel[0] * abs(args["v_sym"]), sigma_err_rad_s=rel[1] * args["sigma_rad_s"])
    assert np.std(mc) == pytest.approx(e_corr, rel=0.03)
    assert e_ind > 1.2 * e_corr  # independence would overstate it here
    # and for the perpendicular torkance (V_A enters with a minus sign)
    va = args["v_asym"] * (1 + draws[:, 0])
    _, mc_perp = torkances_from_fit(**{**args, "v_asym": va, "sigma_rad_s": sig})
    cov_a = rho * rel[0] * rel[1] * args["v_asym"] * args["sigma_rad_s"]
    _, e_perp = torkance_errors(**args, v_asym_err=rel[0] * abs(args["v_asym"]), sigma_err_rad_s=rel[1] * args["sigma_rad_s"],
                                v_asym_sigma_cov=cov_a)
    assert np.std(mc_perp) == pytest.approx(e_perp, rel=0.03)


def test_omega_perps_error_enters_the_perpendicular_torkance_only():
    """dtau_perp = -V_A f / Omega_perp: a relative error e of Omega_perp adds e |dtau_perp| in
    quadrature; the in-plane torkance does not depend on Omega_perp."""
    from stfmr_lab.analysis.inverse import torkance_errors, torkances_from_fit

    args = (2e-6, -1e-6, 2e9, 1.8, 500.0, 1e-8, 1e-14, 1.76e7, 3000.0)
    par, perp = torkances_from_fit(*args)
    e0 = torkance_errors(*args, v_sym_err=2e-8, v_asym_err=1e-8)
    e1 = torkance_errors(*args, v_sym_err=2e-8, v_asym_err=1e-8, omega_perp_err=0.05 * 1.8)
    assert e1[0] == e0[0]
    assert e1[1] ** 2 == pytest.approx(e0[1] ** 2 + (0.05 * perp) ** 2, rel=1e-12)
