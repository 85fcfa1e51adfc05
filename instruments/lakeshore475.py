"""Lake Shore 475 DSP gaussmeter (the Hall probe at the sample).

Commands from the "Model 475 DSP Gaussmeter User's Manual" (Lake Shore Cryotronics),
chapter 6 (remote operation; revision not recorded here). The 475 answers the 455's field
commands (``RDGFIELD?``, ``UNIT`` with the same codes:
1 G, 2 T, 3 Oe, 4 A/m), the same ``RDGMODE?`` reading mode (mode 1 DC) and ``*ESR?``, so this subclasses
``LakeShore455``.
Replies end in CR LF (station TERMINATIONS: write "\\n", read "\\r\\n").
"""

from __future__ import annotations

from stfmr_lab.instruments.lakeshore455 import LakeShore455


class LakeShore475(LakeShore455):
    """Lake Shore 475 DSP gaussmeter."""

    model = "lakeshore475"
    IDN_MODELS = ("MODEL475",)

    def __init__(self, adapter, name="Lake Shore 475 gaussmeter", **kwargs):
        super().__init__(adapter, name, **kwargs)


__all__ = ["LakeShore475"]
