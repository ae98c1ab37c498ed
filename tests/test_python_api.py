"""The library API as docs/python-api.md shows it: what a platform calls in its upload path."""

from __future__ import annotations

from pathlib import Path

from safeguard import Provenance, Safeguard


def test_upload_path_example(db_url: str, home: Path, train_images: list[Path]) -> None:
    with Safeguard.open(home=home, database_url=db_url, actor="ingest-service") as sg:
        sg.banks.create("known-images", pdq_threshold=31)
        signals, added = sg.add_file(
            "known-images", train_images[0], Provenance(source="hotline", external_id="H-1")
        )
        assert added.created and signals.pdq
        upload = train_images[0].read_bytes()
        result = sg.match_bytes(upload, "upload.jpg")
        assert result.matched
        assert {m.external_id for m in result.matches} == {"H-1"}
        assert not sg.match_file(train_images[1]).matched
        assert sg.match_signals({"pdq": signals.pdq}).matches[0].distance == 0
        # matching sees changes made through another handle on the same store
        with Safeguard.open(home=home, database_url=db_url) as other:
            other.banks.set_enabled("known-images", False)
        assert not sg.match_bytes(upload).matched
