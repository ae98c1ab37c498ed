"""Act: events in, verdicts out, by rules, with flood quarantine (docs/moderation.md)."""

from safeguard.act.inputs import KINDS, EventInput
from safeguard.act.quarantine import FloodGuard, FloodPolicy, QuarantineInfo
from safeguard.act.service import EventService, Judgement
from safeguard.act.verdicts import VERDICTS, Verdict

__all__ = [
    "KINDS",
    "VERDICTS",
    "EventInput",
    "EventService",
    "Judgement",
    "FloodGuard",
    "FloodPolicy",
    "QuarantineInfo",
    "Verdict",
]
