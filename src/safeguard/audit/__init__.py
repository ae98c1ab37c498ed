"""The tamper-evident audit log: every decision, every change to banks, rules, keys and
users, and every view of child-safety case data or media (docs/moderation.md).

`record(session, actor, action, subject, **detail)` appends an entry inside the caller's
transaction, chained by SHA-256 to the one before (see safeguard.store.audit_tables).
The rest is imported from its module (this package stays light: every service imports it):
  checkpoints  `checkpoint(db, settings)`: the head signed with the Ed25519 key (signing.py),
               in the database and in <home>/audit/checkpoints.jsonl; `checkpoint_task`
  verify       `verify(db, settings)`: the whole chain, then every checkpoint (walk.py walks)
  reader       `AuditReader(db, actor).entries(...)`: for admins and auditors only
"""

from safeguard.audit.chain import GENESIS, entry_hash, record

__all__ = ["GENESIS", "entry_hash", "record"]
