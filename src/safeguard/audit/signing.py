"""The Ed25519 key that signs audit checkpoints, kept outside the database.

Whoever can change the database cannot forge a checkpoint without this key. It lives in a
file: SAFEGUARD_AUDIT_KEY_FILE, default `<SAFEGUARD_HOME>/keys/audit-signing.pem` (PEM,
PKCS8), created on first use readable by its owner only (0600, its folder 0700). A file
holding only the public key (SubjectPublicKeyInfo PEM) is enough to verify: give auditors
that, not the private key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safeguard import _env
from safeguard.config import Settings
from safeguard.errors import ConfigError

KEY_FILE_VARIABLE = "SAFEGUARD_AUDIT_KEY_FILE"
#: what errors call this key
LABEL = "audit signing key"


def key_path(settings: Settings) -> Path:
    """Where the signing key is: SAFEGUARD_AUDIT_KEY_FILE, else under the settings' home."""
    given = _env.text(KEY_FILE_VARIABLE)
    return Path(given) if given else settings.home / "keys" / "audit-signing.pem"


def message(seq: int, head_hash: str) -> bytes:
    """What a checkpoint signs: the position and hash of the chain's head."""
    return f"safeguard-audit:{seq}:{head_hash}".encode()


def key_id(public: Ed25519PublicKey) -> str:
    """First 16 hex of the SHA-256 of the raw public key: names the key in checkpoints."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signature_valid(public: Ed25519PublicKey, seq: int, head_hash: str, signature: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature), message(seq, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


def private_key(path: Path, label: str = LABEL) -> Ed25519PrivateKey:
    """The signing key at `path`, created (0600, folder 0700) when there is none. `label`
    names the key in errors (the exchange keeps its own key the same way)."""
    if not path.exists():
        _create(path, label)
    key = _load(path, label)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{label} {path} holds only a public key: cannot sign")
    return key


def public_key(path: Path, label: str = LABEL) -> Ed25519PublicKey | None:
    """The public half of the key at `path` (None when there is no file: nothing created)."""
    if not path.exists():
        return None
    key = _load(path, label)
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def _create(path: Path, label: str) -> None:
    folder_existed = path.parent.exists()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not folder_existed:
        path.parent.chmod(0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # written whole under another name, then linked into place: a process that finds the
    # file finds all of it, and of two processes creating it at once, one wins
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):  # the other process's key stays
            os.link(tmp, path)
    except OSError as e:
        raise ConfigError(f"cannot create {label} {path}: {e.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _load(path: Path, label: str) -> Ed25519PrivateKey | Ed25519PublicKey:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {label} {path}: {e.strerror}") from None
    key: object = None
    with contextlib.suppress(ValueError, TypeError):
        key = serialization.load_pem_private_key(data, password=None)
    if key is None:
        with contextlib.suppress(ValueError, TypeError):
            key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        raise ConfigError(f"{label} {path} is not an Ed25519 key in PEM")
    if isinstance(key, Ed25519PrivateKey) and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{label} {path} is open to other users (mode {stat.S_IMODE(mode):04o}): "
            f"`chmod 600 {path}`"
        )
    return key
