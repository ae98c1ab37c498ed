"""Optional parts of safeguard and the pip extra that installs each.

The base install hashes, banks, matches, scores pathways and imports and summarises
statistics. Heavier parts come with extras: `server` (the HTTP service), `charts` (briefing
and evaluation charts), `pathways` (training and evaluating the pathways model), `spark`
(the Spark feature job), `stats` (all that statistics use: today the briefing chart, i.e.
`charts`), `psi` (private account checks between peers); `all` is every extra. `require`
imports one of them or says, as a SafeguardError, which extra to install. Each is imported
where it is used, never when a package is imported.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from safeguard.errors import ConfigError


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module`, or raise ConfigError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{feature} needs safeguard's {extra!r} extra ({module} is not installed): "
            f"pip install 'safeguard[{extra}]'"
        ) from None


def pyplot(feature: str) -> ModuleType:
    """matplotlib's pyplot on the Agg backend (no display), from the `charts` extra."""
    matplotlib = require("matplotlib", "charts", feature)
    matplotlib.use("Agg")
    return require("matplotlib.pyplot", "charts", feature)
