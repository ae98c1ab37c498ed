"""Two safeguard instances on loopback, as real processes (issue #19's first "done when").

A publishes a bank; B subscribes, and B's worker syncs it: B matches A's hash within 5 s of
its publication; B disputes it and A sees the opinion; A removes it and B stops matching;
an entry changed in A's database is refused by B, naming the entry, with nothing of its
page applied; a sync killed with SIGKILL half way resumes without duplicates or gaps.
A is on SQLite and B on PostgreSQL in one test, the other way round in the other.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.api.conftest import ALL_SCOPES, Server, make_key, store_env
from tests.conftest import run_safeguard, safeguard_exe, temporary_database


def pdq(n: int) -> str:
    return f"{random.Random(n).getrandbits(256):064x}"


def wait_for(check: Callable[[], bool], seconds: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not seen within {seconds} s")
        time.sleep(0.05)
    return time.monotonic() - start


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_safeguard(list(args), env)


def cli_json(env: dict[str, str], *args: str) -> object:
    r = cli(env, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@contextmanager
def process(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    log = open(os.devnull, "w")  # noqa: SIM115 (closed below)
    p = subprocess.Popen(
        [safeguard_exe(), *args],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield p
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def subscribe(env_b: dict[str, str], server_a: Server, peer_key_file: Path, pub: str) -> None:
    r = cli(
        env_b,
        "exchange",
        "subscribe",
        "a",
        server_a.url,
        "--feed",
        "shared",
        "--key",
        pub,
        "--api-key-file",
        str(peer_key_file),
    )
    assert r.returncode == 0, r.stderr


def test_publish_subscribe_dispute_remove_and_tamper(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    with (
        temporary_database("sqlite", tmp_path) as url_a,
        temporary_database("postgresql", tmp_path) as url_b,
    ):
        env_a = store_env(tmp_path / "a", url_a)
        env_b = store_env(tmp_path / "b", url_b)
        admin_a, admin_b = (
            make_key(env_a, "admin", ALL_SCOPES),
            make_key(env_b, "admin", ALL_SCOPES),
        )
        peer_key = make_key(env_a, "peer-b", "exchange")
        key_file = tmp_path / "peer-key"
        key_file.write_text(peer_key)
        key_file.chmod(0o600)
        server_a, server_b = start_server(env_a), start_server(env_b)
        a, b = server_a.client(admin_a), server_b.client(admin_b)

        # A publishes a bank with one item; B subscribes (pinning A's key) and runs its worker
        assert a.post("/v1/banks", json={"name": "shared"}).status_code == 201
        assert a.post("/v1/banks/shared/content", json={"signals": {"pdq": pdq(1)}}).is_success
        r = a.post("/v1/exchange/feeds", json={"name": "shared", "bank": "shared"})
        assert r.status_code == 201, r.text
        pub = r.json()["public_key"]
        assert pub == cli_json(env_a, "exchange", "key")["public_key"]  # type: ignore[index]
        subscribe(env_b, server_a, key_file, pub)

        def matches_on_b(value: str) -> bool:
            r = b.get("/v1/match", params={"pdq": value})
            assert r.status_code == 200, r.text
            return any(m["bank"] == "peer-a" for m in r.json()["matches"])

        worker = ["worker", "--poll", "0.1", "--exchange-every", "0.5"]
        with process(env_b, *worker):
            wait_for(lambda: matches_on_b(pdq(1)), 20)  # the first sync, after start-up

            # publication to a match on B: within 5 s
            published = time.monotonic()
            added = a.post("/v1/banks/shared/content", json={"signals": {"pdq": pdq(2)}})
            assert added.status_code == 201
            seen_after = wait_for(lambda: matches_on_b(pdq(2)), 5.0)
            assert time.monotonic() - published < 5.0

            # B disputes the item; A sees the opinion (sent by B's next sync)
            item = added.json()["content_id"]
            r = b.post(
                "/v1/exchange/sources/a/opinions",
                json={"item": item, "opinion": "disputed", "note": "a common meme"},
            )
            assert r.status_code == 200, r.text

            def opinion_on_a() -> bool:
                said = a.get("/v1/exchange/feeds/shared/opinions").json()
                return [(o["item"], o["opinion"], o["peer"]) for o in said] == [
                    (item, "disputed", "key:peer-b")
                ]

            wait_for(opinion_on_a, 5.0)

            # A removes the item: B stops matching it (the other still matches)
            assert a.delete(f"/v1/banks/shared/content/{item}").status_code == 204
            wait_for(lambda: not matches_on_b(pdq(2)), 5.0)
            assert matches_on_b(pdq(1))
            source = b.get("/v1/exchange/sources").json()[0]
            assert source["last_error"] == "" and source["items"] == 1

        # with B's worker stopped: two more items, the first of them changed in A's database
        for n in (3, 4):
            a.post("/v1/banks/shared/content", json={"signals": {"pdq": pdq(n)}})
        page = httpx.get(
            f"{server_a.url}/v1/exchange/feeds/shared/entries",
            params={"after": source["cursor"]},
            headers={"Authorization": f"Bearer {peer_key}"},
        ).json()
        bad = page["entries"][0]["seq"]
        assert [e["seq"] for e in page["entries"]] == [bad, bad + 1]
        engine = create_engine(url_a)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE exchange_feed_entries SET signals = :s WHERE seq = :q"),
                {"s": json.dumps({"pdq": pdq(99)}), "q": bad},
            )
        engine.dispose()
        r = cli(env_b, "exchange", "sync", "a")
        assert r.returncode == 1
        assert f"entry {bad} of feed 'shared'" in r.stdout + r.stderr
        assert "signature does not verify" in r.stdout + r.stderr
        for n in (3, 4, 99):  # nothing of the page: not even the good entry after the bad one
            assert not matches_on_b(pdq(n))
        [source] = cli_json(env_b, "exchange", "sources")  # type: ignore[misc]
        assert source["cursor"] == bad - 1 and "signature" in source["last_error"]
        print(f"B matched a newly published hash {seen_after:.2f} s after publication")


def test_a_sync_killed_half_way_resumes_without_duplicates_or_gaps(tmp_path: Path) -> None:
    with (
        temporary_database("postgresql", tmp_path) as url_a,
        temporary_database("sqlite", tmp_path) as url_b,
    ):
        env_a = store_env(tmp_path / "a", url_a)
        env_b = store_env(tmp_path / "b", url_b)
        peer_key = make_key(env_a, "peer-b", "exchange")
        key_file = tmp_path / "peer-key"
        key_file.write_text(peer_key)
        listed = [pdq(n) for n in range(1000, 2500)]
        hash_list = tmp_path / "list.txt"
        hash_list.write_text("".join(f"pdq {v}\n" for v in listed))
        assert cli(env_a, "bank", "create", "shared").returncode == 0
        assert cli(env_a, "bank", "import", "shared", str(hash_list)).returncode == 0
        info = cli_json(env_a, "exchange", "publish", "shared")
        assert info["head_seq"] == len(listed)  # type: ignore[index]

        server_a = Server(env_a)
        try:
            subscribe(env_b, server_a, key_file, info["public_key"])  # type: ignore[index]

            def cursor() -> int:
                [source] = cli_json(env_b, "exchange", "sources")  # type: ignore[misc]
                return int(source["cursor"])

            with process(env_b, "exchange", "sync", "a", "--page", "50") as sync:
                wait_for(lambda: cursor() >= 100, 60)
                sync.send_signal(signal.SIGKILL)
                sync.wait()
            at_kill = cursor()
            assert 0 < at_kill < len(listed), at_kill  # killed half way

            r = cli(env_b, "exchange", "sync", "a", "--json")
            assert r.returncode == 0, r.stderr
            report = json.loads(r.stdout.splitlines()[-1])
            assert report["ok"] and report["cursor"] == len(listed)
            assert report["entries"] == len(listed) - at_kill  # nothing read twice
        finally:
            server_a.stop()
        # B holds exactly A's items, each once
        rows = cli(env_b, "bank", "export", "peer-a")
        assert rows.returncode == 0, rows.stderr
        values = [json.loads(line)["signals"]["pdq"] for line in rows.stdout.splitlines()]
        assert len(values) == len(listed) and set(values) == set(listed)
