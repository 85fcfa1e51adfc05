"""simulation: {realism: bench}: a twin with a real bench's imperfections, each settable by name."""

import dataclasses
import math

import numpy as np
import pytest
import yaml

from stfmr_lab.analysis import analyze
from stfmr_lab.analysis.report import write_report
from stfmr_lab.config import packaged_example, validate_run_config
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.schema import ConfigError
from stfmr_lab.sim.realism import PRESETS, Imperfections, Realism, realism_from_config
from stfmr_lab.storage import read_run
from tests.small_config import small_map

BENCH = PRESETS["bench"]


def test_presets_sit_inside_the_notes_ranges():
    assert PRESETS["clean"].active == []
    assert 0.5 <= BENCH.ripple_db <= 1.5 and 0.1e9 <= BENCH.ripple_period_hz <= 0.7e9
    assert 5 <= BENCH.phase_offset_deg <= 20
    assert 0.1 <= BENCH.second_mode_rel <= 0.3 and 1e9 <= BENCH.second_mode_offset_hz <= 3e9
    assert 10e6 <= BENCH.heating_hz_at_0p5v <= 50e6
    assert 0.05 <= BENCH.field_jitter_oe <= 0.5
    assert len(BENCH.active) == 8  # every imperfection of the note is on


def test_each_imperfection_is_set_by_name_over_the_preset():
    r = realism_from_config({"realism": "bench", "phase_offset_deg": 5.0, "ripple_db": 0.0})
    assert r.phase_offset_deg == 5.0 and r.ripple_db == 0.0
    assert r.second_mode_rel == BENCH.second_mode_rel  # the rest from the preset
    assert realism_from_config({"spike_uv": 3.0}) == dataclasses.replace(PRESETS["clean"], spike_uv=3.0)


@pytest.mark.parametrize("simulation, match", [
    ({"realism": "bench", "phase_offset": 12}, r"simulation\.phase_offset: unknown key"),
    ({"realism": "dirty"}, r"simulation\.realism: "),
    ({"realism": "bench", "ripple_db": 40}, r"simulation\.ripple_db: "),
])
def test_unknown_or_out_of_range_imperfections_are_refused(simulation, match):
    with pytest.raises(ConfigError, match=match):
        validate_run_config(small_map(simulation=simulation))


def test_cli_refuses_an_unknown_imperfection_with_exit_2(tmp_path, capsys):
    from stfmr_lab.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(small_map(simulation={"realism": "bench", "ripples_db": 1})))
    assert main(["run", str(cfg), "--sim", "--out", str(tmp_path / "x.h5")]) == 2
    assert "ripples_db: unknown key" in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()


def test_time_dependent_imperfections_have_their_documented_sizes():
    r = Realism(drift_uv_per_sqrt_s=0.5, flicker_rel=1.0, field_jitter_oe=0.2, spike_probability=0.02, spike_uv=50.0)
    white = 16e-9
    walks, flick, jit = [], [], []
    for seed in range(40):
        imp = Imperfections(r, np.random.default_rng(seed))
        t = np.arange(0.0, 400.0, 1.0)
        d = np.array([imp.drift_v(x) for x in t])
        walks.append(d[-1] - d[0])
        flick += [imp.flicker_v(x, white) for x in t[::20]]
        jit += [imp.jitter_oe(x) for x in t[::20]]
    # random walk: rms growth 0.5 uV/sqrt(s) x sqrt(399 s) = 10 uV
    assert np.std(walks) == pytest.approx(0.5e-6 * math.sqrt(399.0), rel=0.3)
    assert np.std(flick) == pytest.approx(white, rel=0.35)
    assert np.std(jit) == pytest.approx(0.2, rel=0.2)
    imp = Imperfections(r, np.random.default_rng(1))
    spikes = np.array([imp.spike_v() for _ in range(20000)])
    assert np.mean(spikes != 0) == pytest.approx(0.02, rel=0.15)
    assert set(np.round(np.abs(spikes[spikes != 0]) * 1e6, 6)) == {50.0}


def test_ripple_is_in_the_true_path_and_not_in_the_stations_calibration():
    model = DeviceModel.preset("paper")
    assert Realism().path(model) is model.path
    f = np.linspace(5e9, 12e9, 2001)
    ripple = BENCH.path(model).loss_db(f) - model.path_loss_db(f)
    assert np.max(ripple) == pytest.approx(BENCH.ripple_db, rel=0.01)
    assert np.min(ripple) == pytest.approx(-BENCH.ripple_db, rel=0.01)
    crossings = np.count_nonzero(np.diff(np.sign(ripple)) != 0)
    assert crossings == pytest.approx(2 * 7e9 / BENCH.ripple_period_hz, abs=2)


def test_heating_and_second_mode_reach_the_run_file(tmp_path):
    """Noise-free: each recorded point is the documented model (heating shift, second mode)."""
    cfg = small_map(
        simulation={"noise": False, "realism": "clean", "heating_hz_at_0p5v": 30e6, "second_mode_rel": 0.2},
        measurements=[{"type": "frequency_sweep", "field_oe": 1000, "bias_v": 0.5,
                       "frequency": {"start_hz": 6.0e9, "stop_hz": 12.0e9, "points": 61}}],
    )
    d = read_run(run(cfg, sim=True, out=tmp_path / "h.h5")).data
    m = DeviceModel.preset("paper")
    h, i = float(np.median(d["field"])), float(np.median(d["bias_current"]))
    f, p = d["frequency"], d["rf_power"][0]
    sp = m.spectrum(h, i)
    shift = 30e6 * (float(np.median(d["bias_voltage"])) / 0.5) ** 2
    expected = sp(f, p, shift) + 0.2 * sp.resonant(f, p, shift - 2.0e9)
    scale = np.max(np.abs(d["vmix"]))
    assert np.max(np.abs(d["vmix"] - expected)) < 2e-3 * scale
    f0 = sp.omega_m / (2 * np.pi)
    second = np.abs(d["vmix"] - sp(f, p, shift))  # what is not the (heated) main line
    assert abs(f[np.argmax(second)] - (f0 + 2.0e9)) < 0.3e9  # the second mode, 2 GHz above
    unheated = sp(f, p) + 0.2 * sp.resonant(f, p, -2.0e9)
    assert np.max(np.abs(d["vmix"] - unheated)) > 0.05 * scale  # without the 30 MHz shift the data do not fit


@pytest.fixture(scope="module")
def realistic_run(tmp_path_factory):
    """examples/realistic_map.yaml, small: two fields, five biases, 61 frequencies."""
    cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
    cfg["measurements"][0].update(fields_oe=[900, 1100], currents_a={"start": -2e-4, "stop": 2e-4, "points": 33})
    cfg["measurements"][1].update(fields_oe=[900, 1100], biases_v={"start": -0.5, "stop": 0.5, "points": 5})
    cfg["measurements"][1]["frequency"]["points"] = 61
    return run(cfg, sim=True, out=tmp_path_factory.mktemp("realistic") / "realistic.h5")


def test_realistic_map_records_its_imperfections(realistic_run):
    d = read_run(realistic_run)
    assert d.sample["realism_phase_offset_deg"] == BENCH.phase_offset_deg
    assert d.sample["declared"]["ms_vol_emu"] == d.sample["ms_vol_emu"] == 8.5e-15  # another junction, declared
    x, y = d.data["lockin_x"], d.data["lockin_y"]
    big = np.abs(x) > 0.2 * np.max(np.abs(x))
    # the lock-in phase offset puts tan(12 deg) of the signal in Y
    assert np.median(y[big] / x[big]) == pytest.approx(math.tan(math.radians(BENCH.phase_offset_deg)), rel=0.02)


def test_realistic_map_goes_through_the_whole_chain(realistic_run, tmp_path):
    a = analyze(realistic_run)
    assert a.summary["ms_vol_source"].startswith("declared")
    assert len(a.per_bias) == 10
    paths = write_report(a, tmp_path / "rep")
    assert {"torkance figure", "spectra figure", "per-bias table"} <= set(paths)
    # the bench's drift, 1/f noise and what is left of the ripple keep the one-line fits'
    # residuals far above the white noise (88x on this run)
    res = [v - model for f, v, model in a.spectra.values()]
    assert np.median([np.std(r) for r in res]) > 30 * DeviceModel().lockin_noise_v(0.03, 24)


def test_realistic_map_recovers_the_torkances_within_5_percent(realistic_run):
    a = analyze(realistic_run)
    truth = DeviceModel(**{k: read_run(realistic_run).sample[k] for k in DeviceModel().params()})
    pb = a.per_bias
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / 3.2911e-19
    scale = true[:, 0].mean()
    assert np.median(np.abs(pb["dtau_par_dv"] - true[:, 0])) < 0.05 * scale
    assert np.median(np.abs(pb["dtau_perp_dv"] - true[:, 1])) < 0.05 * scale
    # the stated errors (statistical and systematic) cover the truth
    for k, col in enumerate(("dtau_par_dv", "dtau_perp_dv")):
        err = np.hypot(pb[f"{col}_err"], pb[f"{col}_err_sys"])
        assert np.median(np.abs(pb[col] - true[:, k]) / err) < 2.0, col
    # the easy-axis reference measured the standing wave the station's calibration misses
    assert any("easy-axis reference" in w and "ripple beyond the path calibration" in w for w in a.warnings)


#: the pulls' rms over seeds must lie in this band: about 1, and outside it with errors 2x too
#: small (rms ~1.7) or 2x too large (~0.4)
PULL_RMS_BAND = (0.6, 1.45)


def test_realistic_map_errors_cover_the_truth_over_seeds(tmp_path):
    """The full realistic map (3 fields x 21 biases x 161 frequencies; the small one's 5 biases
    a field leave the shared tail of the second mode too loosely fixed, README) at three
    seeds: per bias, (estimate - truth) / stated error with the statistical and systematic
    errors combined; their rms over seeds and biases is about 1."""
    z = {"dtau_par_dv": [], "dtau_perp_dv": []}
    for seed in range(1, 4):
        cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
        cfg["simulation"]["seed"] = seed
        path = run(cfg, sim=True, out=tmp_path / f"seed{seed}.h5")
        a = analyze(path)
        pb = a.per_bias
        # the second mode 2 GHz above the line, outside the sweep: its tail found at two fields
        # of three at least
        assert sum("share the tail of a line above the sweep" in w for w in a.warnings) >= 2
        truth = DeviceModel(**{k: read_run(path).sample[k] for k in DeviceModel().params()})
        true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
        for k, col in enumerate(z):
            z[col].append((pb[col] - true[:, k]) / np.hypot(pb[f"{col}_err"], pb[f"{col}_err_sys"]))
    lo, hi = PULL_RMS_BAND
    for col, parts in z.items():
        pulls = np.concatenate(parts)
        assert pulls.size == 189
        rms = float(np.sqrt(np.mean(pulls**2)))
        assert lo < rms < hi, (col, rms)
        # the band tells the stated errors from ones 2x too small or too large
        assert 2 * rms > hi and rms / 2 < lo, (col, rms)


def test_a_coarse_iv_sweeps_derivative_bias_is_in_the_systematic_errors(tmp_path):
    """The clean twin, but the dV/dI sweeps coarse (33 currents over +-0.2 mA): the derivative
    window's curvature bias (0.3-0.5 % of d2V/(dtheta dI), 7x the statistical errors) is what
    the systematic error of d2V/(dtheta dI) (the model fitted to I(V) itself, beside) covers."""
    cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
    cfg["simulation"] = {"noise": True, "seed": 1, "realism": "clean"}
    cfg["measurements"][0].update(fields_oe=[900, 1100], currents_a={"start": -2e-4, "stop": 2e-4, "points": 33})
    cfg["measurements"][1].update(fields_oe=[900, 1100], biases_v={"start": -0.5, "stop": 0.5, "points": 5})
    cfg["measurements"][1]["frequency"]["points"] = 61
    del cfg["measurements"][2]
    path = run(cfg, sim=True, out=tmp_path / "coarse.h5")
    pb = analyze(path).per_bias
    truth = DeviceModel(**{k: read_run(path).sample[k] for k in DeviceModel().params()})
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    for k, col in enumerate(("dtau_par_dv", "dtau_perp_dv")):
        dev = pb[col] - true[:, k]
        assert np.sqrt(np.mean((dev / pb[f"{col}_err"]) ** 2)) > 4, col  # the statistical errors alone do not cover it
        assert np.sqrt(np.mean((dev / np.hypot(pb[f"{col}_err"], pb[f"{col}_err_sys"])) ** 2)) < 2, col


def test_the_demo_stays_clean_and_bench_with_every_imperfection_off_by_name_is_clean(tmp_path):
    demo = yaml.safe_load(packaged_example("paper_map.yaml").read_text())
    assert demo["simulation"].get("realism", "clean") == "clean"
    sweep = [{"type": "frequency_sweep", "field_oe": 1000, "bias_v": 0.3, "frequency": {"center": "kittel", "span_hz": 2e9, "points": 21}}]
    a = read_run(run(small_map(measurements=sweep), sim=True, out=tmp_path / "a.h5")).data
    off = {"ripple_db": 0, "phase_offset_deg": 0, "drift_uv_per_sqrt_s": 0, "flicker_rel": 0, "second_mode_rel": 0,
           "spike_probability": 0, "heating_hz_at_0p5v": 0, "field_jitter_oe": 0}
    b = read_run(run(small_map(measurements=sweep, simulation={"noise": True, "seed": 7, "realism": "bench", **off}),
                     sim=True, out=tmp_path / "b.h5")).data
    for col in ("vmix", "lockin_y", "field", "bias_voltage"):
        np.testing.assert_array_equal(a[col], b[col])  # the same random draws: nothing added
    c = read_run(run(small_map(measurements=sweep, simulation={"noise": True, "seed": 7, "realism": "bench",
                                                                **off, "ripple_db": 0.8}), sim=True, out=tmp_path / "c.h5")).data
    assert np.max(np.abs(c["vmix"] - a["vmix"])) > 0.05 * np.max(np.abs(a["vmix"]))  # one name back on shows


def test_the_easy_axis_reference_divides_the_ripple_out_to_a_few_tenths_of_a_percent(tmp_path):
    """Noise-free, the bench's +-0.8 dB standing wave (and no second mode): what the easy-axis
    reference leaves moves the torkances by < 0.6 % of the dtau_par scale at every bias (a
    3-point mean, a running median against spikes and a cubic trend took up to 8.7 % away at
    |V| = 0.5 V, where the background is 4x the line)."""
    cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
    cfg["simulation"].update(noise=False, second_mode_rel=0.0)
    cfg["measurements"][1].update(fields_oe=[800, 1200], biases_v={"start": -0.5, "stop": 0.5, "points": 5})
    path = run(cfg, sim=True, out=tmp_path / "ripple.h5")
    a = analyze(path)
    pb = a.per_bias
    truth = DeviceModel(**{k: read_run(path).sample[k] for k in DeviceModel().params()})
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    scale = np.mean(np.abs(true[:, 0]))
    assert any("ripple beyond the path calibration" in w for w in a.warnings)
    assert np.max(np.abs(pb["dtau_par_dv"] - true[:, 0])) < 0.006 * scale
    assert np.max(np.abs(pb["dtau_perp_dv"] - true[:, 1])) < 0.006 * scale


def test_a_second_mode_inside_a_wide_sweep_is_fitted_with_the_line(tmp_path):
    """The small realistic map swept over 5.6 GHz: the second mode (2 GHz above) is inside the
    sweep. Every fit has structured residuals (drift, 1/f noise), so ``fit_lines``' two-line
    fit replaces the one-line fit when its second line lowers chi^2 beyond chance (F-test):
    9 of 10 spectra, the torkances within 0.4 % (median; with the one-line fits, replaced
    only when ok, 3 of 10 and 4.0 %)."""
    cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
    cfg["simulation"]["seed"] = 1
    cfg["measurements"][0].update(fields_oe=[900, 1100])
    cfg["measurements"][1].update(fields_oe=[900, 1100], biases_v={"start": -0.5, "stop": 0.5, "points": 5})
    cfg["measurements"][1]["frequency"].update(span_hz=5.6e9, points=141)
    path = run(cfg, sim=True, out=tmp_path / "wide.h5")
    a = analyze(path)
    replaced = [int(w.split()[0]) for w in a.warnings if "hold more than one line" in w]
    assert replaced and replaced[0] >= 8
    pb = a.per_bias
    truth = DeviceModel(**{k: read_run(path).sample[k] for k in DeviceModel().params()})
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    assert np.median(np.abs(pb["dtau_par_dv"] - true[:, 0])) < 0.015 * np.mean(np.abs(true[:, 0]))


def test_a_run_without_dvdi_references_gets_the_same_spectrum_fits(tmp_path):
    """The realistic map without its dV/dI sweeps: the lineshape-only analysis divides the
    spectra by the easy-axis reference's shape and subtracts the second mode's shared tail as
    the full analysis does (one step, ``_fit_resonances``)."""
    cfg = yaml.safe_load(packaged_example("realistic_map.yaml").read_text())
    cfg["simulation"]["seed"] = 1
    cfg["measurements"] = cfg["measurements"][1:]  # no dvdi
    cfg["measurements"][0].update(biases_v={"start": -0.5, "stop": 0.5, "points": 11})
    path = run(cfg, sim=True, out=tmp_path / "nodvdi.h5")
    a = analyze(path)
    assert len(a.per_spectrum) == 33 and "dtau_par_dv" not in a.per_spectrum  # lineshape only
    assert any("easy-axis reference" in w and "ripple beyond the path calibration" in w for w in a.warnings)
    assert sum("share the tail of a line above the sweep" in w for w in a.warnings) >= 2
