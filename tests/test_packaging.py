"""A plain (non-editable) wheel carries every module and data file the product needs."""

import zipfile

import pytest


def test_wheel_contains_packages_and_data(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"no wheel build here: {r.stderr.strip().splitlines()[-1:]}")
    (wheel,) = tmp_path.glob("stfmr_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for must in (
        "stfmr_lab/physics.py",
        "stfmr_lab/instruments/sr830.py",
        "stfmr_lab/instruments/roles.py",
        "stfmr_lab/procedures/base.py",
        "stfmr_lab/sim_configs/sr830.yaml",
        "stfmr_lab/sim_configs/keithley2450.yaml",
        "stfmr_lab/examples/paper_map.yaml",
        "stfmr_lab/examples/station.yaml",
        "stfmr_lab/analysis/pipeline.py",
    ):
        assert must in names, must


def test_every_file_the_readme_mentions_exists():
    """Links, `.md` names and repository paths in the README point at files that are there."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    text = (repo / "README.md").read_text()
    named = set(re.findall(r"\]\(([^)#\s]+)\)", text))  # markdown links and images
    named |= set(re.findall(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.md)\b", text))  # any .md named
    named |= {m for m in re.findall(r"`((?:docs|examples|stfmr_lab|instruments|procedures|benchmarks|scripts)/[\w./-]+)`", text)
              if "<" not in m}
    named = {n for n in named if not n.startswith(("http://", "https://"))}
    assert "docs/physics.md" in named
    missing = sorted(n for n in named if not (repo / n).exists())
    assert not missing, f"the README names files the repository lacks: {missing}"
