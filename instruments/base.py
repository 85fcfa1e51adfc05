"""What every driver of ours shares: strict replies, one lock per instrument, snapshots.

pymeasure's ``values()`` returns the raw string when a cast fails, which ends up as a
silent NaN in the data. Our own controls and queries are strict: the controls declared
with ``number_control``/``bool_control``/``mapped_control``/``indexed_control`` and the
``strict_values``/``numbers``/``query_function`` queries raise ``InstrumentReplyError``
naming the instrument, the command and the reply. ``values()`` itself stays pymeasure's,
so the controls and methods a subclass inherits from pymeasure (text replies such as
``CURR``, ``IMM``, ``-113,"Undefined header"``; ``shutdown()``) behave as upstream; the
upstream protocol tests in ``tests/instruments/upstream`` pin that. Each instrument holds
one re-entrant lock around every write+read pair, so two threads never interleave replies
(pyvisa-sim devices and most GPIB stacks are not thread-safe).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

log = logging.getLogger(__name__)


class InstrumentError(RuntimeError):
    """An instrument misbehaved: bad reply, error-queue entry, no answer."""


class InstrumentReplyError(InstrumentError):
    """A reply that is not what the command promises (garbage, truncated, empty)."""


class CommandRefused(InstrumentError):
    """The instrument's error queue (or status register) reported an error right after a command."""


@contextmanager
def checked_commands(inst, refuse: bool = True, label: str = ""):
    """Read ``inst``'s errors after every command (not query) written inside the block.

    Yields a list that fills with ``(command, errors)`` per command (``errors`` empty when
    accepted). With ``refuse`` the first refused command raises ``CommandRefused`` naming
    the instrument (``label``, e.g. its role, first), the command and the error, before
    anything else is sent. A query's errors cannot be read between its write and its
    reply: they show at the next check.
    """
    adapter = inst.adapter
    own = adapter.__dict__.get("write")  # an instance attribute to put back, if any
    write = adapter.write
    prefix = f"{label}: " if label else ""
    log_: list[tuple[str, list[str]]] = []
    busy = False

    def checked_write(command, **kwargs):
        nonlocal busy
        write(command, **kwargs)
        if busy or "?" in command:
            return
        busy = True
        try:
            errors = inst.check_errors()
        finally:
            busy = False
        log_.append((command, errors))
        if errors and refuse:
            raise CommandRefused(f"{prefix}{inst.name} refused {command!r}: {'; '.join(errors)}")

    adapter.write = checked_write
    try:
        yield log_
    finally:
        if own is None:
            del adapter.write  # back to the class's write
        else:
            adapter.write = own


def parse_values(response: str, command: str, name: str, separator=",", cast=float, maxsplit=-1) -> list:
    """A reply's values, each cast strictly (``InstrumentReplyError`` names the instrument,
    the command and the reply for an empty or unparsable one)."""
    if response == "":
        raise InstrumentReplyError(f"{name}: empty reply to {command!r}")
    results = []
    for item in response.split(separator, maxsplit=maxsplit):
        item = item.strip()
        try:
            if cast is bool:
                results.append(bool(float(item)))
            elif cast is int:
                results.append(int(float(item)))
            else:
                results.append(cast(item))
        except (TypeError, ValueError):
            raise InstrumentReplyError(
                f"{name}: reply {response!r} to {command!r} is not a valid {getattr(cast, '__name__', cast)}"
            ) from None
    return results


def _counted(vals: list, count: int, command: str, name: str) -> list:
    if len(vals) != count:
        raise InstrumentReplyError(f"{name}: reply to {command!r} has {len(vals)} values, expected {count}")
    return vals


#: IEEE-488.2 standard event status register (*ESR?) bits that report an error
ESR_ERROR_BITS = {2: "query error", 3: "device dependent error", 4: "execution error", 5: "command error"}


class StrictMixin:
    """Mixin for pymeasure ``Instrument`` subclasses: strict casts and a per-instrument lock.

    Put it first in the bases: ``class SR830(StrictMixin, pymeasure.SR830)``.
    """

    #: Model key used by station files, e.g. "sr830".
    model = ""

    def __init__(self, *args, **kwargs):
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def ask(self, command, query_delay=None):
        # straight to the adapter (pymeasure's ask -> write -> adapter.write layers cost
        # ~10 us a query through its attribute hooks), write and read under one lock
        adapter = self.adapter
        with self._lock:
            adapter.write(command)
            if query_delay:
                time.sleep(query_delay)
            return adapter.read()

    def write(self, command, **kwargs):
        with self._lock:
            self.adapter.write(command, **kwargs)

    def strict_values(self, command, separator=",", cast=float, maxsplit=-1):
        """``values`` that raises ``InstrumentReplyError`` on an empty or unparsable reply
        (pymeasure's ``values``, kept for inherited controls, returns the raw string)."""
        return parse_values(self.ask(command).strip(), command, self.name, separator, cast, maxsplit)

    def numbers(self, command, count):
        """Query ``command`` and return exactly ``count`` floats (raises on anything else)."""
        return _counted(self.strict_values(command), count, command, self.name)

    def before_first_query(self) -> None:
        """Writes (never a query) the model needs before it answers at all, e.g. the SR830's
        reply interface (``OUTX``). The station sends them right after opening, then
        identifies the instrument (``*IDN?``, ``check_model``), then calls ``connect``. The
        default writes nothing."""

    def connect(self) -> None:
        """The checks that the model, identified already, is usable at all (a wrong command
        set, a wrong reading mode; the model's own queries): raises ``InstrumentError`` with
        one line naming what to change. The station calls it once the ``*IDN?`` reply named
        this model (a wrong model is named, not a timeout); the default does nothing."""

    # ---------------------------------------------------------------- per-point hot paths
    # Every attribute read of a pymeasure instrument passes its __getattribute__ hook
    # (~1.7 us with the nested hasattr); a sweep's per-point calls bind what they need once.
    def query_function(self, command: str, count: int | None = None, cast=float):
        """A function of no arguments that sends ``command`` and returns the reply's values
        (exactly ``count`` of them when given): ``values``/``numbers`` with the adapter, the
        lock and the strict parsing bound once."""
        adapter, lock, name = self.adapter, self._lock, self.name
        write, read = adapter.write, adapter.read

        def query():
            with lock:
                write(command)
                response = read()
            vals = parse_values(response.strip(), command, name, cast=cast)
            return vals if count is None else _counted(vals, count, command, name)

        return query

    def write_function(self):
        """A function(command) that writes under the instrument's lock (``write``, bound once)."""
        adapter, lock = self.adapter, self._lock
        write = adapter.write

        def bound_write(command):
            with lock:
                write(command)

        return bound_write

    #: SCPI error-queue query of the model (None: the model has no such queue)
    ERROR_QUERY: str | None = None

    def check_errors(self):
        """Read the SCPI error queue (``ERROR_QUERY``) until it says 0; return the entries."""
        if self.ERROR_QUERY is None:
            return []
        errors = []
        for _ in range(20):
            reply = self.ask(self.ERROR_QUERY).strip()
            try:
                if int(reply.split(",", 1)[0]) == 0:
                    break
            except ValueError:
                raise InstrumentReplyError(f"{self.name}: unreadable error queue reply {reply!r}") from None
            errors.append(reply)
        return errors

    def standard_event_errors(self) -> list[str]:
        """Read (and so clear) the IEEE-488.2 standard event status register ``*ESR?``;
        return one entry per error bit set (query, device dependent, execution, command)."""
        esr = self.strict_values("*ESR?", cast=int)[0]
        return [f"*ESR? = {esr}: {name}" for bit, name in ESR_ERROR_BITS.items() if esr & (1 << bit)]

    #: what an ``*IDN?`` reply of this model contains (any of them, case-insensitive)
    IDN_MODELS: tuple[str, ...] = ()

    def check_model(self, identification: str) -> None:
        """Raise ``InstrumentError`` when ``identification`` (``*IDN?``) is not this model's:
        the station file names another model for this address than the one answering."""
        if self.IDN_MODELS and not any(m.upper() in identification.upper() for m in self.IDN_MODELS):
            raise InstrumentError(
                f"{self.name}: *IDN? answers {identification!r}, not a {' / '.join(self.IDN_MODELS)}: "
                f"is the station file's model ({self.model}) right for this address?"
            )

    def identify(self) -> str:
        """Return the identification string (``*IDN?``), stripped."""
        reply = self.ask("*IDN?").strip()
        if not reply:
            raise InstrumentReplyError(f"{self.name}: empty identification")
        return reply

    def close(self):
        """Close the VISA session (pymeasure's ``shutdown`` does not)."""
        try:
            self.adapter.close()
        except Exception as e:  # closing must never raise on an exit path
            log.warning("%s: close failed: %s", self.name, e)


# ---------------------------------------------------------------------- strict controls
# pymeasure's map_values raises IndexError/KeyError on an unexpected reply, a failed cast
# hands back the raw string, and truncating validators silently change requests; these
# declare the same commands strictly: a reply that is not exactly one expected value
# raises InstrumentReplyError naming the command and the reply.
def _one_value(get_command):
    """``get_process_list`` of a strict control: a reply with several values is an error."""

    def check(vals):
        raise InstrumentReplyError(f"reply to {get_command!r} has {len(vals)} values, expected 1: {vals!r}")

    return check


def _number_reply(get_command):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InstrumentReplyError(f"reply {value!r} to {get_command!r} is not a number")
        return float(value)

    return check


def _bool_reply(get_command):
    def check(value):
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise InstrumentReplyError(f"reply {value!r} to {get_command!r}: expected 0 or 1")

    return check


def _control(get_command, set_command, docs, get_process, **kwargs):
    from pymeasure.instruments import Instrument

    return Instrument.control(
        get_command, set_command, docs, get_process=get_process, get_process_list=_one_value(get_command), **kwargs
    )


def number_control(get_command, set_command, docs, values, dynamic=False):
    """A number in a strict range (``values`` = (lo, hi)): a request outside raises
    ValueError before anything is sent; a reply that is not one number raises
    InstrumentReplyError (pymeasure would hand back the raw string). ``dynamic``: the
    range can be changed per instrument (pymeasure's ``<name>_values`` attribute)."""
    from pymeasure.instruments.validators import strict_range

    return _control(
        get_command, set_command, docs, _number_reply(get_command), validator=strict_range, values=values,
        dynamic=dynamic,
    )


def bool_control(get_command, set_command, docs):
    """A 0/1 setting as a bool: anything but 0/1 in a reply raises InstrumentReplyError."""
    from pymeasure.instruments.validators import strict_discrete_set

    return _control(
        get_command, set_command, docs, _bool_reply(get_command),
        validator=strict_discrete_set, values=[True, False], set_process=int, cast=int,
    )


def mapped_control(get_command, set_command, docs, mapping: dict, reply_mapping: dict | None = None, cast=str):
    """A setting with named values: ``mapping`` user value -> wire value sent; the reply is
    looked up in ``reply_mapping`` (wire reply -> user value; default the inverse of mapping)."""
    from pymeasure.instruments.validators import strict_discrete_set

    inverse = reply_mapping if reply_mapping is not None else {v: k for k, v in mapping.items()}

    def from_reply(value):
        try:
            return inverse[value]
        except (KeyError, TypeError):
            raise InstrumentReplyError(
                f"reply {value!r} to {get_command!r} is not one of {sorted(map(str, inverse))}"
            ) from None

    return _control(
        get_command, set_command, docs, from_reply,
        validator=strict_discrete_set, values=list(mapping), set_process=mapping.__getitem__, cast=cast,
    )


def indexed_control(get_command, set_command, docs, table):
    """A setting from a table sent as its index (SR830 SENS/OFLT style): the value must be one
    of the table's entries exactly; a reply index outside the table raises."""
    table = list(table)
    return mapped_control(get_command, set_command, docs, {v: k for k, v in enumerate(table)}, cast=int)
