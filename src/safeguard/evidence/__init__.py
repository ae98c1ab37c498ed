"""Preserved evidence (issue #15): a case's media encrypted at rest with AES-256-GCM under a
rotatable key ring, kept on a retention clock that a report or a decision starts and a
legal hold stops, and deleted (audited) when the clock runs out. By default safeguard keeps
only hashes and metadata; evidence exists only where a platform chose to preserve it.

    store = EvidenceStore(db, settings, actor)
    info = store.preserve(case_id, data, "upload.jpg")
    store.start_clock(case_id, "ncmec_report", at=reported_at)
    purge(db, settings, now)            # what `safeguard worker` runs (purge_task)

See docs/moderation.md ("Evidence") for the keys, the periods and the commands.
"""

from safeguard.evidence.config import EvidenceConfig
from safeguard.evidence.keys import KEY_ENV, KEY_FILE_ENV, KeyRing, key_id_of, new_key_line
from safeguard.evidence.periods import REASONS, Period, RetentionPolicy
from safeguard.evidence.records import EvidenceInfo, PurgeReport, RotationReport
from safeguard.evidence.retention import SYSTEM, purge, purge_task
from safeguard.evidence.store import EvidenceStore

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "REASONS",
    "SYSTEM",
    "EvidenceConfig",
    "EvidenceInfo",
    "EvidenceStore",
    "KeyRing",
    "Period",
    "PurgeReport",
    "RetentionPolicy",
    "RotationReport",
    "key_id_of",
    "new_key_line",
    "purge",
    "purge_task",
]
