"""Small run configs for the suite (fast on the simulated bench)."""

import copy

SMALL_MAP = {
    "name": "small_map",
    "sample": "test junction",
    "station": "station.yaml",
    "device": {"preset": "paper"},
    "simulation": {"noise": True, "seed": 7},
    "lockin": {"time_constant_s": 0.03, "slope_db_oct": 24, "sensitivity_v": 0.002, "settle_time_constants": 20},
    "rf_power_dbm": -10.0,
    "measurements": [
        {"type": "dvdi", "fields_oe": [1000], "currents_a": {"start": -1.2e-4, "stop": 1.2e-4, "points": 25}},
        {
            "type": "map",
            "fields_oe": [900, 1100],
            "biases_v": {"start": -0.3, "stop": 0.3, "points": 3},
            "bias_order": "alternating",
            "frequency": {"center": "kittel", "span_hz": 2.0e9, "points": 41},
        },
    ],
}


def small_map(**changes):
    cfg = copy.deepcopy(SMALL_MAP)
    cfg.update(changes)
    return cfg
