"""Switching one rule between live and shadow mode by editing the YAML text: comments and
layout stay, block and flow mappings, a rule with and without a `shadow:` line, the built-in
set, an unknown rule, a switch the rules refuse (a contradiction); and RuleStore.set_shadow,
which applies the switch as a new version."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from safeguard.access.people import Actor
from safeguard.errors import Conflict, Forbidden, InvalidRequest, RulesInvalid
from safeguard.rules import DEFAULT_TEXT, RuleSetInfo, RuleStore, parse_rules
from safeguard.rules.shadow import with_shadow
from safeguard.store import Database

TEXT = textwrap.dedent(
    """\
    # Rules of the example forum. Reviewed 2026-11-30.
    rules:
      - name: hold-known   # the main rule
        description: A match holds the upload
        when:
          kind: upload
          match: {}
        then:
          verdict: hold
          case: {priority: 2, child_safety: true}

      # being tried on live traffic
      - name: many-reports
        shadow: yes
        when: {kind: report, reports: {at_least: 3, within: 24h}}
        then: {case: {priority: 1, child_safety: false}}
      - {name: flow-rule, when: {kind: upload}, then: {review: true}}
      - {name: flow-shadow, shadow: true, when: {kind: report}, then: {webhook: true}}
    """
)


def shadows(text: str) -> dict[str, bool]:
    return {r.name: r.shadow for r in parse_rules(text).rules}


def changed_lines(a: str, b: str) -> list[tuple[str, str]]:
    """Lines that differ, pairwise (the texts have as many lines)."""
    return [(x, y) for x, y in zip(a.splitlines(), b.splitlines(), strict=True) if x != y]


def test_a_rule_without_a_shadow_line_gets_one_after_its_name() -> None:
    out = with_shadow(TEXT, "hold-known", True)
    assert shadows(out) == {
        "hold-known": True,
        "many-reports": True,
        "flow-rule": False,
        "flow-shadow": True,
    }
    lines = out.splitlines()
    at = lines.index("  - name: hold-known   # the main rule")
    assert lines[at + 1] == "    shadow: true"
    # everything else is as written, comments and the blank line included
    assert lines[: at + 1] + lines[at + 2 :] == TEXT.splitlines()
    # and back: the line stays, now saying false
    back = with_shadow(out, "hold-known", False)
    assert back.splitlines()[at + 1] == "    shadow: false"
    assert shadows(back) == shadows(TEXT)


def test_an_existing_shadow_line_is_changed_in_place() -> None:
    out = with_shadow(TEXT, "many-reports", False)
    assert changed_lines(TEXT, out) == [("    shadow: yes", "    shadow: false")]
    assert shadows(out)["many-reports"] is False
    assert "# being tried on live traffic" in out


def test_flow_style_mappings() -> None:
    out = with_shadow(TEXT, "flow-rule", True)
    assert changed_lines(TEXT, out) == [
        (
            "  - {name: flow-rule, when: {kind: upload}, then: {review: true}}",
            "  - {name: flow-rule, shadow: true, when: {kind: upload}, then: {review: true}}",
        )
    ]
    out = with_shadow(TEXT, "flow-shadow", False)
    assert changed_lines(TEXT, out) == [
        (
            "  - {name: flow-shadow, shadow: true, when: {kind: report}, then: {webhook: true}}",
            "  - {name: flow-shadow, shadow: false, when: {kind: report}, then: {webhook: true}}",
        )
    ]


def test_the_same_mode_changes_nothing() -> None:
    assert with_shadow(TEXT, "hold-known", False) == TEXT
    assert with_shadow(TEXT, "many-reports", True) == TEXT


def test_a_name_on_the_last_line_without_a_newline() -> None:
    text = "rules:\n  - when: {kind: upload}\n    then: {verdict: hold}\n    name: last"
    out = with_shadow(text, "last", True)
    assert out == text + "\n    shadow: true\n"
    assert shadows(out) == {"last": True}


def test_the_built_in_set_can_be_switched() -> None:
    out = with_shadow(DEFAULT_TEXT, "default-known-match", True)
    assert shadows(out) == {"default-known-match": True}
    assert out.startswith("# The built-in rule set (version 0)")
    assert len(out.splitlines()) == len(DEFAULT_TEXT.splitlines()) + 1


def test_an_unknown_rule_is_named() -> None:
    with pytest.raises(InvalidRequest, match="no rule named 'nope'.*hold-known"):
        with_shadow(TEXT, "nope", True)


def test_an_invalid_text_is_refused_with_its_problems() -> None:
    with pytest.raises(RulesInvalid) as e:
        with_shadow("rules:\n  - name: x\n    when: {kind: nothing}\n", "x", True)
    assert e.value.problems and all(line > 0 for line, _ in e.value.problems)


def test_making_a_rule_live_that_contradicts_a_live_rule_is_refused() -> None:
    text = textwrap.dedent(
        """\
        rules:
          - name: hold
            when: {kind: upload, match: {}}
            then: {verdict: hold}
          - name: block
            shadow: true
            when: {kind: upload, match: {}}
            then: {verdict: block}
        """
    )
    with pytest.raises(RulesInvalid, match="contradicts"):
        with_shadow(text, "block", False)


def test_an_anchored_flag_is_not_edited_behind_other_rules_backs() -> None:
    text = textwrap.dedent(
        """\
        rules:
          - name: a
            shadow: &off false
            when: {kind: upload}
            then: {verdict: hold}
          - name: b
            shadow: *off
            when: {kind: report}
            then: {review: true}
        """
    )
    with pytest.raises(InvalidRequest, match="could not switch rule 'b'"):
        with_shadow(text, "b", True)
    with pytest.raises(InvalidRequest, match="could not switch rule 'a'"):
        with_shadow(text, "a", True)


def test_windows_line_endings_stay() -> None:
    text = TEXT.replace("\n", "\r\n")
    out = with_shadow(text, "hold-known", True)
    assert "  - name: hold-known   # the main rule\r\n    shadow: true\r\n" in out
    assert "\n" not in out.replace("\r\n", "")


# -- RuleStore.set_shadow: the switch as a new version (admin only, on the version seen) ----

ADMIN = Actor.operator("cli:test")


@pytest.fixture
def store(db_url: str) -> Iterator[RuleStore]:
    database = Database.open(db_url)
    yield RuleStore(database, ADMIN)
    database.close()


def test_the_store_switches_the_built_in_set_as_a_new_version(store: RuleStore) -> None:
    ruleset = store.set_shadow("default-known-match", True, seen=0)
    assert ruleset.version == 1 and ruleset.shadow_names == ("default-known-match",)
    info, text = store.get()
    assert info.version == 1 and text.startswith("# The built-in rule set (version 0)")
    assert text == with_shadow(DEFAULT_TEXT, "default-known-match", True)
    # a form from before that switch is refused, and so is a switch that changes nothing
    with pytest.raises(Conflict, match="version 1 is active now, not 0"):
        store.set_shadow("default-known-match", False, seen=0)
    with pytest.raises(InvalidRequest, match="already in shadow mode"):
        store.set_shadow("default-known-match", True, seen=1)
    back = store.set_shadow("default-known-match", False, seen=1)
    assert back.version == 2 and back.shadow_names == ()
    moderator = RuleStore(store.db, Actor("user:mod", frozenset({"moderator"}), user="mod"))
    with pytest.raises(Forbidden, match="may not switch rules"):
        moderator.set_shadow("default-known-match", True)
    assert store.get()[0].version == 2


OTHER = DEFAULT_TEXT.replace("verdict: hold", "verdict: block")


class _Interrupted(RuleStore):
    """A store whose read of the active set is followed, before its switch is applied, by
    another admin applying a version of their own (the race an HTTP form can lose)."""

    def get(self, version: int | None = None) -> tuple[RuleSetInfo, str]:
        read = super().get(version)
        RuleStore(self.db, ADMIN).apply(OTHER, "other.yaml")
        return read


def test_a_switch_made_from_a_version_replaced_meanwhile_undoes_nothing(
    store: RuleStore,
) -> None:
    racing = _Interrupted(store.db, ADMIN)
    with pytest.raises(Conflict, match="version 1 is active now, not 0"):
        racing.set_shadow("default-known-match", True)
    info, text = store.get()
    assert info.version == 1 and text == OTHER  # the other admin's set stands, unswitched
    assert store.active().shadow_names == ()
    # applying from the version that is active goes through
    assert store.apply(text, "again.yaml", replaces=1).version == 2
    with pytest.raises(Conflict, match="version 2 is active now, not 1"):
        store.apply(text, "stale.yaml", replaces=1)
