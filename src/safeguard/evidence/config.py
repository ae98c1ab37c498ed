"""Where evidence lives, which keys seal it and how long it is kept: read from the
environment once, at the edges (the CLI, the worker), like `safeguard.config.Settings`.

SAFEGUARD_EVIDENCE_DIR             the encrypted files (default: <SAFEGUARD_HOME>/evidence)
SAFEGUARD_EVIDENCE_KEY             one key: base64 of 32 bytes (safeguard.evidence.keys)
SAFEGUARD_EVIDENCE_KEY_FILE        or a key ring file of `key_id:base64key` lines
SAFEGUARD_RETENTION_NCA_DAYS       the UK NCA report period in days (default one year)
SAFEGUARD_RETENTION_DECISION_DAYS  the decided-case period in days (default 90)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from safeguard import _env
from safeguard.config import Settings
from safeguard.evidence.keys import KEY_ENV, KEY_FILE_ENV, KeyRing
from safeguard.evidence.periods import RetentionPolicy

DIR_ENV = "SAFEGUARD_EVIDENCE_DIR"


@dataclass(frozen=True)
class EvidenceConfig:
    directory: Path
    key: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)

    @classmethod
    def from_env(cls, settings: Settings) -> EvidenceConfig:
        where = _env.raw(DIR_ENV)
        key_file = _env.raw(KEY_FILE_ENV)
        return cls(
            directory=Path(where) if where else Path(settings.home) / "evidence",
            key=_env.raw(KEY_ENV),
            key_file=Path(key_file) if key_file else None,
            retention=RetentionPolicy.from_env(),
        )

    def key_ring(self) -> KeyRing:
        """The key ring (ConfigError naming both variables when no key is configured)."""
        return KeyRing.load(self.key, self.key_file)
