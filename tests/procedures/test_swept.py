"""Swept acquisition: read every dwell through the lock-in filter; the analysis models it."""

import numpy as np
import pytest

from stfmr_lab import run
from stfmr_lab.analysis.fit import fit_spectrum
from stfmr_lab.analysis.swept import fit_swept
from stfmr_lab.config import validate_run_config
from stfmr_lab.runner import estimate_bench_time_s
from stfmr_lab.schema import ConfigError
from stfmr_lab.storage import read_run
from tests.small_config import small_map

TAU = 0.03


def _sweep_cfg(**sweep):
    m = {
        "type": "frequency_sweep", "field_oe": 1000, "bias_a": 0.0,
        "frequency": {"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": 101}, **sweep,
    }
    return small_map(measurements=[m], lockin={"time_constant_s": TAU, "slope_db_oct": 24, "sensitivity_v": 0.002})


def _spectrum(path, k=0):
    d = read_run(path).data
    m = d["spectrum"] == k
    return d["frequency"][m], d["vmix"][m], d["set_time"][m], d["time"][m]


def test_swept_run_is_fitted_without_lag_in_a_fraction_of_the_bench_time(tmp_path):
    stepped = run(_sweep_cfg(), sim=True, out=tmp_path / "stepped.h5")
    swept = run(_sweep_cfg(acquisition="swept"), sim=True, out=tmp_path / "swept.h5")
    f, v, ts, tr = _spectrum(swept)
    steps = np.diff(ts)[1:]  # a step every dwell (+ bus time, more after each read of the lock-in's buffer)
    assert np.all(steps > 1.5 * TAU) and np.all(np.abs(steps - np.median(steps)) < 0.025)
    assert np.all(tr > ts)
    fs = fit_swept(f, v, ts, tr, TAU, 4)
    ref = fit_spectrum(*_spectrum(stepped)[:2], slope=True)
    naive = fit_spectrum(f, v, slope=True)
    for k in ("f0_hz", "hwhm_hz", "v_sym", "v_asym"):
        err = np.hypot(fs.stderr[k], ref.stderr[k])
        assert abs(getattr(fs, k) - getattr(ref, k)) < 4 * err, k
    assert abs(naive.f0_hz - ref.f0_hz) > 20 * fs.stderr["f0_hz"]  # the lag the model removes
    t_swept, t_stepped = read_run(swept).data["time"].max(), read_run(stepped).data["time"].max()
    assert t_swept < 0.25 * t_stepped


def test_swept_settings_are_recorded_and_estimated(tmp_path):
    cfg = _sweep_cfg(acquisition="swept", dwell_s=0.06, up_down=True)
    rc = validate_run_config(cfg, sim=True)
    (item,) = rc.plan.spectra
    assert (item.acquisition, item.dwell_s, item.up_down, item.points) == ("swept", 0.06, True, 202)
    path = run(cfg, sim=True, out=tmp_path / "ud.h5")
    d = read_run(path)
    f = d.data["frequency"]
    assert f.size == 202 and f[0] == f[-1] and f[100] == f[101] and f[50] < f[150]
    import h5py

    with h5py.File(path, "r") as h:
        sp = h["entry/spectra"]
        assert int(sp["acquisition"][0]) == 1 and float(sp["dwell"][0]) == pytest.approx(0.06)
    # the plan's bench time agrees with the run's within a tenth
    assert estimate_bench_time_s(rc) == pytest.approx(d.data["time"].max(), rel=0.1)
    fs = fit_swept(*_spectrum(path), TAU, 4)
    assert fs.ok


@pytest.mark.parametrize(
    ("sweep", "match"),
    [
        ({"acquisition": "swept", "dwell_s": 0.01}, r"measurements\[0\]\.dwell_s: .*smallest allowed is 0\.015 s"),
        ({"dwell_s": 0.05}, r"measurements\[0\]\.dwell_s: only with acquisition: swept"),
        ({"acquisition": "sweep"}, r"acquisition"),
    ],
)
def test_bad_swept_settings_are_refused_in_one_line(sweep, match):
    with pytest.raises(ConfigError, match=match) as e:
        validate_run_config(_sweep_cfg(**sweep), sim=True)
    assert "\n" not in str(e.value)


def test_analyze_fits_a_swept_map_through_the_filter(tmp_path):
    """The same small map stepped and swept: analyze() gives the same torkances within their
    errors (the swept spectra's fits see the filter; fitted as settled they would not)."""
    from stfmr_lab.analysis import analyze

    cfg = small_map()
    cfg["measurements"][0]["fields_oe"] = [900, 1100]  # d2V/(dtheta dI) needs two fields
    stepped = analyze(run(cfg, sim=True, out=tmp_path / "stepped.h5"))
    cfg["measurements"][1]["acquisition"] = "swept"
    swept_path = run(cfg, sim=True, out=tmp_path / "swept.h5")
    swept = analyze(swept_path)
    a, b = stepped.per_bias, swept.per_bias
    assert len(a) == len(b) == 6
    for col in ("dtau_par_dv", "dtau_perp_dv"):
        err = np.hypot(a[f"{col}_err"], b[f"{col}_err"])
        assert np.all(np.abs(a[col] - b[col]) < 4 * err), col
    fa, fb = stepped.per_spectrum, swept.per_spectrum
    assert np.all(np.abs(fa["f0_hz"].to_numpy() - fb["f0_hz"].to_numpy()) < 4 * np.hypot(fa["f0_hz_err"], fb["f0_hz_err"]))


def test_a_swept_field_sweep_says_its_lag_is_not_modelled(tmp_path):
    """The magnet's closed loop moves the field over its settling time (longer than a dwell):
    analyze() fits such a sweep as settled and says so."""
    from stfmr_lab.analysis import analyze

    m = {"type": "field_sweep", "frequency_hz": 8.6e9, "bias_a": 0.0, "acquisition": "swept",
         "fields_oe": {"start": 850, "stop": 1150, "points": 61}}
    a = analyze(run(small_map(measurements=[m]), sim=True, out=tmp_path / "swept.h5"))
    assert len(a.field_sweeps) == 1
    assert any("swept, fitted as settled" in w for w in a.warnings)


def test_resume_keeps_a_swept_sweep_as_it_stopped(tmp_path):
    """A swept sweep's readings carry the filter's memory of the sweep before them: a resumed
    run does not continue the one it was in (the broken history could not be modelled) and
    measures the sweeps after it; so a crash with buffered readings unread costs the same."""
    import threading

    from stfmr_lab.runner import RunAborted
    from stfmr_lab.stream import RunStream

    m = {"type": "map", "fields_oe": [1000], "biases_v": [0.0, 0.2],
         "frequency": {"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": 61}, "acquisition": "swept"}
    cfg = small_map(measurements=[m], lockin={"time_constant_s": TAU, "slope_db_oct": 24, "sensitivity_v": 0.002})
    stop = threading.Event()

    class Stopper:
        def row(self, table, row):
            if table == "data" and row["spectrum"] == 0 and row["frequency_hz"] > 8.0e9:
                stop.set()  # part-way into the first sweep

    stream = RunStream()
    stream.subscribe(Stopper())
    with pytest.raises(RunAborted) as e:
        run(cfg, sim=True, out=tmp_path / "r.h5", stream=stream, stop_event=stop)
    n0 = int(np.count_nonzero(read_run(e.value.path).data["spectrum"] == 0))
    assert 0 < n0 < 61
    run(cfg, sim=True, resume=e.value.path)
    d = read_run(e.value.path)
    assert d.status == "complete"
    assert int(np.count_nonzero(d.data["spectrum"] == 0)) == n0  # not continued
    assert int(np.count_nonzero(d.data["spectrum"] == 1)) == 61  # the next sweep measured in full


# ------------------------------------------------------------------ swept + adaptive
_SWEPT_ADAPTIVE = {"coarse_points": 41, "batch": 6, "max_points": 110, "match_uniform_points": 101}


def test_swept_adaptive_is_accepted_on_frequency_sweeps_and_maps_and_refused_on_field_sweeps():
    rc = validate_run_config(_sweep_cfg(acquisition="swept", up_down=True, adaptive=dict(_SWEPT_ADAPTIVE)), sim=True)
    (item,) = rc.plan.spectra
    assert (item.acquisition, item.up_down, item.adaptive["coarse_points"]) == ("swept", True, 41)
    # the estimate's bound: the pass (up and down) a dwell per reading, the rest of max_points settled
    stepped = validate_run_config(_sweep_cfg(adaptive=dict(_SWEPT_ADAPTIVE)), sim=True)
    saved = estimate_bench_time_s(stepped) - estimate_bench_time_s(rc)
    assert saved == pytest.approx(82 * (15 - 1.5) * TAU, rel=0.002)
    cfg = small_map()
    cfg["measurements"][1].update(acquisition="swept", adaptive=dict(_SWEPT_ADAPTIVE),
                                  frequency={"center": "kittel", "span_hz": 4.0e9, "points": 401})
    rc = validate_run_config(cfg, sim=True)
    assert all(it.acquisition == "swept" and it.adaptive for it in rc.plan.spectra)
    field = {"type": "field_sweep", "frequency_hz": 8.6e9, "bias_a": 0.0, "acquisition": "swept",
             "fields_oe": {"start": 850, "stop": 1150, "points": 61}, "adaptive": {"match_uniform_points": 61}}
    with pytest.raises(ConfigError, match=r"measurements\[0\]\.acquisition: swept cannot be combined with adaptive on a field sweep") as e:
        validate_run_config(small_map(measurements=[field]), sim=True)
    assert "\n" not in str(e.value)


def test_swept_adaptive_sweep_reads_a_swept_pass_then_settled_points_and_its_fit_recovers_the_truth(tmp_path):
    """A swept coarse pass (a step every dwell, read through the filter), then settled points
    where the design wants them: one time record, fitted through the filter by analyze();
    the line's centre and width within their errors of the virtual device's."""
    from stfmr_lab.analysis import analyze
    from stfmr_lab.physics import DeviceModel
    from stfmr_lab.units import SAMPLE_REASONS

    cfg = _sweep_cfg(acquisition="swept", adaptive=dict(_SWEPT_ADAPTIVE),
                     frequency={"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": 401})
    path = run(cfg, sim=True, out=tmp_path / "sa.h5")
    d = read_run(path)
    D = d.data
    assert d.status == "complete"
    assert int(d.tables["spectra"]["acquisition"][0]) == 1 and int(d.tables["spectra"]["adaptive"][0]) == 1
    reason = D["sample_reason"]
    swept = reason == SAMPLE_REASONS["swept"]
    assert np.count_nonzero(swept) == 41 and np.all(swept[:41])  # the pass first
    assert np.count_nonzero(reason == SAMPLE_REASONS["information"]) > 0
    assert D["vmix"].size <= _SWEPT_ADAPTIVE["max_points"]
    assert np.all(np.diff(D["frequency"][:41]) > 0)  # walked in order
    wait = D["time"] - D["set_time"]
    assert np.all((wait[1:41] >= 1.5 * TAU) & (wait[1:41] < 1.5 * TAU + 0.01))  # read a dwell (+ bus time) after the step
    assert np.all(wait[41:] >= 15 * TAU * 0.999)  # the settled ones: settle_time_constants (15) at least
    a = analyze(path)
    (row,) = a.per_spectrum.itertuples()
    assert row.fit_ok
    truth = DeviceModel(**{k: d.sample[k] for k in DeviceModel().params()})
    f0, hwhm = truth.resonance(float(np.median(D["field"])), float(np.median(D["bias_current"])))
    assert abs(row.f0_hz - f0) < 4 * row.f0_hz_err
    assert abs(row.hwhm_hz - hwhm) < 4 * row.hwhm_hz_err
    # the same points fitted as if every reading had settled are pulled by the swept pass's lag
    naive = fit_spectrum(D["frequency"], D["vmix"], slope=True)
    assert abs(naive.f0_hz - f0) > 4 * row.f0_hz_err


def test_analyze_a_swept_adaptive_map_gives_the_stepped_adaptive_torkances(tmp_path):
    from stfmr_lab.analysis import analyze

    cfg = small_map()
    cfg["measurements"][0].update(fields_oe=[900, 1100], currents_a={"start": -2.0e-4, "stop": 2.0e-4, "points": 41},
                                  max_voltage_v=0.5)
    cfg["measurements"][1].update(frequency={"center": "kittel", "span_hz": 4.0e9, "points": 401},
                                  adaptive={"coarse_points": 31, "batch": 6, "max_points": 80, "match_uniform_points": 61})
    stepped = analyze(run(cfg, sim=True, out=tmp_path / "stepped.h5"))
    cfg["measurements"][1]["acquisition"] = "swept"
    path = run(cfg, sim=True, out=tmp_path / "swept.h5")
    swept = analyze(path)
    assert swept.per_spectrum["fit_ok"].all()
    a, b = stepped.per_bias, swept.per_bias
    assert len(a) == len(b) == 6
    for col in ("dtau_par_dv", "dtau_perp_dv"):
        err = np.hypot(a[f"{col}_err"], b[f"{col}_err"])
        assert np.all(np.abs(a[col] - b[col]) < 4 * err), col
    # the swept record costs less bench time than the stepped adaptive map
    t_a = read_run(tmp_path / "stepped.h5").data["time"].max()
    assert read_run(path).data["time"].max() < t_a


def test_resume_measures_a_swept_sweep_stopped_before_its_first_point_and_notes_a_cut_one(tmp_path):
    """A stop between a sweep's start (its spectra row written: field, bias, RF, the settling
    wait) and its first point leaves it with no reading: a resumed run measures it in full,
    not "as it stopped". A swept sweep stopped part-way is kept as it is, and the points note
    says why its points are missing."""
    import threading

    from stfmr_lab.runner import RunAborted
    from stfmr_lab.stream import RunStream

    m = {"type": "map", "fields_oe": [1000], "biases_v": [0.0, 0.2, -0.2],
         "frequency": {"start_hz": 6.0e9, "stop_hz": 11.0e9, "points": 61}, "acquisition": "swept"}
    cfg = small_map(measurements=[m], lockin={"time_constant_s": TAU, "slope_db_oct": 24, "sensitivity_v": 0.002})

    def stopped(when):
        stop = threading.Event()

        class Stopper:
            def row(self, table, row):
                if when(table, row):
                    stop.set()

        stream = RunStream()
        stream.subscribe(Stopper())
        return stream, stop

    # the first run stops part-way into sweep 0
    stream, stop = stopped(lambda table, row: table == "data" and row["spectrum"] == 0 and row["frequency_hz"] > 8.0e9)
    with pytest.raises(RunAborted) as e:
        run(cfg, sim=True, out=tmp_path / "r.h5", stream=stream, stop_event=stop)
    n0 = int(np.count_nonzero(read_run(e.value.path).data["spectrum"] == 0))
    assert 0 < n0 < 61
    # the first resume stops as sweep 1 starts: its spectra row written, no point yet
    stream, stop = stopped(lambda table, row: table == "spectra" and row["index"] == 1)
    with pytest.raises(RunAborted):
        run(cfg, sim=True, resume=e.value.path, stream=stream, stop_event=stop)
    d = read_run(e.value.path)
    assert 1 in d.tables["spectra"]["index"].tolist() and np.count_nonzero(d.data["spectrum"] == 1) == 0
    run(cfg, sim=True, resume=e.value.path)
    d = read_run(e.value.path)
    assert d.status == "complete"
    counts = [int(np.count_nonzero(d.data["spectrum"] == k)) for k in range(3)]
    assert counts == [n0, 61, 61]  # sweep 1 measured in full, sweep 0 kept as it stopped
    assert d.tables["spectra"]["index"].tolist().count(1) == 1  # its spectra row once
    assert f"{61 - n0} fewer in swept sweeps" in d.attrs["points_note"]
