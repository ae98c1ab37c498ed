"""Shared CLI state: the settings chosen by the root options, and opening the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from safeguard.config import Settings

if TYPE_CHECKING:
    from safeguard.access.people import Actor
    from safeguard.engine import Safeguard
    from safeguard.store import Database


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

    def actor(self, db: Database) -> Actor:
        """Who the command acts for: the `--user` (SAFEGUARD_USER) with that user's roles,
        else the operator (whoever holds the database), recorded as the settings' actor."""
        from safeguard.access.people import Actor, actor_for_user

        settings = self.get_settings()
        if settings.user:
            return actor_for_user(db, settings.user)
        return Actor.operator(settings.actor)


state = CliState()
