"""What a lookup returns, and how negative banks (known false positives) suppress matches.

- a query that matches a negative bank by MD5 or SHA-256 is a known-benign file: every
  positive match of that query is suppressed;
- a PDQ match in a negative bank suppresses positive PDQ matches that are no closer to the
  query than the negative one: the query looks more like the known false positive;
- a positive MD5 or SHA-256 match is never suppressed by a PDQ-only negative match.

Suppressed matches are reported in `suppressed`, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safeguard.signals import signal_types


@dataclass(frozen=True)
class Match:
    bank: str
    content_id: int
    signal_type: str
    distance: int
    external_id: str | None
    #: the query variant that matched (`rot90`, `flip_h`, `trim`...); None: the query itself
    variant: str | None = None

    def to_json(self) -> dict[str, object]:
        # as dataclasses.asdict gives, without its deep copies (this is on the lookup path)
        return {
            "bank": self.bank,
            "content_id": self.content_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "external_id": self.external_id,
            "variant": self.variant,
        }


@dataclass
class MatchResult:
    """Matches of one query. `matches` holds only those that stand after negative banks."""

    matches: list[Match] = field(default_factory=list)
    negative_matches: list[Match] = field(default_factory=list)
    suppressed: list[Match] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def to_json(self) -> dict[str, object]:
        return {
            "matches": [m.to_json() for m in self.matches],
            "negative_matches": [m.to_json() for m in self.negative_matches],
            "suppressed": [m.to_json() for m in self.suppressed],
        }

    @classmethod
    def from_hits(cls, positive: list[Match], negative: list[Match]) -> MatchResult:
        """Apply the negative-bank rules to the raw hits of one query."""
        return cls(
            matches=[m for m in positive if not suppressed_by(m, negative)],
            negative_matches=negative,
            suppressed=[m for m in positive if suppressed_by(m, negative)],
        )


def suppressed_by(positive: Match, negatives: list[Match]) -> bool:
    for n in negatives:
        st = signal_types().get(n.signal_type)
        if st is not None and st.exact:
            return True
        if n.signal_type == positive.signal_type and n.distance <= positive.distance:
            return True
    return False
