"""stfmr-lab: bench software for spin-torque ferromagnetic resonance (ST-FMR)."""

__version__ = "0.1.0"
