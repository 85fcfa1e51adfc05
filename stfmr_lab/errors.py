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


def _frames(e: BaseException) -> list:
    """The frames of ``e`` and of the exceptions it was raised from, innermost first."""
    out, seen = [], set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        tb, frames = e.__traceback__, []
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        out = list(reversed(frames)) + out  # a cause's frames are deeper than its wrapper's
        e = e.__cause__ or e.__context__
    return out


def _has(obj, name: str) -> bool:
    """hasattr that survives objects whose attributes raise (a closed VISA session does)."""
    try:
        return hasattr(obj, name)
    except Exception:
        return False


def failed_instrument(e: BaseException, instruments: dict | None = None) -> tuple[str | None, object, object]:
    """(role, driver, VISA adapter) that ``e`` was raised talking to, each None when unknown.

    The innermost frame whose ``self`` is a driver (``adapter`` and ``model``) or a VISA
    adapter (``connection``) names it; a driver's bound hot-path functions hold their
    ``adapter``, matched to ``instruments`` (role -> driver of the station)."""
    by_adapter = {id(getattr(i, "adapter", None)): (r, i) for r, i in (instruments or {}).items()}
    adapter = None
    for frame in _frames(e):
        loc = frame.f_locals
        obj = loc.get("self")
        if obj is not None and getattr(type(obj), "model", "") and _has(obj, "adapter"):
            role = next((r for r, i in (instruments or {}).items() if i is obj), None)
            return role, obj, obj.adapter
        for cand in (obj, loc.get("adapter")):
            if cand is not None and id(cand) in by_adapter:
                role, inst = by_adapter[id(cand)]
                return role, inst, cand
            if adapter is None and cand is not None and _has(cand, "connection") and _has(cand, "resource_name"):
                adapter = cand
    return None, None, adapter


def failure_text(e: BaseException, instruments: dict | None = None) -> str:
    """One line naming the instrument that failed, e.g. 'Lock-in sr830 at GPIB0::8 stopped
    answering (timeout)'; ``instruments``: role -> driver of the station (for the role and
    model). An exception raised outside any instrument gives its ``one_line``."""
    role, inst, adapter = failed_instrument(e, instruments)
    if inst is None and adapter is None:
        return one_line(e)
    address = getattr(adapter, "resource_name", None)  # pymeasure's VISAAdapter keeps it (also once closed)
    if not isinstance(address, str):
        try:
            address = str(adapter.connection.resource_name)
        except Exception:  # no VISA connection (or a closed one that will not say)
            address = "?"
    address = address.removesuffix("::INSTR")
    model = getattr(type(inst), "model", "") if inst is not None else ""
    who = " ".join(x for x in (ROLE_TITLES.get(role, role or "Instrument"), model) if x) + f" at {address}"
    cause = e
    while cause is not None and getattr(cause, "abbreviation", None) is None:
        cause = cause.__cause__ or cause.__context__
    if cause is not None:  # pyvisa's VisaIOError
        code = cause.abbreviation
        return f"{who} {VISA_SYMPTOMS.get(code, f'failed ({code})')}"
    return f"{who}: {one_line(e)}"


def path_text(path) -> str:
    """A path for a one-line message: as it is, or quoted when it holds a newline or another
    unprintable character."""
    s = str(path)
    return s if s.isprintable() else repr(s)
