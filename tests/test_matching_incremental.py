"""A matcher that follows the change log gives the same answers as one built from scratch.

Random sequences of bank and content operations run through one store; a long-lived matcher
applies them incrementally while a new matcher is built after each step. Every lookup must
agree, and the long-lived one must never have rebuilt.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from safeguard import Safeguard
from safeguard.banks import HashRecord
from safeguard.errors import BankExists, BankNotFound, ContentNotFound
from safeguard.matching import Matcher


def _near(rng: random.Random, value: str, bits: int) -> str:
    n = int(value, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def _answers(m: Matcher, queries: list[dict[str, str]]) -> list[object]:
    return [r.to_json() for r in m.lookup_many(queries)]


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_matches_rebuilt(db_url: str, home: Path, seed: int) -> None:
    rng = random.Random(seed)
    bases = [f"{rng.getrandbits(256):064x}" for _ in range(12)]
    digests = [f"{rng.getrandbits(128):032x}" for _ in range(6)]
    sg = Safeguard.open(home=home, database_url=db_url, actor="test")
    follower = Matcher(sg.db)
    queries = [{"pdq": _near(rng, b, rng.choice([0, 10, 25, 40]))} for b in bases]
    queries += [{"md5": d} for d in digests]
    names = ["a", "b", "neg"]
    added: list[tuple[str, int]] = []
    _answers(follower, queries)  # built once, here
    for _step in range(40):
        op = rng.choice(
            ["create", "add", "add", "import", "remove", "disable", "enable", "update", "delete"]
        )
        name = rng.choice(names)
        try:
            if op == "create":
                sg.banks.create(name, negative=name == "neg", pdq_threshold=rng.choice([20, 31]))
            elif op == "add":
                signals = (
                    {"pdq": _near(rng, rng.choice(bases), rng.choice([0, 5, 20]))}
                    if rng.random() < 0.7
                    else {"md5": rng.choice(digests)}
                )
                added.append((name, sg.banks.add(name, signals).content_id))
            elif op == "import":
                records = [
                    HashRecord({"pdq": _near(rng, rng.choice(bases), rng.choice([1, 15]))})
                    for _ in range(rng.randint(1, 8))
                ]
                sg.banks.import_records(name, records)
            elif op == "remove" and added:
                bank, cid = added.pop(rng.randrange(len(added)))
                sg.banks.remove_content(bank, cid)
            elif op in ("disable", "enable"):
                sg.banks.set_enabled(name, op == "enable")
            elif op == "update":
                sg.banks.update(name, pdq_threshold=rng.choice([10, 31, 45]))
            elif op == "delete":
                sg.banks.delete(name)
        except (BankNotFound, BankExists, ContentNotFound):
            pass
        fresh = Matcher(sg.db)
        assert _answers(follower, queries) == _answers(fresh, queries), f"after {op} {name}"
    status = follower.status()
    assert status.rebuilds == 1 and status.changes_applied > 0
    sg.close()


def test_a_failed_update_is_recovered_not_lost(db_url: str, home: Path) -> None:
    """If applying a batch of changes fails half way (a database error, say), the matcher
    must not skip those changes: the next refresh rebuilds from the store."""
    sg = Safeguard.open(home=home, database_url=db_url, actor="test")
    m = Matcher(sg.db)
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    assert not m.lookup({"pdq": pdq}).matched
    sg.banks.create("x")
    sg.banks.add("x", {"pdq": pdq})
    real = m._read_changes

    def broken(rows):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    m._read_changes = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        m.refresh()
    m._read_changes = real  # type: ignore[method-assign]
    assert m.lookup({"pdq": pdq}).matched
    assert m.status().rebuilds == 2
    sg.close()
