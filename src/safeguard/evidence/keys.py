"""The evidence key ring and the sealed-file format: AES-256-GCM with a fresh 96-bit nonce.

Keys come from the environment, never the database:
  SAFEGUARD_EVIDENCE_KEY       base64 of 32 random bytes: a ring of one key
  SAFEGUARD_EVIDENCE_KEY_FILE  a file of lines `key_id:base64key` (blank lines and `#`
                               comments skipped); the LAST line's key encrypts, every line's
                               key still decrypts, so keys can be rotated
`safeguard evidence new-key` prints a fresh line. A key's id is the first 12 hex digits of
the key's SHA-256: short, safe to store beside the data, and no way back to the key.

A sealed file is  b"SGEV1\\n" + key_id + b"\\n" + nonce (12 bytes) + ciphertext and tag.
The header (magic and key id) and the caller's binding (the case and the file's random id)
are the associated data: a file moved to another record, or a header edited to name another
key, fails authentication like any other change. The header names the key that really
sealed the file, so a crash between re-encrypting a file and recording its new key id
cannot strand it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from safeguard.errors import ConfigError, FileProblem

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV = "SAFEGUARD_EVIDENCE_KEY"
KEY_FILE_ENV = "SAFEGUARD_EVIDENCE_KEY_FILE"
KEY_BYTES = 32
NONCE_BYTES = 12
MAGIC = b"SGEV1\n"
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")

HOW_TO_MAKE_ONE = (
    "make one with `safeguard evidence new-key >> evidence-keys.txt` (then `chmod 600` it) "
    f"and set {KEY_FILE_ENV} to that file, or set {KEY_ENV} to the part after the colon"
)


def key_id_of(secret: bytes) -> str:
    """A key's id: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(secret).hexdigest()[:12]


def new_key_line() -> str:
    """A fresh key as a key-file line, `key_id:base64key`."""
    secret = os.urandom(KEY_BYTES)
    return f"{key_id_of(secret)}:{base64.b64encode(secret).decode('ascii')}"


def decode_key(text: str, where: str) -> bytes:
    """The 32 bytes of a base64 key; ConfigError naming `where` otherwise."""
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: not a base64 key ({HOW_TO_MAKE_ONE})") from None
    if len(secret) != KEY_BYTES:
        raise ConfigError(
            f"{where}: a key must be {KEY_BYTES} bytes (base64 of {KEY_BYTES} random bytes), "
            f"this one is {len(secret)}"
        )
    return secret


@dataclass(frozen=True)
class KeyRing:
    """The keys that decrypt evidence, by id, and the id of the one that encrypts."""

    keys: Mapping[str, bytes] = field(repr=False)
    current_id: str

    @classmethod
    def load(cls, key: str | None, key_file: Path | None) -> KeyRing:
        """The ring from a single key or a key file (exactly one of them)."""
        if key and key_file:
            raise ConfigError(f"set one of {KEY_ENV} and {KEY_FILE_ENV}, not both")
        if key_file:
            return cls.read_file(key_file)
        if key:
            secret = decode_key(key, KEY_ENV)
            return cls({key_id_of(secret): secret}, key_id_of(secret))
        raise ConfigError(
            f"no evidence key: preserving or reading evidence needs {KEY_FILE_ENV} or "
            f"{KEY_ENV}; {HOW_TO_MAKE_ONE}"
        )

    @classmethod
    def read_file(cls, path: Path) -> KeyRing:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise ConfigError(f"{KEY_FILE_ENV}: cannot read {path}: {reason}") from None
        keys: dict[str, bytes] = {}
        current = ""
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{KEY_FILE_ENV} {path} line {n}"
            key_id, sep, encoded = line.partition(":")
            key_id = key_id.strip()
            if not sep or not KEY_ID.fullmatch(key_id):
                raise ConfigError(f"{where}: expected `key_id:base64key`")
            if key_id in keys:
                raise ConfigError(f"{where}: key id {key_id!r} appears twice")
            keys[key_id] = decode_key(encoded, where)
            current = key_id
        if not keys:
            raise ConfigError(f"{KEY_FILE_ENV} {path} holds no key; {HOW_TO_MAKE_ONE}")
        return cls(keys, current)

    def secret(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise FileProblem(
                f"sealed with key {key_id!r}, which is not in the key ring: put that key's "
                f"line back in {KEY_FILE_ENV} (keep it before the current key)",
                code="evidence_key_missing",
            ) from None


def seal(ring: KeyRing, plaintext: bytes, binding: bytes) -> tuple[str, bytes]:
    """`plaintext` encrypted under the ring's current key: (key id, sealed bytes)."""
    header = MAGIC + ring.current_id.encode("ascii") + b"\n"
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = _aead(ring.secret(ring.current_id)).encrypt(nonce, plaintext, header + binding)
    return ring.current_id, header + nonce + ciphertext


def unseal(ring: KeyRing, sealed: bytes, binding: bytes) -> tuple[str, bytes]:
    """(key id, plaintext) of sealed bytes; FileProblem when they are not a sealed file,
    were sealed with a key the ring lacks, or fail authentication."""
    if not sealed.startswith(MAGIC):
        raise FileProblem("not a sealed evidence file", code="evidence_unreadable")
    end = sealed.find(b"\n", len(MAGIC))
    key_id = sealed[len(MAGIC) : end].decode("ascii", "replace") if end > 0 else ""
    if not KEY_ID.fullmatch(key_id) or len(sealed) < end + 1 + NONCE_BYTES + 16:
        raise FileProblem("the sealed file's header is damaged", code="evidence_unreadable")
    header = sealed[: end + 1]
    nonce = sealed[end + 1 : end + 1 + NONCE_BYTES]
    aead = _aead(ring.secret(key_id))
    from cryptography.exceptions import InvalidTag

    try:
        plaintext = aead.decrypt(nonce, sealed[end + 1 + NONCE_BYTES :], header + binding)
    except InvalidTag:
        raise FileProblem(
            f"cannot be decrypted with key {key_id!r}: the file was changed, belongs to "
            "another record, or that key is not the one it was sealed with",
            code="evidence_unreadable",
        ) from None
    return key_id, plaintext


def _aead(secret: bytes) -> AESGCM:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise ConfigError(
            "evidence encryption needs the `cryptography` package: pip install cryptography"
        ) from None
    return AESGCM(secret)
