"""The built-in rule set, active until an admin applies one (`safeguard rules apply`): a
match in a bank of known imagery (any non-negative bank) holds the upload, opens a
child-safety case for review, and tells the platform by webhook."""

from __future__ import annotations

from functools import cache

from safeguard.rules.evaluate import RuleSet
from safeguard.rules.parse import parse_rules

DEFAULT_TEXT = """\
# The built-in rule set (version 0), active until one is applied with `safeguard rules apply`.
rules:
  - name: default-known-match
    description: A match in a bank of known imagery holds the upload and opens a case
    when:
      kind: upload
      match: {}
    then:
      verdict: hold
      case: {priority: 2, child_safety: true}
      review: true
      webhook: true
"""


@cache
def default_rules() -> RuleSet:
    """The built-in rule set (version 0)."""
    return parse_rules(DEFAULT_TEXT, source="built-in rules", version=0)
