"""Items with several signals in CSV and text lists: rows joined by `content_id`, `item` blocks,
the errors they give, and the files other tools write and read (no store needed)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeguard.banks import ContentInfo
from safeguard.banks.formats import parse_hash_list, write_hash_list
from safeguard.errors import ImportFormatError

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ2 = "0" * 63 + "1"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _content(cid: int, signals: dict[str, str], **prov: object) -> ContentInfo:
    fields: dict[str, object] = {"source": "", "external_id": None, "note": "", "tags": []}
    fields.update(prov)
    return ContentInfo(
        id=cid,
        bank="b",
        signals=signals,
        added_at=datetime(2024, 1, 1, tzinfo=UTC),
        added_by="test",
        **fields,  # type: ignore[arg-type]
    )


def _summary(text: str, name: str) -> list[tuple[object, ...]]:
    return [
        (r.signals, r.external_id, r.source, r.note, r.tags) for r in parse_hash_list(text, name)
    ]


def test_csv_rows_with_one_content_id_are_one_item() -> None:
    text = (
        "signal_type,signal_value,external_id,source,note,tags,content_id\n"
        f'md5,{MD5},"E,1",hotline,"a ""note""",x y,7\n'
        f"pdq,{PDQ},,,,,7\n"  # a later row may leave provenance blank
        f'sha256,{SHA},"E,1",hotline,"a ""note""",x y,7\n'
        f"pdq,{PDQ2},,,,,8\n"
        f"video_md5,{'1' * 32},,,,,\n"  # no content_id: an item of its own
    )
    assert _summary(text, "l.csv") == [
        ({"md5": MD5, "pdq": PDQ, "sha256": SHA}, "E,1", "hotline", 'a "note"', ["x", "y"]),
        ({"pdq": PDQ2}, None, "", "", []),
        ({"md5": "1" * 32}, None, "", "", []),
    ]
    # `item` names the same column
    assert len(parse_hash_list(f"item,signal_type,signal_value\na,pdq,{PDQ}\na,md5,{MD5}\n")) == 1


def test_csv_item_errors_name_their_lines() -> None:
    head = "signal_type,signal_value,source,content_id\n"
    cases = [
        (f"pdq,{PDQ},s,1\npdq,{PDQ2},s,1\n", 3, "a second pdq value"),
        (f"pdq,{PDQ},s,1\nmd5,{MD5},other,1\n", 3, "source differs from line 2"),
        (f"pdq,{PDQ},s,1\nmd5,{MD5},s,2\nsha256,{SHA},s,1\n", 4, "keep the rows of one item"),
    ]
    for body, line, message in cases:
        with pytest.raises(ImportFormatError) as e:
            parse_hash_list(head + body, "bad.csv")
        assert [n for n, _ in e.value.problems] == [line], body
        assert message in e.value.message


def test_csv_tags_that_are_not_single_words_travel_as_a_json_array() -> None:
    buf = io.StringIO()
    write_hash_list([_content(1, {"pdq": PDQ}, tags=["two words", "a;b", "[x]", "ok"])], buf, "csv")
    assert '"[""two words"", ""a;b"", ""[x]"", ""ok""]"' in buf.getvalue()
    [record] = parse_hash_list(buf.getvalue(), "t.csv")
    assert record.tags == ["two words", "a;b", "[x]", "ok"]
    # plain words stay plain, and a hand-written field starting with "[" still reads as words
    buf = io.StringIO()
    write_hash_list([_content(1, {"pdq": PDQ}, tags=["a", "b"])], buf, "csv")
    assert buf.getvalue().splitlines()[1].split(",")[5] == "a b"
    assert parse_hash_list(f"pdq,{PDQ},,,,[draft] x\n", "h.csv")[0].tags == ["[draft]", "x"]


def test_csv_field_with_a_bare_carriage_return_is_quoted() -> None:
    buf = io.StringIO()
    write_hash_list([_content(1, {"pdq": PDQ, "md5": MD5}, note="one\rtwo")], buf, "csv")
    records = parse_hash_list(buf.getvalue(), "n.csv")
    assert [(r.signals, r.note) for r in records] == [({"pdq": PDQ, "md5": MD5}, "one\rtwo")]


def test_txt_item_blocks() -> None:
    text = (
        f"pdq {PDQ2}\n"
        "item?external_id=E%2C1&source=hotline+list&note=line%0Atwo&tag=a&tag=b+c\n"
        f"video_md5 {MD5}\n"
        f"pdq {PDQ}\n"
        "\n"
        f"video_sha256 {SHA}\n"  # after the blank line: an item of its own
        "item\n"
        "# a comment inside a block\n"
        f"md5 {'2' * 32}\n"
        f"sha256 {'3' * 64}\n"
    )
    assert _summary(text, "l.txt") == [
        ({"pdq": PDQ2}, None, "", "", []),
        ({"md5": MD5, "pdq": PDQ}, "E,1", "hotline list", "line\ntwo", ["a", "b c"]),
        ({"sha256": SHA}, None, "", "", []),
        ({"md5": "2" * 32, "sha256": "3" * 64}, None, "", "", []),
    ]
    # bare values with --signal-type group the same way
    bare = parse_hash_list(f"item?tag=x\n{PDQ}\n\n{PDQ2}\n", "b.txt", signal_type="pdq")
    assert [(r.signals, r.tags) for r in bare] == [({"pdq": PDQ}, ["x"]), ({"pdq": PDQ2}, [])]


def test_txt_item_errors_name_their_lines() -> None:
    cases = [
        (f"item\n\npdq {PDQ}\n", 1, "no signal lines"),
        (f"item?colour=red\npdq {PDQ}\n", 1, "unknown field 'colour'"),
        (f"item?note=%FF\npdq {PDQ}\n", 1, "malformed `item` line"),
        (f"item\npdq {PDQ}\npdq {PDQ2}\n", 3, "a second pdq value"),
        (f"pdq {PDQ}\nitem\n", 2, "no signal lines"),
    ]
    for text, line, message in cases:
        with pytest.raises(ImportFormatError) as e:
            parse_hash_list(text, "bad.txt")
        assert [n for n, _ in e.value.problems] == [line], text
        assert message in e.value.message


def test_txt_export_writes_blocks_only_where_needed(tmp_path: Path) -> None:
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    out = tmp_path / "export.txt"
    with out.open("w", encoding="utf-8") as fh:
        write_hash_list(
            [
                _content(1, {"pdq": PDQ}),
                _content(2, {"pdq": PDQ2}, note="a note, with spaces", tags=["t 1"]),
                _content(3, {"md5": MD5, "sha256": SHA}),
            ],
            fh,
            "txt",
        )
    assert out.read_text().splitlines() == [
        f"pdq {PDQ}",
        "item?note=a+note%2C+with+spaces&tag=t+1",
        f"pdq {PDQ2}",
        "",
        "item",
        f"video_md5 {MD5}",
        f"video_sha256 {SHA}",
        "",
    ]
    # python-threatexchange reads every signal line and skips the one-word `item` lines
    api = LocalFileSignalExchangeAPI(
        FileCollaborationConfig(name="c", api="file", enabled=True, filename=str(out))
    )
    (delta,) = list(api.fetch_iter([PdqSignal, VideoMD5Signal], None))
    assert set(delta.updates) == {
        ("pdq", PDQ),
        ("pdq", PDQ2),
        ("video_md5", MD5),
        ("video_sha256", SHA),
    }


def test_lists_written_before_items_were_grouped_still_read() -> None:
    # the CSV export of earlier versions: one row per signal with its content_id, now one item
    old_csv = (
        "signal_type,signal_value,external_id,source,note,tags,content_id,added_at,added_by\n"
        f"md5,{MD5},E1,s,,t,4,2024-01-01T00:00:00+00:00,cli:x\n"
        f"pdq,{PDQ},E1,s,,t,4,2024-01-01T00:00:00+00:00,cli:x\n"
    )
    assert _summary(old_csv, "old.csv") == [({"md5": MD5, "pdq": PDQ}, "E1", "s", "", ["t"])]
    # plain TYPE VALUE lines (and earlier text exports) stay one item per line
    old_txt = f"video_md5 {MD5}\npdq {PDQ}\n"
    assert [r.signals for r in parse_hash_list(old_txt, "old.txt")] == [
        {"md5": MD5},
        {"pdq": PDQ},
    ]
