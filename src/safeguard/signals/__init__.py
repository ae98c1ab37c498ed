"""Signals: what safeguard extracts from content and how values compare.

The registry of signal types: the built-ins (PDQ, MD5, SHA-256, local features, URLs) and any a
third-party package registers in the entry point group `safeguard.signal_types`, e.g. in its
pyproject.toml:

    [project.entry-points."safeguard.signal_types"]
    ahash = "my_package.ahash:AHashSignal"

`signal_types()` lists them all; `get_signal_type("pdq")` resolves a name or alias (as hash
lists spell it) to its type.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from safeguard.errors import ConfigError, InvalidSignal
from safeguard.signals.base import CONTENT_TYPES, Hashed, SignalType
from safeguard.signals.digests import Md5Signal, Sha256Signal
from safeguard.signals.local import LocalSignal
from safeguard.signals.pdq import PdqSignal
from safeguard.signals.url import UrlSignal

ENTRY_POINT_GROUP = "safeguard.signal_types"
BUILT_IN: tuple[type[SignalType], ...] = (
    PdqSignal,
    Md5Signal,
    Sha256Signal,
    LocalSignal,
    UrlSignal,
)

_registry: dict[str, type[SignalType]] | None = None
_by_alias: dict[str, type[SignalType]] = {}


def _load() -> dict[str, type[SignalType]]:
    global _registry
    if _registry is not None:
        return _registry
    found: dict[str, type[SignalType]] = {}
    by_alias: dict[str, type[SignalType]] = {}
    plugins: list[tuple[str, type[SignalType]]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as e:
            raise ConfigError(
                f"signal type plug-in {ep.name!r} ({ep.value}) failed to load: {e}"
            ) from e
        plugins.append((f"{ep.name!r} ({ep.value})", loaded))
    for origin, t in [("built-in", t) for t in BUILT_IN] + plugins:
        _check(origin, t)
        names = {t.name, *(a.lower() for a in t.aliases), t.hma_name.lower()}
        for n in names:
            other = by_alias.get(n)
            if other is not None and other is not t:
                raise ConfigError(
                    f"signal type plug-in {origin}: the name {n!r} is already taken by "
                    f"signal type {other.name!r}"
                )
            by_alias[n] = t
        found[t.name] = t
    _by_alias.clear()
    _by_alias.update(by_alias)
    _registry = found
    return found


def _check(origin: str, t: object) -> None:
    if not (isinstance(t, type) and issubclass(t, SignalType)):
        raise ConfigError(f"signal type plug-in {origin} is not a SignalType subclass")
    name = getattr(t, "name", "")
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ConfigError(f"signal type plug-in {origin} needs a lower-case identifier name")
    bad = set(t.content_types) - set(CONTENT_TYPES)
    if bad or not t.content_types:
        raise ConfigError(
            f"signal type {name!r}: content types must be some of {', '.join(CONTENT_TYPES)}"
        )
    if not 0 <= t.default_threshold <= t.max_threshold or (t.exact and t.max_threshold):
        raise ConfigError(
            f"signal type {name!r}: needs 0 <= default_threshold <= max_threshold "
            "(both 0 for an exact type)"
        )


def signal_types(*, listable: bool | None = None) -> dict[str, type[SignalType]]:
    """Every registered signal type by name (with `listable=True`, only those whose values
    go in hash lists and query parameters)."""
    found = _load()
    if listable is None:
        return dict(found)
    return {n: t for n, t in found.items() if t.listable == listable}


def get_signal_type(name: str) -> type[SignalType]:
    """The signal type for `name` (case-insensitive; aliases such as `video_md5` accepted)."""
    _load()
    found = _by_alias.get(str(name).strip().lower())
    if found is None:
        known = ", ".join(sorted(signal_types(listable=True)))
        raise InvalidSignal(f"unknown signal type {name!r} (known: {known})")
    return found


def validate_signal(signal_type: str, value: str) -> tuple[str, str]:
    """Canonical (type name, value) for a raw pair, or InvalidSignal naming the problem.
    Only listable types are accepted: local features are computed, never given."""
    st = get_signal_type(signal_type)
    if not st.listable:
        raise InvalidSignal(
            f"{st.name} values are computed from content, not given; send the file instead"
        )
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


def __getattr__(name: str) -> object:
    """`SIGNAL_TYPES`, kept for callers of the first releases: the listable types."""
    if name == "SIGNAL_TYPES":
        return signal_types(listable=True)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILT_IN",
    "CONTENT_TYPES",
    "ENTRY_POINT_GROUP",
    "SIGNAL_TYPES",
    "Hashed",
    "LocalSignal",
    "Md5Signal",
    "PdqSignal",
    "Sha256Signal",
    "SignalType",
    "get_signal_type",
    "signal_types",
    "validate_signal",
    "validate_signals",
]
