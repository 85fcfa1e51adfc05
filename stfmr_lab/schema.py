"""A small declarative validator for the YAML files (station files and run configs).

Every error is one line naming the key path and what is allowed, e.g.
``sweep.frequency.points: 0 is below the minimum 2``. Errors are ``ConfigError``
(a ``ValueError``); the CLI turns them into exit status 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A bad config value; the message is one line naming the key."""


MISSING = object()


@dataclass(frozen=True)
class Num:
    """A finite number (int accepted for float), optionally bounded."""

    default: Any = MISSING
    min: float | None = None
    max: float | None = None
    integer: bool = False
    doc: str = ""

    def check(self, path: str, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:
                    value = float(value)  # YAML 1.1 reads "1e-4" (no dot) as a string
                except ValueError:
                    raise ConfigError(f"{path}: expected a number, got {value!r}") from None
            else:
                raise ConfigError(f"{path}: expected a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{path}: must be finite, got {value!r}")
        if self.integer:
            if float(value) != int(value):
                raise ConfigError(f"{path}: expected a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if self.min is not None and value < self.min:
            raise ConfigError(f"{path}: {value:g} is below the minimum {self.min:g}")
        if self.max is not None and value > self.max:
            raise ConfigError(f"{path}: {value:g} is above the maximum {self.max:g}")
        return value


@dataclass(frozen=True)
class Str:
    default: Any = MISSING
    choices: tuple[str, ...] | None = None
    doc: str = ""

    def check(self, path: str, value):
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected text, got {type(value).__name__} {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{path}: {value!r} is not one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True)
class Bool:
    default: Any = MISSING
    doc: str = ""

    def check(self, path: str, value):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value


@dataclass(frozen=True)
class NumList:
    """A non-empty list of numbers (each checked by ``item``)."""

    item: Num = Num()
    default: Any = MISSING
    min_len: int = 1
    max_len: int = 100000
    doc: str = ""

    def check(self, path: str, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list of numbers, got {type(value).__name__}")
        if not (self.min_len <= len(value) <= self.max_len):
            raise ConfigError(f"{path}: needs {self.min_len} to {self.max_len} values, got {len(value)}")
        return [self.item.check(f"{path}[{k}]", v) for k, v in enumerate(value)]


@dataclass(frozen=True)
class StrList:
    """A non-empty list of distinct choices (a single text is a list of one)."""

    choices: tuple[str, ...]
    default: Any = MISSING
    doc: str = ""

    def check(self, path: str, value):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path}: expected a non-empty list of {', '.join(self.choices)}")
        out = [Str(choices=self.choices).check(f"{path}[{k}]", v) for k, v in enumerate(value)]
        if len(set(out)) != len(out):
            raise ConfigError(f"{path}: a value is listed twice")
        return out


@dataclass(frozen=True)
class Map:
    """A mapping with known keys (unknown keys are an error)."""

    fields: dict
    default: Any = MISSING
    doc: str = ""
    open: bool = False  # allow any keys, values checked by ``fields['*']``

    def check(self, path: str, value):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path or 'config'}: expected a mapping, got {type(value).__name__}")
        out = {}
        for key in value:
            if not isinstance(key, str):
                raise ConfigError(f"{_join(path, str(key))}: keys must be text")
            if key not in self.fields and not (self.open and "*" in self.fields):
                allowed = ", ".join(k for k in self.fields if k != "*")
                raise ConfigError(f"{_join(path, key)}: unknown key (allowed: {allowed})")
        for key, spec in self.fields.items():
            if key == "*":
                continue
            if key in value:
                out[key] = spec.check(_join(path, key), value[key])
            elif spec.default is not MISSING:
                out[key] = spec.default() if callable(spec.default) else spec.default
                if isinstance(out[key], dict):  # a default mapping gets its own defaults and checks
                    out[key] = spec.check(_join(path, key), out[key])
            else:
                raise ConfigError(f"{_join(path, key)}: required key is missing")
        if self.open and "*" in self.fields:
            for key in value:
                if key not in self.fields:
                    out[key] = self.fields["*"].check(_join(path, key), value[key])
        return out


@dataclass(frozen=True)
class OneOf:
    """The first of ``options`` that accepts the value (for text-or-mapping keys)."""

    options: tuple
    default: Any = MISSING
    doc: str = ""
    what: str = "a value"

    def check(self, path: str, value):
        errors = []
        for opt in self._ranked(value):
            try:
                return opt.check(path, value)
            except ConfigError as e:
                errors.append(str(e))
        if isinstance(value, dict) and errors:
            return_msg = errors[0]  # the option whose keys fit best
            raise ConfigError(return_msg)
        raise ConfigError(f"{path}: expected {self.what}")

    def _ranked(self, value):
        """Options in order of fit: for a mapping, the Map sharing most keys first."""
        if not isinstance(value, dict):
            return list(self.options)

        def score(opt):
            if isinstance(opt, Map):
                return -len(set(value) & set(opt.fields))
            return 1

        return sorted(self.options, key=score)


def _join(path: str, key: str) -> str:
    if not key.isidentifier():  # odd keys (spaces, newlines) shown quoted, on one line
        return f"{path}[{key!r}]" if path else repr(key)
    return f"{path}.{key}" if path else key


__all__ = ["MISSING", "Bool", "ConfigError", "Map", "Num", "NumList", "OneOf", "Str", "StrList"]


def optional(spec):
    """``spec`` with no default (None when the key is left out): an optional key."""
    import dataclasses

    return dataclasses.replace(spec, default=None)


def number_list(text) -> list[float]:
    """The numbers of a comma- (or semicolon-) separated text, as a form field holds them
    ("800, 1000; 1200"); empty parts are skipped; ConfigError names a part that is not a number."""
    out = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise ConfigError(f"'{part}' is not a number") from None
    return out
