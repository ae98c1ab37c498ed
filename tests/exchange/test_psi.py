"""Private account checks (issue #19's second "done when").

Between two instances as real processes: B checks its accounts against A's list of
confirmed offenders' identifiers over HTTP and finds exactly the shared ones (spelt
differently on each side), each opening a case for review and nothing else. And what each
side learns: the messages are taken apart to show that A sees neither B's identifiers nor
their digests (only how many), that B sees neither A's list nor its digests (only the
intersection), and that B cannot test other guesses against an answer without asking A
again, which A audits."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from private_set_intersection.python import Request, Response, ServerSetup, client

from safeguard import Safeguard
from safeguard.access.people import Actor
from safeguard.config import Settings
from safeguard.errors import ImportFormatError, InvalidRequest
from safeguard.exchange.psi import digest, normalize
from safeguard.exchange.sync import PeerClient
from tests.api.conftest import Server, make_key, store_env
from tests.conftest import run_safeguard, temporary_database

ADMIN = Actor.operator("cli:test")


def offenders(n: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        if i % 3:
            out.append(f"email:person{i}.{rng.randrange(10**6)}@example.org")
        else:
            out.append(f"phone:+4477009{rng.randrange(10**5):05d}")
    return out


def respelt(identifier: str) -> str:
    """The same identifier as another platform might hold it."""
    kind, value = identifier.split(":", 1)
    if kind == "email":
        return f"EMAIL: {value.upper()} "
    return f"phone:{value[:3]} {value[3:7]}-{value[7:]}"


def test_normalised_spellings_hash_alike_and_bad_ones_are_refused() -> None:
    assert normalize("Email: Someone@Example.ORG ") == "email:someone@example.org"
    assert normalize("phone:+44 (0)7700-900123") == "phone:+4407700900123"
    assert digest("email:A@b.co") == digest("EMAIL:a@B.CO")
    for bad in ("someone@example.org", "fax:123", "email:nobody", "phone:12", "email:"):
        with pytest.raises(InvalidRequest):
            normalize(bad)


def test_a_check_between_two_instances_finds_exactly_the_shared_accounts(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    with (
        temporary_database("postgresql", tmp_path) as url_a,
        temporary_database("sqlite", tmp_path) as url_b,
    ):
        env_a, env_b = store_env(tmp_path / "a", url_a), store_env(tmp_path / "b", url_b)
        listed = offenders(300)
        ids = tmp_path / "offenders.txt"
        ids.write_text("# confirmed on A\n" + "\n".join(listed) + "\n")
        r = run_safeguard(
            ["exchange", "identifiers", "add", "offenders", str(ids), "--json"], env_a
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"list": "offenders", "added": 300}
        assert run_safeguard(["bank", "create", "shared"], env_a).returncode == 0
        r = run_safeguard(["exchange", "publish", "shared", "--json"], env_a)
        public_key = json.loads(r.stdout)["public_key"]
        key_file = tmp_path / "peer-key"
        key_file.write_text(make_key(env_a, "peer-b", "exchange"))
        server_a = start_server(env_a)
        r = run_safeguard(
            ["exchange", "subscribe", "a", server_a.url, "--feed", "shared", "--key", public_key,
             "--api-key-file", str(key_file)],
            env_b,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr

        # B's 200 accounts: 17 of them have an identifier on A's list, spelt B's way
        rng = random.Random(11)
        shared = rng.sample(range(300), 17)
        rows = [f"acct-{i},{respelt(listed[i])}" for i in shared]
        rows += [f"other-{i},email:user{i}@example.net" for i in range(183)]
        rng.shuffle(rows)
        accounts = tmp_path / "accounts.csv"
        accounts.write_text("account_id,identifier\n" + "\n".join(rows) + "\n")
        r = run_safeguard(["exchange", "check", "a", "offenders", str(accounts), "--json"], env_b)
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert report["checked"] == 200
        assert sorted(h["account_id"] for h in report["hits"]) == sorted(
            f"acct-{i}" for i in shared
        )

        # each hit opened a case for review, and nothing else happened on B
        cases = json.loads(run_safeguard(["cases", "list", "--json"], env_b).stdout)
        assert sorted(c["account_id"] for c in cases) == sorted(f"acct-{i}" for i in shared)
        one = json.loads(
            run_safeguard(["cases", "show", str(cases[0]["id"]), "--json"], env_b).stdout
        )
        assert one["state"] == "open" and [i["kind"] for i in one["items"]] == ["peer_signal"]
        assert one["items"][0]["list"] == "offenders" and one["items"][0]["source"] == "a"
        banks = json.loads(run_safeguard(["bank", "list", "--json"], env_b).stdout)
        assert all(b["content_count"] == 0 for b in banks)

        # A's audit log: one answer to key:peer-b, with the count and nothing of B's accounts
        said = run_safeguard(["audit", "list", "--action", "exchange.psi_answer", "--json"], env_a)
        entries = [json.loads(line) for line in said.stdout.splitlines()]
        assert [(e["actor"], e["detail"]) for e in entries] == [("key:peer-b", {"asked": 200})]
        assert not any("acct-" in json.dumps(e) for e in entries)

        # a malformed accounts file: refused whole, naming the line; nothing asked
        accounts.write_text("acct-1,email:ok@example.org\nacct-2,fax:123\n")
        r = run_safeguard(["exchange", "check", "a", "offenders", str(accounts)], env_b)
        assert r.returncode != 0 and "line 2" in r.stderr


def _capture(monkeypatch: pytest.MonkeyPatch, publisher: Safeguard, seen: dict[str, Any]) -> None:
    """B's client calls A's library in-process; the messages on the way are kept."""

    def check_accounts(self: PeerClient, list_name: str, request: str) -> Mapping[str, Any]:
        seen["request"] = base64.b64decode(request)
        answer = publisher.identifier_lists_for(ADMIN).answer(list_name, "key:peer-b", request)
        seen["setup"] = base64.b64decode(str(answer["setup"]))
        seen["response"] = base64.b64decode(str(answer["response"]))
        return answer

    monkeypatch.setattr(PeerClient, "check_accounts", check_accounts)


def _engine(tmp_path: Path, name: str, url: str) -> Safeguard:
    settings = Settings.from_env().with_(home=tmp_path / name, database_url=url, actor="cli:t")
    return Safeguard.open(settings)


def _contains_any(blob: bytes, values: list[str]) -> list[str]:
    """The values (identifiers or digests) found in `blob` as text or as raw digest bytes."""
    found = []
    for v in values:
        forms = [v.encode(), v.encode().hex().encode()]
        if len(v) == 64:
            forms.append(bytes.fromhex(v))
        if any(f in blob for f in forms):
            found.append(v)
    return found


def test_what_each_side_learns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        temporary_database("sqlite", tmp_path / "a") as url_a,
        temporary_database("sqlite", tmp_path / "b") as url_b,
    ):
        a, b = _engine(tmp_path, "ha", url_a), _engine(tmp_path, "hb", url_b)
        try:
            listed = offenders(50)
            a.identifier_lists_for(ADMIN).add("offenders", enumerate(listed, 1))
            a.create_bank("shared")
            key = a.feeds_for(ADMIN).publish("shared", "shared").public_key
            monkeypatch.setenv("PEER_KEY", "unused")
            b.sources_for(ADMIN).subscribe("a", "http://a.test", "shared", key, "env:PEER_KEY")
            mine = [listed[3], listed[10]] + [f"email:b{i}@example.net" for i in range(8)]
            seen: dict[str, Any] = {}
            _capture(monkeypatch, a, seen)
            rows = [(n, f"u{n}", ident) for n, ident in enumerate(mine, 1)]
            report = b.account_checker_for(ADMIN).check("a", "offenders", rows)

            # B learns exactly the intersection
            assert sorted(h.account_id for h in report.hits) == ["u1", "u2"]

            # A sees B's identifiers only blinded: not the text, not the digests; only a count
            request = Request()
            request.ParseFromString(seen["request"])
            assert len(request.encrypted_elements) == len(mine)
            assert _contains_any(seen["request"], mine + [digest(m) for m in mine]) == []
            # ...and does not learn whether any matched: the intersection is computed on B
            # from A's answer; nothing goes back to A after it

            # B sees A's list only blinded under A's fresh key: none of the identifiers or
            # digests, neither the 2 it shares nor the 48 others
            assert _contains_any(seen["setup"] + seen["response"], listed) == []
            assert (
                _contains_any(seen["setup"] + seen["response"], [digest(x) for x in listed]) == []
            )

            # B cannot test further guesses against that answer: a new question needs A
            guesses = client.CreateWithNewKey(True)
            guesses.CreateRequest([digest(x) for x in listed])  # B guessing A's whole list
            setup, response = ServerSetup(), Response()
            setup.ParseFromString(seen["setup"])
            response.ParseFromString(seen["response"])
            try:
                found = guesses.GetIntersection(setup, response)
            except RuntimeError:
                found = []
            assert list(found) == []

            # every question is audited on A with its count, and on B with its outcome
            from safeguard.audit.reader import AuditReader

            said = AuditReader(a.db, ADMIN).entries(action="exchange.psi_answer")
            assert [e.detail for e in said] == [{"asked": len(mine)}]
            asked = AuditReader(b.db, ADMIN).entries(action="exchange.psi_check")
            assert asked[0].detail["checked"] == len(mine) and asked[0].detail["hits"] == 2

            # a list of identifiers that do not parse is refused whole, naming lines
            with pytest.raises(ImportFormatError, match="line 2"):
                a.identifier_lists_for(ADMIN).add("offenders", [(1, "email:x@y.org"), (2, "nope")])
        finally:
            a.close()
            b.close()
