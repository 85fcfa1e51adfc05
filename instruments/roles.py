"""The role interfaces procedures use. A procedure knows roles, never models.

Each driver implements the interface of its role; the station picks the model. Units are
in the names (Hz, dBm, A, V, Oe, s).
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Role(ABC):
    """Shared by every role: identification and a settings snapshot."""

    #: Station-file model key ("sr830"); set by each driver class.
    model = ""

    @abstractmethod
    def identify(self) -> str:
        """Identification string (``*IDN?`` or the model's equivalent)."""

    @abstractmethod
    def snapshot(self) -> dict:
        """Present settings as a flat dict of numbers/strings (recorded in the run file)."""

    def check_errors(self) -> list[str]:
        """Read and clear the instrument's error queue; return the entries (empty: none)."""
        return []


class MicrowaveSource(Role):
    """Microwave generator with square-wave pulse/AM modulation for the chop."""

    frequency_range_hz: tuple[float, float] = (0.0, 0.0)
    power_range_dbm: tuple[float, float] = (0.0, 0.0)
    #: the set-frequency command (a %-format of Hz), shared with the driver's control
    FREQUENCY_SET = ""

    def set_frequency_hz(self, frequency_hz: float) -> None:
        """Set the CW frequency (Hz): the same range check and command as the driver's
        declarative ``frequency_hz`` control, without its property machinery."""
        self.frequency_writer()(frequency_hz)

    def frequency_writer(self):
        """``set_frequency_hz`` bound once: a function(frequency_hz) for a sweep's points."""
        (lo, hi), fmt, write = self.frequency_range_hz, self.FREQUENCY_SET, self.write_function()

        def set_frequency(frequency_hz: float) -> None:
            if not lo <= frequency_hz <= hi:
                raise ValueError(f"frequency_hz: {frequency_hz:g} Hz outside {lo:g} to {hi:g} Hz")
            write(fmt % frequency_hz)

        return set_frequency

    # the drivers declare the controls ``frequency_hz``, ``power_dbm`` and ``rf_enabled``
    def get_frequency_hz(self) -> float:
        return self.frequency_hz

    def set_power_dbm(self, power_dbm: float) -> None:
        self.power_dbm = power_dbm

    def get_power_dbm(self) -> float:
        return self.power_dbm

    def set_rf_enabled(self, enabled: bool) -> None:
        self.rf_enabled = bool(enabled)

    def get_rf_enabled(self) -> bool:
        return self.rf_enabled

    @abstractmethod
    def configure_chop(self, frequency_hz: float = 250.0, source: str = "internal") -> None:
        """Square-wave on/off modulation: ``internal`` at ``frequency_hz`` or ``external``
        (driven by the lock-in's TTL reference out); turns the modulation on."""

    @abstractmethod
    def get_chop(self) -> dict:
        """{'enabled': bool, 'source': 'internal'|'external', 'frequency_hz': float}."""

    def snapshot(self) -> dict:
        """Frequency (Hz), power (dBm), RF on, and the chop as ``get_chop`` reads it."""
        chop = self.get_chop()
        return {
            "frequency_hz": self.frequency_hz,
            "power_dbm": self.power_dbm,
            "rf_enabled": int(self.rf_enabled),
            "chop_enabled": int(chop["enabled"]),
            "chop_source": chop["source"],
            "chop_frequency_hz": chop["frequency_hz"],
        }


class DCSource(Role):
    """Source-meter used as a current source with voltage compliance and voltage readback."""

    current_range_a: tuple[float, float] = (0.0, 0.0)

    @abstractmethod
    def configure_current_source(self, compliance_v: float) -> None:
        """Current-source mode, voltage compliance, voltage sensing. Output left as it is."""

    # the drivers declare the controls ``current_a``, ``output_enabled`` and ``compliance_v``
    def set_current_a(self, current_a: float) -> None:
        self.current_a = current_a

    def get_current_a(self) -> float:
        """The programmed source current (A)."""
        return self.current_a

    def set_output_enabled(self, enabled: bool) -> None:
        self.output_enabled = bool(enabled)

    def get_output_enabled(self) -> bool:
        return self.output_enabled

    def get_compliance_v(self) -> float:
        return self.compliance_v

    @abstractmethod
    def measure(self) -> tuple[float, float]:
        """(voltage_v, current_a) measured now."""

    def snapshot(self) -> dict:
        """Source function, source current (A), compliance (V) and output on."""
        return {
            "source_function": self.source_function,
            "current_a": self.current_a,
            "compliance_v": self.compliance_v,
            "output_enabled": int(self.output_enabled),
        }


class LockIn(Role):
    """Lock-in amplifier locked to the chop."""

    SENSITIVITIES_V: list[float] = []
    TIME_CONSTANTS_S: list[float] = []
    SLOPES_DB_OCT = (6, 12, 18, 24)

    # the drivers declare strict controls ``time_constant``, ``filter_slope``, ``sensitivity``
    def set_time_constant_s(self, tau_s: float) -> None:
        self.time_constant = tau_s  # one of TIME_CONSTANTS_S exactly

    def get_time_constant_s(self) -> float:
        return float(self.time_constant)

    def set_slope_db_oct(self, slope: int) -> None:
        self.filter_slope = slope

    def get_slope_db_oct(self) -> int:
        return int(self.filter_slope)

    def set_sensitivity_v(self, sensitivity_v: float) -> None:
        self.sensitivity = sensitivity_v

    def get_sensitivity_v(self) -> float:
        return float(self.sensitivity)

    def snapshot(self) -> dict:
        return {
            "sensitivity_v": self.get_sensitivity_v(),
            "time_constant_s": self.get_time_constant_s(),
            "slope_db_oct": self.get_slope_db_oct(),
            "reference_source": str(self.reference_source).lower(),
            "reference_frequency_hz": float(self.frequency),
        }

    @abstractmethod
    def configure_reference(self, source: str = "external", frequency_hz: float = 250.0) -> None:
        """``external`` (lock to the source's chop sync) or ``internal`` (TTL out drives it)."""

    #: the model's query of X and Y at one instant, its overload status query and the
    #: status bits that mean an input/filter/output overload
    XY_QUERY = ""
    OVERLOAD_QUERY = ""
    OVERLOAD_MASK = 0

    def read_xy(self) -> tuple[float, float]:
        """(X, Y) in V taken at one instant (SNAP)."""
        return self.xy_reader()()

    def overloaded(self) -> bool:
        """True if an overload happened since the last call (reads the status)."""
        return self.overload_reader()()

    def xy_reader(self):
        """``read_xy`` bound once: a function() -> (X, Y) for a sweep's points."""
        query = self.query_function(self.XY_QUERY, 2)

        def read_xy():
            x, y = query()
            return x, y

        return read_xy

    def overload_reader(self):
        """``overloaded`` bound once: a function() -> bool for a sweep's points."""
        query, mask = self.query_function(self.OVERLOAD_QUERY, 1, cast=int), self.OVERLOAD_MASK
        return lambda: bool(query()[0] & mask)

    def next_sensitivity_up(self) -> float | None:
        """The next coarser sensitivity, or None at the top of the range."""
        now = self.get_sensitivity_v()
        bigger = [s for s in self.SENSITIVITIES_V if s > now * (1 + 1e-9)]
        return min(bigger) if bigger else None


class MagnetSupply(Role):
    """Bipolar current supply driving the electromagnet."""

    current_range_a: tuple[float, float] = (0.0, 0.0)

    @abstractmethod
    def set_current_a(self, current_a: float) -> None: ...

    @abstractmethod
    def get_current_a(self) -> float: ...

    @abstractmethod
    def set_output_enabled(self, enabled: bool) -> None: ...

    @abstractmethod
    def get_output_enabled(self) -> bool: ...

    @abstractmethod
    def configure_current_mode(self) -> None: ...


class Gaussmeter(Role):
    """Hall probe reading the field at the sample."""

    @abstractmethod
    def read_field_oe(self) -> float: ...

    def field_reader(self):
        """``read_field_oe`` for a run of readings (a model may bind what they share once)."""
        return self.read_field_oe
