"""`safeguard webhooks ...` as an admin uses it: secrets shown once and never listed, bad
input refused in one line, admins only, every change audited; disabling and removing."""

from __future__ import annotations

from safeguard.outbox import Worker, enqueue, signature
from safeguard.store import Database
from tests.conftest import Cli
from tests.outbox.conftest import audit_actions
from tests.outbox.receiver import Receiver


def _one_line_error(result, text: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and text in result.stderr, result.stderr


def test_a_generated_secret_is_shown_once_and_never_listed(
    cli: Cli, db: Database, receiver: Receiver
) -> None:
    added = cli("webhooks", "add", "platform", receiver.url, "--topic", "verdict,decision")
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    assert len(secret) >= 40 and "cannot be shown again" in added.stderr
    as_json = cli.json("webhooks", "add", "other", receiver.url + "/other")
    assert as_json["topics"] == ["verdict", "decision", "quarantine"] and as_json["secret"]
    given = cli.json("webhooks", "add", "third", receiver.url, "--secret", "x" * 20)
    assert "secret" not in given

    listed = cli.json("webhooks", "list")
    assert [e["name"] for e in listed] == ["other", "platform", "third"]
    assert listed[1]["topics"] == ["verdict", "decision"] and listed[1]["enabled"] is True
    text = cli("webhooks", "list").stdout
    for output in (str(listed), text):
        assert "secret" not in output and secret not in output
        assert as_json["secret"] not in output and "x" * 20 not in output

    # the secret it printed is the one deliveries are signed with
    with db.write_transaction() as s:
        enqueue(s, "verdict", {"n": 1}, "v1")
    worker = Worker(db)
    worker.run_once()
    worker.close()
    r = next(r for r in receiver.received if r.headers["idempotency-key"] == "v1:platform")
    timestamp = r.headers["x-safeguard-timestamp"]
    assert r.headers["x-safeguard-signature"] == signature(secret, timestamp, r.body)


BAD_INPUT = [
    (["add", "p", "ftp://example.org/hook"], "invalid webhook URL 'ftp://example.org/hook'"),
    (["add", "p", "not a url"], "invalid webhook URL"),
    (["add", "p", "https://u:pw@example.org/"], "no user name or password"),
    (["add", "bad name", "https://example.org/"], "invalid webhook name 'bad name'"),
    (["add", "p", "https://example.org/", "--topic", "verdicts"], "unknown webhook topic"),
    (["add", "p", "https://example.org/", "--secret", "short"], "16 to 200 printable"),
    (["remove", "nobody"], "no webhook named 'nobody'"),
    (["disable", "nobody"], "no webhook named 'nobody'"),
    (["replay"], "give a failed job's id, or --all-failed"),
    (["replay", "4242"], "no webhook job 4242"),
    (["replay", "1", "--all-failed"], "not both"),
]


def test_bad_input_is_one_line(cli: Cli) -> None:
    for args, message in BAD_INPUT:
        _one_line_error(cli("webhooks", *args), message)
    assert cli.json("webhooks", "list") == [], "nothing was added"


def test_only_admins_manage_webhooks_and_every_change_is_audited(
    cli: Cli, db: Database, receiver: Receiver
) -> None:
    assert cli("users", "add", "mod", "--role", "moderator,child_safety").exit_code == 0
    assert cli("users", "add", "boss", "--role", "admin").exit_code == 0
    for args in (["add", "p", receiver.url], ["list"], ["failed"], ["replay", "--all-failed"]):
        _one_line_error(cli("--user", "mod", "webhooks", *args), "may not")
    assert cli("--user", "boss", "webhooks", "add", "p", receiver.url).exit_code == 0
    _one_line_error(cli("webhooks", "add", "p", receiver.url), "already exists")
    assert cli("webhooks", "disable", "p").exit_code == 0
    assert cli("webhooks", "disable", "p").exit_code == 0  # already: nothing to record
    assert cli("webhooks", "enable", "p").exit_code == 0
    assert cli("webhooks", "remove", "p").exit_code == 0
    assert audit_actions(db)[-4:] == [
        "webhook.add",
        "webhook.disable",
        "webhook.enable",
        "webhook.remove",
    ]


def test_disabled_endpoints_wait_and_removed_ones_fail_their_jobs(
    cli: Cli, db: Database, receiver: Receiver
) -> None:
    assert cli("webhooks", "add", "p", receiver.url).exit_code == 0
    with db.write_transaction() as s:
        (first,) = enqueue(s, "decision", {"case_id": 1}, "decision:1:1")
    assert cli("webhooks", "disable", "p").exit_code == 0
    with db.write_transaction() as s:
        assert enqueue(s, "decision", {"case_id": 2}, "decision:2:1") == []
    assert cli("worker", "--once").exit_code == 0
    assert receiver.received == [], "nothing is sent to a disabled endpoint"
    assert [j["id"] for j in cli.json("webhooks", "pending")] == [first]

    assert cli("webhooks", "remove", "p").exit_code == 0
    (failed,) = cli.json("webhooks", "failed")
    assert failed["id"] == first and failed["last_error"] == "endpoint 'p' was removed"
    _one_line_error(cli("webhooks", "replay", first), "no longer exists")
    assert cli.json("webhooks", "replay", "--all-failed") == []

    assert cli("webhooks", "add", "p", receiver.url).exit_code == 0
    (again,) = cli.json("webhooks", "replay", "--all-failed")
    assert again["id"] == first and again["state"] == "pending"
    _one_line_error(cli("webhooks", "replay", first), "is pending, not failed")
    assert cli("worker", "--once").exit_code == 0
    assert [r.key for r in receiver.received] == ["decision:1:1:p"]
    assert cli.json("webhooks", "stats") == {
        "pending": 0,
        "delivering": 0,
        "delivered": 1,
        "failed": 0,
        "oldest_pending_age_s": 0.0,
    }
