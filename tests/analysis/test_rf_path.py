"""The analysis divides each spectrum by exactly the path calibration the run recorded (a Touchstone table too)."""

import numpy as np
import pytest

from stfmr_lab.analysis import analyze
from stfmr_lab.runner import run
from stfmr_lab.storage import read_run
from tests.instruments.test_path import _s2p, yaml_station
from tests.small_config import small_map


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("table")
    # a path with 0.6 dB of structure the two-number model cannot follow
    f = np.linspace(1e9, 14e9, 261)
    loss = 2.0 + 0.4 * f / 1e9 + 0.6 * np.sin(2 * np.pi * f / 0.9e9)
    s2p, _, _ = _s2p(tmp, f_hz=f, loss_db=loss)
    cfg = small_map(station=str(yaml_station(tmp, {"touchstone": str(s2p)})), device={"touchstone": str(s2p)})
    cfg["measurements"][0]["fields_oe"] = [900, 1100]
    return run(cfg, sim=True, out=tmp / "table.h5"), f, loss


def test_the_table_is_in_the_run_file(table_run):
    path, f, loss = table_run
    settings = read_run(path).instruments["path"]["settings"]
    np.testing.assert_allclose(settings["table_freq_hz"], f)
    np.testing.assert_allclose(settings["table_loss_db"], loss, atol=1e-6)


def test_the_analysis_uses_the_stored_table(table_run):
    a = analyze(table_run[0])
    assert not any("flat" in w for w in a.warnings)
    assert a.per_spectrum["fit_ok"].all()
    # the backgrounds agree with the path's I_RF^2 (k = 1), and the fits leave only the noise
    assert a.summary["irf2_scale_vs_path"] == pytest.approx(1.0, abs=0.02)
    res = np.array([np.std(v - model) for f, v, model in a.spectra.values()])
    assert np.max(res) < 1e-6


def test_an_older_file_without_the_table_says_it_divides_by_a_flat_path(table_run, tmp_path):
    import shutil

    import h5py

    old = tmp_path / "old.h5"
    shutil.copy(table_run[0], old)
    with h5py.File(old, "r+") as h5:  # what run files kept before: the table's size only
        settings = h5["entry/instrument/path/settings"].attrs
        del settings["table_freq_hz"], settings["table_loss_db"]
    a = analyze(old)
    assert any("S21 table's size only" in w and "flat" in w for w in a.warnings)
    new = analyze(table_run[0])
    # the flat path leaves the table's 0.6 dB structure in the residuals
    worst = max(np.std(v - m) for f, v, m in a.spectra.values())
    assert worst > 20 * max(np.std(v - m) for f, v, m in new.spectra.values())
