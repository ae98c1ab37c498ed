"""Hash-list formats: validation with line numbers, and compatibility with python-threatexchange."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from safeguard import ImportFormatError, Provenance
from safeguard.banks.formats import parse_hash_list, read_hash_list
from tests.conftest import DATA

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_csv_positional_and_header_forms() -> None:
    plain = parse_hash_list(f"pdq,{PDQ},ext-1\nvideo_md5,{MD5.upper()}\n", "a.csv")
    assert [(r.signals, r.external_id) for r in plain] == [
        ({"pdq": PDQ}, "ext-1"),
        ({"md5": MD5}, None),
    ]
    # python-threatexchange `dataset -P --csv` output: signal_type,signal_str,collab,category,tags
    te = parse_hash_list(
        f"signal_type,signal_str,collab,category,tags\npdq,{PDQ},Sample,POSITIVE_CLASS,t1 t2\n",
        "te.csv",
    )
    assert te[0].signals == {"pdq": PDQ} and te[0].source == "Sample" and te[0].tags == ["t1", "t2"]


def test_every_bad_line_reported_by_number() -> None:
    text = "\n".join(
        [
            f"pdq,{PDQ}",
            f"pdq,{PDQ[:-1]}",  # 63 chars
            f"pdq,{PDQ[:-1]}g",  # not hex
            f"sha1,{MD5}",  # unknown type
            "md5,",  # missing value
        ]
    )
    with pytest.raises(ImportFormatError) as e:
        parse_hash_list(text, "bad.csv")
    lines = [n for n, _ in e.value.problems]
    assert lines == [2, 3, 4, 5]
    assert "64 hex characters (got 63)" in e.value.message and "line 4" in e.value.message


def test_jsonl_single_and_multi_signal() -> None:
    text = (
        json.dumps({"signal_type": "pdq", "signal_value": PDQ, "tags": ["x"]})
        + "\n\n"
        + json.dumps({"signals": {"md5": MD5, "pdq": PDQ}, "external_id": 7})
        + "\n"
    )
    records = parse_hash_list(text, "l.jsonl")
    assert records[0].signals == {"pdq": PDQ} and records[0].tags == ["x"]
    assert records[1].signals == {"md5": MD5, "pdq": PDQ} and records[1].external_id == "7"
    with pytest.raises(ImportFormatError) as e:
        parse_hash_list('{"signal_type": "pdq"\n[1,2]\n', "bad.jsonl")
    assert [n for n, _ in e.value.problems] == [1, 2]


def test_malformed_csv_and_binary_rejected(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="malformed CSV"):
        parse_hash_list(f'pdq,"{PDQ}"x\n', "q.csv")
    binary = tmp_path / "list.csv"
    binary.write_bytes(b"pdq,\xff\xfe\x00\x01\n")
    with pytest.raises(ImportFormatError):
        read_hash_list(binary)


def test_reads_the_reference_hash_list_as_bare_values() -> None:
    records = read_hash_list(
        DATA / "pdq-reference" / "hash-lists" / "haystack.txt", signal_type="pdq"
    )
    assert len(records) == 1350 and all(len(r.signals["pdq"]) == 64 for r in records)


def test_txt_export_is_read_by_python_threatexchange(tmp_path: Path, sg) -> None:  # type: ignore[no-untyped-def]
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    sg.banks.create("known")
    sg.banks.add("known", {"pdq": PDQ, "md5": MD5})
    out = tmp_path / "export.txt"
    with out.open("w") as fh:
        sg.export_list("known", fh, "txt")
    api = LocalFileSignalExchangeAPI(
        FileCollaborationConfig(name="c", api="file", enabled=True, filename=str(out))
    )
    (delta,) = list(api.fetch_iter([PdqSignal, VideoMD5Signal], None))
    assert set(delta.updates) == {("pdq", PDQ), ("video_md5", MD5)}
    # python-threatexchange skips our one-word `item` line; our reader takes the file back as
    # the one item it was
    assert "item\n" in out.read_text()
    assert [r.signals for r in read_hash_list(out)] == [{"md5": MD5, "pdq": PDQ}]


def test_csv_export_round_trips(sg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sg.banks.create("known")
    sg.banks.add("known", {"pdq": PDQ}, Provenance(external_id="e1"))
    buf = io.StringIO()
    sg.export_list("known", buf, "csv")
    records = parse_hash_list(buf.getvalue(), "x.csv")
    assert [(r.signals, r.external_id) for r in records] == [({"pdq": PDQ}, "e1")]


def test_lists_that_give_each_signal_type_a_column_of_its_own() -> None:
    # a hotline's URL list: the address in a `url` column, other columns ignored
    urls = parse_hash_list(
        "url,category,first_seen\nhttps://Example.com/a/,B,2026-11-30\nexample.org/x/*,A,\n",
        "list.csv",
    )
    assert [r.signals for r in urls] == [{"url": "example.com/a"}, {"url": "example.org/x/*"}]
    # digests in their own columns, an empty cell skipped, provenance read by name
    digests = parse_hash_list(f"md5,sha256,pdq,note\n{MD5},,{PDQ},seen twice\n", "d.csv")
    assert digests[0].signals == {"md5": MD5, "pdq": PDQ} and digests[0].note == "seen twice"
    # a first row that is data (a type and a valid value of it) is still data
    assert parse_hash_list(f"pdq,{PDQ}\n", "p.csv")[0].signals == {"pdq": PDQ}
    assert parse_hash_list("url,example.com/a\n", "u.csv")[0].signals == {"url": "example.com/a"}
    with pytest.raises(ImportFormatError) as e:
        parse_hash_list("url,category\nexample.com/a,B\nftp://example.com/b,C\n,D\n", "b.csv")
    assert [n for n, _ in e.value.problems] == [3, 4]
    assert "http or https" in e.value.message and "no signal" in e.value.message


def test_json_objects_keyed_by_signal_type_and_json_arrays() -> None:
    keyed = parse_hash_list(
        json.dumps({"url": "https://example.com/a?utm_source=x", "external_id": "L-1"})
        + "\n"
        + json.dumps({"md5": MD5, "pdq": PDQ})
        + "\n",
        "k.jsonl",
    )
    assert keyed[0].signals == {"url": "example.com/a"} and keyed[0].external_id == "L-1"
    assert keyed[1].signals == {"md5": MD5, "pdq": PDQ}
    array = parse_hash_list(
        json.dumps([{"url": "example.com/b"}, {"signals": {"md5": MD5}}], indent=2), "a.json"
    )
    assert [r.signals for r in array] == [{"url": "example.com/b"}, {"md5": MD5}]
    with pytest.raises(ImportFormatError) as e:
        parse_hash_list(
            json.dumps([{"url": "example.com/c"}, {"url": "ftp://x.example"}]), "b.json"
        )
    assert [n for n, _ in e.value.problems] == [2]
    with pytest.raises(ImportFormatError) as e:
        parse_hash_list('[{"url": "example.com/c"},\n', "cut.json")
    assert "not valid JSON" in e.value.message
