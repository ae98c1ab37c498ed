"""Matching: signals of a query -> matches in banks, kept current by following the change log.

- `results`: `Match` and `MatchResult`, and the negative-bank suppression rules;
- `entries`: `EntryTable`, which maps index entry ids to content and banks;
- `feed`: `ChangeFeed`, which reads each committed change-log row once, in any commit order;
- `matcher`: `Matcher`, which builds indexes once and then applies changes incrementally.
"""

from safeguard.matching.matcher import IndexStatus, Matcher
from safeguard.matching.results import Match, MatchResult

__all__ = ["IndexStatus", "Match", "MatchResult", "Matcher"]
