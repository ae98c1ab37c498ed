"""The tamper-evident audit log: every decision, every change to banks, rules, keys and
users, and every view of child-safety case data or media (docs/moderation.md).

`record(session, actor, action, subject, **detail)` appends an entry inside the caller's
transaction, chained by SHA-256 to the one before (see safeguard.store.audit_tables).
"""

from safeguard.audit.chain import GENESIS, entry_hash, record

__all__ = ["GENESIS", "entry_hash", "record"]
