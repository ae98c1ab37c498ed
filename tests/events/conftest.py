"""The event tests count match records exactly, so their store's own lookups record none:
every record they see comes from the `MatchRecorder` under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from safeguard import Safeguard
from safeguard.config import Settings


@pytest.fixture
def sg(db_url: str, home: Path) -> Iterator[Safeguard]:
    settings = Settings.from_env().with_(
        home=home, database_url=db_url, actor="test", workers=2, record_matches=False
    )
    engine = Safeguard.open(settings)
    yield engine
    engine.close()
