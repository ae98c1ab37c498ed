"""Feed entries signed with the publisher's Ed25519 key, and chained by SHA-256.

What an entry signs is its canonical JSON (sorted keys, no spaces): the feed's name, its
sequence number, the operation, the publisher's item id, the signals, the provenance, the
time, and the hash of the entry before it. A subscriber pins the publisher's public key when
it subscribes, and checks every entry: signed by that key, next in sequence, chained to the
last entry it applied. So a changed entry fails its signature, a re-ordered or dropped one
breaks the chain, and one from another feed or signed by another key is refused.

The key lives in a file like the audit key (safeguard.audit.signing):
SAFEGUARD_EXCHANGE_KEY_FILE, default `<SAFEGUARD_HOME>/keys/exchange-signing.pem`, created
on first use, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safeguard import _env
from safeguard.audit import signing as key_files
from safeguard.config import Settings
from safeguard.errors import InvalidRequest

KEY_FILE_VARIABLE = "SAFEGUARD_EXCHANGE_KEY_FILE"
LABEL = "exchange signing key"
#: the fields an entry signs, in the order the wire format lists them
SIGNED = ("feed", "seq", "op", "item", "signals", "provenance", "at", "prev")


def key_path(settings: Settings) -> Path:
    given = _env.text(KEY_FILE_VARIABLE)
    return Path(given) if given else settings.home / "keys" / "exchange-signing.pem"


def private_key(settings: Settings) -> Ed25519PrivateKey:
    """This instance's feed-signing key (created on first use)."""
    return key_files.private_key(key_path(settings), LABEL)


def public_hex(key: Ed25519PublicKey) -> str:
    """The raw public key in hex: what a publisher gives its peers to pin."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def key_id(key: Ed25519PublicKey) -> str:
    return key_files.key_id(key)


def load_public(text: str) -> Ed25519PublicKey:
    """A public key given as 64 hex digits (raw Ed25519), or InvalidRequest."""
    try:
        raw = bytes.fromhex(text.strip())
        if len(raw) != 32:
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise InvalidRequest(
            f"a publisher's key is 64 hex digits (its raw Ed25519 public key), got {text!r:.80}"
        ) from None


def message(fields: Mapping[str, object]) -> bytes:
    """The bytes an entry's signature and hash cover."""
    body = {k: fields[k] for k in SIGNED}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"safeguard-feed-entry:" + text.encode()


def entry_hash(fields: Mapping[str, object]) -> str:
    return hashlib.sha256(message(fields)).hexdigest()


def sign(key: Ed25519PrivateKey, fields: Mapping[str, object]) -> str:
    return key.sign(message(fields)).hex()


def signature_valid(key: Ed25519PublicKey, fields: Mapping[str, object], signature: str) -> bool:
    try:
        key.verify(bytes.fromhex(signature), message(fields))
    except (InvalidSignature, ValueError):
        return False
    return True
