"""Shared CLI state: the settings chosen by the root options, and opening the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from safeguard.config import Settings

if TYPE_CHECKING:
    from safeguard.engine import Safeguard


@dataclass
class CliState:
    settings: Settings | None = None

    def get_settings(self) -> Settings:
        if self.settings is None:
            self.settings = Settings.from_env()
        return self.settings

    def open(self) -> Safeguard:
        from safeguard.engine import Safeguard  # here: `stats` and `pathways` never load it

        return Safeguard.open(self.get_settings(), source="cli")


state = CliState()
