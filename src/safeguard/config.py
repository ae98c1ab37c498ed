"""Settings, read from `SAFEGUARD_*` environment variables with sane defaults.

SAFEGUARD_HOME            where safeguard keeps its state (default: the per-user data dir)
SAFEGUARD_DATABASE_URL    SQLAlchemy URL; default a SQLite file in SAFEGUARD_HOME
SAFEGUARD_PDQ_QUALITY_FLOOR  PDQ quality below which a hash is marked low quality (default 50)
SAFEGUARD_MAX_IMAGE_PIXELS   images with more pixels are refused, unread (default 100 million)
SAFEGUARD_MAX_IMAGE_BYTES    files larger than this get digests but no PDQ (default 64 MiB)
SAFEGUARD_DECODE_MEMORY   MiB that image decodes in one process may hold at once (default 384);
                          larger images are decoded at reduced size or refused
SAFEGUARD_DECODE_WAIT     seconds a decode waits for that memory before giving up (default 5)
SAFEGUARD_WORKERS         processes used to hash many files (default: number of CPUs)
SAFEGUARD_ACTOR           who is recorded as making changes (default: cli:<login name>)
SAFEGUARD_RECORD_MATCHES  0 stops writing a `match.recorded` event for every match (default 1;
                          docs/events.md)
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_data_dir

from safeguard.errors import ConfigError

DEFAULT_PDQ_QUALITY_FLOOR = 50
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
DEFAULT_MAX_IMAGE_BYTES = 64 * 1024 * 1024
DEFAULT_DECODE_MEMORY_MIB = 384
DEFAULT_DECODE_WAIT = 5.0


def _int_env(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), got {raw!r}")


def decode_memory_from_env() -> int:
    """Bytes of decode memory per process (SAFEGUARD_DECODE_MEMORY, in MiB; at least 64)."""
    return _int_env("SAFEGUARD_DECODE_MEMORY", DEFAULT_DECODE_MEMORY_MIB, 64) << 20


def decode_wait_from_env() -> float:
    """Seconds a decode waits for decode memory held by others (SAFEGUARD_DECODE_WAIT)."""
    raw = os.environ.get("SAFEGUARD_DECODE_WAIT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_DECODE_WAIT
    except ValueError:
        raise ConfigError(f"SAFEGUARD_DECODE_WAIT must be a number, got {raw!r}") from None
    if not 0 <= value <= 600:
        raise ConfigError(f"SAFEGUARD_DECODE_WAIT must be 0-600 seconds, got {raw}")
    return value


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
    record_matches: bool = True

    @classmethod
    def from_env(
        cls,
        *,
        home: str | os.PathLike[str] | None = None,
        database_url: str | None = None,
        actor: str | None = None,
    ) -> Settings:
        """Settings from the environment; arguments given here win over it. A `home` with no
        database URL (given or in the environment) means the SQLite file in that home."""
        home = Path(
            home or os.environ.get("SAFEGUARD_HOME") or user_data_dir("safeguard", appauthor=False)
        )
        url = database_url or os.environ.get("SAFEGUARD_DATABASE_URL") or sqlite_url(home)
        floor = _int_env("SAFEGUARD_PDQ_QUALITY_FLOOR", DEFAULT_PDQ_QUALITY_FLOOR)
        if floor > 100:
            raise ConfigError(f"SAFEGUARD_PDQ_QUALITY_FLOOR must be 0-100, got {floor}")
        return cls(
            home=home,
            database_url=url,
            pdq_quality_floor=floor,
            max_image_pixels=_int_env("SAFEGUARD_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS, 1),
            max_image_bytes=_int_env("SAFEGUARD_MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES, 1),
            workers=_int_env("SAFEGUARD_WORKERS", os.cpu_count() or 1, 1),
            actor=actor or os.environ.get("SAFEGUARD_ACTOR") or _default_actor(),
            record_matches=_bool_env("SAFEGUARD_RECORD_MATCHES", True),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (`settings.with_(workers=1)`)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'safeguard.db'}"
