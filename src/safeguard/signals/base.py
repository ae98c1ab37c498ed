"""What every signal type knows, in one class: the single seam a new kind of signal plugs into.

A signal type (in the spirit of python-threatexchange's `SignalType`) declares its name and the
other names hash lists and HMA clients use for it, which content types it applies to, how to
validate a value and measure the distance between two, its default and largest threshold, the
index that searches its values, and how to compute it from content (`hash_bytes` for any
file's bytes, `hash_pixels` for decoded images, `hash_video` for video files). Everything
else (banks, matching, hash lists, the HTTP API and the CLI) reads these attributes and
never names a type. Types are
registered in `safeguard.signals` (built-ins) or through the `safeguard.signal_types` entry
point group (third-party packages); see docs/architecture.md, "Adding a signal type".
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from safeguard.errors import InvalidSignal

if TYPE_CHECKING:
    import numpy as np

    from safeguard.index.base import SignalIndex

_HEX = frozenset(string.hexdigits)

#: content types a signal may apply to: any file's bytes, a decoded still image, a video,
#: a web address
CONTENT_TYPES = ("file", "photo", "video", "url")


@dataclass(frozen=True)
class Hashed:
    """One signal computed from content: its value, its quality (0-100) where the type has
    one, and for lookups the values of the content's variants ({variant name: value})."""

    value: str
    quality: int | None = None
    variants: Mapping[str, str] = field(default_factory=dict)


class SignalType:
    """A kind of signal. Values are canonical strings (lower-case hex for hashes)."""

    name: ClassVar[str]
    #: other names for this type found in hash lists (HMA, ThreatExchange indicator types)
    aliases: ClassVar[tuple[str, ...]] = ()
    #: the name HMA 2.x clients use for it (defaults to `name`)
    hma_name: ClassVar[str] = ""
    #: one line for help texts and the API documentation
    description: ClassVar[str] = ""
    #: a valid value, for documentation
    example: ClassVar[str] = ""
    #: what it is computed from: "file" (any file's bytes), "photo", "video", "url"
    content_types: ClassVar[tuple[str, ...]] = ("file",)
    #: True when only identical values match (cryptographic digests)
    exact: ClassVar[bool] = True
    #: the distance threshold a bank gets unless it sets its own (0 for exact types)
    default_threshold: ClassVar[int] = 0
    #: the largest threshold a bank may set (0 for exact types)
    max_threshold: ClassVar[int] = 0
    #: True when values come with a quality score (0-100; PDQ's)
    has_quality: ClassVar[bool] = False
    #: False for values too large for hash lists and query parameters (local features)
    listable: ClassVar[bool] = True
    #: a bank option (a boolean column of `banks`) that must be on for this type to match
    bank_option: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and not cls.__dict__.get("hma_name"):
            cls.hma_name = cls.name

    @classmethod
    def validate(cls, value: str) -> str:
        """Return the canonical form of `value`, or raise InvalidSignal naming the problem."""
        raise NotImplementedError

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Distance between two canonical values: 0 means identical."""
        return 0 if a == b else 1

    @classmethod
    def similarity_text(cls, distance: int, query: str, listed: Callable[[], str | None]) -> str:
        """How python-threatexchange (and HMA) shows a match: "-" for exact types, else the
        distance. `listed()` reads the listed value, for types that show more."""
        return "-" if cls.exact else str(distance)

    @classmethod
    def make_index(cls, ids: Sequence[int], values: Sequence[str]) -> SignalIndex:
        """An index over these entry ids and canonical values: a dictionary for exact types,
        else a scan with `distance` (types with many values bring a faster index)."""
        from safeguard.index.exact import ExactIndex
        from safeguard.index.scan import ScanIndex

        index: SignalIndex = ExactIndex() if cls.exact else ScanIndex(cls.distance)
        index.add(zip(ids, values, strict=True))
        return index

    @classmethod
    def hash_bytes(cls, data: bytes) -> str | None:
        """The value of any file's bytes, for "file" types (None: not computed from bytes)."""
        return None

    @classmethod
    def stream(cls) -> Any:
        """A new incremental hasher (`update(bytes)`, `hexdigest()`) for files too large to
        read at once, for "file" types that have one (None: the type needs the whole file)."""
        return None

    @classmethod
    def hash_pixels(cls, pixels: np.ndarray, *, variants: bool = False) -> Hashed | None:
        """The value of an HxWx3 uint8 RGB image, for "photo" types, with the variants a
        lookup uses when `variants` (None: not computed from pixels, or the image has none)."""
        return None

    @classmethod
    def hash_video(cls, path: Any, limits: Any = None, *, variants: bool = False) -> Hashed | None:
        """The value of a video, for "video" types (None: not computed from videos, or
        nothing to hash): `path` is a file name or an open binary file (an upload spooled
        to disk). `limits`: signals.video_decode.VideoLimits; `variants`: with the values of
        the video's variants for lookups."""
        return None

    @classmethod
    def allows_variant(cls, bank: Any, variant: str) -> bool:
        """Whether a hit through query variant `variant` counts for `bank` (its options)."""
        return True


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


class HammingHexSignal(HexDigestSignal):
    """A perceptual hash written in hex and compared bit by bit (Hamming distance)."""

    exact = False

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()
