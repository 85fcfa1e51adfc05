#
# This file is part of the PyMeasure package.
#
# Copyright (c) 2013-2026 PyMeasure Developers
#
# Permission is hereby granted, free of charge, to any person obtaining a copy
# of this software and associated documentation files (the "Software"), to deal
# in the Software without restriction, including without limitation the rights
# to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
# copies of the Software, and to permit persons to whom the Software is
# furnished to do so, subject to the following conditions:
#
# The above copyright notice and this permission notice shall be included in
# all copies or substantial portions of the Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
# IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
# FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
# AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
# LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
# OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
# THE SOFTWARE.
#

import pytest

# stfmr-lab: copied from pymeasure f3208e8b4:tests/instruments/srs/test_sr860.py (the first upstream version, June 2026; none at v0.16.0);
# the only change is this import: the instrument class is stfmr-lab's subclass.
from stfmr_lab.instruments.sr860 import SR860
from pymeasure.test import expected_protocol


@pytest.mark.parametrize("value", (0, 1))
def test_timebase_getter(value):
    with expected_protocol(SR860, [("TBMODE?", f"{value}")]) as inst:
        assert inst.timebase == value


@pytest.mark.parametrize("value", (0, 1))
def test_timebase_setter(value):
    with expected_protocol(SR860, [(f"TBMODE {value}", None)]) as inst:
        inst.timebase = value


def test_front_panel_getter():
    with expected_protocol(SR860, [("DBLK?", "1")]) as inst:
        assert inst.front_panel == "1"


def test_front_panel_setter():
    with expected_protocol(SR860, [("DBLK 1", None)]) as inst:
        inst.front_panel = "1"
