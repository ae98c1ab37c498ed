"""Settings, read from `SAFEGUARD_*` environment variables with sane defaults.

`Settings.from_env` is called at the edges (the CLI's entry, the server's start,
`Safeguard.open` given no settings) and the object is passed on: nothing deeper reads the
environment. The parsers are in `safeguard._env` (shared with the service settings).

SAFEGUARD_HOME            where safeguard keeps its state (default: the per-user data dir)
SAFEGUARD_DATABASE_URL    SQLAlchemy URL; default a SQLite file in SAFEGUARD_HOME
SAFEGUARD_PDQ_QUALITY_FLOOR  PDQ quality below which a hash is marked low quality (default 50)
SAFEGUARD_MAX_IMAGE_PIXELS   images with more pixels are refused, unread (default 100 million)
SAFEGUARD_MAX_IMAGE_BYTES    files larger than this get digests but no PDQ (default 64 MiB)
SAFEGUARD_DECODE_MEMORY   MiB that image decodes in one process may hold at once (default 384);
                          larger images are decoded at reduced size or refused
SAFEGUARD_DECODE_WAIT     seconds a decode waits for that memory before giving up (default 5)
SAFEGUARD_MAX_VIDEO_SECONDS  videos playing longer are refused, declared or reached (default
                          14400: 4 hours)
SAFEGUARD_MAX_VIDEO_PIXELS   videos with larger frames are refused (default 33177600: 8K UHD)
SAFEGUARD_MAX_VIDEO_DECODE_SECONDS  wall-clock seconds one video may take to decode and hash
                          (default 600)
SAFEGUARD_WORKERS         processes used to hash many files (default: number of CPUs)
SAFEGUARD_ACTOR           who is recorded as making changes (default: cli:<login name>)
SAFEGUARD_USER            the user (`safeguard users`) the CLI acts for, with that user's
                          roles; unset: the operator, with every role but auditor's
SAFEGUARD_CLAIM_TIMEOUT   seconds a reviewer's claim on a case lasts (default 1800)
SAFEGUARD_NEGATIVE_BANK   the negative bank `not_abuse` decisions add to (default not-abuse)
SAFEGUARD_FLOOD_WINDOW    flood quarantine: seconds of the window matches are counted in (600)
SAFEGUARD_FLOOD_MIN       ... the fewest matches in a window that can be a flood (default 50)
SAFEGUARD_FLOOD_FACTOR    ... and how many times its usual count per window (default 10)
SAFEGUARD_PRESERVE_MEDIA  1 keeps the media of uploads that open or join a case, encrypted
                          (evidence; needs SAFEGUARD_EVIDENCE_KEY or _KEY_FILE; default 0)
SAFEGUARD_RECORD_MATCHES  0 stops writing a `match.recorded` event for every match (default 1;
                          docs/events.md)
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_data_dir

from safeguard import _env
from safeguard.errors import ConfigError

DEFAULT_PDQ_QUALITY_FLOOR = 50
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024
DEFAULT_DECODE_MEMORY_MIB = 384
DEFAULT_DECODE_WAIT = 5.0
#: the longest video hashed, in seconds of playing time
DEFAULT_MAX_VIDEO_SECONDS = 4 * 3600.0
#: the largest video frame decoded (8K UHD)
DEFAULT_MAX_VIDEO_PIXELS = 7680 * 4320
#: the most wall-clock seconds one video may take to decode and hash
DEFAULT_MAX_VIDEO_DECODE_SECONDS = 600.0


def decode_memory_from_env() -> int:
    """Bytes of decode memory per process (SAFEGUARD_DECODE_MEMORY, in MiB; at least 64)."""
    return _env.integer("SAFEGUARD_DECODE_MEMORY", DEFAULT_DECODE_MEMORY_MIB, 64) << 20


def decode_wait_from_env() -> float:
    """Seconds a decode waits for decode memory held by others (SAFEGUARD_DECODE_WAIT)."""
    return _env.seconds("SAFEGUARD_DECODE_WAIT", DEFAULT_DECODE_WAIT, 600)


@dataclass(frozen=True)
class DecodeLimits:
    """How much memory a process's image decodes may hold at once, and how long a decode
    waits for it while others hold it (signals/images.py)."""

    memory: int = DEFAULT_DECODE_MEMORY_MIB << 20  #: bytes
    wait: float = DEFAULT_DECODE_WAIT  #: seconds
    video: VideoLimits = field(default_factory=lambda: VideoLimits())

    @classmethod
    def from_env(cls) -> DecodeLimits:
        """SAFEGUARD_DECODE_MEMORY, SAFEGUARD_DECODE_WAIT and the video limits (for callers
        given no settings)."""
        return cls(decode_memory_from_env(), decode_wait_from_env(), VideoLimits.from_env())


@dataclass(frozen=True)
class VideoLimits:
    """What a video may cost to hash (signals/video_decode.py): its playing time, its frame
    size and the wall-clock time of decoding it."""

    max_seconds: float = DEFAULT_MAX_VIDEO_SECONDS
    max_frame_pixels: int = DEFAULT_MAX_VIDEO_PIXELS
    max_decode_seconds: float = DEFAULT_MAX_VIDEO_DECODE_SECONDS

    @classmethod
    def from_env(cls) -> VideoLimits:
        """SAFEGUARD_MAX_VIDEO_SECONDS, _PIXELS and _DECODE_SECONDS."""
        return cls(
            _env.seconds("SAFEGUARD_MAX_VIDEO_SECONDS", DEFAULT_MAX_VIDEO_SECONDS, 7 * 86400),
            _env.integer("SAFEGUARD_MAX_VIDEO_PIXELS", DEFAULT_MAX_VIDEO_PIXELS, 1),
            _env.seconds(
                "SAFEGUARD_MAX_VIDEO_DECODE_SECONDS", DEFAULT_MAX_VIDEO_DECODE_SECONDS, 86400
            ),
        )


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli:unknown"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    pdq_quality_floor: int = DEFAULT_PDQ_QUALITY_FLOOR
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    actor: str = field(default_factory=_default_actor)
    user: str | None = None
    claim_timeout: float = 1800.0  #: seconds
    negative_bank: str = "not-abuse"
    flood_window: float = 600.0  #: seconds
    flood_min: int = 50
    flood_factor: float = 10.0
    preserve_media: bool = False
    record_matches: bool = True
    decode_memory: int = DEFAULT_DECODE_MEMORY_MIB << 20  #: bytes (SAFEGUARD_DECODE_MEMORY)
    decode_wait: float = DEFAULT_DECODE_WAIT  #: seconds (SAFEGUARD_DECODE_WAIT)
    video: VideoLimits = field(default_factory=lambda: VideoLimits())  #: SAFEGUARD_MAX_VIDEO_*

    @classmethod
    def from_env(
        cls,
        *,
        home: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        actor: str | None = None,
        user: str | None = None,
    ) -> Settings:
        """Settings from the environment; arguments given here win over it. A `home` with no
        database URL (given or in the environment) means the SQLite file in that home."""
        where = Path(
            home or _env.text("SAFEGUARD_HOME") or user_data_dir("safeguard", appauthor=False)
        )
        url = database_url or _env.text("SAFEGUARD_DATABASE_URL") or sqlite_url(where)
        floor = _env.integer("SAFEGUARD_PDQ_QUALITY_FLOOR", DEFAULT_PDQ_QUALITY_FLOOR)
        if floor > 100:
            raise ConfigError(f"SAFEGUARD_PDQ_QUALITY_FLOOR must be 0-100, got {floor}")
        return cls(
            home=where,
            database_url=url,
            pdq_quality_floor=floor,
            max_image_pixels=_env.integer(
                "SAFEGUARD_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS, 1
            ),
            max_image_bytes=_env.integer("SAFEGUARD_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, 1),
            workers=_env.integer("SAFEGUARD_WORKERS", os.cpu_count() or 1, 1),
            actor=actor or _env.text("SAFEGUARD_ACTOR") or _default_actor(),
            user=user or _env.text("SAFEGUARD_USER") or None,
            claim_timeout=_env.seconds("SAFEGUARD_CLAIM_TIMEOUT", 1800.0, 7 * 86400),
            negative_bank=_env.text("SAFEGUARD_NEGATIVE_BANK") or "not-abuse",
            flood_window=_env.seconds("SAFEGUARD_FLOOD_WINDOW", 600.0, 7 * 86400),
            flood_min=_env.integer("SAFEGUARD_FLOOD_MIN", 50, 1),
            flood_factor=_env.number("SAFEGUARD_FLOOD_FACTOR", 10.0, 1.0),
            preserve_media=_env.boolean("SAFEGUARD_PRESERVE_MEDIA", False),
            record_matches=_env.boolean("SAFEGUARD_RECORD_MATCHES", True),
            decode_memory=decode_memory_from_env(),
            decode_wait=decode_wait_from_env(),
            video=VideoLimits.from_env(),
        )

    @property
    def decode(self) -> DecodeLimits:
        """The decode memory and wait and the video limits, as hashing takes them."""
        return DecodeLimits(self.decode_memory, self.decode_wait, self.video)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (`settings.with_(workers=1)`)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'safeguard.db'}"
