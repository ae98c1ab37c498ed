"""What every signal type knows: its name, how to validate a value, how far apart two values are.

A signal type is a small class, in the spirit of python-threatexchange's `SignalType`: new
types plug in by being listed in `safeguard.signals.SIGNAL_TYPES`, without touching the matcher.
"""

from __future__ import annotations

import string
from typing import ClassVar

from safeguard.errors import InvalidSignal

_HEX = frozenset(string.hexdigits)


class SignalType:
    """A kind of signal. Values are canonical strings (lower-case hex for hashes)."""

    name: ClassVar[str]
    #: other names for this type found in hash lists (HMA, ThreatExchange indicator types)
    aliases: ClassVar[tuple[str, ...]] = ()
    #: True when only identical values match (cryptographic digests)
    exact: ClassVar[bool] = True
    #: largest meaningful distance threshold (0 for exact types)
    max_threshold: ClassVar[int] = 0

    @classmethod
    def validate(cls, value: str) -> str:
        """Return the canonical form of `value`, or raise InvalidSignal naming the problem."""
        raise NotImplementedError

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Distance between two canonical values: 0 means identical."""
        return 0 if a == b else 1


class HexDigestSignal(SignalType):
    """A signal whose value is a fixed-length hexadecimal string."""

    hex_length: ClassVar[int]

    @classmethod
    def validate(cls, value: str) -> str:
        if not isinstance(value, str):
            raise InvalidSignal(f"{cls.name} value must be a string of hex digits")
        v = value.strip().lower()
        if len(v) != cls.hex_length:
            raise InvalidSignal(
                f"{cls.name} value must be {cls.hex_length} hex characters (got {len(v)})"
            )
        bad = next((c for c in v if c not in _HEX), None)
        if bad is not None:
            raise InvalidSignal(f"{cls.name} value has a non-hex character {bad!r}")
        return v
