"""Private account checks: is any of our accounts on a peer's list of confirmed offenders,
without either side showing the other its list.

A publisher keeps lists of identifiers (`email:`, `phone:`, `handle:`, `account:`) of
accounts it confirmed, stored only as SHA-256 digests of their normalised form. A peer asks
with its own accounts' identifiers through private set intersection (OpenMined's PSI,
elliptic-curve Diffie-Hellman with a Golomb-compressed set, the `psi` extra): the peer
sends its digests blinded by a key only it holds; the publisher blinds them again with a
fresh key of its own and sends back its own list blinded with that key. The peer learns
which of its digests are on the list (and about how long the list is); the publisher learns
how many digests the peer asked about, and nothing of which ones, nor whether any matched.

A hit never acts by itself: it opens (or joins) the account's case, child-safety and
priority 2, for a person to review, with a `peer_signal` item naming the source, the list
and the kind of identifier. Every check is audited on both sides with its counts.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from types import ModuleType

from sqlalchemy import delete, func, insert, select

from safeguard.access.people import Actor
from safeguard.audit import record as audit
from safeguard.config import Settings
from safeguard.errors import ImportFormatError, InvalidRequest, NotFound, PeerError
from safeguard.exchange.sources import SourceService, read_credential
from safeguard.exchange.sync import PeerClient
from safeguard.extras import require
from safeguard.rules.model import CaseAction, Evaluation, RuleHit
from safeguard.store import Database
from safeguard.store.exchange_tables import IdentifierRow
from safeguard.store.models import utcnow

KINDS = ("email", "phone", "handle", "account")
LIST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
#: the most identifiers one check may ask about (a peer probing a list is limited and audited)
MAX_CHECK = 10_000
#: the chance that an identifier not on the list is reported as on it, per check
FALSE_POSITIVE_RATE = 1e-9
#: a request's largest body (base64 of about 33 bytes per identifier)
MAX_REQUEST_BYTES = 64 * MAX_CHECK
_PHONE = re.compile(r"\+?[0-9]{6,15}")
_DOMAIN = "safeguard-psi-v1:"
_BATCH = 1000


def normalize(identifier: str) -> str:
    """`kind:value` in the one spelling both sides hash: kinds and emails and handles
    lower-cased, phone numbers as `+digits` (spaces, dashes, dots and brackets dropped)."""
    kind, sep, value = identifier.partition(":") if isinstance(identifier, str) else ("", "", "")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in KINDS or not value or len(value) > 320 or "\x00" in value:
        raise InvalidRequest(
            f"an identifier is KIND:VALUE with KIND one of {', '.join(KINDS)}, "
            f"got {identifier!r:.80}"
        )
    if kind == "email":
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or " " in value:
            raise InvalidRequest(f"not an email address: {value!r:.80}")
        value = value.casefold()
    elif kind == "phone":
        digits = re.sub(r"[\s\-().]", "", value)
        if not _PHONE.fullmatch(digits):
            raise InvalidRequest(f"not a phone number (6-15 digits): {value!r:.80}")
        value = "+" + digits.lstrip("+")
    elif kind == "handle":
        value = value.casefold()
    return f"{kind}:{value}"


def digest(identifier: str) -> str:
    """The SHA-256 (hex) of an identifier's normalised form: what lists hold and PSI sees."""
    return hashlib.sha256((_DOMAIN + normalize(identifier)).encode()).hexdigest()


def _psi() -> ModuleType:
    return require("private_set_intersection.python", "psi", "private account checks")


@dataclass(frozen=True)
class ListInfo:
    name: str
    identifiers: int
    kinds: dict[str, int]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    account_id: str
    kind: str
    case_id: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class CheckReport:
    source: str
    list: str
    checked: int
    hits: tuple[Hit, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "list": self.list,
            "checked": self.checked,
            "hits": [h.to_json() for h in self.hits],
        }


class IdentifierLists:
    """The publisher's side: lists of identifiers and answering peers' checks."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def add(self, name: str, identifiers: Iterable[tuple[int, str]]) -> int:
        """Add (line, identifier) pairs to list `name`, all or none (ImportFormatError
        naming the lines that do not parse); returns how many were new."""
        self.actor.require(
            self.actor.is_admin or self.actor.has("child_safety"), "change identifier lists"
        )
        _check_list(name)
        rows: dict[str, str] = {}
        problems = []
        for line, given in identifiers:
            try:
                d = digest(given)
            except InvalidRequest as e:
                problems.append((line, e.message))
                continue
            rows[d] = normalize(given).split(":", 1)[0]
        if problems:
            raise ImportFormatError(f"list {name}", problems[:20], len(problems))
        if not rows:
            raise InvalidRequest(f"no identifiers given for list {name!r}")
        with self.db.write_transaction() as s:
            have: set[str] = set()
            keys = sorted(rows)
            for i in range(0, len(keys), _BATCH):
                part = keys[i : i + _BATCH]
                have.update(
                    s.scalars(
                        select(IdentifierRow.digest).where(
                            IdentifierRow.list_name == name, IdentifierRow.digest.in_(part)
                        )
                    )
                )
            new = [d for d in keys if d not in have]
            now = utcnow()
            if new:
                s.connection().execute(
                    insert(IdentifierRow.__table__),  # type: ignore[arg-type]
                    [
                        {
                            "list_name": name,
                            "digest": d,
                            "kind": rows[d],
                            "added_at": now,
                            "added_by": self.actor.name,
                        }
                        for d in new
                    ],
                )
            audit(s, self.actor.name, "exchange.identifiers_add", f"list:{name}", added=len(new))
            return len(new)

    def clear(self, name: str) -> int:
        """Delete a list; returns how many identifiers it held."""
        self.actor.require(
            self.actor.is_admin or self.actor.has("child_safety"), "change identifier lists"
        )
        with self.db.write_transaction() as s:
            n = s.execute(delete(IdentifierRow).where(IdentifierRow.list_name == name)).rowcount  # type: ignore[attr-defined]
            if not n:
                raise NotFound(f"no identifier list named {name!r}")
            audit(s, self.actor.name, "exchange.identifiers_clear", f"list:{name}", removed=n)
            return int(n)

    def list(self) -> builtins.list[ListInfo]:
        with self.db.transaction() as s:
            rows = s.execute(
                select(IdentifierRow.list_name, IdentifierRow.kind, func.count())
                .group_by(IdentifierRow.list_name, IdentifierRow.kind)
                .order_by(IdentifierRow.list_name)
            ).all()
        out: dict[str, dict[str, int]] = {}
        for name, kind, n in rows:
            out.setdefault(name, {})[kind] = n
        return [ListInfo(n, sum(k.values()), k) for n, k in out.items()]

    def answer(self, name: str, peer: str, request_b64: str) -> dict[str, object]:
        """Answer a peer's blinded request against list `name`: the list's setup message and
        the request blinded again, both base64; a fresh key each time. What this side learns
        (the number of identifiers asked about) is audited."""
        psi = _psi()
        request = psi.Request()
        try:
            if len(request_b64) > MAX_REQUEST_BYTES:
                raise ValueError("too large")
            request.ParseFromString(base64.b64decode(request_b64, validate=True))
        except Exception:  # noqa: BLE001 (protobuf raises its own DecodeError, or binascii's)
            raise InvalidRequest(
                "not a PSI request (base64 of an OpenMined PSI Request message, "
                f"at most {MAX_CHECK} identifiers)"
            ) from None
        asked = len(request.encrypted_elements)
        if not 1 <= asked <= MAX_CHECK:
            raise InvalidRequest(f"a check asks about 1-{MAX_CHECK} identifiers, got {asked}")
        with self.db.write_transaction() as s:
            held = list(
                s.scalars(select(IdentifierRow.digest).where(IdentifierRow.list_name == name))
            )
            if not held:
                raise NotFound(f"no identifier list named {name!r}")
            audit(s, peer, "exchange.psi_answer", f"list:{name}", asked=asked)
        server = psi.server.CreateWithNewKey(True)
        try:
            setup = server.CreateSetupMessage(
                FALSE_POSITIVE_RATE, asked, held, psi.DataStructure.GCS
            )
            response = server.ProcessRequest(request)
        except RuntimeError as e:
            raise InvalidRequest(f"not a PSI request this server can answer: {e}") from None
        return {
            "list": name,
            "setup": base64.b64encode(setup.SerializeToString()).decode(),
            "response": base64.b64encode(response.SerializeToString()).decode(),
        }


class AccountChecker:
    """The asking side: check accounts' identifiers against a peer's list; hits open cases."""

    def __init__(self, db: Database, actor: Actor, settings: Settings) -> None:
        self.db = db
        self.actor = actor
        self.settings = settings

    def check(
        self, source: str, list_name: str, accounts: Sequence[tuple[int, str, str]]
    ) -> CheckReport:
        """Check (line, account_id, identifier) rows against `list_name` at the source's
        publisher. Rows that do not parse refuse the whole check (naming their lines)."""
        from safeguard.review.cases import CaseWant, cases_for_events, insert_case_items

        self.actor.require(
            self.actor.is_admin or self.actor.has("child_safety"), "check accounts with peers"
        )
        _check_list(list_name)
        psi = _psi()
        problems, items = [], []
        for line, account, identifier in accounts:
            try:
                if not account or len(account) > 200:
                    raise InvalidRequest(f"an account id is 1-200 characters, got {account!r:.80}")
                items.append((account, normalize(identifier).split(":", 1)[0], digest(identifier)))
            except InvalidRequest as e:
                problems.append((line, e.message))
        if problems:
            raise ImportFormatError("accounts to check", problems[:20], len(problems))
        if not 1 <= len(items) <= MAX_CHECK:
            raise InvalidRequest(f"a check asks about 1-{MAX_CHECK} identifiers, got {len(items)}")
        info = SourceService(self.db, self.actor, self.settings).get(source)
        client = psi.client.CreateWithNewKey(True)
        request = client.CreateRequest([d for _, _, d in items])
        peer = PeerClient(info.url, read_credential(source, info.credential))
        try:
            answer = peer.check_accounts(
                list_name, base64.b64encode(request.SerializeToString()).decode()
            )
        finally:
            peer.close()
        try:
            setup, response = psi.ServerSetup(), psi.Response()
            setup.ParseFromString(base64.b64decode(str(answer["setup"]), validate=True))
            response.ParseFromString(base64.b64decode(str(answer["response"]), validate=True))
            found = sorted(set(client.GetIntersection(setup, response)))
        except Exception as e:  # noqa: BLE001 (protobuf, base64 and PSI each raise their own)
            raise PeerError(
                f"{info.url} answered the check with something unreadable: {e}"
            ) from None
        now = utcnow()
        hits: list[Hit] = []
        with self.db.write_transaction() as s:
            reason = RuleHit(f"exchange:{source}", None, False)
            wants = []
            for i in found:
                evaluation = Evaluation(
                    "allow", (reason,), (), CaseAction(priority=2), True, False, False
                )
                wants.append(CaseWant(items[i][0], evaluation, open_new=True))
            case_ids = cases_for_events(s, wants, now)
            rows: list[dict[str, object]] = []
            for i, case_id in zip(found, case_ids, strict=True):
                assert case_id is not None
                account, kind, _ = items[i]
                hits.append(Hit(account, kind, case_id))
                rows.append(
                    {
                        "case_id": case_id,
                        "event_id": None,
                        "at": now,
                        "kind": "peer_signal",
                        "bank_name": None,
                        "content_id": None,
                        "signal_type": None,
                        "distance": None,
                        "detail": {"source": source, "list": list_name, "identifier": kind},
                    }
                )
            insert_case_items(s, rows)
            audit(
                s,
                self.actor.name,
                "exchange.psi_check",
                f"source:{source}",
                list=list_name,
                checked=len(items),
                hits=len(hits),
                cases=sorted({h.case_id for h in hits}),
            )
        return CheckReport(source, list_name, len(items), tuple(hits))


def _check_list(name: str) -> None:
    if not isinstance(name, str) or not LIST_NAME.fullmatch(name):
        raise InvalidRequest(
            f"a list name is 1-100 letters, digits, '_', '-' or '.', got {name!r:.120}"
        )
