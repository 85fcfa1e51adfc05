"""Keysight/Agilent PSG E8257D microwave source.

Commands from the "Keysight E8257D/67D, E8663D PSG Signal Generators SCPI Command
Reference" (revision not recorded here): ``:FREQ:CW``, ``:POW:AMPL``, ``:OUTP``, ``:OUTP:MOD``, the
pulse modulation subsystem ``:PULM:STAT``, ``:PULM:SOUR INT|EXT``, the internal pulse
generator's waveform ``:PULM:SOUR:INT SQU`` (square wave, option UNU/UNW) at the rate
``:PULM:INT:FREQ``, and ``:SYST:ERR?``; pymeasure's ``Agilent8257D.pulse_input`` sends the
same ``PULM:SOUR:INT`` header. The options (``*OPT?``, e.g. ``1E1,520,UNU``) set the ranges,
as QCoDeS's ``AgilentE8257D`` derives them from the same option codes (Keysight
configuration guide 5989-1325EN and data sheet 5989-0698EN): the frequency option
(513/520/521/532/540/550/567) the frequency range, and the step attenuator (1E1) the
power range (down to -135 dBm with it, -20 dBm without; up to +10 dBm, +5 above 40 GHz). ``connect`` reads them.

Builds on pymeasure's ``Agilent8257D``, whose frequency/power controls have no range
checks and whose docstring says GHz where the command sends Hz: ours are declared again
with strict ranges, in Hz and dBm. The chop is the internal square-wave pulse modulation
(or external, from the lock-in's TTL reference out).
"""

from __future__ import annotations

import logging
import warnings

from pymeasure.instruments.agilent.agilent8257D import Agilent8257D
from stfmr_lab.instruments.base import InstrumentError, StrictMixin, bool_control, mapped_control, number_control
from stfmr_lab.instruments.roles import MicrowaveSource

log = logging.getLogger(__name__)

#: frequency option -> frequency range (Hz), the instrument's full (not specified) range
FREQUENCY_OPTIONS_HZ = {
    "513": (100e3, 13e9),
    "520": (100e3, 20e9),
    "521": (10e6, 20e9),
    "532": (100e3, 31.8e9),
    "540": (100e3, 40e9),
    "550": (100e3, 50e9),
    "567": (100e3, 70e9),
}
#: the options up to 40 GHz reach +10 dBm, the higher ones +5 dBm
HIGH_BAND_OPTIONS = ("550", "567")
STEP_ATTENUATOR_OPTION = "1E1"


def ranges_from_options(options: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(frequency range in Hz, power range in dBm) from an ``*OPT?`` reply such as
    ``"1E1,520,UNU"``; raises InstrumentError when no frequency option is listed."""
    codes = [c.strip().strip('"') for c in options.split(",")]
    freq = [c for c in codes if c in FREQUENCY_OPTIONS_HZ]
    if not freq:
        raise InstrumentError(
            f"*OPT? reply {options!r} names no frequency option ({', '.join(FREQUENCY_OPTIONS_HZ)}): "
            "is this an E8257D?"
        )
    option = freq[-1]
    top_dbm = 5.0 if option in HIGH_BAND_OPTIONS else 10.0
    if STEP_ATTENUATOR_OPTION in codes:
        bottom_dbm = -110.0 if option in HIGH_BAND_OPTIONS else -135.0
    else:
        bottom_dbm = -20.0
    return FREQUENCY_OPTIONS_HZ[option], (bottom_dbm, top_dbm)


class AgilentE8257D(StrictMixin, Agilent8257D, MicrowaveSource):
    """Keysight/Agilent E8257D PSG analog signal generator.

    Until ``connect`` has read ``*OPT?`` the ranges are the narrowest of option 520:
    100 kHz - 20 GHz, -20 to +10 dBm (no step attenuator)."""

    model = "agilent_e8257d"
    IDN_MODELS = ("E8257D", "E8267D")
    ERROR_QUERY = ":SYST:ERR?"
    frequency_range_hz = FREQUENCY_OPTIONS_HZ["520"]
    power_range_dbm = (-20.0, 10.0)
    #: the *OPT? reply read by ``connect`` ("" before)
    options = ""

    def __init__(self, adapter, name="Agilent E8257D", **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pymeasure's SCPIUnknownMixin notice
            super().__init__(adapter, name, **kwargs)

    FREQUENCY_SET = ":FREQ:CW %.3f"
    frequency_hz = number_control(
        ":FREQ:CW?", FREQUENCY_SET,
        """Control the CW frequency in Hz (float strictly within the frequency option's range,
        ``frequency_range_hz``).""",
        frequency_range_hz, dynamic=True,
    )
    power_dbm = number_control(
        ":POW:AMPL?", ":POW:AMPL %.2f",
        """Control the output power in dBm (float strictly within ``power_range_dbm``, which
        the options set: -135 to +10 dBm with the step attenuator, -20 to +10 without).""",
        power_range_dbm, dynamic=True,
    )
    rf_enabled = bool_control(":OUTP?", ":OUTP %d", """Control whether the RF output is on (bool).""")
    modulation_enabled = bool_control(
        ":OUTP:MOD?", ":OUTP:MOD %d", """Control whether modulation is applied to the output (bool)."""
    )
    pulse_enabled = bool_control(":PULM:STAT?", ":PULM:STAT %d", """Control whether pulse modulation (the chop) is on (bool).""")
    pulse_source = mapped_control(
        ":PULM:SOUR?", ":PULM:SOUR %s", """Control the pulse modulation source (str 'internal' or 'external').""",
        {"internal": "INT", "external": "EXT"},
    )
    #: the internal pulse generator's waveforms: name -> SCPI value (the chop is ``square``)
    PULSE_WAVEFORMS = {"square": "SQU", "free-run": "FRUN", "triggered": "TRIG", "doublet": "DOUB", "gated": "GATE"}
    pulse_waveform = mapped_control(
        ":PULM:SOUR:INT?", ":PULM:SOUR:INT %s",
        """Control the internal pulse generator's waveform (str 'square', 'free-run', 'triggered',
        'doublet' or 'gated'); the chop is 'square'.""",
        PULSE_WAVEFORMS,
    )
    pulse_frequency_hz = number_control(
        ":PULM:INT:FREQ?", ":PULM:INT:FREQ %.4f",
        """Control the internal square-wave pulse rate in Hz (float strictly from 0.1 to 10e6).""",
        [0.1, 10e6],
    )

    def connect(self):
        """Read the installed options (``*OPT?``) and set the frequency and power ranges."""
        self.options = self.ask("*OPT?").strip()
        self.frequency_range_hz, self.power_range_dbm = ranges_from_options(self.options)
        self.frequency_hz_values = self.frequency_range_hz
        self.power_dbm_values = self.power_range_dbm

    # ---------------------------------------------------------------- role interface
    def configure_chop(self, frequency_hz=250.0, source="internal"):
        self.pulse_source = source
        if source == "internal":
            self.pulse_waveform = "square"
            self.pulse_frequency_hz = frequency_hz
        self.pulse_enabled = True
        self.modulation_enabled = True

    def get_chop(self):
        """The chop as the source applies it. An enabled internal chop must be the pulse
        generator's square wave (``:PULM:SOUR:INT?`` answers ``SQU``): any other waveform
        (``FRUN`` after a preset) raises ``InstrumentError`` naming it, since the lock-in's
        Vmix assumes a square-wave chop at ``frequency_hz``."""
        enabled = self.pulse_enabled and self.modulation_enabled
        source = self.pulse_source
        if enabled and source == "internal":
            waveform = self.pulse_waveform
            if waveform != "square":
                raise InstrumentError(
                    f"{self.name}: the chop is on with the internal pulse generator in {waveform} "
                    f"(:PULM:SOUR:INT? {self.PULSE_WAVEFORMS[waveform]}), not the square wave (SQU) it needs: "
                    "configure_chop sets it (front panel: Pulse > Pulse Source > Int Square)"
                )
        return {"enabled": enabled, "source": source, "frequency_hz": self.pulse_frequency_hz}
