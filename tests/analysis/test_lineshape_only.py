"""A run without the dV/dI calibrations: lineshape fits, their table and figures, what was skipped."""

import numpy as np
import pandas as pd
import pytest

from stfmr_lab.analysis import analyze
from stfmr_lab.analysis.report import analyze_to_report, csv_name
from stfmr_lab.physics import DeviceModel
from stfmr_lab.runner import run
from tests.small_config import small_map


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory):
    cfg = small_map()
    cfg["measurements"] = cfg["measurements"][1:]  # the map only: no dV/dI sweep at all
    return run(cfg, sim=True, out=tmp_path_factory.mktemp("bare") / "bare.h5")


def test_lineshape_fits_without_references(bare_run):
    a = analyze(bare_run)
    ps = a.per_spectrum
    assert len(ps) == 6 and ps["fit_ok"].all()
    truth = DeviceModel.preset("paper")
    for r in ps.itertuples():
        f0, hwhm = truth.resonance(r.field_oe, r.bias_current_a)
        assert r.f0_hz == pytest.approx(float(f0), abs=max(5 * r.f0_hz_err, 2e6))
        assert r.hwhm_hz == pytest.approx(float(hwhm), rel=0.03)
    assert a.per_bias.empty and {"dtau_par_dv", "dtau_perp_dv", "field_oe"} <= set(a.per_bias.columns)
    assert any("parallel/antiparallel" in s for s in a.summary["skipped"])
    assert a.summary["meff_4pi_oe"] == pytest.approx(truth.meff_4pi_oe, rel=0.05)  # two fields: Kittel still fits


def test_cli_says_what_it_skipped_and_exits_0(bare_run, tmp_path, capsys):
    from stfmr_lab.cli import main

    assert main(["analyze", str(bare_run), "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "spectra figure" in out and "torkance figure" not in out
    text = (tmp_path / "r" / "summary.txt").read_text()
    assert "skipped: torkances" in text and "(lineshape fits only)" in text
    ps = pd.read_csv(tmp_path / "r" / "per_spectrum.csv")
    assert {"f0_hz", "hwhm_hz_err", "v_sym_v", "v_asym_v", "offset_v"} <= set(ps.columns)
    assert (tmp_path / "r" / "fig2b_spectra.png").stat().st_size > 10_000
    assert (tmp_path / "r" / "kittel.png").exists()
    assert not (tmp_path / "r" / "per_bias.csv").exists()


def test_one_hard_axis_field_gives_lineshapes_too(tmp_path):
    path = run(small_map(), sim=True, out=tmp_path / "one_field.h5")  # references, but one hard-axis field
    paths = analyze_to_report(path, tmp_path / "rep")
    assert "torkance figure" not in paths
    assert "two fields at least" in paths["summary"].read_text()


@pytest.mark.parametrize("name, header", [
    ("dtau_par_dv", "dtau_par_dv_over_sin_hbar2e_per_kohm"),
    ("dtau_perp_dv_err", "dtau_perp_dv_over_sin_hbar2e_per_kohm_err"),
    ("dtau_perp_dv_fit_err", "dtau_perp_dv_fit_over_sin_hbar2e_per_kohm_err"),
    ("v_sym", "v_sym_v"), ("offset_err", "offset_v_err"), ("v_asym_per_irf2", "v_asym_per_irf2_v_per_a2"),
    ("field_oe", "field_oe"), ("alpha_eff", "alpha_eff"),
])
def test_csv_names(name, header):
    assert csv_name(name) == header
    assert np.unique([csv_name(n) for n in ("v_sym", "v_asym", "offset")]).size == 3


def test_field_sweeps_alone_are_fitted_and_tabled(tmp_path):
    cfg = small_map(measurements=[{"type": "field_sweep", "frequency_hz": 8.6e9, "bias_v": 0.0,
                                   "fields_oe": {"start": 800, "stop": 1200, "points": 81}}])
    path = run(cfg, sim=True, out=tmp_path / "fs.h5")
    a = analyze(path)
    assert a.per_spectrum.empty and len(a.field_sweeps) == 1 and a.field_sweeps["fit_ok"].all()
    # the line sits where the Kittel resonance is 8.6 GHz
    truth = DeviceModel.preset("paper")
    h = np.linspace(900, 1100, 2001)
    h_res = h[np.argmin(np.abs(truth.resonance(h, 0.0)[0] - 8.6e9))]
    assert a.field_sweeps["h0_oe"][0] == pytest.approx(h_res, abs=3.0)
    paths = analyze_to_report(path, tmp_path / "rep")
    fs = pd.read_csv(paths["field-sweep table"])
    assert {"h0_oe", "dh_oe", "v_sym_v", "v_asym_v", "offset_v"} <= set(fs.columns)
    assert "field sweeps fitted: 1 of 1" in paths["summary"].read_text()
