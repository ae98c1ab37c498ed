"""VpdqIndex: the frames of every listed video in one PDQ multi-index-hashing index, with
votes per video, so a query video is matched against all of them in one pass.

Each listed video contributes its distinct frames of quality 50 or more (the frames
python-threatexchange's rule counts), each under an id of its own that points back to the
video. A query's distinct usable frames are looked up within Hamming distance 31; a listed
video's share is the share of the query's frames with at least one of its frames that
close, and its distance 100 minus that share, rounded up: the same numbers as comparing the
query with every listed video one by one (signals/video.py), without doing so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from safeguard.index.base import KeptValues
from safeguard.index.mih import MihPdqIndex
from safeguard.signals.pdq import pdq_to_words
from safeguard.signals.video import FRAME_DISTANCE, parse, usable_hashes


class VpdqIndex(KeptValues):
    def __init__(self) -> None:
        super().__init__()
        self._frames = MihPdqIndex(design_radius=FRAME_DISTANCE)
        self._frame_ids: dict[int, list[int]] = {}
        self._video_of: dict[int, int] = {}
        self._next = 0

    def add(self, entries: Iterable[tuple[int, str]]) -> None:
        rows: list[tuple[int, str]] = []
        for entry_id, value in entries:
            if entry_id in self._values:
                raise ValueError(f"entry id {entry_id} is already in the index")
            self._values[entry_id] = value
            frame_ids = []
            for h in usable_hashes(parse(value)):
                frame_id, self._next = self._next, self._next + 1
                self._video_of[frame_id] = entry_id
                frame_ids.append(frame_id)
                rows.append((frame_id, h))
            self._frame_ids[entry_id] = frame_ids
        if rows and not len(self._frames):  # the first load: built whole, not as a delta
            words = pdq_to_words([h for _, h in rows])
            ids = np.array([i for i, _ in rows], dtype=np.int64)
            self._frames = MihPdqIndex.from_words(words, ids, design_radius=FRAME_DISTANCE)
        elif rows:
            self._frames.add(rows)

    def remove(self, entry_ids: Iterable[int]) -> None:
        gone: list[int] = []
        for entry_id in entry_ids:
            if self._values.pop(entry_id, None) is None:
                continue
            for frame_id in self._frame_ids.pop(entry_id, []):
                del self._video_of[frame_id]
                gone.append(frame_id)
        if gone:
            self._frames.remove(gone)

    def query(self, value: str, max_distance: int) -> list[tuple[int, int]]:
        query = usable_hashes(parse(value))
        if not query or not self._values:
            return []
        votes: defaultdict[int, int] = defaultdict(int)
        for hits in self._frames.query_words(pdq_to_words(query), FRAME_DISTANCE):
            for video in {self._video_of[frame_id] for frame_id, _ in hits}:
                votes[video] += 1
        found = []
        for video, matched in votes.items():
            distance = 100 - math.floor(matched * 100 / len(query))
            if distance <= max_distance:
                found.append((video, distance))
        return sorted(found, key=lambda hit: (hit[1], hit[0]))
