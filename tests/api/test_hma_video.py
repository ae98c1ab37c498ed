"""vPDQ through the HMA-compatible routes, as an HMA client with the vPDQ extension uses
them: a video upload hashes to `video_md5` and `vpdq`, a vPDQ signal (python-threatexchange's
serialisation) is banked and looked up, distances read as HMA shows them ("89%[100%]"), and
hash lists of vPDQ signals in python-threatexchange's text and CSV layouts import and
export through the CLI."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import httpx
import pytest

from safeguard.signals.video import hash_video, match_percents, parse, serialize
from tests.api.conftest import Deployment
from tests.conftest import Cli
from tests.videogen import frames, write_video


def name() -> str:
    return f"HMA_{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hma-clips")
    shown = frames(31, 9, 10, (320, 240))
    return {
        "listed": write_video(d / "listed.mp4", shown, 10),
        "reencoded": write_video(d / "low.mp4", shown, 10, bitrate=60_000),
        "trimmed": write_video(d / "trimmed.webm", shown[25:80], 10, codec="libvpx-vp9"),
        "other": write_video(d / "other.mp4", frames(32, 9, 10, (320, 240)), 10),
    }


@pytest.fixture
def c(deployment: Deployment) -> httpx.Client:
    return deployment.client()


def _upload(path: Path) -> dict[str, tuple[str, bytes, str]]:
    return {"video": (path.name, path.read_bytes(), "video/mp4")}


def test_a_video_hashes_to_video_md5_and_vpdq_and_its_copies_match(
    c: httpx.Client, clips: dict[str, Path]
) -> None:
    listed = c.post("/h/hash", files=_upload(clips["listed"]))
    assert listed.status_code == 200, listed.text
    assert set(listed.json()) == {"video_md5", "vpdq"}
    assert parse(listed.json()["vpdq"]) == hash_video(str(clips["listed"]))
    only = c.post("/h/hash", params={"types": "video_md5"}, files=_upload(clips["listed"]))
    assert list(only.json()) == ["video_md5"]

    bank = name()
    assert c.post("/c/banks", json={"name": bank}).status_code == 201
    added = c.post(f"/c/bank/{bank}/content", files=_upload(clips["listed"]))
    assert added.status_code == 200, added.text
    assert added.json()["signals"]["vpdq"] == listed.json()["vpdq"]
    cid = added.json()["id"]

    # a re-encoded copy uploaded: matches by vPDQ (its MD5 differs), distance as HMA shows it
    found = c.post("/m/lookup", params={"banks": bank}, files=_upload(clips["reencoded"]))
    assert found.status_code == 200, found.text
    assert found.json()["video_md5"] == {}
    [hit] = found.json()["vpdq"][bank]
    copy = hash_video(str(clips["reencoded"]))
    q, p = match_percents(copy, parse(listed.json()["vpdq"]))
    assert hit == {"bank_content_id": cid, "distance": f"{q:.0f}%[{p:.0f}%]"}
    assert q >= 80

    # a trimmed VP9 copy, sent as a vPDQ signal (the way a client that hashes itself asks)
    trimmed = serialize(hash_video(str(clips["trimmed"])))
    raw = c.get(
        "/m/raw_lookup",
        params={"signal_type": "vpdq", "signal": trimmed, "include_distance": "true"},
    )
    assert raw.status_code == 200, raw.text
    [match] = [m for m in raw.json()["matches"] if m["bank_content_id"] == cid]
    assert match["distance"].endswith("%]") and int(match["distance"].split("%")[0]) >= 80
    by_bank = c.get("/m/lookup", params={"signal_type": "vpdq", "signal": trimmed, "banks": bank})
    assert [h["bank_content_id"] for h in by_bank.json()[bank]] == [cid]

    # another video: no match, by upload or by signal
    other = c.post("/m/lookup", params={"banks": bank}, files=_upload(clips["other"]))
    assert other.json() == {"video_md5": {}, "vpdq": {}}
    other_signal = serialize(hash_video(str(clips["other"])))
    none = c.get("/m/lookup", params={"signal_type": "vpdq", "signal": other_signal})
    assert bank not in none.json()

    # compare: matched at the 80% rule, the distance is 100 - the query's share
    pair = c.post("/m/compare", json={"vpdq": [trimmed, listed.json()["vpdq"]]}).json()
    assert pair["vpdq"][0] is True and pair["vpdq"][1]["distance"] <= 20
    apart = c.post("/m/compare", json={"vpdq": [other_signal, listed.json()["vpdq"]]}).json()
    assert apart["vpdq"][0] is False


def test_vpdq_signals_are_banked_shown_and_refused_with_reasons(
    c: httpx.Client, clips: dict[str, Path]
) -> None:
    bank = name()
    c.post("/c/banks", json={"name": bank})
    value = serialize(hash_video(str(clips["listed"])))
    added = c.post(f"/c/bank/{bank}/signal", json={"vpdq": value})
    assert added.status_code == 200, added.text
    shown = c.get(
        f"/c/bank/{bank}/content/{added.json()['id']}", params={"signal_type": "vpdq"}
    ).json()
    assert shown["signals"] == {"vpdq": value}
    status = c.get("/m/index/status", params={"signal_type": "vpdq"}).json()
    assert status["vpdq"]["size"] >= 1
    assert {"pdq", "video_md5", "vpdq"} == {t["name"] for t in c.get("/c/signal_type").json()}
    for bad, says in (
        ("not json", "not JSON"),
        (json.dumps(["ab,100,0.0"]), "frame 1: the PDQ is not 64 hex digits"),
        (json.dumps([]), "at least one frame"),
    ):
        r = c.post(f"/c/bank/{bank}/signal", json={"vpdq": bad})
        assert r.status_code == 400 and says in r.json()["message"], r.text
        lookup = c.get("/m/raw_lookup", params={"signal_type": "vpdq", "signal": bad})
        assert lookup.status_code == 400 and says in lookup.json()["message"], lookup.text
    garbage = c.post("/h/hash", files={"video": ("x.mp4", b"\x00\x01binary", "video/mp4")})
    assert garbage.status_code == 400 and "cannot hash the video" in garbage.json()["message"]


def test_vpdq_lists_in_threatexchanges_layouts_import_and_export(
    cli: Cli, clips: dict[str, Path], tmp_path: Path
) -> None:
    """python-threatexchange writes a vPDQ as one `vpdq <JSON>` line (its local file format)
    or a `signal_type,signal_str` CSV row (`threatexchange dataset --csv`): both import, and
    our exports read back as the same values."""
    listed = serialize(hash_video(str(clips["listed"])))
    other = serialize(hash_video(str(clips["other"])))
    text = tmp_path / "list.txt"
    text.write_text(f"vpdq {listed}\nvpdq {other}\n")
    table = io.StringIO()
    w = csv.writer(table)
    w.writerow(["signal_type", "signal_str"])
    w.writerow(["vpdq", listed])
    (tmp_path / "list.csv").write_text(table.getvalue())

    assert cli("bank", "create", "from_text").exit_code == 0
    assert cli("bank", "import", "from_text", str(text)).exit_code == 0
    assert cli("bank", "create", "from_csv").exit_code == 0
    assert cli("bank", "import", "from_csv", str(tmp_path / "list.csv")).exit_code == 0
    assert cli.json("bank", "show", "from_text")["content_count"] == 2  # type: ignore[index]
    [record] = cli.lines("match", str(clips["reencoded"]))
    banks = sorted(m["bank"] for m in record["matches"] if m["signal_type"] == "vpdq")
    assert banks == ["from_csv", "from_text"]

    for fmt in ("txt", "csv"):
        out = tmp_path / f"export.{fmt}"
        assert cli("bank", "export", "from_text", "-o", str(out)).exit_code == 0
        if fmt == "txt":
            lines = out.read_text().splitlines()
            values = {line.partition(" ")[2] for line in lines if line.startswith("vpdq ")}
        else:
            rows = list(csv.DictReader(out.open()))
            values = {r["signal_value"] for r in rows if r["signal_type"] == "vpdq"}
        assert values == {listed, other}, fmt
