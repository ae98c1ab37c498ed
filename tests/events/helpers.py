"""Shared set-up for the event tests: a bank of synthetic PDQ hashes and queries against it."""

from __future__ import annotations

import random

from safeguard import Safeguard
from safeguard.banks import HashRecord
from safeguard.events import MATCH_RECORDED, Subscription
from safeguard.matching import MatchResult
from safeguard.matching.feed import ChangeRow
from safeguard.store import Database


def synthetic_hashes(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(256):064x}" for _ in range(n)]


def bank_of(sg: Safeguard, name: str, hashes: list[str]) -> None:
    sg.banks.create(name)
    records = [HashRecord({"pdq": h}, external_id=f"{name}-{i}") for i, h in enumerate(hashes)]
    sg.banks.import_records(name, records, source="test")


def lookup(sg: Safeguard, h: str) -> MatchResult:
    return sg.match_signals({"pdq": h})


def drain(sub: Subscription, limit: int = 1000) -> list[ChangeRow]:
    """Every row the subscription has not acknowledged yet, acknowledging as it goes."""
    out: list[ChangeRow] = []
    while True:
        batch = sub.poll(limit)
        out.extend(batch.rows)
        sub.ack(batch)
        if batch.scanned < limit:
            return out


def match_rows(db: Database) -> list[ChangeRow]:
    """All match records in the log, read through a throw-away subscription."""
    import uuid

    sub = Subscription(db, f"probe-{uuid.uuid4().hex[:8]}", actions=[MATCH_RECORDED])
    return drain(sub)
