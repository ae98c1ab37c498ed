"""What an event gets back: its verdict, the rules that fired, the case it joined, and what
it matched; or the problem that kept it from being judged."""

from __future__ import annotations

from dataclasses import dataclass, field

#: verdicts by severity
VERDICTS = ("allow", "hold", "block")


@dataclass(frozen=True)
class Verdict:
    account_id: str | None
    kind: str | None
    verdict: str | None
    rules: tuple[str, ...] = ()
    shadow_rules: tuple[str, ...] = ()
    case_id: int | None = None
    event_id: int | None = None  # None when nothing about the event needed keeping
    external_id: str | None = None
    matches: tuple[dict[str, object], ...] = ()
    #: true when the verdict was given before (a resubmitted event id)
    repeated: bool = False
    error: str | None = None
    error_code: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        if self.error is not None:
            return {
                "account_id": self.account_id,
                "kind": self.kind,
                "id": self.external_id,
                "verdict": None,
                "error": self.error,
                "error_code": self.error_code,
            }
        out: dict[str, object] = {
            "account_id": self.account_id,
            "kind": self.kind,
            "id": self.external_id,
            "verdict": self.verdict,
            "rules": list(self.rules),
            "shadow_rules": list(self.shadow_rules),
            "case_id": self.case_id,
            "event_id": self.event_id,
            "matches": list(self.matches),
        }
        if self.repeated:
            out["repeated"] = True
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def failed(
    account_id: str | None, kind: str | None, external_id: str | None, message: str, code: str
) -> Verdict:
    return Verdict(account_id, kind, None, external_id=external_id, error=message, error_code=code)
