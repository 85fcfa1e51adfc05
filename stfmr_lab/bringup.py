"""The bring-up check (``stfmr-lab check STATION.yaml --deep``): every role's configuration
commands sent once, with RF off, outputs off and zero current, each instrument's errors read
after every command, and per instrument what was accepted and what was refused.

This is what someone runs first on a new bench: a wrong command set, a firmware without an
option, a wrong model in the station file or a wrong reading mode shows here, naming the
instrument and the command, before any run switches anything on. Nothing is switched on: the
RF output is turned off first, and a DC source or magnet supply found with its output on is
left alone (reported, not reconfigured).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stfmr_lab.errors import error_line


@dataclass
class StepResult:
    """One configuration step of one instrument: the commands sent and what came back."""

    label: str
    #: (command, error entries read right after it; empty: accepted)
    commands: list[tuple[str, list[str]]] = field(default_factory=list)
    #: the step's own failure (no answer, a bad reply, a value refused before sending)
    failure: str = ""

    @property
    def refused(self) -> list[tuple[str, list[str]]]:
        return [(c, e) for c, e in self.commands if e]

    @property
    def ok(self) -> bool:
        return not self.failure and not self.refused


@dataclass
class InstrumentReport:
    """What the deep check found for one role."""

    role: str
    model: str
    address: str
    identification: str = ""
    #: why the instrument could not be opened (then there are no steps)
    not_open: str = ""
    steps: list[StepResult] = field(default_factory=list)
    #: errors found after the last step (from queries, whose errors show only later)
    late_errors: list[str] = field(default_factory=list)
    #: why steps were skipped (an output found on)
    skipped: str = ""
    #: errors found (and cleared) when the station opened the instrument
    cleared_at_open: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.not_open and not self.late_errors and all(s.ok for s in self.steps)


def _source_steps(src, config) -> list[tuple[str, Callable[[], object]]]:
    f_hz = max(config["limits"]["min_frequency_hz"], src.frequency_range_hz[0])
    return [
        ("RF off", lambda: src.set_rf_enabled(False)),
        (f"frequency {f_hz:g} Hz", lambda: src.set_frequency_hz(f_hz)),
        ("power at its minimum", lambda: src.set_power_dbm(src.power_range_dbm[0])),
        ("chop internal 250 Hz", lambda: src.configure_chop(250.0, "internal")),
        ("chop external (lock-in TTL)", lambda: src.configure_chop(250.0, "external")),
        ("chop read back", src.get_chop),
        ("RF still off", lambda: src.set_rf_enabled(False)),
    ]


def _lockin_steps(li) -> list[tuple[str, Callable[[], object]]]:
    tau = min(li.TIME_CONSTANTS_S, key=lambda t: abs(t - 0.1))
    sens = min(li.SENSITIVITIES_V, key=lambda s: abs(s - 1e-3))
    return [
        ("reference internal 250 Hz", lambda: li.configure_reference("internal", 250.0)),
        ("reference external (TTL)", lambda: li.configure_reference("external")),
        (f"time constant {tau:g} s", lambda: li.set_time_constant_s(tau)),
        ("slope 24 dB/oct", lambda: li.set_slope_db_oct(24)),
        (f"sensitivity {sens:g} V", lambda: li.set_sensitivity_v(sens)),
        ("X, Y and overload read", lambda: (li.read_xy(), li.overloaded())),
    ]


def _dc_steps(dc, config) -> list[tuple[str, Callable[[], object]]]:
    comp = config["limits"]["compliance_v"]
    return [
        (f"current source, compliance {comp:g} V", lambda: dc.configure_current_source(comp)),
        ("zero current", lambda: dc.set_current_a(0.0)),
        ("settings read back", dc.snapshot),
    ]


def _magnet_steps(supply) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("current mode", supply.configure_current_mode),
        ("zero current", lambda: supply.set_current_a(0.0)),
        ("settings read back", supply.snapshot),
    ]


def _gaussmeter_steps(gm) -> list[tuple[str, Callable[[], object]]]:
    return [("field reading", gm.read_field_oe), ("settings read back", gm.snapshot)]


def _steps(role: str, inst, config) -> tuple[list, str]:
    """(steps, why skipped) for the instrument of ``role``."""
    if role == "source":
        return _source_steps(inst, config), ""
    if role == "lockin":
        return _lockin_steps(inst), ""
    if role in ("dc", "magnet_supply"):
        if inst.get_output_enabled():
            return [], "output found ON: left as it is (turn it off at zero current, then check again)"
        return (_dc_steps(inst, config) if role == "dc" else _magnet_steps(inst)), ""
    if role == "gaussmeter":
        return _gaussmeter_steps(inst), ""
    return [], f"no steps for role {role!r}"


def _run_step(inst, label: str, fn) -> StepResult:
    from stfmr_lab.instruments.base import checked_commands

    result = StepResult(label)
    try:
        with checked_commands(inst, refuse=False) as sent:
            try:
                fn()
            finally:
                result.commands = list(sent)
    except Exception as e:  # a timeout, a bad reply, a value refused before sending
        result.failure = error_line(e)
    return result


def deep_check(station) -> list[InstrumentReport]:
    """Run every role's configuration steps on an open ``Station`` (``open_station(...,
    strict=False)``); return one report per role of the station file."""
    config = station.config
    reports = []
    for role, icfg in config["instruments"].items():
        rep = InstrumentReport(role, icfg["model"], icfg["address"])
        rep.cleared_at_open = list(getattr(station, "cleared_errors", {}).get(role, []))
        reports.append(rep)
        inst = station.instruments.get(role)
        if inst is None:
            rep.not_open = station.errors.get(role, "not opened")
            continue
        try:
            rep.identification = inst.identify()
            steps, rep.skipped = _steps(role, inst, config)
        except Exception as e:
            rep.steps.append(StepResult("state read", failure=error_line(e)))
            continue
        for label, fn in steps:
            rep.steps.append(_run_step(inst, label, fn))
        try:
            rep.late_errors = inst.check_errors()
        except Exception as e:
            rep.late_errors = [f"error queue unreadable: {error_line(e)}"]
    return reports


def format_report(reports: list[InstrumentReport]) -> list[str]:
    """The lines ``check --deep`` prints: per instrument a header, then per step what was
    accepted (the commands) or refused (the command and the error)."""
    lines = []
    for rep in reports:
        head = f"{rep.role:14s} {rep.model:15s} {rep.address:22s}"
        if rep.not_open:
            lines.append(f"BAD {head} NOT OPEN: {rep.not_open}")
        else:
            lines.append(f"{'ok ' if rep.ok else 'BAD'} {head} {rep.identification}")
        if rep.cleared_at_open:
            lines.append(f"      cleared when opened (left from before, or refused): {'; '.join(rep.cleared_at_open)}")
        if rep.not_open:
            continue
        if rep.skipped:
            lines.append(f"      skipped: {rep.skipped}")
        for step in rep.steps:
            sent = "; ".join(c for c, _ in step.commands) or "(queries only)"
            if step.ok:
                lines.append(f"      accepted  {step.label}: {sent}")
                continue
            for command, errors in step.refused:
                lines.append(f"      REFUSED   {step.label}: {command!r} -> {'; '.join(errors)}")
            if step.failure:
                lines.append(f"      FAILED    {step.label}: {step.failure} (sent: {sent})")
        if rep.late_errors:
            lines.append(f"      REFUSED   a query (errors found after the last step): {'; '.join(rep.late_errors)}")
    return lines
