"""The user's sample: sample: in the run config, /entry/sample/declared, and the Ms*Vol the analysis uses."""

import h5py
import numpy as np
import pytest

from stfmr_lab.analysis import analyze
from stfmr_lab.analysis.pipeline import PAPER_MS_VOL_EMU
from stfmr_lab.analysis.report import summary_text
from stfmr_lab.config import validate_run_config
from stfmr_lab.physics import TORKANCE_UNIT_J_PER_V, DeviceModel
from stfmr_lab.runner import run
from stfmr_lab.schema import ConfigError
from stfmr_lab.storage import read_run
from tests.small_config import small_map

OTHER_MS_VOL_EMU = 8.5e-15
# Ms = 1100 emu/cm3 over 7727 nm2 x 1.0 nm: the same moment, declared from its parts
OTHER_PARTS = {"ms_emu_cm3": 1100.0, "free_layer_area_nm2": 7727.2727, "free_layer_thickness_nm": 1.0}


def _two_field_map(**changes):
    cfg = small_map(**changes)
    cfg["measurements"][0]["fields_oe"] = [900, 1100]  # d2V/(dtheta dI) needs two hard-axis fields
    return cfg


@pytest.fixture(scope="module")
def other_run(tmp_path_factory):
    """A junction other than the paper's (smaller free layer), its Ms*Vol declared from its parts."""
    cfg = _two_field_map(
        sample={"name": "small junction", **OTHER_PARTS},
        device={"ms_vol_emu": OTHER_MS_VOL_EMU, "r_p_ohm": 2800.0},
    )
    return run(cfg, sim=True, out=tmp_path_factory.mktemp("other") / "other.h5")


@pytest.fixture(scope="module")
def other(other_run):
    return analyze(other_run)


@pytest.fixture(scope="module")
def undeclared_run(tmp_path_factory):
    return run(_two_field_map(), sim=True, out=tmp_path_factory.mktemp("undeclared") / "paper.h5")


def test_declared_sample_is_stored_apart_from_the_truth_with_units(other_run):
    with h5py.File(other_run, "r") as h5:
        decl = h5["entry/sample/declared"]
        assert decl["ms_emu_cm3"][()] == pytest.approx(1100.0)
        assert decl["ms_emu_cm3"].attrs["units"] == "emu/cm3"
        assert decl["free_layer_area_nm2"].attrs["units"] == "nm2"
        assert "ms_vol_emu" not in decl  # only what the user wrote
        assert h5["entry/sample"].attrs["ms_vol_emu"] == pytest.approx(OTHER_MS_VOL_EMU)  # the simulated truth
    d = read_run(other_run)
    assert d.sample["declared"]["name"] == "small junction"
    assert d.sample["name"] == "small junction"


def test_another_device_with_its_declared_ms_vol_gives_its_torkances(other, other_run):
    truth = DeviceModel(**{k: read_run(other_run).sample[k] for k in DeviceModel().params()})
    pb = other.per_bias
    assert np.allclose(pb["ms_vol_emu"], OTHER_MS_VOL_EMU, rtol=1e-3)
    assert other.summary["ms_vol_source"].startswith("declared")
    assert not other.summary["ms_vol_assumed"]
    scale = truth.torkances_at(np.pi / 2, 0.0)[0] / TORKANCE_UNIT_J_PER_V
    true = np.array([truth.torkances_at(np.pi / 2, v) for v in pb["bias_voltage_v"]]) / TORKANCE_UNIT_J_PER_V
    assert np.median(np.abs(pb["dtau_par_dv"] / true[:, 0] - 1.0)) < 0.05
    assert np.max(np.abs(pb["dtau_perp_dv"] - true[:, 1])) < 0.05 * scale
    assert "assumed" not in summary_text(other)


def test_ms_vol_given_to_the_analysis_overrides_the_file(other, other_run):
    paper = analyze(other_run, ms_vol_emu=PAPER_MS_VOL_EMU)
    # the torkances scale with Ms*Vol: the paper's value reads them 25 % too large
    ratio = paper.per_bias["dtau_par_dv"] / other.per_bias["dtau_par_dv"]
    np.testing.assert_allclose(ratio, PAPER_MS_VOL_EMU / OTHER_MS_VOL_EMU, rtol=1e-6)
    assert paper.summary["ms_vol_source"] == "given to the analysis"


def test_cli_ms_vol_option(other_run, tmp_path, capsys):
    from stfmr_lab.cli import main

    assert main(["analyze", str(other_run), "--report", str(tmp_path / "r"), "--ms-vol-emu", "1.06e-14"]) == 0
    assert "Ms*Vol used: 1.06e-14 emu (given to the analysis)" in (tmp_path / "r" / "summary.txt").read_text()
    assert main(["analyze", str(other_run), "--ms-vol-emu", "-3"]) == 2
    assert "positive" in capsys.readouterr().err


def test_no_ms_vol_anywhere_is_said_first(undeclared_run):
    a = analyze(undeclared_run)
    lines = summary_text(a).splitlines()
    assert lines[1].startswith("NOTE: no Ms*Vol declared") and "1.06e-14 emu was assumed" in lines[1]
    assert "hold for that value only" in lines[2]
    assert np.all(a.per_bias["ms_vol_emu"] == PAPER_MS_VOL_EMU)
    assert a.summary["ms_vol_assumed"]


@pytest.mark.parametrize(
    "sample, match",
    [
        ({"name": "x", "ms_vol_emu": -1e-15}, r"sample\.ms_vol_emu: .*below"),
        ({"name": "x", "ms_emu_cm3": 1100.0}, r"sample: Ms\*Vol from ms_emu_cm3 needs free_layer_area_nm2 and free_layer_thickness_nm"),
        ({"name": "x", "ms_vol_emu": 1e-14, **OTHER_PARTS}, r"sample\.ms_vol_emu: 1e-14 emu disagrees"),
        ({"name": "x", "volume": 3}, r"sample\.volume: unknown key"),
    ],
)
def test_bad_sample_is_refused_in_one_line(sample, match):
    with pytest.raises(ConfigError, match=match):
        validate_run_config(small_map(sample=sample))


def test_a_plain_name_stays_valid():
    rc = validate_run_config(small_map(sample="just a name"))
    assert rc.data["sample"] == "just a name"
    rc = validate_run_config(small_map(sample={"name": "n", "ms_vol_emu": 8.5e-15}))
    assert rc.data["sample"] == {"name": "n", "ms_vol_emu": 8.5e-15}
