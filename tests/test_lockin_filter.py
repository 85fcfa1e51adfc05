"""The lock-in output filter model against closed forms and scipy."""

import math

import numpy as np
import pytest
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.special import gammainc

from stfmr_lab import lockin_filter as lf


def _a(n):
    return -np.eye(n) + np.eye(n, k=-1)


@pytest.mark.parametrize("poles", [1, 2, 3, 4])
def test_transition_and_covariance_match_scipy(poles):
    a = _a(poles)
    for x in (0.0, 0.3, 1.7, 9.0):
        assert np.allclose(lf.transition(x, poles), expm(a * x), atol=1e-14)
    b = np.zeros((poles, poles))
    b[0, 0] = 1.0
    p = solve_continuous_lyapunov(a, -b)
    p /= p[-1, -1]
    for x in (0.0, 0.5, 2.0, 6.0):
        assert lf.autocorrelation(x, poles) == pytest.approx((expm(a * x) @ p)[-1, -1], rel=1e-12, abs=1e-15)
    assert lf.autocorrelation(-1.2, poles) == lf.autocorrelation(1.2, poles)


@pytest.mark.parametrize("poles", [1, 2, 3, 4])
def test_step_response_is_the_regularised_gamma(poles):
    x = np.linspace(0.01, 30, 50)
    assert np.allclose(lf.step_response(x, poles), gammainc(poles, x), atol=1e-14)
    assert lf.step_response(-1.0, poles) == 0.0
    assert lf.step_residual(0.0, poles) == 1.0
    # a state settled at 0, input 1 held for x: the output is the step response
    s = lf.propagate(np.zeros(poles), 1.0, 2.5)
    assert s[-1] == pytest.approx(gammainc(poles, 2.5), rel=1e-13)


@pytest.mark.parametrize("poles", [1, 2, 4])
def test_fine_steps_follow_the_analytic_ramp_response(poles):
    """A ramp r t through the cascade: y = r (t P(n, t) - n P(n+1, t)) (tau = 1)."""
    dt, r = 1e-3, 2.0
    s = np.zeros(poles)
    t_end = 8.0
    for k in range(int(t_end / dt)):
        s = lf.propagate(s, r * (k + 0.5) * dt, dt)  # midpoint hold: second-order accurate
    want = r * (t_end * gammainc(poles, t_end) - poles * gammainc(poles + 1, t_end))
    assert s[-1] == pytest.approx(want, rel=1e-6)


def test_noise_process_has_the_filter_autocorrelation():
    rng = np.random.default_rng(0)
    fn = lf.FilterNoise(4)
    v = np.array([fn.draw(0.5, rng) for _ in range(40000)])
    assert v.var() == pytest.approx(1.0, abs=0.05)
    for lag in (1, 2, 4):
        got = np.corrcoef(v[:-lag], v[lag:])[0, 1]
        assert got == pytest.approx(lf.autocorrelation(0.5 * lag, 4), abs=0.02)
    # readings at one instant agree; readings far apart are independent single draws
    assert fn.draw(0.0, rng) == v[-1]
    far = np.array([fn.draw(20.0, rng) for _ in range(4000)])
    assert abs(np.corrcoef(far[:-1], far[1:])[0, 1]) < 0.05


def test_slope_names():
    assert [lf.poles_for_slope(s) for s in (6, 12, 18, 24)] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="slope_db_oct"):
        lf.poles_for_slope(9)
    assert math.isclose(lf.step_residual(15.0, 4), math.exp(-15) * (1 + 15 + 112.5 + 562.5))
