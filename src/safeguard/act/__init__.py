"""Act: events in, verdicts out, by rules, with flood quarantine (docs/moderation.md)."""

from safeguard.act.inputs import KINDS, EventInput
from safeguard.act.quarantine import FloodGuard, FloodPolicy, QuarantineInfo
from safeguard.act.service import EventService
from safeguard.act.verdicts import VERDICTS, Verdict

__all__ = [
    "KINDS",
    "VERDICTS",
    "EventInput",
    "EventService",
    "FloodGuard",
    "FloodPolicy",
    "QuarantineInfo",
    "Verdict",
]
