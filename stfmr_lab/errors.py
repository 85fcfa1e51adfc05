"""One-line texts of exceptions, for the one-line errors the user sees and the run file records."""

from __future__ import annotations


def one_line(e: BaseException) -> str:
    """An exception's first line (its type name when it has no text)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def error_line(e: BaseException) -> str:
    """``Type: first line`` of an exception (``Type:`` when it has no text)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"


#: the station's roles as people name them
ROLE_TITLES = {
    "source": "Microwave source",
    "dc": "DC source-meter",
    "lockin": "Lock-in",
    "magnet_supply": "Magnet supply",
    "gaussmeter": "Gaussmeter",
}
#: what a VISA error code means at the bench
VISA_SYMPTOMS = {
    "VI_ERROR_TMO": "stopped answering (timeout)",
    "VI_ERROR_CONN_LOST": "is no longer connected (connection lost)",
    "VI_ERROR_RSRC_NFOUND": "is not connected (no such resource)",
    "VI_ERROR_NLISTENERS": "is not answering on the bus (no listeners)",
    "VI_ERROR_IO": "failed to communicate (I/O error)",
}


def failed_instrument(e: BaseException):
    """The driver (an object with ``adapter`` and ``model``) in whose method ``e`` was raised,
    innermost first; None when no instrument was talking."""
    tb = e.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        obj = frame.f_locals.get("self")
        if obj is not None and hasattr(obj, "adapter") and getattr(type(obj), "model", ""):
            return obj
    return None


def failure_text(e: BaseException, instruments: dict | None = None) -> str:
    """One line naming the instrument that failed, e.g. 'Lock-in sr830 at GPIB0::8 stopped
    answering (timeout)'; ``instruments``: role -> driver of the station (for the role's
    name). An exception raised outside any driver gives its ``one_line``."""
    inst = failed_instrument(e)
    if inst is None:
        return one_line(e)
    role = next((r for r, i in (instruments or {}).items() if i is inst), None)
    try:
        address = str(inst.adapter.connection.resource_name)
    except AttributeError:
        address = "?"
    address = address.removesuffix("::INSTR")
    who = f"{ROLE_TITLES.get(role, role or 'Instrument')} {type(inst).model} at {address}"
    code = getattr(e, "abbreviation", None)  # pyvisa's VisaIOError
    if code is not None:
        return f"{who} {VISA_SYMPTOMS.get(code, f'failed ({code})')}"
    return f"{who}: {one_line(e)}"
