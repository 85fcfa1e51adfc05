"""The RF path calibration (instruments/path.py): two-number model and Touchstone S21."""

import numpy as np
import pytest
import skrf
from stfmr_lab.instruments.path import BiasTeePath

from stfmr_lab.physics import DeviceModel
from stfmr_lab.sim.bench import device_model_from_config

FREQS = np.linspace(1e9, 20e9, 39)


def _s2p(tmp_path, name="path", f_hz=None, loss_db=None, ports=2):
    """A Touchstone file of a lossy, matched two-port (or a one-port) written by scikit-rf."""
    f_hz = np.linspace(0.5e9, 21e9, 83) if f_hz is None else np.asarray(f_hz, dtype=float)
    loss_db = 1.5 + 0.7 * f_hz / 1e9 + 0.3 * np.sin(f_hz / 1.3e9) if loss_db is None else np.asarray(loss_db)
    s21 = 10 ** (-loss_db / 20) * np.exp(-2j * np.pi * f_hz * 1.2e-9)  # 1.2 ns of cable
    if ports == 2:
        s = np.zeros((f_hz.size, 2, 2), dtype=complex)
        s[:, 1, 0] = s[:, 0, 1] = s21
        s[:, 0, 0] = s[:, 1, 1] = 0.05
    else:
        s = s21.reshape(-1, 1, 1)
    net = skrf.Network(frequency=skrf.Frequency.from_f(f_hz, unit="hz"), s=s, z0=50, name=name)
    net.write_touchstone(filename=name, dir=str(tmp_path))
    path = tmp_path / f"{name}.s{ports}p"
    assert path.is_file()
    return path, f_hz, loss_db


@pytest.mark.parametrize("loss_0, per_ghz, z0", [(2.0, 0.5, 50.0), (0.0, 0.0, 50.0), (3.5, 1.25, 75.0)])
def test_two_number_model_is_the_device_models(loss_0, per_ghz, z0):
    path = BiasTeePath(loss_0, per_ghz, z0)
    model = DeviceModel.preset("paper", loss_db_0=loss_0, loss_db_per_ghz=per_ghz, z0_ohm=z0)
    np.testing.assert_allclose(path.loss_db(FREQS), model.path_loss_db(FREQS), rtol=1e-12, atol=1e-12)
    for p_dbm in (-20.0, -5.0, 3.0):
        for r in (model.r_p_ohm, 2.5 * model.r_p_ohm, 50.0):
            np.testing.assert_allclose(path.i_rf(FREQS, p_dbm, r), model.i_rf(FREQS, p_dbm, r), rtol=1e-12)
    np.testing.assert_allclose(path.power_at_device_dbm(FREQS, -10.0), -10.0 - model.path_loss_db(FREQS))
    assert path.snapshot() == {"source": "model", "z0_ohm": z0, "loss_db_0": loss_0, "loss_db_per_ghz": per_ghz}


def test_i_rf_by_hand():
    """2 sqrt(2 P Z0) x 10^(-loss/20) / (Z0 + R): 1 mW, 6 dB loss, a 50 Ohm load."""
    path = BiasTeePath(6.0, 0.0, 50.0)
    assert path.i_rf(5e9, 0.0, 50.0) == pytest.approx(2 * np.sqrt(2 * 1e-3 * 50) * 10 ** (-6 / 20) / 100)


def test_touchstone_s21_is_read_back(tmp_path):
    p, f_hz, loss_db = _s2p(tmp_path)
    path = BiasTeePath.from_touchstone(p)
    assert path.source == str(p) and path.snapshot()["table_points"] == f_hz.size
    np.testing.assert_allclose(path.table_freq_hz, f_hz, rtol=1e-9)
    np.testing.assert_allclose(path.table_loss_db, loss_db, atol=1e-6)  # -20 log10 |S21|
    np.testing.assert_allclose(path.loss_db(f_hz), loss_db, atol=1e-6)
    mid = 0.5 * (f_hz[10] + f_hz[11])  # linear in between the points
    assert path.loss_db(mid) == pytest.approx(0.5 * (loss_db[10] + loss_db[11]), abs=1e-6)


def test_touchstone_i_rf_agrees_with_the_device_model(tmp_path):
    p, f_hz, loss_db = _s2p(tmp_path)
    path = BiasTeePath.from_touchstone(p, z0_ohm=50.0)
    model = DeviceModel.preset("paper", s21_freq_hz=f_hz, s21_loss_db=loss_db)
    for p_dbm in (-15.0, -5.0):
        np.testing.assert_allclose(path.i_rf(FREQS, p_dbm, 3190.0), model.i_rf(FREQS, p_dbm, 3190.0), rtol=1e-6)
    # the bench's own reader gives the same table
    bench_model = device_model_from_config({"touchstone": str(p)})
    np.testing.assert_allclose(bench_model.path_loss_db(FREQS), path.loss_db(FREQS), atol=1e-9)


def test_touchstone_outside_its_band_is_refused(tmp_path):
    p, f_hz, _ = _s2p(tmp_path, f_hz=np.linspace(2e9, 12e9, 11), loss_db=np.full(11, 3.0))
    path = BiasTeePath.from_touchstone(p)
    assert path.loss_db(7e9) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="outside the S21 table"):
        path.loss_db(15e9)
    with pytest.raises(ValueError, match="outside the S21 table"):
        path.i_rf(np.array([5e9, 1e9]), -10.0, 3190.0)


def test_missing_touchstone_file(tmp_path):
    with pytest.raises(ValueError, match=r"path\.touchstone: no such file .*nothere\.s2p"):
        BiasTeePath.from_touchstone(tmp_path / "nothere.s2p")


def test_one_port_touchstone_is_refused(tmp_path):
    p, _, _ = _s2p(tmp_path, name="reflect", ports=1)
    with pytest.raises(ValueError, match=r"path\.touchstone: .*reflect\.s1p has 1 ports, need 2"):
        BiasTeePath.from_touchstone(p)


def test_unreadable_touchstone_is_refused(tmp_path):
    p = tmp_path / "junk.s2p"
    p.write_text("this is not a touchstone file\n1 2 3\n")
    with pytest.raises(ValueError, match=r"path\.touchstone: cannot read .*junk\.s2p"):
        BiasTeePath.from_touchstone(p)


def test_station_path_from_a_touchstone_file(make_station, station_config, tmp_path):
    p, f_hz, loss_db = _s2p(tmp_path)
    station_config["path"] = {"touchstone": str(p), "z0_ohm": 50.0}
    st = make_station(config=station_config)
    assert st.path.source == str(p)
    np.testing.assert_allclose(st.path.loss_db(f_hz), loss_db, atol=1e-6)


def test_the_device_model_drives_through_one_bias_tee_path(tmp_path):
    p, f_hz, loss_db = _s2p(tmp_path)
    model = device_model_from_config({"touchstone": str(p)})
    assert isinstance(model.path, BiasTeePath) and model.path.table_freq_hz == tuple(f_hz.tolist())
    sp = model.spectrum(1000.0, 5e-5)
    assert sp.path is model.path  # the spectrum's I_RF^2 is the same object's


@pytest.mark.parametrize("path", [
    BiasTeePath(3.0, 0.25, 75.0),
    BiasTeePath(table_freq_hz=(1e9, 5e9, 9e9), table_loss_db=(2.0, 4.5, 3.0), source="meas.s2p"),
    BiasTeePath(2.0, 0.5, ripple_db=0.8, ripple_period_hz=0.35e9, ripple_phase_rad=0.7),
])
def test_snapshot_holds_the_whole_calibration(path, tmp_path):
    from stfmr_lab.storage import RunFile, read_run

    rf = RunFile.create(tmp_path / "s.h5", procedure="t", config_yaml="", sample={"name": "x"},
                        instruments={"path": {"model": "bias-tee path calibration", "settings": path.snapshot()}})
    rf.close("complete")
    back = BiasTeePath.from_snapshot(read_run(tmp_path / "s.h5").instruments["path"]["settings"])
    assert back == path or (back.table_freq_hz == path.table_freq_hz and back.table_loss_db == path.table_loss_db)
    np.testing.assert_allclose(back.i_rf([2e9, 7e9], -10.0, 3000.0), path.i_rf([2e9, 7e9], -10.0, 3000.0), rtol=1e-12)
    assert BiasTeePath.from_snapshot({"source": "x"}) is None


def test_config_check_uses_the_stations_table(tmp_path):
    from stfmr_lab.config import validate_run_config
    from stfmr_lab.schema import ConfigError
    from tests.small_config import small_map

    p, _, _ = _s2p(tmp_path, f_hz=np.linspace(2e9, 8e9, 13), loss_db=np.full(13, 1.0))
    station = yaml_station(tmp_path, {"touchstone": str(p)})
    with pytest.raises(ConfigError, match=r"outside the S21 table"):  # the map reaches 9 GHz and above
        validate_run_config(small_map(station=str(station)))
    # within the table (fields whose resonance lies below 8 GHz): -3 dBm less 1 dB is above the limit
    cfg = small_map(station=str(station), rf_power_dbm=-3.0)
    cfg["measurements"][1]["fields_oe"] = [600, 650]
    with pytest.raises(ConfigError, match=r"rf power at the device -4\.0 dBm above the station limit -5 dBm"):
        validate_run_config(cfg)


def yaml_station(tmp_path, path_mapping):
    import yaml

    from tests.conftest import EXAMPLES

    st = yaml.safe_load((EXAMPLES / "station.yaml").read_text())
    st["path"] = path_mapping
    out = tmp_path / "station.yaml"
    out.write_text(yaml.safe_dump(st))
    return out


def test_relative_irf2_is_the_shape_of_i_rf_squared():
    path = BiasTeePath(2.0, 0.5, ripple_db=0.8)
    f = np.linspace(5e9, 12e9, 50)
    shape = path.i_rf(f, -10.0, 3000.0) ** 2
    np.testing.assert_allclose(path.relative_irf2(f) / path.relative_irf2(f[0]), shape / shape[0], rtol=1e-12)
