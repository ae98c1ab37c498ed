"""Events: what the engine did, recorded in the change log for later stages to consume.

- `recorder`: `MatchRecorder`, which writes a `match.recorded` row for every match of a
  lookup, in batches from a background thread, never slowing or failing the lookup;
- `subscriptions`: `Subscription`, a named, durable reader of the change feed with its own
  saved cursor, so several consumers (rules, cases, reports) each see every row once.

See docs/events.md.
"""

from safeguard.events.recorder import MATCH_RECORDED, MatchRecorder
from safeguard.events.subscriptions import Subscription

__all__ = ["MATCH_RECORDED", "MatchRecorder", "Subscription"]
