"""Run-config and station-file validation: one-line errors naming the key."""

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stfmr_lab.config import build_plan, load_run_config, validate_run_config
from stfmr_lab.schema import ConfigError
from stfmr_lab.station import validate_station
from tests.conftest import EXAMPLES
from tests.small_config import small_map


def test_paper_map_example_is_valid_and_big_enough():
    rc = load_run_config(EXAMPLES / "paper_map.yaml")
    maps = [s for s in rc.plan.spectra if s.kind == "resonance"]
    fields = {s.field_oe for s in maps}
    biases = {s.bias.value for s in maps}
    assert len(fields) >= 3 and len(biases) >= 11
    assert min(biases) == -0.5 and max(biases) == 0.5
    assert all(s.points >= 101 for s in maps)
    assert len(rc.plan.iv_sweeps) >= 5  # hard-axis at each field + P + AP


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.update(bogus=1), "bogus: unknown key"),
        (lambda c: c["lockin"].update(time_constant_s="fast"), "lockin.time_constant_s: expected a number"),
        (lambda c: c["lockin"].update(time_constant_s=float("nan")), "lockin.time_constant_s: must be finite"),
        (lambda c: c["lockin"].update(slope_db_oct=10), "slope_db_oct"),
        (lambda c: c.update(rf_power_dbm=5.0), "rf power 5 dBm above the station limit"),
        (lambda c: c["measurements"][1].update(fields_oe={"start": 1200, "stop": 800, "points": 3}), "stop (800) must be above start"),
        (lambda c: c["measurements"][1].update(fields_oe=[]), "fields_oe"),
        (lambda c: c["measurements"][1].update(fields_oe=[5000]), "beyond the station limit"),
        (lambda c: c["measurements"][1].update(type="mapp"), "measurements[1].type: 'mapp' is not one of"),
        (lambda c: c["measurements"][1].pop("frequency"), "measurements[1].frequency: required key is missing"),
        (lambda c: c["measurements"][1]["frequency"].update(points=1), "points: 1 is below the minimum 2"),
        (lambda c: c.update(measurements=[]), "measurements: expected a non-empty list"),
        (lambda c: c["device"].update(alpha=-1), "device.alpha"),
        (lambda c: c["device"].update(nonsense=1), "device.nonsense: unknown key"),
        (lambda c: c["simulation"].update(seed=-3), "simulation.seed"),
        (lambda c: c.update(station="/nonexistent/station.yaml"), "no such file"),
    ],
)
def test_bad_configs_say_what_and_where(mutate, message):
    cfg = copy.deepcopy(small_map())
    mutate(cfg)
    with pytest.raises(ConfigError) as e:
        validate_run_config(cfg)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_device_and_simulation_read_only_with_sim():
    cfg = small_map(device={"alpha": -1})
    with pytest.raises(ConfigError):
        validate_run_config(cfg, sim=True)
    validate_run_config(cfg, sim=False)  # real bench: the virtual device is ignored


def test_station_file_errors():
    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    bad = copy.deepcopy(st)
    bad["instruments"]["lockin"]["model"] = "sr999"
    with pytest.raises(ConfigError, match="station.instruments.lockin.model: 'sr999' is not one of sr830, sr860"):
        validate_station(bad)
    bad = copy.deepcopy(st)
    bad["instruments"]["dc"]["address"] = bad["instruments"]["lockin"]["address"]
    with pytest.raises(ConfigError, match="share one address"):
        validate_station(bad)
    bad = copy.deepcopy(st)
    bad["limits"]["compliance_v"] = 0.5
    with pytest.raises(ConfigError, match="compliance_v"):
        validate_station(bad)


def test_a_station_without_a_path_gets_the_two_number_model_and_runs(tmp_path):
    """Defaults that are mappings are checked like given ones: an omitted ``path:`` becomes the
    default loss model (it used to stay {} and fail only when the station opened)."""
    from stfmr_lab.runner import run
    from stfmr_lab.storage import read_run

    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    st.pop("path", None)
    assert validate_station(copy.deepcopy(st))["path"] == {"loss_db_0": 2.0, "loss_db_per_ghz": 0.5, "z0_ohm": 50.0}
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(st))
    cfg = small_map()
    cfg["station"] = str(tmp_path / "bench.yaml")
    d = read_run(run(cfg, sim=True, out=tmp_path / "r.h5"))
    assert d.status == "complete"


def test_alternating_bias_order():
    cfg = small_map()
    cfg["measurements"][1]["biases_v"] = {"start": -0.2, "stop": 0.2, "points": 5}
    plan = build_plan(validate_run_config(cfg).data)
    first_field = [s.bias.value for s in plan.spectra if s.field_oe == 900]
    assert first_field == pytest.approx([0.0, 0.1, -0.1, 0.2, -0.2])


# any YAML-ish value anywhere: the validator answers with ConfigError or a valid config, never a traceback
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(cfg, prefix=()):
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(cfg, list):
        for k, v in enumerate(cfg):
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))


_ALL_PATHS = list(_paths(small_map()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_ALL_PATHS), value=_values)
def test_validator_never_crashes(path, value):
    cfg = copy.deepcopy(small_map())
    node = cfg
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    try:
        validate_run_config(cfg)
    except ConfigError as e:
        assert str(e) and "\n" not in str(e)


@settings(max_examples=100, deadline=None)
@given(value=_values)
def test_validator_never_crashes_on_any_top_level(value):
    try:
        validate_run_config(value)
    except ConfigError:
        pass


def test_a_station_path_with_a_newline_is_named_on_one_line():
    cfg = copy.deepcopy(small_map())
    cfg["station"] = "\n"
    with pytest.raises(ConfigError) as e:
        validate_run_config(cfg)
    assert str(e.value) == "station file '\\n': no such file"


def test_form_number_lists_are_parsed_in_one_place():
    """The comma-separated field lists of the procedures' forms (procedures/sweeps.py, the GUI's
    limit check) go through ``schema.number_list``."""
    from stfmr_lab.procedures.sweeps import DvdiCalibrationProcedure, MapProcedure

    from stfmr_lab.schema import ConfigError, number_list

    assert number_list(" 800, 1000;1200 ,, ") == [800.0, 1000.0, 1200.0]
    assert number_list("") == []
    with pytest.raises(ConfigError, match="'1k' is not a number"):
        number_list("800, 1k")
    p = MapProcedure()
    p.fields_oe = "700; 900"
    assert [m["fields_oe"] for m in p.measurements()] == [[700.0, 900.0], [700.0, 900.0]]
    d = DvdiCalibrationProcedure()
    d.fields_oe = "1e3"
    assert d.measurements()[0]["fields_oe"] == [1000.0]
    with pytest.raises(ConfigError, match="'x' is not a number"):
        d.fields_oe = "x"
        d.measurements()


def test_optional_keys_share_one_rule():
    from stfmr_lab.schema import Num, optional

    spec = optional(Num(default=3.0, min=0.0))
    assert spec.default is None and spec.min == 0.0


def test_sweep_tally_counts_rows_under_their_sweep_and_explains_the_shortfall():
    from procedures.base import NothingDone
    from stfmr_lab.config import IVSweep, SweepTally, sweep_key

    plan = build_plan(validate_run_config(small_map()).data)
    iv, spectra = plan.iv_sweeps[0], plan.spectra
    tally = SweepTally(plan, NothingDone())
    assert sweep_key(iv) == ("iv", 0) and sweep_key(spectra[0]) == ("s", 0)  # the same index, two keys
    for k in range(10):  # the I-V branch stops at its voltage limit after 10 of 25 points
        assert tally.add_row("dvdi", {"sweep": 0, "bias_current": 1e-6 * k})
    assert not tally.add_row("spectra", {"index": 0})  # not a point of a sweep
    assert tally.finish(iv) == iv.points - 10
    for _ in range(spectra[0].points):
        tally.add_row("data", {"spectrum": 0})
    assert tally.finish(spectra[0]) == 0 and tally.missing(spectra[1]) == spectra[1].points
    note = tally.shortfall("aborted")
    assert f"{iv.points - 10} fewer in I-V sweeps" in note
    unmeasured = sum(item.points for item in plan.order if item is not iv and item is not spectra[0])
    assert f"{unmeasured} not measured (run aborted)" in note
    assert sum(isinstance(item, IVSweep) for item in plan.order) == len(plan.iv_sweeps) > 1
