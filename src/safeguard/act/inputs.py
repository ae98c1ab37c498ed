"""What a platform sends: one event (an upload, a user report, a pathways flag), read from
JSON and checked, with a clear error naming the problem.

    {"kind": "upload", "account_id": "u1", "path": "photo.jpg"}          (or "hashes" / "url")
    {"kind": "report", "account_id": "u1", "reporter": "u2", "reason": "..."}
    {"kind": "pathways_flag", "account_id": "u1", "score": 0.91, "reasons": ["..."]}

Optional everywhere: "id" (the platform's event id: a resubmitted event gets its first
verdict back), "where" (where it was posted: a post, chat or group id), "media_ref" (the
platform's id of the media), "account_age_band" ("under_13", "13_15", "16_17", "adult"),
"account" (what the platform knows of the account, for referrals: "screen_name",
"display_name", "profile_url", "emails", "ip" and "port" it used for this event,
"device_ids" [{"type", "value"}], "disabled_at", "disabled_permanently", "user_notified",
"connected_accounts").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from safeguard.errors import InvalidRequest

KINDS = ("upload", "report", "pathways_flag")
_TEXT_LIMIT = 200
_COMMON = {"kind", "account_id", "id", "where", "media_ref", "account_age_band", "account"}
#: the fields of "account", and the JSON type each must have
ACCOUNT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "screen_name": str,
    "display_name": str,
    "profile_url": str,
    "emails": list,
    "ip": str,
    "port": int,
    "device_ids": list,
    "disabled_at": str,
    "disabled_permanently": bool,
    "user_notified": bool,
    "connected_accounts": list,
}
_FIELDS = {
    "upload": _COMMON | {"path", "hashes", "url"},
    "report": _COMMON | {"reporter", "reason"},
    "pathways_flag": _COMMON | {"score", "reasons"},
}


@dataclass(frozen=True)
class EventInput:
    kind: str
    account_id: str
    external_id: str | None = None
    where: str | None = None
    media_ref: str | None = None
    account_age_band: str | None = None
    account: dict[str, object] = field(default_factory=dict)  # ACCOUNT_FIELDS
    # uploads: exactly one of these
    path: str | None = None
    url: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    # reports
    reporter: str | None = None
    reason: str | None = None
    # pathways flags
    score: float | None = None
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, obj: object, *, with_media: bool = False) -> EventInput:
        """An event from a decoded JSON object; InvalidRequest naming the problem.
        `with_media`: an upload whose file comes beside it (no path, url or hashes)."""
        if not isinstance(obj, Mapping):
            raise InvalidRequest("an event must be a JSON object")
        kind = obj.get("kind")
        if kind not in KINDS:
            raise InvalidRequest(f"unknown event kind {kind!r}: use {', '.join(KINDS)}")
        unknown = sorted(set(obj) - _FIELDS[kind])
        if unknown:
            allowed = ", ".join(sorted(_FIELDS[kind]))
            raise InvalidRequest(f"{kind} event: unknown field {unknown[0]!r} (fields: {allowed})")
        account = _text(obj, "account_id", required=True)
        common = {
            "kind": kind,
            "account_id": account,
            "external_id": _text(obj, "id"),
            "where": _text(obj, "where"),
            "media_ref": _text(obj, "media_ref"),
            "account_age_band": _text(obj, "account_age_band"),
            "account": account_details(obj.get("account")),
        }
        if kind == "upload":
            hashes = obj.get("hashes") or {}
            if not isinstance(hashes, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in hashes.items()
            ):
                raise InvalidRequest('upload event: "hashes" must be an object of type: value')
            path, url = _text(obj, "path", limit=4096), _text(obj, "url", limit=4096)
            given = [n for n, v in (("path", path), ("url", url), ("hashes", hashes)) if v]
            if with_media and given:
                raise InvalidRequest(f"upload event with its file: no {given[0]!r} as well")
            if len(given) != 1 and not with_media:
                raise InvalidRequest(
                    'upload event: give exactly one of "path", "url" or "hashes"'
                    + (f" (got {', '.join(given)})" if given else "")
                )
            return cls(**common, path=path, url=url, hashes=dict(hashes))
        if kind == "report":
            return cls(**common, reporter=_text(obj, "reporter"), reason=_text(obj, "reason"))
        score = obj.get("score")
        if (
            isinstance(score, bool)
            or not isinstance(score, int | float)
            or not math.isfinite(score)
            or not 0 <= score <= 1
        ):
            raise InvalidRequest(f"pathways_flag event: score must be a number 0-1, got {score!r}")
        reasons = obj.get("reasons") or []
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise InvalidRequest('pathways_flag event: "reasons" must be a list of strings')
        return cls(**common, score=float(score), reasons=tuple(r[:_TEXT_LIMIT] for r in reasons))

    def to_json(self) -> dict[str, object]:
        """What is kept of the event (never media; a path only as the platform named it)."""
        out: dict[str, object] = {"kind": self.kind, "account_id": self.account_id}
        for name in ("external_id", "where", "media_ref", "account_age_band", "path", "url"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.account:
            out["account"] = dict(self.account)
        if self.kind == "report":
            out.update(reporter=self.reporter, reason=self.reason)
        if self.kind == "pathways_flag":
            out.update(score=self.score, reasons=list(self.reasons))
        return out


def _text(
    obj: Mapping[str, object], name: str, *, required: bool = False, limit: int = _TEXT_LIMIT
) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f'event: "{name}" is missing')
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRequest(f'event: "{name}" must be a string, got {type(value).__name__}')
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise InvalidRequest(f'event: "{name}" must be at most {limit} printable characters')
    return value


def account_details(value: object) -> dict[str, object]:
    """The event's "account" object, checked field by field (InvalidRequest naming one)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest('event: "account" must be an object')
    out: dict[str, object] = {}
    for name, v in value.items():
        want = ACCOUNT_FIELDS.get(name)
        if want is None:
            allowed = ", ".join(ACCOUNT_FIELDS)
            raise InvalidRequest(f'event: unknown "account" field {name!r} (fields: {allowed})')
        if not isinstance(v, want) or (want is int and isinstance(v, bool)):
            kind = want.__name__ if isinstance(want, type) else "value"
            raise InvalidRequest(f'event: "account.{name}" must be a {kind}')
        if isinstance(v, str) and (len(v) > 2048 or any(ord(c) < 32 for c in v)):
            raise InvalidRequest(
                f'event: "account.{name}" must be at most 2048 printable characters'
            )
        if name == "port" and not 0 < int(v) < 65536:  # type: ignore[call-overload]
            raise InvalidRequest('event: "account.port" must be 1-65535')
        if isinstance(v, list) and len(v) > 100:
            raise InvalidRequest(f'event: "account.{name}" may hold at most 100 entries')
        out[name] = v
    return out
