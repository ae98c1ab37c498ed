"""Preserved evidence through the CLI, as an operator and reviewers use it: encrypted at
rest, read back only with the key and the role, every read audited, the retention clock and
its purge (with an injected clock, `--as-of`), legal holds, tampering, key rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from safeguard.evidence import new_key_line
from safeguard.store import Database
from tests.conftest import Cli
from tests.evidence.helpers import audit_rows, preserve, refused, sealed_file


def test_preserved_media_is_encrypted_at_rest_and_reads_back_only_with_its_key(
    ecli: Cli, home: Path, case_id: int, photos: list[Path], store_db: Database, tmp_path: Path
) -> None:
    media = photos[0].read_bytes()
    info = preserve(ecli, case_id, photos[0])
    assert info["case_id"] == case_id and info["size"] == len(media)
    assert info["sha256"] == hashlib.sha256(media).hexdigest()
    assert info["retain_until"] is None and info["legal_hold"] is False  # no clock yet
    on_disk = sealed_file(home, info)
    sealed = on_disk.read_bytes()
    assert on_disk.stat().st_mode & 0o777 == 0o600
    assert media not in sealed and media[:64] not in sealed and media[-64:] not in sealed
    assert sealed.startswith(b"SGEV1\n" + str(info["key_id"]).encode() + b"\n")
    assert [r.subject for r in audit_rows(store_db, "evidence.preserve")] == [
        f"evidence:{info['id']}"
    ]

    # another key, alone or under the same id, decrypts nothing, and says why in one line
    other = tmp_path / "other-key.txt"
    other.write_text(new_key_line() + "\n")
    out = tmp_path / "out.jpg"
    wrong = Cli({**ecli.env, "SAFEGUARD_EVIDENCE_KEY_FILE": str(other)})
    assert "not in the key ring" in refused(wrong("evidence", "export", info["id"], "--out", out))
    other.write_text(f"{info['key_id']}:{new_key_line().split(':', 1)[1]}\n")
    assert "cannot be decrypted" in refused(wrong("evidence", "export", info["id"], "--out", out))
    assert not out.exists()

    # no key at all: preserving is refused, naming both variables and how to make a key
    keyless = Cli({**ecli.env, "SAFEGUARD_EVIDENCE_KEY_FILE": ""})
    message = refused(keyless("evidence", "preserve", case_id, photos[1]))
    assert "SAFEGUARD_EVIDENCE_KEY_FILE" in message and "SAFEGUARD_EVIDENCE_KEY " in message
    assert "safeguard evidence new-key" in message

    # with the key: the very bytes, in a private file, and every read audited
    done = ecli("evidence", "export", info["id"], "--out", out)
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == media and out.stat().st_mode & 0o777 == 0o600
    assert "already exists" in refused(ecli("evidence", "export", info["id"], "--out", out))
    views = audit_rows(store_db, "evidence.view")
    assert [(v.subject, v.detail["ok"]) for v in views] == [
        (f"evidence:{info['id']}", False),  # the two wrong keys: failed reads are audited too
        (f"evidence:{info['id']}", False),
        (f"evidence:{info['id']}", True),
    ]
    assert str(out.resolve()) in str(views[-1].detail["purpose"])
    assert len(audit_rows(store_db, "evidence.preserve")) == 1  # the keyless try wrote nothing


def test_a_moderator_without_the_child_safety_role_may_not_list_or_read_evidence(
    ecli: Cli, case_id: int, photos: list[Path], store_db: Database, tmp_path: Path
) -> None:
    assert ecli("users", "add", "mod", "--role", "moderator").exit_code == 0
    assert ecli("users", "add", "spec", "--role", "child_safety").exit_code == 0
    info = preserve(ecli, case_id, photos[0])
    out = tmp_path / "leak.jpg"
    for args in (
        ("evidence", "list"),
        ("evidence", "export", info["id"], "--out", out),
        ("evidence", "preserve", case_id, photos[1]),
        ("evidence", "hold", info["id"]),
    ):
        message = refused(ecli("--user", "mod", *args))
        assert "user:mod (moderator) may not" in message
    assert not out.exists()
    assert audit_rows(store_db, "evidence.view") == []  # nothing was decrypted
    # a specialist may
    listed = ecli.json("--user", "spec", "evidence", "list", "--case", case_id)
    assert [e["id"] for e in listed] == [info["id"]]
    assert ecli("--user", "spec", "evidence", "export", info["id"], "--out", out).exit_code == 0
    assert [v.actor for v in audit_rows(store_db, "evidence.view")] == ["user:spec"]


def test_the_clock_purge_and_legal_holds_with_an_injected_clock(
    ecli: Cli, home: Path, case_id: int, photos: list[Path], store_db: Database
) -> None:
    first, second = (preserve(ecli, case_id, p) for p in photos[:2])
    # no clock runs while the case is undecided: even a purge far in the future keeps both
    assert ecli.json("evidence", "purge", "--as-of", "2100-01-01")["deleted"] == []

    clocked = ecli.json(
        "evidence", "clock", case_id, "--reason", "ncmec_report", "--at", "2027-01-10"
    )
    assert clocked["updated"] == 2
    assert {e["retain_until"][:10] for e in clocked["items"]} == {"2028-01-10"}
    # a later report extends; an earlier decision never shortens
    later = ecli.json("evidence", "clock", case_id, "--reason", "nca_report", "--at", "2027-03-01")
    assert later["updated"] == 2
    assert {e["retain_until"][:10] for e in later["items"]} == {"2028-03-01"}
    decided = ecli.json("evidence", "clock", case_id, "--reason", "decision", "--at", "2027-03-02")
    assert decided["updated"] == 0
    assert "unknown clock reason" in refused(ecli("evidence", "clock", case_id, "--reason", "whim"))

    before = ecli.json("evidence", "purge", "--as-of", "2028-02-29T23:59:59Z")
    assert before["deleted"] == [] and before["held"] == []
    held = ecli.json("evidence", "hold", first["id"], "--note", "preservation order 17")
    assert held[0]["legal_hold"] is True

    after = ecli.json("evidence", "purge", "--as-of", "2028-03-02")
    assert after["deleted"] == [second["id"]] and after["held"] == [first["id"]]
    assert not sealed_file(home, second).exists() and sealed_file(home, first).exists()
    gone = ecli.json("evidence", "list", "--all")
    by_id = {e["id"]: e for e in gone}
    assert by_id[second["id"]]["deleted_at"] is not None
    assert "nca_report clock ran out" in by_id[second["id"]]["deleted_reason"]
    assert [e["id"] for e in ecli.json("evidence", "list")] == [first["id"]]
    deletions = audit_rows(store_db, "evidence.delete")
    assert [d.subject for d in deletions] == [f"evidence:{second['id']}"]
    assert deletions[0].detail["file"] == "removed"
    assert deletions[0].detail["as_of"].startswith("2028-03-02")
    assert "was deleted" in refused(
        ecli("evidence", "export", second["id"], "--out", home / "x.jpg")
    )

    # released, the held item's clock has long run out: the next purge deletes it
    assert ecli.json("evidence", "release", first["id"])[0]["legal_hold"] is False
    assert ecli.json("evidence", "purge", "--as-of", "2028-03-02")["deleted"] == [first["id"]]
    assert not sealed_file(home, first).exists()
    assert [a.action for a in audit_rows(store_db, "evidence.hold")] == ["evidence.hold"]
    assert len(audit_rows(store_db, "evidence.release")) == 1
    assert len(audit_rows(store_db, "evidence.delete")) == 2
    verified = ecli("audit", "verify", "--json")
    if verified.exit_code == 0:  # once `safeguard audit` is built: the chain holds
        assert json.loads(verified.stdout)["ok"] is True


def test_tampered_or_swapped_files_are_refused(
    ecli: Cli, home: Path, case_id: int, photos: list[Path], tmp_path: Path
) -> None:
    a, b = (preserve(ecli, case_id, p) for p in photos[:2])
    path_a, path_b = sealed_file(home, a), sealed_file(home, b)
    sealed_a, sealed_b = path_a.read_bytes(), path_b.read_bytes()
    out = tmp_path / "out.jpg"

    flipped = bytearray(sealed_a)
    flipped[len(flipped) // 2] ^= 0x01
    path_a.write_bytes(bytes(flipped))
    assert "cannot be decrypted" in refused(ecli("evidence", "export", a["id"], "--out", out))
    # b's file in a's place: bound to another file id, it does not authenticate
    path_a.write_bytes(sealed_b)
    assert "cannot be decrypted" in refused(ecli("evidence", "export", a["id"], "--out", out))
    path_a.write_bytes(b"not sealed at all")
    assert "not a sealed evidence file" in refused(
        ecli("evidence", "export", a["id"], "--out", out)
    )
    assert not out.exists()
    path_a.write_bytes(sealed_a)  # put back: it reads again
    assert ecli("evidence", "export", a["id"], "--out", out).exit_code == 0
    assert out.read_bytes() == photos[0].read_bytes()


def test_rotation_re_encrypts_under_the_new_key_and_the_old_key_can_then_go(
    ecli: Cli, home: Path, key_file: Path, case_id: int, photos: list[Path], tmp_path: Path
) -> None:
    old_line = key_file.read_text().strip()
    items = [preserve(ecli, case_id, p) for p in photos[:2]]
    made = ecli("evidence", "new-key")  # prints a key line; the hint goes to stderr
    assert made.exit_code == 0, made.output
    new_line = made.stdout.strip()
    new_id, encoded = new_line.split(":")
    assert re.fullmatch(r"[0-9a-f]{12}", new_id) and len(base64.b64decode(encoded)) == 32
    assert new_id == hashlib.sha256(base64.b64decode(encoded)).hexdigest()[:12]
    key_file.write_text(f"{old_line}\n{new_line}\n")  # step 1: append the new key

    # step 2: rotate; a second run finds nothing left to do
    report = ecli.json("evidence", "rotate")
    assert sorted(report["rotated"]) == sorted(i["id"] for i in items)
    assert report["remaining"] == 0 and report["failed"] == [] and report["key_id"] == new_id
    again = ecli.json("evidence", "rotate")
    assert again["rotated"] == [] and again["already_current"] == 2
    for item in items:
        assert sealed_file(home, item).read_bytes().startswith(b"SGEV1\n" + new_id.encode())
    assert {e["key_id"] for e in ecli.json("evidence", "list")} == {new_id}

    # step 3: remove the old key; everything still reads, new evidence uses the new key
    key_file.write_text(new_line + "\n")
    for item, photo in zip(items, photos, strict=False):
        out = tmp_path / f"{item['id']}.jpg"
        assert ecli("evidence", "export", item["id"], "--out", out).exit_code == 0
        assert out.read_bytes() == photo.read_bytes()
    assert preserve(ecli, case_id, photos[2])["key_id"] == new_id


def test_a_missing_file_is_recorded_not_a_crash(
    ecli: Cli, home: Path, key_file: Path, case_id: int, photos: list[Path], store_db: Database
) -> None:
    info = preserve(ecli, case_id, photos[0])
    sealed_file(home, info).unlink()
    # a rotation cannot re-encrypt it: listed as failed, exit 1, the rest of the run goes on
    key_file.write_text(key_file.read_text() + new_key_line() + "\n")
    rotated = ecli("evidence", "rotate")
    assert rotated.exit_code == 1 and f"evidence {info['id']}: its file" in rotated.output
    assert "1 still under older keys" in rotated.output
    assert (
        ecli.json("evidence", "clock", case_id, "--reason", "decision", "--at", "2027-01-01")[
            "updated"
        ]
        == 1
    )
    report = ecli.json("evidence", "purge", "--as-of", "2027-04-02")
    assert report["deleted"] == [info["id"]] and report["missing_files"] == [info["id"]]
    (deletion,) = audit_rows(store_db, "evidence.delete")
    assert deletion.detail["file"] == "missing"
    (row,) = ecli.json("evidence", "list", "--all")
    assert "already missing" in row["deleted_reason"]
