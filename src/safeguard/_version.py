"""safeguard's version, read from the installed package's metadata (pyproject.toml is the one
source of truth). Importing it loads nothing of safeguard's own, so light modules (statistics
briefings, `safeguard --version`) can name the version without the detection stack."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _read() -> str:
    try:
        return version("safeguard")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


__version__ = _read()
