"""analyze() on the paper-preset demo map: the seed's results recovered from the simulated truth."""

import numpy as np
import pytest

from stfmr_lab.analysis import analyze
from stfmr_lab.analysis.report import analyze_to_report
from stfmr_lab.config import packaged_example
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.storage import read_run


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    return run(packaged_example("paper_map.yaml"), sim=True, out=tmp_path_factory.mktemp("paper") / "paper_map.h5")


@pytest.fixture(scope="module")
def paper(paper_run):
    return analyze(paper_run)


@pytest.fixture(scope="module")
def truth(paper_run):
    d = read_run(paper_run)
    return DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})


def test_contract_tables(paper):
    for col in ("field_oe", "bias_current_a", "bias_voltage_v", "f0_hz", "hwhm_hz", "v_sym", "v_asym", "offset", "v_sym_err", "v_asym_err", "offset_err",
                "f0_hz_err", "hwhm_hz_err"):
        assert col in paper.per_spectrum.columns
    for col in ("field_oe", "bias_voltage_v", "theta_deg", "dtau_par_dv", "dtau_perp_dv", "dtau_par_dv_err",
                "dtau_perp_dv_err", "alpha_eff"):
        assert col in paper.per_bias.columns
    assert len(paper.per_spectrum) == 63
    assert paper.per_spectrum["fit_ok"].all()
    assert len(paper.per_bias) == 63  # 3 fields x 21 biases


def test_torkance_near_zero_bias_within_5_percent(paper, truth):
    par0 = truth.torkances_at(np.pi / 2, 0.0)[0] / TORKANCE_UNIT_J_PER_V
    assert paper.summary["dtau_par_dv_at_0"] == pytest.approx(par0, rel=0.05)
    # and, on the simulated bench, well within: 1 %
    assert paper.summary["dtau_par_dv_at_0"] == pytest.approx(par0, rel=0.01)


def test_perpendicular_torkance_within_5_percent_of_the_scale_at_every_bias(paper, truth):
    scale = truth.torkances_at(np.pi / 2, 0.0)[0] / TORKANCE_UNIT_J_PER_V
    pb = paper.per_bias
    true_perp = np.array([truth.torkances_at(np.pi / 2, v)[1] for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    assert np.max(np.abs(pb["dtau_perp_dv"] - true_perp)) < 0.05 * scale
    true_par = np.array([truth.torkances_at(np.pi / 2, v)[0] for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    assert np.max(np.abs(pb["dtau_par_dv"] - true_par)) < 0.05 * scale


def test_a1_alpha_meff(paper, truth):
    s = paper.summary
    assert s["a1_perp"] == pytest.approx(truth.a1_perp, rel=0.10)
    assert s["alpha"] == pytest.approx(truth.alpha, rel=0.05)
    assert s["meff_4pi_oe"] == pytest.approx(truth.meff_4pi_oe, rel=0.02)
    assert s["hk_oe"] == pytest.approx(truth.hk_oe, abs=5.0)
    assert s["tmr0"] == pytest.approx(truth.tmr0, rel=0.01)
    assert s["irf2_scale_vs_path"] == pytest.approx(1.0, abs=0.02)


def test_errors_are_honest_against_the_truth(paper, truth):
    # per-bias torkances: (estimate - truth)/error has spread ~1 (not 10, not 0.1)
    pb = paper.per_bias
    true_perp = np.array([truth.torkances_at(np.pi / 2, v)[1] for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    z = (pb["dtau_perp_dv"] - true_perp) / pb["dtau_perp_dv_err"]
    assert np.sqrt(np.mean(z**2)) < 3.0


def test_bias_dependence_of_linewidth_gives_the_torkance_too(paper, truth):
    par0 = truth.torkances_at(np.pi / 2, 0.0)[0]
    for fit in paper.linewidth_fits.values():
        assert fit.dtau_par_dv_over_sin == pytest.approx(par0, rel=0.05)


def test_report_writes_readable_figures_and_tables(paper_run, tmp_path):
    paths = analyze_to_report(paper_run, tmp_path / "rep")
    for label, p in paths.items():
        assert p.exists() and p.stat().st_size > 0, label
    pngs = [p for p in paths.values() if p.suffix == ".png"]
    assert len(pngs) == 6
    assert "dtau_par/dV" in paths["summary"].read_text()


def test_tmr_of_v_from_the_data(paper, truth):
    s = paper.summary
    assert s["tmr_at_540mv"] == pytest.approx(float(truth.tmr(0.54)), abs=0.02)
    assert s["tmr_at_minus_540mv"] == pytest.approx(float(truth.tmr(-0.54)), abs=0.02)
    # TMR(V) halves where (V / v_half)^2 = TMR0 / (TMR0 + 2) on this model
    v_half = truth.v_half_tmr_v * np.sqrt(truth.tmr0 / (truth.tmr0 + 2.0))
    assert s["v_half_tmr_pos_v"] == pytest.approx(v_half, abs=0.01)
    assert s["v_half_tmr_neg_v"] == pytest.approx(-v_half, abs=0.01)
    from stfmr_lab.analysis.report import summary_text

    line = next(x for x in summary_text(paper).splitlines() if x.startswith("TMR(V)"))
    assert f"{100 * s['tmr_at_540mv']:.1f} % at +540 mV" in line


def test_csv_headers_carry_units(paper_run, paper, tmp_path):
    import pandas as pd

    paths = analyze_to_report(paper_run, tmp_path / "rep")
    pb = pd.read_csv(paths["per-bias table"])
    ps = pd.read_csv(paths["per-spectrum table"])
    for col in ("field_oe", "bias_voltage_v", "theta_deg", "dtau_par_dv_over_sin_hbar2e_per_kohm",
                "dtau_par_dv_over_sin_hbar2e_per_kohm_err", "dtau_perp_dv_over_sin_hbar2e_per_kohm",
                "dtau_par_dv_fit_over_sin_hbar2e_per_kohm_err", "ms_vol_emu", "alpha_eff"):
        assert col in pb.columns, col
    for col in ("f0_hz", "v_sym_v", "v_asym_v_err", "offset_v", "v_sym_per_irf2_v_per_a2", "d2v_dtheta_di_ohm_per_rad"):
        assert col in ps.columns, col
    assert "dtau_par_dv" not in pb.columns
    np.testing.assert_allclose(pb["dtau_par_dv_over_sin_hbar2e_per_kohm"], paper.per_bias["dtau_par_dv"], rtol=1e-6)


def test_cli_analyze(paper_run, tmp_path, capsys):
    from stfmr_lab.cli import main

    assert main(["analyze", str(paper_run), "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "torkance figure" in out
    assert (tmp_path / "r" / "fig3a_torkances.png").exists()


def test_fit_systematics_carried_beside_the_statistical_errors(paper):
    ps, pb, s = paper.per_spectrum, paper.per_bias, paper.summary
    for col in ("f0_hz_err_sys", "hwhm_hz_err_sys", "dtau_par_dv_err_sys", "dtau_perp_dv_err_sys", "runs_z"):
        assert col in ps.columns and np.all(np.isfinite(ps[col])) and np.all(ps[col].abs() < np.inf)
    assert np.all(ps["dtau_par_dv_err_sys"] >= 0) and np.all(pb["dtau_par_dv_err_sys"] >= 0)
    assert "dtau_perp_dv_err_sys" in pb.columns and np.isfinite(s["dtau_par_dv_at_0_err_sys"])
    # the clean twin: no phase offset found, no spikes
    assert abs(s["lockin_phase_deg"]) < 5 * s["lockin_phase_deg_err"] + 0.05
    assert ps["n_outliers"].sum() == 0


def test_lockin_phase_offset_is_found_and_removed(paper_run, paper, tmp_path):
    """The same run with the lock-in at a 15 deg phase offset (X, Y rotated, Vmix recorded
    from X as the procedure does): the phase is found and the torkances come out the same."""
    import math
    import shutil

    import h5py

    from stfmr_lab.physics import LOCKIN_RMS_FACTOR

    shifted = tmp_path / "phase.h5"
    shutil.copy(paper_run, shifted)
    phi = math.radians(15.0)
    with h5py.File(shifted, "r+") as h5:
        g = h5["entry/data"]
        x, y = g["lockin_x"][...], g["lockin_y"][...]
        g["lockin_x"][...] = x * math.cos(phi) - y * math.sin(phi)
        g["lockin_y"][...] = x * math.sin(phi) + y * math.cos(phi)
        g["vmix"][...] = g["lockin_x"][...] / LOCKIN_RMS_FACTOR
    res = analyze(shifted)
    assert res.summary["lockin_phase_deg"] == pytest.approx(15.0, abs=max(0.05, 5 * res.summary["lockin_phase_deg_err"]))
    assert res.summary["dtau_par_dv_at_0"] == pytest.approx(paper.summary["dtau_par_dv_at_0"], rel=2e-3)
    assert np.allclose(res.per_bias["dtau_perp_dv"], paper.per_bias["dtau_perp_dv"], atol=3 * paper.per_bias["dtau_perp_dv_err"].max())


def test_cli_analyze_twice_keeps_the_first_report(paper_run, tmp_path, capsys):
    from stfmr_lab.cli import main

    rep = tmp_path / "twice"
    assert main(["analyze", str(paper_run), "--report", str(rep)]) == 0
    first = {p.name: p.read_bytes() for p in rep.iterdir()}
    capsys.readouterr()
    assert main(["analyze", str(paper_run), "--report", str(rep)]) == 0
    out = capsys.readouterr().out
    assert f"writing the report to {rep}-1" in out  # said on screen
    assert (tmp_path / "twice-1" / "fig3a_torkances.png").exists()
    assert {p.name: p.read_bytes() for p in rep.iterdir()} == first  # the first report untouched


def test_steps_on_the_loaded_run_give_analyze_tables(paper_run, paper):
    """analyze() is its named steps in sequence: run by hand on the loaded run they give
    the same tables, and each step's results are named (a frozen ResonanceSpectrum per spectrum)."""
    import dataclasses

    from pandas.testing import assert_frame_equal

    from stfmr_lab.analysis import pipeline as pl

    run_data = read_run(paper_run)
    warnings = []
    cal = pl._calibrations(pl.iv_curves(run_data))
    assert cal.g_p_s > cal.g_ap_s and cal.tmr0 == pytest.approx(cal.g_p_s / cal.g_ap_s - 1.0)
    assert np.all(np.diff(cal.hard_fields_oe) > 0) and np.all((cal.thetas_rad > 0) & (cal.thetas_rad < np.pi))
    fitted = pl._fitted_spectra(run_data, cal, paper_run, warnings)
    assert len(fitted.spectra) == len(fitted.fits) == 63
    for s in fitted.spectra:
        assert s.irf2.shape == s.f_hz.shape == s.vmix_v.shape and np.all(np.diff(s.f_hz) >= 0)
        nearest = int(np.argmin(np.abs(cal.hard_fields_oe - s.field_oe)))
        assert s.hard_curve_index == nearest
        assert s.r_d_ohm == pytest.approx(float(cal.hard[nearest].at(s.bias_current_a)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fitted.spectra[0].r_d_ohm = 1.0
    scale = pl._irf2_scale(cal, fitted, 0.3, paper_run, warnings)
    assert scale.background_used.sum() == paper.summary["irf2_backgrounds_used"] > 0
    tork = pl._spectrum_torkances(cal, fitted, scale, paper.summary["ms_vol_emu"], pl.GAMMA, [])
    per_bias = pl._per_bias(tork.per_spectrum, cal, paper.summary["ms_vol_emu"])
    assert_frame_equal(tork.per_spectrum, paper.per_spectrum)
    assert_frame_equal(per_bias, paper.per_bias)


def test_calibrations_without_references_say_why(paper_run):
    """Without the easy-axis P/AP sweeps the calibration step names what is missing (analyze()
    then gives the lineshape-only analysis with that reason)."""
    from stfmr_lab.analysis import pipeline as pl

    curves = pl.iv_curves(read_run(paper_run))
    with pytest.raises(pl._LineshapeOnly, match="parallel/antiparallel"):
        pl._calibrations([c for c in curves if c.label == "hard"])
    with pytest.raises(pl._LineshapeOnly, match="hard-axis"):
        pl._calibrations([c for c in curves if c.label != "hard"])
