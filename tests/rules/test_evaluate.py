"""Evaluating a rule set on one event: each condition, AND, the severity order of verdicts,
merging cases, and shadow rules that change nothing."""

from __future__ import annotations

import textwrap

from safeguard.rules import CaseAction, EventFacts, MatchFact, RuleHit, RuleSet, parse_rules

NEAR = MatchFact("known", 7, "pdq", 12)
EXACT = MatchFact("other", 8, "md5", 0)


def rules(text: str) -> RuleSet:
    return parse_rules(textwrap.dedent(text))


def one(when: str, **facts: object) -> bool:
    """Whether a single rule with `when` fires on the facts."""
    rs = rules(f"rules:\n  - name: r\n    when: {when}\n    then: {{verdict: hold}}\n")
    defaults: dict[str, object] = {"kind": "upload", "account_id": "acct"}
    return rs.evaluate(EventFacts(**{**defaults, **facts})).verdict == "hold"  # type: ignore[arg-type]


def test_kind() -> None:
    assert one("{kind: upload}")
    assert not one("{kind: upload}", kind="report")
    assert one("{kind: [report, pathways_flag]}", kind="pathways_flag")
    assert not one("{kind: [report, pathways_flag]}")


def test_match_conditions() -> None:
    assert one("{match: {}}", matches=(NEAR,))
    assert one("{match: true}", matches=(NEAR,))
    assert not one("{match: {}}")
    assert one("{match: {banks: [known]}}", matches=(EXACT, NEAR))
    assert not one("{match: {banks: [known]}}", matches=(EXACT,))
    assert one("{match: {signal_types: [md5]}}", matches=(NEAR, EXACT))
    assert not one("{match: {signal_types: [sha256, local]}}", matches=(NEAR, EXACT))
    assert one("{match: {max_distance: 12}}", matches=(NEAR,))
    assert not one("{match: {max_distance: 11}}", matches=(NEAR,))
    # all of a match's conditions must hold for the same entry
    assert not one("{match: {banks: [known], max_distance: 0}}", matches=(NEAR, EXACT))
    assert one("{match: {banks: [other], max_distance: 0}}", matches=(NEAR, EXACT))


def test_pathways_conditions() -> None:
    assert one("{pathways: {min_score: 0.8}}", pathways_score=0.8)
    assert not one("{pathways: {min_score: 0.8}}", pathways_score=0.79)
    assert not one("{pathways: {min_score: 0.1}}")
    reasons = ("BURST_OF_NEW_MINORS", "other")
    assert one(
        "{pathways: {reasons_any: [burst_of_new_minors]}}",
        pathways_score=0.2,
        pathways_reasons=reasons,
    )
    assert not one(
        "{pathways: {min_score: 0.5, reasons_any: [burst_of_new_minors]}}",
        pathways_score=0.2,
        pathways_reasons=reasons,
    )
    assert not one(
        "{pathways: {reasons_any: [nope]}}", pathways_score=0.9, pathways_reasons=reasons
    )


def test_reports_ask_the_count_for_the_window_only_when_all_else_holds() -> None:
    asked: list[float] = []

    def count(seconds: float) -> int:
        asked.append(seconds)
        return 3

    when = "{kind: report, reports: {at_least: 3, within: 2h}}"
    assert one(when, kind="report", reports_within=count) and asked == [7200]
    assert not one("{reports: {at_least: 4, within: 2h}}", reports_within=count)
    assert not one(when, kind="report")  # no way to count: the condition cannot hold
    asked.clear()
    assert not one(when, kind="upload", reports_within=count) and asked == []
    # two rules with the same window count once per event
    rs = rules(
        """\
        rules:
          - name: a
            when: {reports: {at_least: 2, within: 1h}}
            then: {review: true}
          - name: b
            when: {reports: {at_least: 3, within: 60m}, watchlisted: false}
            then: {verdict: hold}
        """
    )
    asked.clear()
    result = rs.evaluate(EventFacts("report", "acct", reports_within=count))
    assert [h.rule for h in result.live] == ["a", "b"] and asked == [3600]


def test_account_age_and_watch_list() -> None:
    assert one("{account_age: [under_13, 13_15]}", account_age_band="13_15")
    assert not one("{account_age: [under_13]}", account_age_band="adult")
    assert not one("{account_age: under_13}")
    assert one("{watchlisted: true}", watchlisted=True)
    assert not one("{watchlisted: true}")
    assert one("{watchlisted: false}")


def test_every_condition_must_hold() -> None:
    when = "{kind: upload, match: {banks: [known]}, account_age: [under_13], watchlisted: true}"
    facts = {"matches": (NEAR,), "account_age_band": "under_13", "watchlisted": True}
    assert one(when, **facts)
    for name, other in [
        ("kind", "report"),
        ("matches", (EXACT,)),
        ("account_age_band", "adult"),
        ("watchlisted", False),
    ]:
        assert not one(when, **{**facts, name: other}), name


SET = """\
rules:
  - name: any-match
    when: {match: {}}
    then: {verdict: hold, case: {priority: 1, child_safety: false}}
  - name: exact
    when: {match: {max_distance: 0}}
    then: {verdict: block, case: {priority: 3, child_safety: false}, webhook: true}
  - name: young
    when: {account_age: [under_13]}
    then: {verdict: allow, case: {priority: 0, child_safety: true}, watchlist: true}
  - name: reviewed
    when: {kind: upload}
    then: {review: true}
  - name: try-block-all
    shadow: true
    when: {kind: [upload, report]}
    then: {verdict: block, case: {priority: 3}, webhook: true, watchlist: true, review: true}
"""


def test_the_most_severe_verdict_wins_and_cases_merge() -> None:
    rs = rules(SET)
    result = rs.evaluate(EventFacts("upload", "a", (NEAR, EXACT), account_age_band="under_13"))
    assert result.verdict == "block"
    assert [h.rule for h in result.live] == ["any-match", "exact", "young", "reviewed"]
    assert result.live[1] == RuleHit("exact", "block", False)
    assert result.live[3] == RuleHit("reviewed", None, False)
    assert result.case == CaseAction(priority=3, child_safety=True)
    assert result.review and result.webhook and result.watchlist
    # hold beats allow; order in the file does not matter
    result = rs.evaluate(EventFacts("upload", "a", (NEAR,), account_age_band="under_13"))
    assert result.verdict == "hold" and result.case == CaseAction(1, True)
    assert not result.webhook
    # allow alone
    result = rs.evaluate(EventFacts("upload", "a", account_age_band="under_13"))
    assert result.verdict == "allow" and result.case == CaseAction(0, True)


def test_shadow_rules_are_reported_and_change_nothing() -> None:
    rs = rules(SET)
    result = rs.evaluate(EventFacts("upload", "a"))
    assert result.verdict == "allow" and [h.rule for h in result.live] == ["reviewed"]
    assert result.shadow == (RuleHit("try-block-all", "block", True),)
    # review from the live rule; nothing from the shadow rule
    assert result.case is None and result.review
    assert not result.webhook and not result.watchlist
    report = rs.evaluate(EventFacts("report", "a"))
    assert report.verdict == "allow" and report.live == () and len(report.shadow) == 1
    assert report.case is None and not (report.review or report.webhook or report.watchlist)
    # the same set with the shadow rule live would block
    live = rules(SET.replace("    shadow: true\n", ""))
    assert live.evaluate(EventFacts("report", "a")).verdict == "block"


def test_nothing_fires_means_allow_and_no_action() -> None:
    result = rules(SET).evaluate(EventFacts("pathways_flag", "a", pathways_score=0.99))
    assert result.verdict == "allow" and result.live == () and result.shadow == ()
    assert result.case is None and not (result.review or result.webhook or result.watchlist)
    assert rules(SET).evaluate(EventFacts("telepathy", "a")).verdict == "allow"


def test_default_rules_hold_an_upload_that_matched() -> None:
    from safeguard.rules import default_rules

    result = default_rules().evaluate(EventFacts("upload", "a", (NEAR,)))
    assert result.verdict == "hold" and result.case == CaseAction(2, True)
    assert result.review and result.webhook and not result.watchlist
    assert default_rules().evaluate(EventFacts("upload", "a")).live == ()
    assert default_rules().evaluate(EventFacts("report", "a", (NEAR,))).verdict == "allow"
