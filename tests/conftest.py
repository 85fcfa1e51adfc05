"""Shared fixtures: the simulated bench is a fixture, so a test reads like a bench session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from stfmr_lab.station import open_station, validate_station  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@pytest.fixture
def station_config():
    """The default station file, validated (a fresh dict per test)."""
    return validate_station(yaml.safe_load((EXAMPLES / "station.yaml").read_text()))


@pytest.fixture
def make_station(station_config):
    """Factory: a simulated station (fresh twins), closed at the end of the test."""
    opened = []

    def make(noise=False, seed=0, device=None, config=None, **simulation):
        st = open_station(
            config or station_config,
            sim=True,
            device=device or {},
            simulation={"noise": noise, "seed": seed, **simulation},
        )
        opened.append(st)
        return st

    yield make
    for st in opened:
        st.close()


@pytest.fixture
def sim_station(make_station):
    """A noise-free simulated station with the paper-preset device."""
    return make_station()
