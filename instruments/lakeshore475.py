"""Lake Shore 475 DSP gaussmeter (the Hall probe at the sample).

The 475 answers the 455's field commands (``RDGFIELD?``, ``UNIT`` with the same codes:
1 G, 2 T, 3 Oe, 4 A/m), so this subclasses ``LakeShore455``; it adds the error check from
the standard event status register (``*ESR?``: query, device, execution, command errors).
Replies end in CR LF (station TERMINATIONS: write "\\n", read "\\r\\n").
"""

from __future__ import annotations

from stfmr_lab.instruments.lakeshore455 import LakeShore455

#: *ESR? bits that report an error
ESR_ERROR_BITS = {2: "query error", 3: "device dependent error", 4: "execution error", 5: "command error"}


class LakeShore475(LakeShore455):
    """Lake Shore 475 DSP gaussmeter."""

    model = "lakeshore475"

    def __init__(self, adapter, name="Lake Shore 475 gaussmeter", **kwargs):
        super().__init__(adapter, name, **kwargs)

    def check_errors(self):
        esr = int(self.values("*ESR?", cast=int)[0])
        return [f"*ESR? = {esr}: {name}" for bit, name in ESR_ERROR_BITS.items() if esr & (1 << bit)]


__all__ = ["LakeShore475"]
