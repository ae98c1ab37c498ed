"""Writes racing deletes over real HTTP against a real server: never a 5xx, always a JSON
error with a code, and a store (and change log) that agrees with the answers afterwards.

Each round starts its requests together from several threads (a barrier), so that the
database sees them at once; both backends run every pair.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from safeguard.errors import Conflict
from safeguard.store import Bank, Content, Database
from safeguard.store.database import normalize_url
from safeguard.store.models import utcnow
from tests.api.conftest import Deployment

ROUNDS = 60
Call = Callable[[httpx.Client], httpx.Response]


def pdq(n: int, salt: int = 0) -> str:
    return f"{(n * 0x9E3779B97F4A7C15 + salt * 0x632BE59BD9B4E019) % (1 << 256):064x}"


class Racer:
    """Clients for concurrent requests, and what every answer must look like."""

    def __init__(self, deployment: Deployment) -> None:
        token = deployment.key("curate,admin", rate_limit=1_000_000)
        self.new_client = lambda: deployment.client(token)
        self.c = self.new_client()  # for setting up and checking, never in a race
        self.clients = [self.new_client() for _ in range(2)]
        self.pool = ThreadPoolExecutor(len(self.clients))
        self.statuses: Counter[str] = Counter()
        self.bad: list[str] = []
        self.start = self.head()

    def close(self) -> None:
        self.pool.shutdown()
        for c in [self.c, *self.clients]:
            c.close()

    def race(self, *calls: Call) -> list[httpx.Response]:
        """Send the calls at the same moment, each from its own thread and client."""
        barrier = threading.Barrier(len(calls))

        def go(i: int) -> httpx.Response:
            barrier.wait()
            r = calls[i](self.clients[i])
            if r.status_code >= 500:  # the server closes the connection after a 5xx
                self.clients[i].close()
                self.clients[i] = self.new_client()
            return r

        return list(self.pool.map(go, range(len(calls))))

    def check(self, r: httpx.Response, *allowed: int) -> int:
        """Record the answer; remember it if it is a 5xx, not allowed, or an error that is
        not JSON `{"message", "code"}`."""
        what = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
        self.statuses[what.split(" ", 1)[0] + f" {r.status_code}"] += 1
        if r.status_code >= 500 or r.status_code not in allowed:
            self.bad.append(f"{what}: {r.text[:200]}")
        elif r.status_code >= 400:
            body = r.json()
            if not (isinstance(body.get("message"), str) and isinstance(body.get("code"), str)):
                self.bad.append(f"{what}: error without message and code: {r.text[:200]}")
        return r.status_code

    def assert_clean(self) -> None:
        assert not self.bad, f"{len(self.bad)} bad answers ({dict(self.statuses)}): {self.bad[:5]}"

    def head(self) -> int:
        return max((c["id"] for c in self.changes(0)), default=0)

    def changes(self, after: int | None = None) -> list[dict]:  # type: ignore[type-arg]
        """The change log after `after` (default: since this racer started)."""
        after = self.start if after is None else after
        out: list[dict] = []  # type: ignore[type-arg]
        while True:
            r = self.c.get("/v1/changes", params={"after": after, "limit": 1000})
            assert r.status_code == 200, r.text
            out += r.json()["items"]
            if r.json()["next_after"] is None:
                return out
            after = r.json()["next_after"]

    def create_bank(self, name: str, items: int = 1) -> list[int]:
        assert self.c.post("/v1/banks", json={"name": name}).status_code == 201
        # salts from 1000 up: never those of the racing adds below
        return [self.add(name, pdq(i, 1000 + hash(name) % 1000)) for i in range(items)]

    def add(self, bank: str, value: str) -> int:
        r = self.c.post(f"/v1/banks/{bank}/content", json={"signals": {"pdq": value}})
        assert r.status_code == 201, r.text
        return int(r.json()["content_id"])


@pytest.fixture
def racer(deployment: Deployment) -> Iterator[Racer]:
    r = Racer(deployment)
    yield r
    r.close()


def orphans(deployment: Deployment) -> dict[str, int]:
    """Rows of content, signals or features whose bank or item is gone (read from the store)."""
    engine = create_engine(normalize_url(deployment.env["SAFEGUARD_DATABASE_URL"]))
    queries = {
        "content": "select count(*) from bank_content c where not exists "
        "(select 1 from banks b where b.id = c.bank_id)",
        "signals": "select count(*) from content_signals s where not exists "
        "(select 1 from bank_content c where c.id = s.content_id and c.bank_id = s.bank_id)",
        "features": "select count(*) from content_features f where not exists "
        "(select 1 from bank_content c where c.id = f.content_id and c.bank_id = f.bank_id)",
    }
    try:
        with engine.connect() as conn:
            return {k: int(conn.execute(text(q)).scalar() or 0) for k, q in queries.items()}
    finally:
        engine.dispose()


def by_bank(changes: list[dict], name: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in changes if c["bank_name"] == name]


def assert_deleted(racer: Racer, bank: str, content_ids: list[int]) -> None:
    """The bank answers 404 everywhere, and so does every item it held."""
    assert racer.c.get(f"/v1/banks/{bank}").status_code == 404
    assert racer.c.get(f"/v1/banks/{bank}/content").status_code == 404
    for cid in content_ids:
        assert racer.c.get(f"/c/bank/{bank}/content/{cid}").status_code == 404


def assert_gone_with_audit(
    racer: Racer, deployment: Deployment, banks: dict[str, tuple[int, list[int]]], action: str
) -> None:
    """After (write, bank delete) races: no error, each bank gone with every item it held, and
    its audit trail holding `action` exactly when the write was answered with success."""
    racer.assert_clean()
    changes = racer.changes()
    for name, (status, ids) in banks.items():
        assert_deleted(racer, name, ids)
        trail = by_bank(changes, name)
        written = [action] if status < 300 else []
        actions = [c["action"] for c in trail]
        assert actions == ["bank.create", "content.add", *written, "bank.delete"], (name, status)
        # the delete took every item the bank held, a racing add included
        assert trail[-1]["detail"]["content_removed"] == len(ids)
    assert orphans(deployment) == {"content": 0, "signals": 0, "features": 0}


def test_bank_patch_racing_bank_delete(deployment: Deployment, racer: Racer) -> None:
    banks: dict[str, tuple[int, list[int]]] = {}
    for i in range(ROUNDS):
        name = f"RACE_BP_{i}_{racer.start}"
        ids = racer.create_bank(name)
        patch, gone = racer.race(
            lambda c, n=name, i=i: c.patch(f"/v1/banks/{n}", json={"description": f"d{i}"}),
            lambda c, n=name: c.delete(f"/v1/banks/{n}"),
        )
        racer.check(gone, 204)
        banks[name] = (racer.check(patch, 200, 404), ids)
    assert_gone_with_audit(racer, deployment, banks, "bank.update")


def test_hma_bank_put_racing_bank_delete(deployment: Deployment, racer: Racer) -> None:
    banks: dict[str, int] = {}
    for i in range(ROUNDS):
        name = f"RACE_HP_{i}_{racer.start}"
        racer.create_bank(name, items=0)
        put, gone = racer.race(
            lambda c, n=name, i=i: c.put(f"/c/bank/{n}", json={"enabled_ratio": 0.5 + i / 1000}),
            lambda c, n=name: c.delete(f"/c/bank/{n}"),
        )
        racer.check(gone, 200)
        banks[name] = racer.check(put, 200, 404)
    racer.assert_clean()
    changes = racer.changes()
    for name, put in banks.items():
        assert racer.c.get(f"/c/bank/{name}").status_code == 404
        actions = [c["action"] for c in by_bank(changes, name)]
        expected = ["bank.update"] if put == 200 else []
        assert actions == ["bank.create", *expected, "bank.delete"], (name, put)


def test_content_patch_racing_content_delete(deployment: Deployment, racer: Racer) -> None:
    bank = f"RACE_CP_{racer.start}"
    ids = racer.create_bank(bank, items=ROUNDS)
    patched: dict[int, int] = {}
    for i, cid in enumerate(ids):
        # alternate the two faces: /v1 and HMA's /c
        if i % 2:
            write: Call = lambda c, cid=cid: c.put(  # noqa: E731
                f"/c/bank/{bank}/content/{cid}", json={"disable_until_ts": 0}
            )
            remove: Call = lambda c, cid=cid: c.delete(f"/c/bank/{bank}/content/{cid}")  # noqa: E731
        else:
            write = lambda c, cid=cid: c.patch(  # noqa: E731
                f"/v1/banks/{bank}/content/{cid}",
                json={"disabled_until": "2999-01-01T00:00:00Z"},
            )
            remove = lambda c, cid=cid: c.delete(f"/v1/banks/{bank}/content/{cid}")  # noqa: E731
        patch, gone = racer.race(write, remove)
        racer.check(gone, 200 if i % 2 else 204)
        if i % 2:
            assert gone.json() == {"deleted": 1}
        patched[cid] = racer.check(patch, 200, 404)
    racer.assert_clean()
    assert racer.c.get(f"/v1/banks/{bank}/content").json()["items"] == []
    changes = racer.changes()
    for cid, status in patched.items():
        actions = [c["action"] for c in changes if c["content_id"] == cid]
        expected = ["content.update"] if status == 200 else []
        assert actions == ["content.add", *expected, "content.remove"], (cid, status)
    assert orphans(deployment) == {"content": 0, "signals": 0, "features": 0}


def test_content_patch_racing_bank_delete(deployment: Deployment, racer: Racer) -> None:
    banks: dict[str, tuple[int, list[int]]] = {}
    for i in range(ROUNDS):
        name = f"RACE_CB_{i}_{racer.start}"
        ids = racer.create_bank(name)
        patch, gone = racer.race(
            lambda c, n=name, cid=ids[0]: c.patch(
                f"/v1/banks/{n}/content/{cid}", json={"disabled_until": "2999-01-01T00:00:00Z"}
            ),
            lambda c, n=name: c.delete(f"/v1/banks/{n}"),
        )
        racer.check(gone, 204)
        banks[name] = (racer.check(patch, 200, 404), ids)
    assert_gone_with_audit(racer, deployment, banks, "content.update")


def test_content_add_racing_bank_delete(deployment: Deployment, racer: Racer) -> None:
    banks: dict[str, tuple[int, list[int]]] = {}
    for i in range(ROUNDS):
        name = f"RACE_CA_{i}_{racer.start}"
        ids = racer.create_bank(name)
        if i % 2:  # HMA's face
            add: Call = lambda c, n=name, i=i: c.post(  # noqa: E731
                f"/c/bank/{n}/signal", json={"pdq": pdq(i, 7)}
            )
        else:
            add = lambda c, n=name, i=i: c.post(  # noqa: E731
                f"/v1/banks/{n}/content", json={"signals": {"pdq": pdq(i, 7)}}
            )
        added, gone = racer.race(add, lambda c, n=name: c.delete(f"/v1/banks/{n}"))
        racer.check(gone, 204)
        status = racer.check(added, 200 if i % 2 else 201, 404)
        if status < 300:
            ids.append(int(added.json()["id" if i % 2 else "content_id"]))
        banks[name] = (status, ids)
    assert_gone_with_audit(racer, deployment, banks, "content.add")


def test_same_content_added_at_once(deployment: Deployment, racer: Racer) -> None:
    """Two adds of one item: one creates it, the other finds it; the log holds one add."""
    bank = f"RACE_AA_{racer.start}"
    racer.create_bank(bank, items=0)
    for i in range(ROUNDS // 2):
        add: Call = lambda c, i=i: c.post(  # noqa: E731
            f"/v1/banks/{bank}/content", json={"signals": {"pdq": pdq(i, 11)}}
        )
        a, b = racer.race(add, add)
        statuses = sorted([racer.check(a, 200, 201), racer.check(b, 200, 201)])
        if statuses == [200, 201]:
            assert a.json()["content_id"] == b.json()["content_id"]
        else:
            racer.bad.append(f"round {i}: {statuses}, expected one 201 and one 200")
    racer.assert_clean()
    adds = [c for c in by_bank(racer.changes(), bank) if c["action"] == "content.add"]
    assert len(adds) == ROUNDS // 2


def test_key_revoked_twice_at_once(deployment: Deployment, racer: Racer) -> None:
    """Both revocations answer 200; the audit trail records one."""
    names = []
    for i in range(ROUNDS // 2):
        name = f"race-key-{racer.start}-{i}"
        r = racer.c.post("/v1/keys", json={"name": name, "scopes": ["hash"]})
        assert r.status_code == 201, r.text
        names.append(name)
        a, b = racer.race(
            lambda c, n=name: c.delete(f"/v1/keys/{n}"),
            lambda c, n=name: c.delete(f"/v1/keys/{n}"),
        )
        racer.check(a, 200)
        racer.check(b, 200)
    racer.assert_clean()
    revokes = Counter(c["detail"]["key"] for c in racer.changes() if c["action"] == "key.revoke")
    assert revokes == Counter({n: 1 for n in names})


def test_a_collision_past_the_locks_is_a_conflict(deployment: Deployment) -> None:
    """The store's safety net under the locks: a write whose row went under it (a foreign
    key to a removed bank; on PostgreSQL also an ORM update of a removed row) raises the
    library's Conflict, with nothing written, never a database exception."""
    db = Database.open(deployment.env["SAFEGUARD_DATABASE_URL"], migrate=False)
    try:
        with pytest.raises(Conflict), db.write_transaction() as s:
            s.add(Content(bank_id=2**40, dedupe_key="md5:" + "0" * 32, tags=[]))
            s.flush()
        if deployment.backend == "postgresql":
            now = utcnow()
            with db.write_transaction() as s:
                s.add(Bank(name="GONE_SOON", created_at=now, created_by="t", updated_at=now))
            with pytest.raises(Conflict), db.write_transaction() as s:
                bank = s.query(Bank).filter_by(name="GONE_SOON").one()
                with db.engine.begin() as other:  # removed by someone else meanwhile
                    other.execute(text("delete from banks where name = 'GONE_SOON'"))
                bank.description = "changed"
                s.flush()
        with db.transaction() as s:
            assert s.query(Content).filter_by(bank_id=2**40).count() == 0
    finally:
        db.close()
