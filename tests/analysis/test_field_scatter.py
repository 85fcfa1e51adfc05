"""The fields' torkances at a common bias are replicates: their excess scatter joins the systematic errors."""

import math

import numpy as np
import pandas as pd
import pytest

from stfmr_lab.analysis import pipeline as pl


def per_bias(values_par, err, fields=(800.0, 1000.0, 1200.0), err_sys=0.0):
    """A per-bias table: the biases of ``values_par`` (one row per field and bias), each with
    ``err`` as its statistical error and ``err_sys`` as its systematic one."""
    n_b = values_par.shape[1]
    v = np.tile(np.linspace(-0.5, 0.5, n_b).round(3), len(fields))  # set points; readbacks differ by 1e-5 V
    rows = {
        "field_oe": np.repeat(fields, n_b), "bias_voltage_v": v + 1e-5 * np.repeat(np.arange(len(fields)), n_b),
        "dtau_par_dv": values_par.ravel(), "dtau_par_dv_err": np.full(v.size, err),
        "dtau_par_dv_err_sys": np.full(v.size, err_sys),
        "dtau_perp_dv": 0.1 * v, "dtau_perp_dv_err": np.full(v.size, 1.0), "dtau_perp_dv_err_sys": np.zeros(v.size),
    }
    return pd.DataFrame(rows)


def test_fields_that_scatter_3x_beyond_their_errors_get_it_as_a_systematic_error():
    rng = np.random.default_rng(4)
    truth = 0.15
    values = truth + rng.normal(0.0, 0.03, (3, 40))  # stated 0.01, true scatter 0.03
    table = per_bias(values, 0.01, err_sys=0.002)
    scatter = pl._field_scatter(table)
    assert scatter.dof["dtau_par_dv"] == 80
    assert scatter.ratio["dtau_par_dv"] == pytest.approx(3.0, rel=0.15)
    warnings = []
    out = pl._with_field_scatter(table, scatter, warnings)
    combined = np.hypot(out["dtau_par_dv_err"], out["dtau_par_dv_err_sys"])
    # every row's combined error scaled by the ratio: the fields now agree within their errors ...
    np.testing.assert_allclose(combined, scatter.ratio["dtau_par_dv"] * math.hypot(0.01, 0.002))
    assert pl._field_scatter(out).ratio["dtau_par_dv"] == pytest.approx(1.0, rel=1e-9)
    # ... and cover the truth
    assert np.std((out["dtau_par_dv"] - truth) / combined) == pytest.approx(1.0, abs=0.15)
    np.testing.assert_array_equal(out["dtau_par_dv_err"], table["dtau_par_dv_err"])  # the statistical part kept
    assert len(warnings) == 1 and "dtau_par_dv" in warnings[0] and "80 degrees of freedom" in warnings[0]


def test_fields_within_their_errors_change_nothing():
    rng = np.random.default_rng(2)
    table = per_bias(0.15 + rng.normal(0.0, 0.005, (3, 21)), 0.01)  # errors 2x the scatter
    scatter = pl._field_scatter(table)
    assert scatter.ratio["dtau_par_dv"] < 1.0 and scatter.ratio["dtau_perp_dv"] < 1e-12
    warnings = []
    pd.testing.assert_frame_equal(pl._with_field_scatter(table, scatter, warnings), table)
    assert warnings == []


def test_a_single_field_has_no_replicates():
    table = per_bias(np.full((1, 11), 0.15), 0.01, fields=(1000.0,))
    scatter = pl._field_scatter(table)
    assert scatter.dof == {"dtau_par_dv": 0, "dtau_perp_dv": 0}
    assert math.isnan(scatter.ratio["dtau_par_dv"])
    pd.testing.assert_frame_equal(pl._with_field_scatter(table, scatter, []), table)
