"""The wheel, installed into a fresh virtual environment away from the checkout, runs the demo.

What a bench PC gets from ``pip install stfmr_lab-*.whl``: no source tree, no editable
install, no test extras. The dependencies come from a wheelhouse kept in the test
environment (``<sys.prefix>/stfmr-wheelhouse``), filled once by ``pip download`` and then
reused, so the install itself runs offline (``--no-index``).
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

import h5py
import pytest

from tests.conftest import REPO

WHEELHOUSE = Path(sys.prefix) / "stfmr-wheelhouse"


def _pip(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, cwd=cwd)


def _unavailable(reason: str):
    """Skip on a developer's offline PC; fail in CI, where the test must run."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _install(target_python: Path, wheel: Path):
    return _pip(
        "--python", str(target_python), "install", "--quiet", "--no-compile", "--no-index",
        "--find-links", str(WHEELHOUSE), str(wheel),
    )


def test_wheel_in_a_fresh_venv_runs_the_quick_demo(tmp_path):
    dist = tmp_path / "dist"
    r = _pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO))
    if r.returncode != 0:
        _unavailable(f"no wheel build here: {r.stderr.strip().splitlines()[-1:]}")
    (wheel,) = dist.glob("stfmr_lab-*.whl")

    env_dir = tmp_path / "fresh venv"  # a space in the path, as in "C:\Users\Lab User\..."
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    r = _install(py, wheel)
    if r.returncode != 0:  # the wheelhouse is missing or misses a dependency: fill it once
        got = _pip("download", "--quiet", "--no-build-isolation", "--dest", str(WHEELHOUSE), str(REPO))
        if got.returncode != 0:
            _unavailable(f"cannot fill the wheelhouse {WHEELHOUSE}: {got.stderr.strip().splitlines()[-1:]}")
        r = _install(py, wheel)
    assert r.returncode == 0, r.stderr

    work = tmp_path / "bench PC"
    work.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    where = subprocess.run(
        [str(py), "-c", "import stfmr_lab, pymeasure; print(stfmr_lab.__file__)"],
        capture_output=True, text=True, cwd=work, env=clean_env,
    )
    assert where.returncode == 0, where.stderr
    installed = Path(where.stdout.strip())
    assert env_dir in installed.parents and REPO not in installed.parents

    script = env_dir / ("Scripts/stfmr-lab.exe" if os.name == "nt" else "bin/stfmr-lab")
    r = subprocess.run(
        [str(script), "demo", "--quick", "--out", "demo out"], capture_output=True, text=True, cwd=work, env=clean_env
    )
    assert r.returncode == 0, r.stderr[-2000:]
    run_file = work / "demo out" / "quick_map.h5"
    assert f"run file: {Path('demo out', 'quick_map.h5')}" in r.stdout
    with h5py.File(run_file, "r") as f:
        assert f["entry"].attrs["status"] == "complete"
        assert f["entry/data/vmix"].shape[0] == f["entry"].attrs["vmix_points_recorded"] > 0
        assert f["entry/spectra/index"].shape[0] == f["entry"].attrs["planned_spectra"] == 10
    report = work / "demo out" / "report"
    assert (report / "summary.txt").read_text(encoding="utf-8").startswith("stfmr-lab analysis of")
    assert (report / "fig3a_torkances.png").stat().st_size > 10_000
