"""Reading `SAFEGUARD_*` environment variables: the one set of parsers both settings objects
use (`safeguard.config.Settings`, `safeguard.api.settings.ServiceSettings`).

Only the settings' `from_env` constructors call these, at the edges (the CLI's entry, the
server's start, `Safeguard.open`, the bare library hash functions); the rest of the code is
handed settings. Every bad value is a ConfigError that names the variable. An unset or blank
variable means the default. Light: the standard library and safeguard.errors only.
"""

from __future__ import annotations

import os
from pathlib import Path

from safeguard.errors import ConfigError


def raw(name: str) -> str | None:
    """The variable's value, stripped; None when it is unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def text(name: str, default: str | None = None) -> str | None:
    """The variable as given (None or `default` when unset or empty)."""
    return os.environ.get(name) or default


def integer(name: str, default: int, minimum: int = 0) -> int:
    """A whole number, at least `minimum`."""
    given = os.environ.get(name)
    if given is None or given.strip() == "":
        return default
    try:
        value = int(given)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {given!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def number(name: str, default: float, minimum: float) -> float:
    """A number (decimals allowed), at least `minimum`."""
    given = raw(name)
    if given is None:
        return default
    try:
        value = float(given)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {given!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {given}")
    return value


def seconds(name: str, default: float, maximum: float) -> float:
    """A number of seconds from 0 to `maximum`."""
    given = raw(name)
    try:
        value = float(given) if given else default
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {given!r}") from None
    if not 0 <= value <= maximum:
        raise ConfigError(f"{name} must be 0-{maximum:g} seconds, got {given}")
    return value


def boolean(name: str, default: bool) -> bool:
    """1/0, true/false, yes/no or on/off (any case); anything else is an error."""
    given = (raw(name) or "").lower()
    if not given:
        return default
    if given in ("1", "true", "yes", "on"):
        return True
    if given in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), got {given!r}")


def flag(name: str) -> bool:
    """On only when exactly 1, true or yes (an opt-in to something unsafe: any other value,
    including a typo, leaves it off)."""
    return os.environ.get(name, "") in ("1", "true", "yes")


def names(name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list, lower-cased, blanks dropped (unset: `default`)."""
    given = os.environ.get(name, default)
    return tuple(x.strip().lower() for x in given.split(",") if x.strip())


def directory(name: str) -> Path | None:
    """A directory the process may create and write (None when the variable is unset)."""
    given = raw(name)
    if not given:
        return None
    path = Path(given).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name}: {given} exists and is not a directory")
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{name}: {given} is not writable by this process")
    return path
