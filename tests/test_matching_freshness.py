"""The matcher sees every committed change, even one that commits out of id order."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from safeguard import Safeguard
from safeguard.store.models import utcnow

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_change_committed_after_a_later_one_is_seen(db_url: str, home: Path) -> None:
    """On PostgreSQL a writer can take a lower change-log id and commit after a writer that
    took a higher one (SQLite serializes writers, so this cannot happen there)."""
    reader = Safeguard.open(home=home, database_url=db_url, actor="reader")
    slow = Safeguard.open(home=home, database_url=db_url, actor="slow")
    fast = Safeguard.open(home=home, database_url=db_url, actor="fast")
    reader.banks.create("known")
    assert not reader.match_signals({"pdq": PDQ}).matched
    with slow.db.transaction() as s:
        # the slow writer adds content and takes its change-log id first...
        bank_id = s.execute(text("SELECT id FROM banks WHERE name = 'known'")).scalar()
        cid = s.execute(
            text(
                "INSERT INTO bank_content (bank_id, dedupe_key, source, note, tags, added_at, "
                "added_by) VALUES (:b, :k, '', '', '[]', :t, 'slow') RETURNING id"
            ),
            {"b": bank_id, "k": f"pdq:{PDQ}", "t": utcnow()},
        ).scalar()
        s.execute(
            text(
                "INSERT INTO content_signals (content_id, bank_id, signal_type, signal_value) "
                "VALUES (:c, :b, 'pdq', :v)"
            ),
            {"c": cid, "b": bank_id, "v": PDQ},
        )
        s.execute(
            text(
                "INSERT INTO change_log (at, actor, action, bank_id, bank_name, content_id, "
                "detail) VALUES (:t, 'slow', 'content.add', :b, 'known', :c, '{}')"
            ),
            {"t": utcnow(), "b": bank_id, "c": cid},
        )
        # ...a fast writer commits a later change meanwhile, and the reader refreshes
        fast.banks.create("other")
        assert not reader.match_signals({"pdq": PDQ}).matched
    # the slow writer has committed now, below the newest id: the reader must see it
    assert [m.content_id for m in reader.match_signals({"pdq": PDQ}).matches] == [cid]
    for sg in (reader, slow, fast):
        sg.close()
