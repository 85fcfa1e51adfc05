"""stfmr-lab: bench software for spin-torque ferromagnetic resonance (ST-FMR).

Python API (see the README):
- ``stfmr_lab.run(config, sim=True|False, out=None) -> Path``: a headless run of a run config
  (``sim`` has no default: say which bench, as ``--sim`` does at the command line).
- ``stfmr_lab.physics.DeviceModel``: the virtual device's forward model.
- ``stfmr_lab.analysis.analyze(path)``: fits, calibrations, torkances, damping.
"""

__version__ = "0.1.0"


def run(config, **kwargs):
    """Run a measurement config headless and return the run file's path (see runner.run)."""
    from stfmr_lab.runner import run as _run

    return _run(config, **kwargs)
