"""Service settings, from `SAFEGUARD_*` environment variables (see docs/api.md).

SAFEGUARD_API_ROLES             route groups this process serves (default: every one of
                                hash, match, curate, events, review, audit, admin)
SAFEGUARD_MAX_UPLOAD_BYTES      largest request body accepted (default 32 MiB)
SAFEGUARD_RATE_LIMIT            requests per minute per key and process, unless the key sets
                                its own (default 6000)
SAFEGUARD_AUTH_FAILURE_LIMIT    requests with an unknown or revoked key per minute per client
                                address and process before 429 (default 30)
SAFEGUARD_URL_FETCH_HOSTS       hosts `?url=` may fetch from (comma list; empty = off, default)
SAFEGUARD_URL_FETCH_ALLOW_PRIVATE  1 lets `?url=` reach private and loopback addresses (unsafe;
                                for closed test networks only)
SAFEGUARD_SYNC_INTERVAL         seconds between change-log polls (default 0.25)
SAFEGUARD_INDEX_STALE_AFTER     seconds without a successful poll before /status says 503
                                (default 30)
SAFEGUARD_DECODE_MEMORY, SAFEGUARD_DECODE_WAIT  image decode memory per process and how long a
                                decode waits for it (safeguard.config.Settings, checked at start)
SAFEGUARD_DRAIN_SECONDS         after SIGTERM, seconds of serving with /readyz at 503 before
                                the server stops accepting (default 5)
SAFEGUARD_DRAIN_TIMEOUT         then, seconds in-flight requests may take to finish (default 20)
SAFEGUARD_STARTUP_WAIT          seconds a process waits for its index before it accepts
                                connections (default 120)
SAFEGUARD_API_OPEN_HMA          1 serves the HMA routes (/h /m /c) without a key: only on a
                                loopback or private listen address (default off)
SAFEGUARD_SNAPSHOT_DIR          a directory for match-index snapshots: a process starts from
                                the newest valid one and writes new ones (default: none, every
                                start reads the whole store; docs/snapshots.md)
SAFEGUARD_SNAPSHOT_INTERVAL     seconds between snapshot checks; one is written only when the
                                change log moved (default 300, at least 1)
SAFEGUARD_SNAPSHOT_KEEP         how many snapshots to keep, newest first (default 2)
SAFEGUARD_UI_IDLE_MINUTES       a web UI session unused this long ends (default 30)
SAFEGUARD_UI_INSECURE_COOKIES   1 sends the web UI's cookies without `Secure`, for plain
                                HTTP beyond localhost (unsafe; default off)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from safeguard import _env
from safeguard.access import SCOPES
from safeguard.config import Settings
from safeguard.errors import ConfigError

#: a role serves the routes that need the scope of the same name; "ui" serves the web UI
ROLES = (*SCOPES, "ui")


@dataclass(frozen=True)
class ServiceSettings:
    roles: tuple[str, ...] = ROLES
    max_upload_bytes: int = 32 * 1024 * 1024
    rate_limit: int = 6000
    url_fetch_hosts: tuple[str, ...] = ()
    url_fetch_allow_private: bool = False
    url_fetch_timeout: float = 10.0
    sync_interval: float = 0.25
    stale_after: float = 30.0
    key_cache_seconds: float = 2.0
    #: how long a refused key is remembered: a key created since works after at most this
    key_negative_cache_seconds: float = 1.0
    auth_failure_limit: int = 30
    drain_seconds: float = 5.0
    drain_timeout: float = 20.0
    startup_wait: float = 120.0
    open_hma: bool = False
    snapshot_dir: Path | None = None
    snapshot_interval: float = 300.0
    snapshot_keep: int = 2
    ui_idle_minutes: float = 30.0
    ui_secure_cookies: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> ServiceSettings:
        roles = _env.names("SAFEGUARD_API_ROLES", ",".join(ROLES))
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise ConfigError(
                f"SAFEGUARD_API_ROLES: unknown role {unknown[0] if unknown else '(none)'!r}; "
                f"use some of {', '.join(ROLES)}"
            )
        return cls(
            roles=roles,
            max_upload_bytes=int(_env.number("SAFEGUARD_MAX_UPLOAD_BYTES", 32 * 1024 * 1024, 1)),
            rate_limit=int(_env.number("SAFEGUARD_RATE_LIMIT", 6000, 1)),
            auth_failure_limit=int(_env.number("SAFEGUARD_AUTH_FAILURE_LIMIT", 30, 1)),
            url_fetch_hosts=_env.names("SAFEGUARD_URL_FETCH_HOSTS", ""),
            url_fetch_allow_private=_env.flag("SAFEGUARD_URL_FETCH_ALLOW_PRIVATE"),
            sync_interval=_env.number("SAFEGUARD_SYNC_INTERVAL", 0.25, 0.01),
            stale_after=_env.number("SAFEGUARD_INDEX_STALE_AFTER", 30.0, 1),
            drain_seconds=_env.number("SAFEGUARD_DRAIN_SECONDS", 5.0, 0),
            drain_timeout=_env.number("SAFEGUARD_DRAIN_TIMEOUT", 20.0, 0.1),
            startup_wait=_env.number("SAFEGUARD_STARTUP_WAIT", 120.0, 0),
            open_hma=_env.flag("SAFEGUARD_API_OPEN_HMA"),
            snapshot_dir=_env.directory("SAFEGUARD_SNAPSHOT_DIR"),
            snapshot_interval=_env.number("SAFEGUARD_SNAPSHOT_INTERVAL", 300.0, 1),
            snapshot_keep=int(_env.number("SAFEGUARD_SNAPSHOT_KEEP", 2, 1)),
            ui_idle_minutes=_env.number("SAFEGUARD_UI_IDLE_MINUTES", 30.0, 1),
            ui_secure_cookies=not _env.flag("SAFEGUARD_UI_INSECURE_COOKIES"),
        )


def worker_environment(settings: Settings, roles: str | None = None) -> dict[str, str]:
    """The one channel from `safeguard serve` to its server processes.

    uvicorn starts each worker from an import string (`safeguard.api.app:app_from_env`), so
    a worker cannot be handed objects: it reads its settings from the environment it
    inherits, at one place (`app_from_env`: `Settings.from_env`, `ServiceSettings.from_env`).
    These are the variables the parent sets so that its choices made on the command line
    (the store, `--roles`) reach them; everything else is inherited as it is.
    """
    env = {"SAFEGUARD_HOME": str(settings.home), "SAFEGUARD_DATABASE_URL": settings.database_url}
    if roles is not None:
        env["SAFEGUARD_API_ROLES"] = roles
    return env
