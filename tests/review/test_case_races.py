"""Two reviewers at once: exactly one decision wins and the other is told who won; a claim
keeps others off a case until it times out."""

from __future__ import annotations

import threading
from datetime import timedelta

from safeguard import Safeguard
from safeguard.access.people import Actor, UserService
from safeguard.act import EventInput
from safeguard.errors import Conflict
from safeguard.store.models import utcnow


def _open_case(sg: Safeguard) -> int:
    sg.create_bank("known")
    sg.banks.add("known", {"md5": "0" * 31 + "1"})
    admin = Actor.operator("test")
    (v,) = sg.events_for(admin).submit_many(
        [
            EventInput.from_json(
                {"kind": "upload", "account_id": "race", "hashes": {"md5": "0" * 31 + "1"}}
            )
        ]
    )
    assert v.case_id is not None
    return v.case_id


def test_concurrent_decisions_one_wins_and_the_other_names_it(sg: Safeguard) -> None:
    case_id = _open_case(sg)
    admin = Actor.operator("test")
    users = UserService(sg.db, admin)
    for name in ("ann", "bob"):
        users.create(name, ["child_safety"])
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(name: str, decision: str) -> None:
        cases = sg.cases_for(Actor(f"user:{name}", frozenset({"child_safety"}), user=name))
        start.wait()
        try:
            outcomes[name] = cases.decide(case_id, decision).case.decision
        except Conflict as e:
            outcomes[name] = e

    threads = [
        threading.Thread(target=decide, args=("ann", "confirmed")),
        threading.Thread(target=decide, args=("bob", "not_abuse")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    lost = [n for n, o in outcomes.items() if isinstance(o, Conflict)]
    won = [n for n, o in outcomes.items() if not isinstance(o, Conflict)]
    assert len(lost) == 1 and len(won) == 1, outcomes
    assert f"already decided by {won[0]}" in str(outcomes[lost[0]])
    final = sg.cases_for(admin).get(case_id).case
    assert final.decided_by == won[0] and final.state == "decided"


def test_a_claim_keeps_others_off_until_it_times_out(sg: Safeguard) -> None:
    case_id = _open_case(sg)
    ann = sg.cases_for(Actor("user:ann", frozenset({"child_safety"}), user="ann"))
    bob = sg.cases_for(Actor("user:bob", frozenset({"child_safety"}), user="bob"))
    ann.claim(case_id)
    try:
        bob.claim(case_id)
        raise AssertionError("bob took ann's claim")
    except Conflict as e:
        assert "claimed by ann" in str(e)
    later = utcnow() + timedelta(seconds=sg.settings.claim_timeout + 1)
    assert bob.claim(case_id, now=later).claimed_by == "bob"


def test_the_queue_shows_a_lapsed_claim_and_anyone_may_take_it(sg: Safeguard) -> None:
    case_id = _open_case(sg)
    ann = sg.cases_for(Actor("user:ann", frozenset({"child_safety"}), user="ann"))
    bob = sg.cases_for(Actor("user:bob", frozenset({"child_safety"}), user="bob"))
    ann.claim(case_id)
    (row,) = bob.queue().rows
    assert row.case.claimed_by == "ann" and not row.claim_lapsed
    ann.claim(case_id, now=utcnow() - bob.claim_timeout - timedelta(seconds=1))
    (row,) = bob.queue().rows
    assert row.claim_lapsed
    assert bob.claim(case_id).claimed_by == "bob"
    (row,) = ann.queue().rows
    assert row.case.claimed_by == "bob" and not row.claim_lapsed
