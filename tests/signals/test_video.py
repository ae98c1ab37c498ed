"""Videos: vPDQ hashing, matching through the CLI, hostile files, and the value format.

Test videos are slideshows of the synthetic photos, built here (tests/videogen.py): one is
banked; its re-encoded, resized, frame-rate-changed and trimmed copies must match it, and
other slideshows must not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from safeguard.errors import FileProblem, InvalidSignal
from safeguard.signals import get_signal_type
from safeguard.signals.files import hash_file
from safeguard.signals.video import (
    Frame,
    frame_pdq,
    hash_video,
    match_percents,
    parse,
    serialize,
)
from safeguard.signals.video_decode import (
    UntrustedTimestamps,
    VideoLimits,
    looks_like_video,
    sample_frames,
)
from tests.conftest import DATA, Cli, run_safeguard
from tests.videogen import frames, write_video

FPS = 10


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    shown = frames(1, 12, FPS, (320, 240))
    small = [np.asarray(Image.fromarray(f).resize((192, 144))) for f in shown]
    half = [np.asarray(Image.fromarray(f).resize((160, 120))) for f in shown]
    made = {
        "listed": write_video(d / "listed.mp4", shown, FPS),
        "low_bitrate": write_video(d / "low.mp4", shown, FPS, bitrate=60_000),
        "resized": write_video(d / "resized.mp4", small, FPS),
        "half_size": write_video(d / "half_size.mp4", half, FPS),
        "half_rate": write_video(d / "half_rate.mp4", shown[::2], FPS // 2),
        "trimmed": write_video(d / "trimmed.mp4", shown[25:95], FPS),
        "vp9_webm": write_video(d / "other_codec.webm", shown, FPS, codec="libvpx-vp9"),
    }
    for seed in range(2, 8):
        made[f"other_{seed}"] = write_video(
            d / f"other_{seed}.mp4", frames(seed, 9, FPS, (320, 240)), FPS
        )
    return made


def test_frames_are_sampled_once_a_second_as_the_reference_samples_them(
    videos: dict[str, Path],
) -> None:
    sampled = list(sample_frames(str(videos["listed"])))
    assert [f.number for f in sampled] == list(range(0, 12 * FPS, FPS))
    assert [f.seconds for f in sampled] == [float(n) for n in range(12)]
    assert sampled[0].pixels.shape == (240, 320, 3)
    half = list(sample_frames(str(videos["half_rate"])))
    assert [f.number for f in half] == list(range(0, 12 * FPS // 2, FPS // 2))


def test_copies_match_and_other_videos_do_not_through_the_cli(
    cli: Cli, videos: dict[str, Path]
) -> None:
    assert cli("bank", "create", "videos").exit_code == 0
    added = cli("bank", "add", "videos", str(videos["listed"]))
    assert added.exit_code == 0, added.output
    queries = [p for name, p in videos.items() if name != "listed"]
    result = cli("match", *map(str, queries))
    records = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    for name, path in videos.items():
        if name == "listed":
            continue
        found = [m for m in records[path.name]["matches"] if m["signal_type"] == "vpdq"]
        if name.startswith("other_"):
            assert found == [], name
        else:
            assert found and found[0]["distance"] <= 20, (name, found)


def test_hash_prints_the_vpdq_of_a_video_beside_its_digests(
    cli: Cli, videos: dict[str, Path]
) -> None:
    [record] = cli.lines("hash", str(videos["listed"]))
    frames_ = parse(record["vpdq"])
    assert len(frames_) == 12 and all(f.quality >= 50 for f in frames_)
    assert len(record["md5"]) == 32 and record.get("error") is None


@pytest.mark.parametrize(
    ("name", "codec", "options"),
    [
        ("bframes.mp4", "libx264", {"x264-params": "bframes=3:b-pyramid=normal"}),
        ("open_gop.mkv", "libx264", {"x264-params": "bframes=8:open-gop=1:keyint=48"}),
        ("bframes.ts", "libx264", {}),
        ("hevc.mp4", "libx265", {"x265-params": "bframes=4:b-pyramid=1:log-level=error"}),
        ("mpeg4.avi", "mpeg4", {"bf": "2"}),
    ],
)
def test_quick_sampling_gives_the_frames_of_decoding_every_frame(
    tmp_path: Path, name: str, codec: str, options: dict[str, str]
) -> None:
    """Skipping the frames nothing refers to (numbered by timestamp) samples exactly the
    frames that decoding every frame samples, over B-frames, open GOPs, MPEG-TS, HEVC and
    MPEG-4 Part 2 (bench: 20 encodings, all equal to the reference, docs/benchmarks.md)."""
    import av

    path = tmp_path / name
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = options
        for picture in frames(5, 5, 30, (320, 240)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    quick = [(f.number, f.pixels.tobytes()) for f in sample_frames(str(path), quick=True)]
    full = [(f.number, f.pixels.tobytes()) for f in sample_frames(str(path))]
    assert [n for n, _ in quick] == [0, 30, 60, 90, 120] and quick == full


def test_a_stream_cut_mid_gop_is_sampled_by_decoding_every_frame(tmp_path: Path) -> None:
    """A stream copied from part way through a group of pictures starts with frames the
    decoder cannot show (it drops them, and the reference numbers frames from the first it
    shows): numbering by timestamp would be off, so the quick way gives up, and hashing
    decodes every frame (checked equal to the reference on such a file, bench notes)."""
    import av

    whole = tmp_path / "whole.mkv"
    with av.open(str(whole), mode="w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"x264-params": "bframes=3:keyint=45:min-keyint=45:scenecut=0"}
        for picture in frames(8, 6, 30, (320, 240)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    cut = tmp_path / "cut.mkv"
    with av.open(str(whole)) as given, av.open(str(cut), mode="w") as out:
        source = given.streams.video[0]
        copied = out.add_stream_from_template(source)
        packets = [p for p in given.demux(source) if p.dts is not None]
        for packet in packets[5:]:  # from inside the first group of pictures
            packet.stream = copied
            out.mux(packet)
    with pytest.raises(UntrustedTimestamps):
        list(sample_frames(str(cut), quick=True))
    full = [frame_pdq(f.pixels)[0] for f in sample_frames(str(cut))]
    assert len(full) == 5 and [f.pdq for f in hash_video(str(cut))] == full


def test_a_stream_without_timestamps_is_sampled_by_decoding_every_frame(tmp_path: Path) -> None:
    """A raw H.264 stream has no timestamps: the quick way refuses it, and hashing falls back
    to decoding every frame."""
    import av

    raw = tmp_path / "raw.h264"
    with av.open(str(raw), mode="w", format="h264") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for picture in frames(6, 4, 10, (320, 240)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(UntrustedTimestamps):
        list(sample_frames(str(raw), quick=True))
    full = [frame_pdq(f.pixels)[0] for f in sample_frames(str(raw))]
    assert full and [f.pdq for f in hash_video(str(raw))] == full


def test_a_video_of_small_frames_is_also_looked_up_by_its_upscaled_frames(
    videos: dict[str, Path],
) -> None:
    """PDQ's box filter does not smooth a side of 128 pixels or less, so lookups of such a
    video also try each frame enlarged (bicubic, a whole factor past 128): the variant's
    frames are the PDQ of exactly those pictures; the stored value stays the reference's;
    larger videos have no variant; hashing for a bank computes none."""
    small = hash_file(str(videos["half_size"]), variants=True)
    [(name, value)] = small.variants["vpdq"].items()
    assert name == "upscaled"
    expected = []
    for f in sample_frames(str(videos["half_size"])):
        big = Image.fromarray(f.pixels).resize((320, 240), Image.Resampling.BICUBIC)
        bits, quality = pdqhash.compute(np.asarray(big))
        expected.append(np.packbits(bits.astype(np.uint8)).tobytes().hex())
    assert [f.pdq for f in parse(value)] == expected
    assert small.values["vpdq"] == serialize(hash_video(str(videos["half_size"])))
    assert "vpdq" not in hash_file(str(videos["listed"]), variants=True).variants
    assert hash_file(str(videos["half_size"])).variants == {}


def _remux(source: Path, target: Path) -> Path:
    """Copy a video's stream into another container without re-encoding it."""
    import av

    with av.open(str(source)) as given, av.open(str(target), mode="w") as out:
        stream = given.streams.video[0]
        copied = out.add_stream_from_template(stream)
        for packet in given.demux(stream):
            if packet.dts is not None:
                packet.stream = copied
                out.mux(packet)
    return target


def test_a_remuxed_copy_matches_by_its_stream_digest(
    cli: Cli, videos: dict[str, Path], tmp_path: Path
) -> None:
    """MP4 to Matroska without re-encoding: the file's digests change, the video stream's
    MD5 does not; a re-encode changes it."""
    remuxed = _remux(videos["listed"], tmp_path / "remuxed.mkv")
    [listed] = cli.lines("hash", str(videos["listed"]))
    [copy] = cli.lines("hash", str(remuxed))
    [reencoded] = cli.lines("hash", str(videos["low_bitrate"]))
    assert copy["md5"] != listed["md5"] and len(listed["stream_md5"]) == 32
    assert copy["stream_md5"] == listed["stream_md5"] != reencoded["stream_md5"]
    assert cli("bank", "create", "streams").exit_code == 0
    assert cli("bank", "add", "streams", str(videos["listed"])).exit_code == 0
    [record] = cli.lines("match", str(remuxed))
    assert {m["signal_type"] for m in record["matches"]} == {"stream_md5", "vpdq"}


def test_distance_is_the_share_of_the_query_not_matched(videos: dict[str, Path]) -> None:
    listed = hash_video(str(videos["listed"]))
    trimmed = hash_video(str(videos["trimmed"]))
    query, compared = match_percents(trimmed, listed)
    assert query == 100.0 and compared < 100.0  # the trimmed copy is inside the listed one
    vpdq = get_signal_type("vpdq")
    assert vpdq.distance(serialize(trimmed), serialize(listed)) == 0
    other = hash_video(str(videos["other_2"]))
    assert vpdq.distance(serialize(other), serialize(listed)) == 100
    # low-quality frames and repeated hashes take no part (python-threatexchange's rule)
    unlike = Frame("0f" * 32, 10, 0.0)  # matches nothing, and is of low quality
    query, _ = match_percents([unlike, listed[1], listed[1], listed[1]], listed)
    assert query == 100.0  # one usable distinct frame, matched (not 1 of 2, nor 3 of 4)


def test_the_value_is_python_threatexchanges_serialisation() -> None:
    frames_ = [Frame("ab" * 32, 100, 0.0), Frame("cd" * 32, 87, 12.345), Frame("ef" * 32, 3, 123.4)]
    text = serialize(frames_)
    assert json.loads(text) == [
        f"{'ab' * 32},100,0.0",
        f"{'cd' * 32},87,12.3",
        f"{'ef' * 32},3,1.23e+02",
    ]
    assert [(f.pdq, f.quality) for f in parse(text)] == [(f.pdq, f.quality) for f in frames_]
    vpdq = get_signal_type("vpdq")
    assert vpdq.validate(text) == text
    for bad, says in [
        ("[1]", "frame 1"),
        (json.dumps(["zz,1,0"]), "frame 1: the PDQ"),
        (json.dumps([f"{'ab' * 32},101,0"]), "quality"),
        (json.dumps([f"{'ab' * 32},50,-1"]), "quality is 0-100 and seconds"),
        ("not json", "not JSON"),
        ("[]", "at least one frame"),
    ]:
        with pytest.raises(InvalidSignal, match=says):
            vpdq.validate(bad)


def test_hostile_files_are_refused_with_a_reason_and_keep_their_digests(
    tmp_path: Path, videos: dict[str, Path]
) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64)
    assert looks_like_video(fake.read_bytes()[:512])
    r = hash_file(str(fake))
    assert r.error_code in ("unsupported_format", "corrupt_video") and "md5" in r.values
    assert "vpdq" not in r.values

    data = videos["listed"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])  # a download that broke off
    r = hash_file(str(cut))
    assert not r.ok or len(parse(r.values["vpdq"])) < 12
    assert r.values["md5"]

    with pytest.raises(FileProblem, match="over the limit of 100 pixels"):
        list(sample_frames(str(videos["listed"]), limits=VideoLimits(max_frame_pixels=100)))
    with pytest.raises(FileProblem, match="over the limit of 5 s") as e:
        list(sample_frames(str(videos["listed"]), limits=VideoLimits(max_seconds=5)))
    assert e.value.code == "too_long"


def test_frames_equal_the_reference_bit_for_bit() -> None:
    """Meta's reference (`vpdq` 0.2.5 over Debian's FFmpeg) hashed the three conformance
    videos once (tests/data/vpdq_reference.json, bench/vpdq_conformance.py): safeguard's
    frames (PyAV's own FFmpeg) are the same frames, with the same PDQ, quality and time."""
    reference = json.loads((DATA / "vpdq_reference.json").read_text())
    assert len(reference["videos"]) == 3
    for name, expected in reference["videos"].items():
        ours = hash_video(str(DATA / "videos" / name))
        assert [(f.pdq, f.quality) for f in ours] == [(e["pdq"], e["quality"]) for e in expected]
        assert [f.seconds for f in ours] == pytest.approx([e["seconds"] for e in expected])
        sampled = [f.number for f in sample_frames(str(DATA / "videos" / name))]
        assert sampled == [e["frame"] for e in expected], name


def test_a_broken_video_is_not_banked_by_its_digests(cli: Cli, tmp_path: Path) -> None:
    fake = tmp_path / "broken.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64)
    assert cli("bank", "create", "videos").exit_code == 0
    result = cli("bank", "add", "videos", str(fake))
    assert result.exit_code != 0
    assert cli.json("bank", "show", "videos")["content_count"] == 0  # type: ignore[index]


def test_without_the_video_extra_a_video_gets_its_digests_and_says_why(
    videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "av", None)  # as if PyAV were not installed
    r = hash_file(str(videos["listed"]))
    assert r.error_code == "needs_extra" and "'video' extra" in (r.error or "")
    assert set(r.values) == {"md5", "sha256"}


def test_a_banked_video_travels_in_a_hash_list(
    cli: Cli, videos: dict[str, Path], tmp_path: Path
) -> None:
    """Export a bank holding a video's vPDQ (a value of hundreds of characters, kept whole
    apart from the signal table), import the list into another bank: copies match there."""
    assert cli("bank", "create", "first").exit_code == 0
    assert cli("bank", "add", "first", str(videos["listed"])).exit_code == 0
    listed = tmp_path / "list.jsonl"
    assert cli("bank", "export", "first", "-o", str(listed)).exit_code == 0
    assert len(json.loads(listed.read_text().splitlines()[0])["signals"]["vpdq"]) > 200
    assert cli("bank", "create", "second").exit_code == 0
    assert cli("bank", "import", "second", str(listed)).exit_code == 0
    assert cli("bank", "import", "second", str(listed)).exit_code == 0  # again: nothing new
    assert cli.json("bank", "show", "second")["content_count"] == 1  # type: ignore[index]
    [record] = cli.lines("match", str(videos["low_bitrate"]))
    banks = sorted(m["bank"] for m in record["matches"] if m["signal_type"] == "vpdq")
    assert banks == ["first", "second"]


def test_the_video_evaluation_reports_each_edit_through_the_cli(tmp_path: Path) -> None:
    """`safeguard eval video` on two videos (docs/evaluation.md has the 50-video run): the
    edits vPDQ is expected to survive are found, nothing matches a video it is not. (It
    uses no store: one run, not one per store.)"""
    env = {"SAFEGUARD_HOME": str(tmp_path / "home")}
    out = tmp_path / "r"
    result = run_safeguard(["eval", "video", "--videos", "2", "--out", str(out), "--json"], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["videos"] == 2 and report["distinct_pairs_matched"] == []
    for name, r in report["edits"].items():
        assert r["false_matches"] == 0, name
        if r["expected_to_survive"]:
            assert r["recall"] == 1.0, name
    assert (out / "report.md").read_text().startswith("2 slideshows of synthetic scenes")


def test_the_video_evaluation_uses_each_photo_once(tmp_path: Path) -> None:
    """With --photos, no photo is in two videos (copies of one would rightly match the
    other): without --videos as many videos as the photos allow, at most 50; asking for
    more, or too few photos, is refused with the reason."""
    from safeguard.samples import scene

    photos = tmp_path / "photos"
    photos.mkdir()
    for n in range(7):
        scene(9000 + n, (320, 240)).save(photos / f"p{n}.jpg")
    env = {"SAFEGUARD_HOME": str(tmp_path / "home")}
    out = tmp_path / "r"
    args = ["eval", "video", "--photos", str(photos), "--out", str(out), "--json"]
    result = run_safeguard(args, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["videos"] == 2  # 7 photos, three to a video
    more = run_safeguard([*args, "--videos", "3"], env)
    assert more.returncode != 0 and "need 9 distinct photos" in more.stderr
    assert "Traceback" not in more.stderr
    (photos / "p6.jpg").unlink()
    (photos / "p5.jpg").unlink()
    few = run_safeguard(args, env)
    assert few.returncode != 0 and "fewer than two videos" in few.stderr


def test_the_frame_index_finds_what_comparing_one_by_one_finds(videos: dict[str, Path]) -> None:
    """Every listed video's frames in one multi-index-hashing index, votes per video: the
    same (video, distance) pairs as comparing the query with each listed video, at every
    threshold; and removals and additions take effect."""
    from safeguard.index.frames import VpdqIndex

    vpdq = get_signal_type("vpdq")
    values = {i: serialize(hash_video(str(p))) for i, p in enumerate(videos.values(), 1)}
    index = vpdq.make_index(list(values), list(values.values()))
    assert isinstance(index, VpdqIndex) and len(index) == len(values)
    for query in values.values():
        for limit in (0, 20, 60, 99):
            one_by_one = sorted(
                ((i, d) for i, v in values.items() if (d := vpdq.distance(query, v)) <= limit),
                key=lambda hit: (hit[1], hit[0]),
            )
            assert index.query(query, limit) == one_by_one
    first = values[1]
    assert [i for i, _ in index.query(first, 20)][:1] == [1]
    index.remove([1])
    assert 1 not in [i for i, _ in index.query(first, 99)]
    index.add([(100, first)])
    assert (100, 0) in index.query(first, 0)
    assert sorted(index.items()) == sorted(
        {**{k: v for k, v in values.items() if k != 1}, 100: first}.items()
    )
