"""A run config whose sample: is a mapping shows its name in the forms (not the mapping's text)."""

from pathlib import Path

from stfmr_lab.sample import sample_name

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_loaded_sample_mapping_shows_its_name(qtbot, window):
    assert window.load_config(EXAMPLES / "realistic_map.yaml") is not None
    for w in window.forms.values():
        assert w.sample_name.value() == "CoFeB/MgO/CoFeB 70x140 nm2 (not the paper's)"


def test_sample_name_of_a_name_or_a_mapping():
    assert sample_name("MTJ A3") == "MTJ A3"
    assert sample_name({"name": "MTJ A3", "ms_vol_emu": 8.5e-15}) == "MTJ A3"
