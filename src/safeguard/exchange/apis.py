"""Hash-sharing services through python-threatexchange's `SignalExchangeAPI`: NCMEC's hash
sharing, StopNCII, Meta's ThreatExchange, and local files in threatexchange's format.

A source of kind "api" names the service, its collaboration settings (threatexchange's
`CollaborationConfig` fields, as JSON) and where its credentials are read. A sync asks the
service for what changed since the source's checkpoint (`fetch_iter`), and applies each
batch it yields in one transaction with the checkpoint that batch ends at: a large list is
fetched once, then only its changes, and a sync killed half way resumes from the last
batch applied. Each record becomes one content item of the source's bank, with provenance
`exchange:<source>` and the record's key as external id; a record deleted or emptied at the
service removes what it had added. python-threatexchange is the `exchange-apis` extra.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select

from safeguard.banks.records import Provenance
from safeguard.banks.service import BankService
from safeguard.errors import Conflict, InvalidRequest, PeerError, SafeguardError
from safeguard.extras import require
from safeguard.signals import get_signal_type, validate_signals
from safeguard.store import ContentSignal, Database
from safeguard.store.exchange_tables import ApiReceivedRow, SourceRow
from safeguard.store.models import signal_rows, utcnow

#: the services a source may name, by threatexchange's name for them
API_CLASSES = {
    "ncmec": "threatexchange.exchanges.impl.ncmec_api:NCMECSignalExchangeAPI",
    "stop_ncii": "threatexchange.exchanges.impl.stop_ncii_api:StopNCIISignalExchangeAPI",
    "fb_threatexchange": (
        "threatexchange.exchanges.impl.fb_threatexchange_api:FBThreatExchangeSignalExchangeAPI"
    ),
    "local_file": "threatexchange.exchanges.impl.file_api:LocalFileSignalExchangeAPI",
}
#: threatexchange's signal types that safeguard has a type for
_TX_TYPES = (
    "threatexchange.signal_type.pdq.signal:PdqSignal",
    "threatexchange.signal_type.md5:VideoMD5Signal",
    "threatexchange.signal_type.url:URLSignal",
)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(require(module, "exchange-apis", "syncing from hash-sharing services"), name)


def api_class(api: str) -> Any:
    if api not in API_CLASSES:
        raise InvalidRequest(f"unknown hash-sharing service {api!r}: use {', '.join(API_CLASSES)}")
    return _load(API_CLASSES[api])


def collab_config(api: str, source: str, config: Mapping[str, object]) -> Any:
    """threatexchange's collaboration settings of `api` from JSON (enum fields by member name
    or value), or InvalidRequest naming what is wrong."""
    import dacite

    cls = api_class(api).get_config_cls()
    given: dict[str, Any] = dict(config)
    given.pop("api", None)
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, type) else None
        if f.name in given and kind is not None and issubclass(kind, enum.Enum):
            value = given[f.name]
            if isinstance(value, str) and value in kind.__members__:
                given[f.name] = kind[value].value
    try:
        return dacite.from_dict(
            cls,
            {**given, "name": source},
            config=dacite.Config(cast=[enum.Enum, set, frozenset], strict=True),
        )
    except (dacite.DaciteError, ValueError, TypeError) as e:
        names = [f.name for f in dataclasses.fields(cls) if f.init and f.name != "name"]
        raise InvalidRequest(
            f"settings for {api}: {e} (its settings: {', '.join(names)})"
        ) from None


def _checkpoint(api: Any, stored: Mapping[str, object] | None) -> Any:
    if stored is None:
        return None
    import dacite

    return dacite.from_dict(api.get_checkpoint_cls(), dict(stored))


def _tx_types() -> list[Any]:
    return [_load(p) for p in _TX_TYPES]


def open_api(row: SourceRow, secret: str | None) -> Any:
    """The service's SignalExchangeAPI for a source, authenticated, at its address."""
    cls = api_class(row.api)
    collab = collab_config(row.api, row.name, row.config or {})
    from threatexchange.exchanges.auth import SignalExchangeWithAuth

    if issubclass(cls, SignalExchangeWithAuth):
        if not secret:
            raise InvalidRequest(f"source {row.name!r}: the {row.api} service needs credentials")
        credentials = cls.get_credential_cls()._from_str(secret)
        api = cls.for_collab(collab, credentials)
    else:
        api = cls.for_collab(collab)
    if row.url:
        _relocate(api, row.api, row.url)
    return api


def _relocate(api: Any, name: str, address: str) -> None:
    """Point a service at another address (a proxy, or a stand-in that speaks its protocol)."""
    if name != "ncmec":
        raise InvalidRequest(f"the {name} service's address cannot be changed")
    original = api.get_client

    def get_client(environment: Any) -> Any:
        client = original(environment)
        client._base_url = address  # threatexchange keeps the environment's URL here
        return client

    api.get_client = get_client


def records(
    api: Any, row: SourceRow, deltas: Iterator[Any]
) -> Iterator[tuple[dict[str, dict[str, str] | None], dict[str, Any], dict[str, list[str]]]]:
    """Each batch the service yields as ({key: our signals or None (removed)}, the checkpoint
    it ends at as JSON, {key: tags})."""
    cls = type(api)
    collab = api.collab
    types = _tx_types()
    while True:
        try:
            delta = next(deltas)
        except StopIteration:
            return
        except SafeguardError:
            raise
        except Exception as e:  # noqa: BLE001 (each service's client raises its own)
            raise PeerError(f"{row.api}: {type(e).__name__}: {str(e)[:300]}") from None
        out: dict[str, dict[str, str] | None] = {}
        tags: dict[str, list[str]] = {}
        for key, value in delta.updates.items():
            name = ":".join(key) if isinstance(key, tuple) else str(key)
            converted = (
                cls.naive_convert_to_signal_type(types, collab, {key: value})
                if value is not None
                else {}
            )
            signals: dict[str, str] = {}
            seen: set[str] = set()
            for tx_type, values in converted.items():
                ours = get_signal_type(tx_type.get_name()).name
                for v, meta in values.items():
                    signals.setdefault(ours, v)
                    for opinion in meta.get_as_opinions():
                        seen.update(str(t) for t in opinion.tags)
            if row.api == "ncmec" and value is not None:
                _ncmec_digest(value, collab, signals, seen)
            out[name[:300]] = signals or None
            tags[name[:300]] = sorted(seen)[:20]
        yield out, json.loads(json.dumps(dataclasses.asdict(delta.checkpoint))), tags


def _ncmec_digest(entry: Any, collab: Any, signals: dict[str, str], tags: set[str]) -> None:
    """NCMEC's MD5 of an image: threatexchange converts only videos' MD5s (its
    VideoMD5Signal), but safeguard's MD5 is a digest of any file's bytes, so an image's is
    kept too, with the entry's classification as a tag."""
    if entry.deleted or (collab.only_esp_ids and entry.member_id not in collab.only_esp_ids):
        return
    value = entry.fingerprints.get("md5")
    if value:
        signals.setdefault("md5", value.strip().lower())
        if entry.classification:
            tags.add(entry.classification)


def sync_api(
    db: Database, actor_name: str, row: SourceRow, secret: str | None
) -> Iterator[tuple[int, int, int]]:
    """Fetch and apply a source's changes batch by batch; yields (records, added, removed)
    per batch applied."""
    api = open_api(row, secret)
    start = _checkpoint(api, row.checkpoint)
    deltas = iter(api.fetch_iter(_tx_types(), start))
    at = row.checkpoint
    for batch, checkpoint, tags in records(api, row, deltas):
        added, removed = apply(db, actor_name, row.name, at, batch, checkpoint, tags)
        at = checkpoint
        yield len(batch), added, removed


def apply(
    db: Database,
    actor_name: str,
    name: str,
    at: Mapping[str, object] | None,
    batch: Mapping[str, dict[str, str] | None],
    checkpoint: dict[str, Any],
    tags: Mapping[str, list[str]],
) -> tuple[int, int]:
    """One batch and the checkpoint it ends at, in one transaction."""
    from safeguard.audit import record as audit
    from safeguard.exchange.sync import forget

    banks = BankService(db, actor_name)
    added = removed = 0
    with db.write_transaction() as s:
        src = s.scalar(select(SourceRow).where(SourceRow.name == name).with_for_update())
        if src is None or src.checkpoint != at:
            raise Conflict(f"source {name!r} was synced by another process meanwhile")
        for key, signals in batch.items():
            known = s.get(ApiReceivedRow, (src.id, key))
            clean = None
            if signals:
                try:
                    clean = validate_signals(signals)
                except SafeguardError as problem:
                    raise PeerError(f"{src.api} record {key!r}: {problem.message}") from None
            if known is not None:
                q = signal_rows().where(ContentSignal.content_id == known.content_id)
                held = {t: v for _, _, _, t, v in s.execute(q)}
                if clean is not None and held == clean:
                    continue  # the same record again (a batch fetched twice)
                forget(s, banks, src, ApiReceivedRow, known)
                removed += 1
            if clean is None:
                continue
            provenance = Provenance(
                source=f"exchange:{name}",
                external_id=key[:500],
                note=f"from {src.api}",
                tags=tuple(tags.get(key, ())),
            )
            result = banks.add(src.bank_name, clean, provenance, session=s)
            s.add(
                ApiReceivedRow(
                    source_id=src.id, key=key, content_id=result.content_id, created=result.created
                )
            )
            s.flush()
            added += 1
        src.checkpoint = checkpoint
        src.last_sync_at, src.last_error = utcnow(), ""
        audit(
            s,
            actor_name,
            "exchange.sync",
            f"source:{name}",
            records=len(batch),
            added=added,
            removed=removed,
        )
    return added, removed
