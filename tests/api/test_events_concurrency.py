"""Concurrent event requests to a server: combined into shared batches (group commit), each
request still gets its own verdicts, in its own order, and every account ends with one case
holding one item per matching upload, whether an upload was judged on the event loop or on
a worker thread. A write that has to wait for another writer never holds up the server's
event loop."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import text

from safeguard.api.metrics import read_samples
from safeguard.store import Database
from tests.api.conftest import Deployment, Server, make_key, store_env
from tests.conftest import eventually, read_without_log, run_safeguard


def test_concurrent_requests_share_batches_and_each_get_their_own_verdicts(
    deployment: Deployment, bank_name: str
) -> None:
    admin = deployment.client()
    assert admin.post("/v1/banks", json={"name": bank_name}).status_code == 201
    banked = [f"{n:032x}" for n in range(1, 9)]
    for h in banked:
        r = admin.post(f"/v1/banks/{bank_name}/content", json={"signals": {"md5": h}})
        assert r.status_code == 201, r.text
    token = deployment.key("events")
    batches_before = _batch_metric(admin.get("/metrics").text)
    threads, per_thread = 12, 6
    answers: dict[int, list[dict[str, object]]] = {}
    sent: dict[int, list[dict[str, object]]] = {}
    start = threading.Barrier(threads)

    def platform(n: int) -> None:
        client = deployment.client(token)
        start.wait()
        got = []
        for k in range(per_thread):
            # accounts shared between threads; one matching upload and one that is not.
            # Half the threads give platform event ids (judged on a worker thread, which
            # looks the ids up), half do not (judged on the event loop, written after)
            events = [
                {
                    "kind": "upload",
                    "account_id": f"{bank_name}-{(n + k) % 5}",
                    "id": f"{bank_name}.{n}.{k}" if n % 2 else None,
                    "hashes": {"md5": banked[(n * k) % len(banked)]},
                },
                {
                    "kind": "upload",
                    "account_id": f"{bank_name}-x{n}",
                    "hashes": {"md5": "f" * 30 + f"{n:02d}"},
                },
            ]
            sent.setdefault(n, []).extend(events)
            r = client.post("/v1/events", json={"events": events})
            assert r.status_code == 200, r.text
            got.extend(r.json()["verdicts"])
        answers[n] = got

    workers = [threading.Thread(target=platform, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert len(answers) == threads
    cases: dict[str, set[object]] = defaultdict(set)
    for n, got in answers.items():
        assert [(v["account_id"], v["id"]) for v in got] == [
            (e["account_id"], e.get("id")) for e in sent[n]
        ]
        for v in got[0::2]:
            assert v["verdict"] == "hold" and v["case_id"], v
            cases[str(v["account_id"])].add(v["case_id"])
        assert all(v["verdict"] == "allow" and v["case_id"] is None for v in got[1::2])
    # one case per account, holding one item per matching upload of that account
    assert all(len(ids) == 1 for ids in cases.values()), cases
    # the metrics count the batches: every matching upload was judged in one (those judged
    # on a worker thread with the other upload of their request), and no batch was empty
    after = _batch_metric(admin.get("/metrics").text)
    batches, events = (a - b for a, b in zip(after, batches_before, strict=True))
    matching = threads * per_thread
    assert matching <= events <= 2 * matching and 1 <= batches <= events, (batches, events)
    spec = f"spec-{bank_name}"
    r = run_safeguard(["users", "add", spec, "--role", "child_safety"], deployment.env)
    assert r.returncode == 0, r.stderr
    review = deployment.client(make_key(deployment.env, spec, "review", "--user", spec))
    for account, (case_id,) in cases.items():
        shown = review.get(f"/v1/cases/{case_id}")
        assert shown.status_code == 200, shown.text
        items = shown.json()["items"]
        uploads = sum(1 for got in answers.values() for v in got if v["account_id"] == account)
        assert len(items) == uploads


def _batch_metric(text: str) -> tuple[float, float]:
    """`safeguard_event_batch_events`: (batches, events in them) from a `/metrics` page."""
    samples = read_samples(text, "safeguard_event_batch_events")
    return (
        samples.get("safeguard_event_batch_events_count", 0.0),
        samples.get("safeguard_event_batch_events_sum", 0.0),
    )


@contextlib.contextmanager
def _write_lock_held(url: str) -> Iterator[None]:
    """Another writer at work on the store: SQLite's write lock (taken as every safeguard
    writer takes it), or on PostgreSQL the events table locked against writes."""
    db = Database.open(url, migrate=False)
    try:
        with db.write_transaction() as s:
            if db.engine.dialect.name == "postgresql":
                s.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
            yield
    finally:
        db.close()


def test_a_write_that_must_wait_never_holds_up_the_event_loop(
    deployment: Deployment, bank_name: str
) -> None:
    admin = deployment.client()
    assert admin.post("/v1/banks", json={"name": bank_name}).status_code == 201
    banked = f"{7:032x}"
    r = admin.post(f"/v1/banks/{bank_name}/content", json={"signals": {"md5": banked}})
    assert r.status_code == 201, r.text
    events = deployment.client(deployment.key("events"))
    upload = {"kind": "upload", "account_id": f"{bank_name}-w", "hashes": {"md5": banked}}
    # the first match reads the entry from the store; later ones are judged on the loop
    for _ in range(2):
        r = events.post("/v1/events", json={"events": [upload]})
        assert r.status_code == 200 and r.json()["verdicts"][0]["verdict"] == "hold", r.text
    answer: dict[str, object] = {}

    def submit() -> None:
        t0 = time.monotonic()
        got = deployment.client(events.headers["authorization"].split()[1]).post(
            "/v1/events", json={"events": [upload]}, timeout=60
        )
        answer.update(status=got.status_code, body=got.json(), seconds=time.monotonic() - t0)

    held = 2.0
    with _write_lock_held(deployment.env["SAFEGUARD_DATABASE_URL"]):
        sender = threading.Thread(target=submit)
        sender.start()
        time.sleep(0.3)  # the event is judged and waits to be written
        assert not answer
        t0 = time.monotonic()
        assert admin.get("/livez").status_code == 200
        assert admin.get("/v1/banks").status_code == 200
        assert time.monotonic() - t0 < 1.0  # the loop answers while the write waits
        time.sleep(held - 0.3 - (time.monotonic() - t0))
    sender.join(timeout=60)
    assert answer["status"] == 200, answer
    (verdict,) = answer["body"]["verdicts"]  # type: ignore[index]
    assert verdict["verdict"] == "hold" and verdict["case_id"], verdict
    assert answer["seconds"] >= held - 0.5  # it was written after the other writer let go  # type: ignore[operator]


def test_a_server_on_sqlite_copies_its_log_into_the_database_on_a_thread_of_its_own(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    """What a server writes reaches the database file from its checkpoint thread, long
    before SQLite's 1,000 log pages after which a request's own commit would copy it (and
    wait for the disk, holding the writers' turn: docs/benchmarks.md)."""
    db = tmp_path / "sg.db"
    env = store_env(tmp_path / "home", f"sqlite:///{db}")
    server = start_server(env)
    token = make_key(env, "platform", "events")
    report = {"kind": "report", "account_id": "acct-1", "reporter": "r-1", "reason": "spam"}
    r = server.client(token).post("/v1/events", json={"events": [report]})
    assert r.status_code == 200, r.text
    assert eventually(lambda: read_without_log(db, "select count(*) from events") == 1)
