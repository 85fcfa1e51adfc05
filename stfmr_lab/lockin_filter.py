"""The lock-in's output low-pass filter: ``poles`` identical RC stages in cascade.

One place for what the twin, the procedures (settling waits) and the analysis (swept
spectra) need to know about it. Time is measured in time constants, ``x = t / tau``; a
lock-in's slope of 6/12/18/24 dB/oct is 1/2/3/4 poles.

State space (stage 1 is driven by the input u, stage k by stage k-1, the output is the
last stage)::

    ds/dx = A s + e1 u,    A = -I + N   (N: ones on the sub-diagonal)

For an input held constant over an interval of length x the exact update is
``s -> u + Phi(x) (s - u)`` with ``Phi(x) = exp(A x)``, lower triangular,
``Phi[i, j] = exp(-x) x^(i-j) / (i-j)!`` for i >= j. A step's residual at the output after x
time constants is the sum of Phi's last row: ``exp(-x) sum_{m<poles} x^m / m!``.

White noise at the input gives a stationary output whose autocorrelation, normalised to 1
at zero lag, is ``autocorrelation(x, poles)``; successive readings closer than the filter's
memory are correlated by exactly that amount (used by the twin to draw the noise, and by
the swept-spectrum fit to weight the readings).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = [
    "POLES_FOR_SLOPE",
    "autocorrelation",
    "poles_for_slope",
    "propagate",
    "step_residual",
    "step_response",
    "transition",
    "FilterNoise",
]

#: lock-in output filter slope (dB/octave) -> number of RC stages
POLES_FOR_SLOPE = {6: 1, 12: 2, 18: 3, 24: 4}


def poles_for_slope(slope_db_oct: int) -> int:
    """Number of RC stages of a ``slope_db_oct`` filter (6, 12, 18 or 24 dB/oct)."""
    try:
        return POLES_FOR_SLOPE[int(slope_db_oct)]
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"slope_db_oct: must be one of {sorted(POLES_FOR_SLOPE)}, got {slope_db_oct!r}") from None


def step_residual(x, poles: int):
    """What is left of a unit step at the output after ``x`` time constants (1 for x <= 0).

    ``exp(-x) sum_{m < poles} x^m / m!``; vectorised over ``x``.
    """
    x = np.asarray(x, dtype=float)
    xp = np.maximum(x, 0.0)
    term = np.ones_like(xp)
    total = np.ones_like(xp)
    for m in range(1, int(poles)):
        term = term * xp / m
        total = total + term
    out = np.exp(-xp) * total
    return float(out) if out.ndim == 0 else out


def step_response(x, poles: int):
    """Output after ``x`` time constants for a unit step at x = 0 (0 for x <= 0)."""
    x = np.asarray(x, dtype=float)
    out = np.where(x > 0, 1.0 - step_residual(x, poles), 0.0)
    return float(out) if out.ndim == 0 else out


def transition(x: float, poles: int) -> np.ndarray:
    """``Phi(x) = exp(A x)`` (poles x poles, lower triangular) for x >= 0 time constants."""
    x = max(float(x), 0.0)
    phi = np.zeros((poles, poles))
    e = math.exp(-x)
    for d in range(poles):
        c = e * x**d / math.factorial(d)
        for i in range(d, poles):
            phi[i, i - d] = c
    return phi


def propagate(state, u, x: float) -> np.ndarray:
    """Exact filter state after ``x`` time constants with the input held at ``u``.

    ``state`` has shape (..., poles) (e.g. (2, poles) for X and Y); ``u`` broadcasts against
    ``state[..., :1]``. Returns the new state (a new array).
    """
    s = np.asarray(state, dtype=float)
    u = np.asarray(u, dtype=float)
    if u.ndim == s.ndim - 1:
        u = u[..., None]
    phi = transition(x, s.shape[-1])
    return u + (s - u) @ phi.T


@lru_cache(maxsize=8)
def _stationary_covariance(poles: int) -> np.ndarray:
    """Stationary covariance of the state for white noise at the input, output variance 1.

    Solves A P + P A^T + e1 e1^T = 0 (continuous Lyapunov equation): the k-th and l-th
    stage outputs are correlated as the overlap of their impulse responses
    x^(k-1) e^-x / (k-1)!, which in closed form is (k+l-2)! / ((k-1)! (l-1)! 2^(k+l-1)).
    """
    p = np.empty((poles, poles))
    for k in range(1, poles + 1):
        for m in range(1, poles + 1):
            p[k - 1, m - 1] = math.factorial(k + m - 2) / (math.factorial(k - 1) * math.factorial(m - 1) * 2 ** (k + m - 1))
    return p / p[-1, -1]


def autocorrelation(x, poles: int):
    """Correlation of the output noise at two times ``x`` time constants apart (1 at x = 0).

    Output of white noise through the cascade: ``(Phi(|x|) P)[-1, -1]`` with P the stationary
    covariance; vectorised over ``x``.
    """
    x = np.abs(np.asarray(x, dtype=float))
    p = _stationary_covariance(int(poles))
    # (Phi P)[-1,-1] = sum_j Phi[-1, j] P[j, -1] = exp(-x) sum_d x^d/d! P[n-1-d, n-1]
    n = int(poles)
    total = np.zeros_like(x)
    term = np.ones_like(x)
    for d in range(n):
        if d:
            term = term * x / d
        total = total + term * p[n - 1 - d, n - 1]
    out = np.exp(-x) * total
    return float(out) if out.ndim == 0 else out


class FilterNoise:
    """The output noise of the filter as a process in time (unit variance at the output).

    ``draw(x, rng)`` returns the next output value ``x`` time constants after the previous
    one, correlated with it as the filter makes it. When ``x >= independent_after`` (the
    correlation is then below ~1e-3 for 4 poles at 12 time constants) the draw is a single
    normal variate, independent of the past, and the internal stages are left unknown; they
    are drawn from their conditional distribution only if a later reading comes sooner.
    Readings at the same instant return the same value.
    """

    def __init__(self, poles: int, independent_after: float = 12.0):
        self.poles = int(poles)
        self.independent_after = float(independent_after)
        self._p = _stationary_covariance(self.poles)
        self._state: np.ndarray | None = None  # full state, or None when only _last is known
        self._last: float | None = None

    def _full_state(self, rng) -> np.ndarray:
        """The whole state given the last output (drawn from the stationary conditional law)."""
        n, p = self.poles, self._p
        if self._last is None:
            return np.linalg.cholesky(p + 1e-15 * np.eye(n)) @ rng.standard_normal(n)
        if n == 1:
            return np.array([self._last])
        mean = p[:-1, -1] * self._last  # P[-1,-1] = 1
        cov = p[:-1, :-1] - np.outer(p[:-1, -1], p[-1, :-1])
        inner = mean + np.linalg.cholesky(cov + 1e-15 * np.eye(n - 1)) @ rng.standard_normal(n - 1)
        return np.append(inner, self._last)

    def draw(self, x: float, rng) -> float:
        """Next unit-variance output value, ``x`` >= 0 time constants after the previous."""
        if self._last is None or x >= self.independent_after:
            self._state, self._last = None, float(rng.standard_normal())
            return self._last
        if x <= 0.0:
            return self._last
        s = self._state if self._state is not None else self._full_state(rng)
        phi = transition(x, self.poles)
        q = self._p - phi @ self._p @ phi.T
        s = phi @ s + np.linalg.cholesky(q + 1e-15 * np.eye(self.poles)) @ rng.standard_normal(self.poles)
        self._state, self._last = s, float(s[-1])
        return self._last
