"""The pathways event-log schema: two tables of behavioural metadata, never message content.

accounts: account_id, created_at (ISO 8601 UTC), age_band, country (ISO 3166 alpha-2 or empty).
events:   ts (ISO 8601 UTC), kind, actor, target.

See docs/pathways.md for the meaning of every column and kind.
"""

from __future__ import annotations

ACCOUNT_COLUMNS = ("account_id", "created_at", "age_band", "country")
EVENT_COLUMNS = ("ts", "kind", "actor", "target")

AGE_BANDS = ("under_13", "13_15", "16_17", "adult", "unknown")
MINOR_BANDS = ("under_13", "13_15", "16_17")
#: accounts that are scored, every one against every declared minor: anyone not declared a
#: minor, and teenagers (an adult posing as one declares a teenage age)
SUBJECT_BANDS = ("adult", "unknown", "16_17", "13_15")
#: who is scored, in the words errors and summaries use
WHO_IS_SCORED = "only accounts declaring an age of 13 or over (or none) are scored"

CONTACT_REQUEST = "contact_request"
CONTACT_ACCEPT = "contact_accept"
MESSAGE = "message"
BLOCK = "block"
REPORT = "report"
OFF_PLATFORM_HANDLE = "off_platform_handle"

KINDS = (CONTACT_REQUEST, CONTACT_ACCEPT, MESSAGE, BLOCK, REPORT, OFF_PLATFORM_HANDLE)
#: kinds by which an account reaches out to another
OUTREACH_KINDS = (CONTACT_REQUEST, MESSAGE, OFF_PLATFORM_HANDLE)
#: kinds by which the other side starts talking (decides who made the first move)
FIRST_MOVE_KINDS = (CONTACT_REQUEST, MESSAGE)
