"""Persistence: SQLAlchemy models, connections and transactions, Alembic migrations."""

from safeguard.store.database import SCHEMA_REVISION, Database, WriteBusy, normalize_url
from safeguard.store.models import Bank, Change, Content, ContentFeatures, ContentSignal

__all__ = [
    "SCHEMA_REVISION",
    "Bank",
    "Change",
    "Content",
    "ContentFeatures",
    "ContentSignal",
    "Database",
    "WriteBusy",
    "normalize_url",
]
