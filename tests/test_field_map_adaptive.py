"""Adaptive field maps on the bilayer: each sweep through zero designed one polarity after
the other (config.adaptive_halves), one spectrum per sweep, read by the bilayer analysis."""


import numpy as np
import pytest

from stfmr_lab.analysis.lines import LOW_FIELD_OE
from stfmr_lab.config import validate_run_config
from stfmr_lab.runner import estimate_bench_time_s, run
from stfmr_lab.schema import ConfigError
from stfmr_lab.storage import read_run
from stfmr_lab.units import SAMPLE_REASONS
from tests.test_bilayer_run import small_bilayer

UNIFORM_POINTS = 161


def two_frequency_map(adaptive=None, **fields):
    """The small bilayer's station, 2 frequencies, DC current 0, -1600..1600 Oe."""
    cfg = small_bilayer(simulation={"noise": True, "seed": 3})
    m = cfg["measurements"][0]
    m.update(frequencies_hz=[6e9, 9e9], dc_currents_a=[0.0],
             fields_oe=fields or {"start": -1600, "stop": 1600, "points": UNIFORM_POINTS})
    if adaptive is not None:
        m["adaptive"] = adaptive
    return cfg


ADAPTIVE = {"max_points": 80, "match_uniform_points": UNIFORM_POINTS}


def test_field_map_takes_adaptive_and_designs_each_polarity_on_its_own():
    rc = validate_run_config(two_frequency_map(ADAPTIVE))
    assert rc.plan.points == 2 * 80
    for item in rc.plan.spectra:
        assert item.adaptive["max_points"] == 80
        (neg, a_neg), (pos, a_pos) = item.designs
        assert neg.max() < -LOW_FIELD_OE and pos.min() > LOW_FIELD_OE
        assert neg.min() == -1600 and pos.max() == 1600 and neg.size == pos.size >= 190
        assert a_neg["max_points"] + a_pos["max_points"] == 80 and a_neg["max_points"] == 40
        assert a_neg["match_uniform_points"] + a_pos["match_uniform_points"] == UNIFORM_POINTS
    # one polarity only: one design over the whole window
    (only,) = validate_run_config(two_frequency_map(ADAPTIVE, start=100, stop=1600, points=151)).plan.spectra[0].designs
    assert only[0].min() == 100 and only[1]["max_points"] == 80


@pytest.mark.parametrize(
    "adaptive, fields, match",
    [
        ({"max_points": 80, "match_uniform_points": 161, "target_rel_err": 1e-3}, {}, r"^measurements\[0\]\.adaptive: give exactly one"),
        ({"max_points": 30, "match_uniform_points": 161}, {}, r"^measurements\[0\]\.adaptive\.max_points: 30 leaves a polarity 15 points"),
        ({"max_points": 80, "match_uniform_points": 161, "coarse": 5}, {}, r"^measurements\[0\]\.adaptive.*coarse"),
        ({"max_points": 80, "match_uniform_points": 161, "batch": 0}, {}, r"^measurements\[0\]\.adaptive\.batch"),
        (ADAPTIVE, {"start": -30, "stop": 1600, "points": 161}, r"^measurements\[0\]\.fields_oe: fewer than adaptive\.coarse_points .* beyond -20 Oe"),
    ],
)
def test_bad_adaptive_blocks_on_a_field_map_are_one_line_naming_the_key(adaptive, fields, match):
    with pytest.raises(ConfigError, match=match) as e:
        validate_run_config(two_frequency_map(adaptive, **fields))
    assert "\n" not in str(e.value)


def test_swept_acquisition_on_a_field_map_stays_refused():
    cfg = two_frequency_map(ADAPTIVE)
    cfg["measurements"][0]["acquisition"] = "swept"
    with pytest.raises(ConfigError, match=r"measurements\[0\].*acquisition"):
        validate_run_config(cfg)


@pytest.fixture(scope="module")
def adaptive_map(tmp_path_factory):
    return run(two_frequency_map(ADAPTIVE), sim=True, out=tmp_path_factory.mktemp("fmadapt") / "a.h5")


def test_adaptive_field_map_places_points_on_both_lines_and_recovers_the_efficiency(adaptive_map):
    from stfmr_lab.analysis import analyze

    r = read_run(adaptive_map)
    assert r.attrs["status"] == "complete"
    d = r.data
    assert sorted(np.unique(d["spectrum"])) == [0, 1]  # one spectrum per sweep
    assert d["vmix"].size < 2 * UNIFORM_POINTS
    a = analyze(adaptive_map)
    s = a.summary
    assert s["device_type"] == "bilayer" and s["lines_fitted"] == s["lines_total"] == 4
    assert s["xi_fmr"] == pytest.approx(0.07, rel=0.05) and s["alpha"] == pytest.approx(0.012, rel=0.05)
    grid = np.linspace(-1600, 1600, UNIFORM_POINTS)
    for k in (0, 1):
        m = d["spectrum"] == k
        h, reasons = d["field"][m], d["sample_reason"][m]
        assert np.count_nonzero(np.diff(np.sign(h)) != 0) == 1 and h[0] < 0 < h[-1]  # crosses zero once
        assert np.all(np.abs(h) > LOW_FIELD_OE - 2)  # nothing below the analysis' floor (gaussmeter reading)
        assert set(reasons.tolist()) <= {SAMPLE_REASONS[x] for x in ("coarse", "information", "margin", "seeded")}
        assert SAMPLE_REASONS["information"] in reasons
        lines = a.per_spectrum[a.per_spectrum["spectrum"] == k]
        assert sorted(lines["polarity"]) == [-1, 1]
        for _, ln in lines.iterrows():
            def near(x, ln=ln):
                return np.mean(np.abs(x - ln["h0_oe"]) < 3 * ln["dh_oe"])
            # both lines get more than the uniform grid's share of points
            assert near(h) > 2.5 * near(grid)


def test_the_bench_time_estimate_counts_an_adaptive_field_map(adaptive_map):
    adaptive = validate_run_config(two_frequency_map(ADAPTIVE))
    uniform = validate_run_config(two_frequency_map())
    est = estimate_bench_time_s(adaptive)
    assert est < estimate_bench_time_s(uniform)
    more = validate_run_config(two_frequency_map({**ADAPTIVE, "max_points": 120}))
    assert estimate_bench_time_s(more) > est
    # the simulated bench's virtual clock: the estimate within a factor 1.5 of the run's
    assert read_run(adaptive_map).attrs["bench_time_s"] / 1.5 < est < 1.5 * read_run(adaptive_map).attrs["bench_time_s"]


def test_a_polarity_with_fewer_candidates_than_its_share_ends_when_each_is_measured(tmp_path):
    """fields_oe as a list of 20 fields a polarity, max_points 120: each polarity's share (60)
    is more than its candidates, and a field map measures each field once. The sweep ends
    when every candidate is measured (it used to ask its design for more forever, deaf to a
    stop, with the RF on)."""
    import threading

    fields = np.concatenate([np.linspace(-1300, -700, 20), np.linspace(700, 1300, 20)])
    cfg = two_frequency_map({"max_points": 120, "match_uniform_points": 120})
    cfg["measurements"][0].update(fields_oe=fields.tolist(), frequencies_hz=[9e9])
    stop, done = threading.Event(), {}
    worker = threading.Thread(
        target=lambda: done.setdefault("path", run(cfg, sim=True, out=tmp_path / "few.h5", stop_event=stop)), daemon=True
    )
    worker.start()
    worker.join(timeout=120)
    stop.set()  # (a sweep that never ends would not take it either)
    assert not worker.is_alive() and "path" in done
    d = read_run(done["path"])
    assert d.status == "complete" and d.attrs["safe_state"] == "verified"
    h = np.sort(np.asarray(d.data["field"]))
    assert h.size == fields.size and np.allclose(h, fields, atol=1.0)  # each candidate once (as measured), both polarities
