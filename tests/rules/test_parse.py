"""Reading rule sets: a valid file becomes rules; every kind of problem is reported, all at
once, at the line of the node that has it."""

from __future__ import annotations

import textwrap

import pytest

from safeguard.errors import RulesInvalid
from safeguard.rules import (
    CaseAction,
    MatchFact,
    default_rules,
    parse_duration,
    parse_rules,
)

FULL = textwrap.dedent(
    """\
    rules:
      - name: known-imagery-block
        description: Exact or near match in the reference list
        shadow: false
        when:
          kind: upload
          match:
            banks: [reference-hashes]
            signal_types: [pdq, video_md5]
            max_distance: 16
        then:
          verdict: block
          case: {priority: 3, child_safety: true}
          review: true
          webhook: true
          watchlist: true
      - name: grooming.pattern_2
        shadow: true
        when:
          kind: [report, pathways_flag]
          pathways:
            min_score: 0.8
            reasons_any: [FAST_ESCALATION]
          reports: {at_least: 3, within: 24h}
          account_age: [under_13, 13_15]
          watchlisted: true
        then:
          case: true
    """
)


def problems(text: str, **kw: object) -> list[tuple[int, str]]:
    with pytest.raises(RulesInvalid) as e:
        parse_rules(textwrap.dedent(text), source="r.yaml", **kw)  # type: ignore[arg-type]
    assert "r.yaml" in e.value.message and "nothing was applied" in e.value.message
    return e.value.problems


def test_the_full_format_parses_into_rules() -> None:
    rs = parse_rules(FULL, banks={"reference-hashes": False, "not-abuse": True}, version=4)
    assert rs.version == 4 and rs.names == ("known-imagery-block", "grooming.pattern_2")
    assert rs.shadow_names == ("grooming.pattern_2",)
    block, shadow = rs.rules
    assert block.line == 2 and shadow.line == 17
    assert block.when.kinds == {"upload"}
    assert block.when.match is not None
    # aliases become the registered type's name
    assert block.when.match.signal_types == {"pdq", "md5"}
    assert block.when.match.banks == {"reference-hashes"} and block.when.match.max_distance == 16
    assert block.then.case == CaseAction(3, True) and block.then.verdict == "block"
    assert block.then.review and block.then.webhook and block.then.watchlist
    assert shadow.when.kinds == {"report", "pathways_flag"}
    assert shadow.when.pathways is not None and shadow.when.pathways.min_score == 0.8
    assert shadow.when.pathways.reasons_any == {"fast_escalation"}
    assert shadow.when.reports is not None and shadow.when.reports.within == 86400
    assert shadow.when.account_age == {"under_13", "13_15"} and shadow.when.watchlisted is True
    assert shadow.then.case == CaseAction(1, True) and shadow.then.verdict is None


def test_an_empty_rule_list_is_allowed_and_fires_nothing() -> None:
    rs = parse_rules("rules: []\n")
    assert rs.rules == ()
    from safeguard.rules import EventFacts

    assert rs.evaluate(EventFacts("upload", "a", (MatchFact("b", 1, "pdq", 0),))).verdict == "allow"


def test_the_default_rule_set_holds_known_matches() -> None:
    rs = default_rules()
    assert rs.version == 0 and rs.names == ("default-known-match",)
    rule = rs.rules[0]
    assert rule.then.verdict == "hold" and rule.then.case == CaseAction(2, True)
    assert rule.then.review and rule.then.webhook and not rule.then.watchlist


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("rules: [\n  {name: a,\n", 3, "not valid YAML"),
        ("rules:\n  - name: a\n    when: {kind: upload\n    then: {}\n", 4, "not valid YAML"),
        ("", 1, "empty"),
        ("- a\n- b\n", 1, "must be a mapping"),
        ("rule: []\n", 1, "unknown key 'rule' (allowed: rules)"),
        ("{}\n", 1, "needs a `rules:` list"),
        ("rules: {}\n", 1, "must be a list of rules"),
        ("rules:\n  - just a string\n", 2, "rule 1: must be a mapping"),
    ],
)
def test_problems_with_the_document_name_their_line(text: str, line: int, words: str) -> None:
    (found,) = problems(text)
    assert found[0] == line and words in found[1], found


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = """\
    rules:
      - name: Bad Name
        when: {kind: upload}
        then: {verdict: hold}
      - name: ok-1
        colour: red
        when:
          kind: uploads
          match:
            banks: [nowhere, not-abuse]
            signal_types: [pdq, telepathy]
            max_distance: -1
        then:
          verdict: maybe
      - name: ok-1
        when:
          pathways: {min_score: 1.5}
          reports: {at_least: 0, within: 3 weeks}
          account_age: [toddler]
          watchlisted: "yes please"
        then:
          case: {priority: 9, child_safety: perhaps}
          review: sometimes
      - name: ok-3
        when: {}
        then: {}
      - name: ok-4
        when: {kind: upload}
        then: {review: false}
      - name: ok-5
        when: {kind: report}
      - description: nameless
        when: {kind: report}
        then: {review: true}
    """
    found = problems(text, banks={"known": False, "not-abuse": True})
    by_line: dict[int, list[str]] = {}
    for n, message in found:
        by_line.setdefault(n, []).append(message)
    expected = {
        2: "bad name 'Bad Name'",
        6: "unknown key 'colour' (allowed: name, description, shadow, when, then)",
        8: "when.kind: unknown 'uploads' (use upload, report, pathways_flag)",
        10: "unknown bank 'nowhere' (known: known)",
        11: "unknown signal type 'telepathy'",
        12: "max_distance: must be a whole number >= 0, got '-1'",
        14: "then.verdict: must be one of allow, hold, block, got 'maybe'",
        15: "duplicate rule name 'ok-1' (first at line 5)",
        17: "min_score: must be a number from 0 to 1, got '1.5'",
        18: "at_least: must be a whole number >= 1",
        19: "account_age: unknown 'toddler'",
        20: "watchlisted: must be true or false",
        22: "case.priority: must be a whole number from 0 to 3",
        23: "review: must be true or false, got 'sometimes'",
        25: "`when` needs at least one condition",
        26: "`then` needs at least one action",
        29: "`then` needs at least one action",
        30: "rule 'ok-5': needs `then:`",
        32: "rule 7: needs a `name`",
    }
    for line, words in expected.items():
        assert any(words in m for m in by_line.get(line, [])), (line, words, by_line.get(line))
    assert any("negative bank" in m and "'not-abuse'" in m for m in by_line[10])
    assert any("bad duration '3 weeks'" in m for m in by_line[18])
    assert any("child_safety: must be true or false" in m for m in by_line[22])
    assert [n for n, _ in found] == sorted(n for n, _ in found)


def test_bank_names_are_checked_only_against_known_banks() -> None:
    text = (
        "rules:\n  - name: a\n    when: {match: {banks: [anything]}}\n    then: {verdict: hold}\n"
    )
    assert parse_rules(text).rules[0].when.match.banks == {"anything"}  # type: ignore[union-attr]
    (found,) = problems(text, banks={})
    assert found[0] == 3 and "known: none" in found[1]


def test_live_rules_with_the_same_conditions_and_other_verdicts_contradict() -> None:
    text = """\
    rules:
      - name: a
        when: {kind: upload, match: {max_distance: 10}}
        then: {verdict: hold}
      - name: same-verdict
        when: {kind: [upload], match: {max_distance: 10}}
        then: {verdict: hold, webhook: true}
      - name: tried-in-shadow
        shadow: true
        when: {kind: upload, match: {max_distance: 10}}
        then: {verdict: allow}
      - name: b
        when:
          match: {max_distance: 10}
          kind: upload
        then: {verdict: block}
    """
    (found,) = problems(text)
    assert found[0] == 12
    assert "'b' contradicts rule 'a' (line 2)" in found[1] and "block instead of hold" in found[1]


def test_durations() -> None:
    assert parse_duration("90s") == 90 and parse_duration("30m") == 1800
    assert parse_duration("24h") == 86400 and parse_duration("1.5d") == 129600
    for bad in ("24", "h", "0h", "-1d", "1w"):
        with pytest.raises(ValueError, match="bad duration"):
            parse_duration(bad)
    (found,) = problems(
        "rules:\n  - name: a\n    when:\n      reports: {at_least: 2, within: 400d}\n"
        "    then: {review: true}\n"
    )
    assert found[0] == 4 and "at most 366d" in found[1]
    (found,) = problems(
        "rules:\n  - name: a\n    when:\n      reports: {at_least: 2}\n    then: {review: true}\n"
    )
    assert found[0] == 4 and "needs within" in found[1]


def test_a_huge_text_is_refused_without_reading_it() -> None:
    (found,) = problems("#" * 300_000)
    assert found == (0, "larger than 256 KiB: not a rule set")
