"""Signals: what safeguard extracts from content (PDQ, MD5, SHA-256) and how values compare.

`get_signal_type("pdq")` resolves a name or alias (as hash lists spell it) to its type.
"""

from __future__ import annotations

from safeguard.errors import InvalidSignal
from safeguard.signals.base import SignalType
from safeguard.signals.digests import Md5Signal, Sha256Signal
from safeguard.signals.pdq import PdqSignal

SIGNAL_TYPES: dict[str, type[SignalType]] = {
    t.name: t for t in (PdqSignal, Md5Signal, Sha256Signal)
}

_BY_ALIAS: dict[str, type[SignalType]] = {}
for _t in SIGNAL_TYPES.values():
    _BY_ALIAS[_t.name] = _t
    for _alias in _t.aliases:
        _BY_ALIAS[_alias] = _t


def get_signal_type(name: str) -> type[SignalType]:
    """The signal type for `name` (case-insensitive; aliases such as `video_md5` accepted)."""
    found = _BY_ALIAS.get(str(name).strip().lower())
    if found is None:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise InvalidSignal(f"unknown signal type {name!r} (known: {known})")
    return found


def validate_signal(signal_type: str, value: str) -> tuple[str, str]:
    """Canonical (type name, value) for a raw pair, or InvalidSignal naming the problem."""
    st = get_signal_type(signal_type)
    return st.name, st.validate(value)


def validate_signals(signals: dict[str, str]) -> dict[str, str]:
    """Canonical {type name: value} for the signals of one item, or InvalidSignal."""
    if not signals:
        raise InvalidSignal("give at least one signal, e.g. pdq=<64 hex digits>")
    clean: dict[str, str] = {}
    for t, v in signals.items():
        name, value = validate_signal(t, v)
        if clean.get(name, value) != value:
            raise InvalidSignal(f"two different {name} values given for one item")
        clean[name] = value
    return clean


__all__ = [
    "SIGNAL_TYPES",
    "Md5Signal",
    "PdqSignal",
    "Sha256Signal",
    "SignalType",
    "get_signal_type",
    "validate_signal",
    "validate_signals",
]
