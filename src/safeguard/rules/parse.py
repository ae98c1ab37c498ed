"""Reading a rule set from YAML, with every problem reported at its line.

The text is composed into YAML nodes (which keep their line) and checked against the
format in docs/moderation.md; all problems are collected, then raised together as
`RulesInvalid(source, [(line, message), ...])`, so one run of `safeguard rules validate`
shows everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Concatenate, ParamSpec, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from safeguard.errors import RulesInvalid, SafeguardError
from safeguard.rules.evaluate import RuleSet
from safeguard.rules.model import (
    AGE_BANDS,
    KINDS,
    PRIORITIES,
    VERDICTS,
    Actions,
    CaseAction,
    Conditions,
    MatchCondition,
    PathwaysCondition,
    ReportsCondition,
    Rule,
)

RULE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
#: the largest rule file read (a rule set is a page or two of YAML)
MAX_TEXT = 256 * 1024
#: the longest window `reports.within` may name
MAX_WINDOW_S = 366 * 86400.0
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}

_TOP_KEYS = ("rules",)
_RULE_KEYS = ("name", "description", "shadow", "when", "then")
_WHEN_KEYS = ("kind", "match", "pathways", "reports", "account_age", "watchlisted")
_MATCH_KEYS = ("banks", "signal_types", "max_distance")
_PATHWAYS_KEYS = ("min_score", "reasons_any")
_REPORTS_KEYS = ("at_least", "within")
_THEN_KEYS = ("verdict", "case", "review", "webhook", "watchlist")
_CASE_KEYS = ("priority", "child_safety")

_SCALARS = SafeConstructor()
_P = ParamSpec("_P")
_T = TypeVar("_T")


class _Bad(Exception):
    """One value that failed its check (already recorded as a problem)."""


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `90s`, `30m`, `24h` or `7d`; ValueError naming the
    problem otherwise."""
    m = _DURATION.fullmatch(str(text))
    if m is None:
        raise ValueError(f"bad duration {text!r}: use a number and a unit s, m, h or d (24h)")
    seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"bad duration {text!r}: must be longer than 0")
    return seconds


def parse_rules(
    text: str,
    *,
    source: str = "<rules>",
    banks: Mapping[str, bool] | None = None,
    version: int = 0,
) -> RuleSet:
    """The rule set in YAML `text`. `banks` ({name: negative?}): when given, conditions may
    name only known, non-negative banks. Raises RulesInvalid listing every problem."""
    if len(text) > MAX_TEXT:
        raise RulesInvalid(source, [(0, f"larger than {MAX_TEXT // 1024} KiB: not a rule set")])
    root = _compose(text, source)
    reader = _Reader(banks)
    rules = reader.document(root)
    reader.check_contradictions(rules)
    if reader.problems:
        raise RulesInvalid(source, sorted(reader.problems, key=lambda p: p[0]))
    return RuleSet(rules, version)


def _compose(text: str, source: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        problem = e.problem or e.context or "cannot be read"
        raise RulesInvalid(source, [(line, f"not valid YAML: {problem}")]) from None
    except yaml.reader.ReaderError as e:
        line = text[: max(e.position, 0)].count("\n") + 1
        raise RulesInvalid(source, [(line, f"not valid YAML: {e.reason}")]) from None
    except yaml.YAMLError as e:
        raise RulesInvalid(source, [(0, f"not valid YAML: {e}")]) from None


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Reader:
    """Walks the composed document, collecting problems."""

    def __init__(self, banks: Mapping[str, bool] | None) -> None:
        self.banks = banks
        self.problems: list[tuple[int, str]] = []

    def bad(self, node: Node, message: str) -> _Bad:
        self.problems.append((_line(node), message))
        return _Bad()

    # -- structure -------------------------------------------------------------------------

    def document(self, root: Node | None) -> list[Rule]:
        if root is None:
            self.problems.append((1, "empty: a rule set is a mapping with a `rules:` list"))
            return []
        before = len(self.problems)
        try:
            top = self.mapping(root, "the rule set", _TOP_KEYS)
        except _Bad:
            return []
        if "rules" not in top:
            if len(self.problems) == before:
                self.bad(root, "the rule set needs a `rules:` list (it may be empty: `rules: []`)")
            return []
        items = top["rules"]
        if not isinstance(items, SequenceNode):
            self.bad(items, "`rules` must be a list of rules")
            return []
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(items.value, start=1):
            rule = self.rule(item, index, seen)
            if rule is not None:
                rules.append(rule)
        return rules

    def rule(self, node: Node, index: int, seen: dict[str, int]) -> Rule | None:
        before = len(self.problems)
        try:
            fields = self.mapping(node, f"rule {index}", _RULE_KEYS)
        except _Bad:
            return None
        where = f"rule {index}"
        name = None
        if "name" not in fields:
            self.bad(node, f"{where}: needs a `name`")
        else:
            name = self.optional(self.name, fields["name"], where, seen)
            if name is not None:
                where = f"rule {name!r}"
        description = self.optional(self.text, fields.get("description"), f"{where}: description")
        shadow = self.optional(self.boolean, fields.get("shadow"), f"{where}: shadow")
        when = then = None
        if "when" not in fields:
            self.bad(node, f"{where}: needs `when:` with at least one condition")
        else:
            when = self.optional(self.conditions, fields["when"], where)
        if "then" not in fields:
            self.bad(node, f"{where}: needs `then:` with at least one action")
        else:
            then = self.optional(self.actions, fields["then"], where)
        if len(self.problems) > before or name is None or when is None or then is None:
            return None
        return Rule(
            name=name,
            when=when,
            then=then,
            shadow=bool(shadow),
            description=description or "",
            line=_line(node),
        )

    def optional(
        self,
        check: Callable[Concatenate[Node, _P], _T],
        node: Node | None,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T | None:
        """`check(node, *args)`, or None when the node is absent or failed its check."""
        if node is None:
            return None
        try:
            return check(node, *args, **kwargs)
        except _Bad:
            return None

    def name(self, node: Node, where: str, seen: dict[str, int]) -> str:
        value = self.text(node, f"{where}: name")
        if not RULE_NAME.fullmatch(value):
            raise self.bad(
                node,
                f"{where}: bad name {value!r}: use 1-100 lower-case letters, digits, '_', '.' "
                "or '-', starting with a letter or digit",
            )
        if value in seen:
            raise self.bad(node, f"duplicate rule name {value!r} (first at line {seen[value]})")
        seen[value] = _line(node)
        return value

    def conditions(self, node: Node, where: str) -> Conditions:
        before = len(self.problems)
        fields = self.mapping(node, f"{where}: when", _WHEN_KEYS)
        if not fields and len(self.problems) == before:
            raise self.bad(
                node, f"{where}: `when` needs at least one condition ({', '.join(_WHEN_KEYS)})"
            )
        w = f"{where}: when"
        kinds = self.optional(self.choices, fields.get("kind"), f"{w}.kind", KINDS)
        match = self.optional(self.match, fields.get("match"), f"{w}.match")
        pathways = self.optional(self.pathways, fields.get("pathways"), f"{w}.pathways")
        reports = self.optional(self.reports, fields.get("reports"), f"{w}.reports")
        ages = self.optional(self.choices, fields.get("account_age"), f"{w}.account_age", AGE_BANDS)
        watched = self.optional(self.boolean, fields.get("watchlisted"), f"{w}.watchlisted")
        return Conditions(kinds, match, pathways, reports, ages, watched)

    def match(self, node: Node, where: str) -> MatchCondition:
        if isinstance(node, ScalarNode) and self.scalar(node) is True:
            return MatchCondition()
        if not isinstance(node, MappingNode):
            raise self.bad(node, f"{where}: must be a mapping ({', '.join(_MATCH_KEYS)}) or true")
        fields = self.mapping(node, where, _MATCH_KEYS)
        banks = self.optional(self.bank_names, fields.get("banks"), f"{where}.banks")
        types = self.optional(
            self.signal_types, fields.get("signal_types"), f"{where}.signal_types"
        )
        limit = self.optional(self.integer, fields.get("max_distance"), f"{where}.max_distance", 0)
        return MatchCondition(banks, types, limit)

    def pathways(self, node: Node, where: str) -> PathwaysCondition:
        fields = self.mapping(node, where, _PATHWAYS_KEYS)
        score = self.optional(self.number, fields.get("min_score"), f"{where}.min_score", 0, 1)
        reasons = self.optional(self.strings, fields.get("reasons_any"), f"{where}.reasons_any")
        return PathwaysCondition(
            score, frozenset(r.lower() for r, _ in reasons) if reasons is not None else None
        )

    def reports(self, node: Node, where: str) -> ReportsCondition:
        fields = self.mapping(node, where, _REPORTS_KEYS)
        missing = [k for k in _REPORTS_KEYS if k not in fields]
        if missing:
            raise self.bad(
                node, f"{where}: needs {' and '.join(missing)} (e.g. at_least: 3, within: 24h)"
            )
        at_least = self.optional(self.integer, fields["at_least"], f"{where}.at_least", 1)
        within = self.optional(self.duration, fields["within"], f"{where}.within")
        if at_least is None or within is None:
            raise _Bad()
        return ReportsCondition(at_least, within)

    def actions(self, node: Node, where: str) -> Actions:
        before = len(self.problems)
        fields = self.mapping(node, f"{where}: then", _THEN_KEYS)
        w = f"{where}: then"
        verdict = self.optional(self.choice, fields.get("verdict"), f"{w}.verdict", VERDICTS)
        case = self.optional(self.case, fields.get("case"), f"{w}.case")
        review = self.optional(self.boolean, fields.get("review"), f"{w}.review")
        webhook = self.optional(self.boolean, fields.get("webhook"), f"{w}.webhook")
        watchlist = self.optional(self.boolean, fields.get("watchlist"), f"{w}.watchlist")
        actions = Actions(verdict, case, bool(review), bool(webhook), bool(watchlist))
        if actions == Actions() and len(self.problems) == before:
            raise self.bad(
                node, f"{where}: `then` needs at least one action ({', '.join(_THEN_KEYS)})"
            )
        return actions

    def case(self, node: Node, where: str) -> CaseAction | None:
        if isinstance(node, ScalarNode) and isinstance(self.scalar(node), bool):
            return CaseAction() if self.scalar(node) else None
        if not isinstance(node, MappingNode):
            raise self.bad(
                node, f"{where}: must be true, false or a mapping (priority, child_safety)"
            )
        fields = self.mapping(node, where, _CASE_KEYS)
        priority = self.optional(
            self.integer, fields.get("priority"), f"{where}.priority", 0, PRIORITIES[-1]
        )
        child = self.optional(self.boolean, fields.get("child_safety"), f"{where}.child_safety")
        default = CaseAction()
        return CaseAction(
            default.priority if priority is None else priority,
            default.child_safety if child is None else child,
        )

    # -- values ----------------------------------------------------------------------------

    def mapping(self, node: Node, where: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        """The known keys of a mapping node and their value nodes; problems for the rest."""
        if not isinstance(node, MappingNode):
            raise self.bad(node, f"{where}: must be a mapping with keys {', '.join(allowed)}")
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.bad(key_node, f"{where}: keys must be words ({', '.join(allowed)})")
            elif key in out:
                self.bad(key_node, f"{where}: {key!r} given twice")
            elif key not in allowed:
                self.bad(key_node, f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
            else:
                out[key] = value_node
        return out

    def scalar(self, node: ScalarNode) -> object:
        tag = node.tag.rsplit(":", 1)[-1]
        if tag == "bool":
            return bool(SafeConstructor.bool_values[node.value.lower()])
        if tag == "null":
            return None
        if tag in ("int", "float"):
            try:
                constructor = (
                    _SCALARS.construct_yaml_int if tag == "int" else _SCALARS.construct_yaml_float
                )
                return constructor(node)
            except (ValueError, yaml.YAMLError):
                return node.value
        return node.value

    def text(self, node: Node, where: str) -> str:
        value = _word(node)
        if value is None:
            raise self.bad(node, f"{where}: must be text, got {_show(node)}")
        return value

    def boolean(self, node: Node, where: str) -> bool:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            raise self.bad(node, f"{where}: must be true or false, got {_show(node)}")
        return value

    def integer(self, node: Node, where: str, low: int, high: int | None = None) -> int:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        ):
            return value
        wanted = f"from {low} to {high}" if high is not None else f">= {low}"
        raise self.bad(node, f"{where}: must be a whole number {wanted}, got {_show(node)}")

    def number(self, node: Node, where: str, low: float, high: float) -> float:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            raise self.bad(
                node, f"{where}: must be a number from {low} to {high}, got {_show(node)}"
            )
        return float(value)

    def duration(self, node: Node, where: str) -> float:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        try:
            seconds = parse_duration(str(value)) if isinstance(value, str) else None
        except ValueError as e:
            raise self.bad(node, f"{where}: {e}") from None
        if seconds is None:
            raise self.bad(node, f"{where}: must be a duration such as 90s, 30m, 24h or 7d")
        if seconds > MAX_WINDOW_S:
            raise self.bad(node, f"{where}: at most {int(MAX_WINDOW_S // 86400)}d")
        return seconds

    def strings(self, node: Node, where: str) -> list[tuple[str, Node]]:
        """A word or a list of words, each with its node; at least one."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        if not items:
            raise self.bad(node, f"{where}: must name at least one")
        out: list[tuple[str, Node]] = []
        failed = False
        for item in items:
            value = _word(item)
            if value is None:
                self.bad(item, f"{where}: must be a word or a list of words, got {_show(item)}")
                failed = True
            else:
                out.append((value, item))
        if failed:
            raise _Bad()
        return out

    def choice(self, node: Node, where: str, allowed: tuple[str, ...]) -> str:
        value = _word(node)
        if value is None or value not in allowed:
            raise self.bad(node, f"{where}: must be one of {', '.join(allowed)}, got {_show(node)}")
        return value

    def choices(self, node: Node, where: str, allowed: tuple[str, ...]) -> frozenset[str]:
        values = self.strings(node, where)
        failed = False
        for value, item in values:
            if value not in allowed:
                self.bad(item, f"{where}: unknown {value!r} (use {', '.join(allowed)})")
                failed = True
        if failed:
            raise _Bad()
        return frozenset(v for v, _ in values)

    def bank_names(self, node: Node, where: str) -> frozenset[str]:
        values = self.strings(node, where)
        if self.banks is None:
            return frozenset(v for v, _ in values)
        failed = False
        for value, item in values:
            if value not in self.banks:
                known = ", ".join(sorted(n for n, neg in self.banks.items() if not neg))
                self.bad(item, f"{where}: unknown bank {value!r} (known: {known or 'none'})")
                failed = True
            elif self.banks[value]:
                self.bad(
                    item,
                    f"{where}: {value!r} is a negative bank (known non-abuse): "
                    "its matches are never reported to rules",
                )
                failed = True
        if failed:
            raise _Bad()
        return frozenset(v for v, _ in values)

    def signal_types(self, node: Node, where: str) -> frozenset[str]:
        from safeguard.signals import get_signal_type, signal_types

        names: set[str] = set()
        failed = False
        for value, item in self.strings(node, where):
            try:
                names.add(get_signal_type(value).name)
            except SafeguardError:
                known = ", ".join(sorted(signal_types()))
                self.bad(item, f"{where}: unknown signal type {value!r} (known: {known})")
                failed = True
        if failed:
            raise _Bad()
        return frozenset(names)

    # -- the whole set ---------------------------------------------------------------------

    def check_contradictions(self, rules: list[Rule]) -> None:
        """Two live rules with the same conditions must not give different verdicts."""
        first: dict[Conditions, Rule] = {}
        for rule in rules:
            if rule.shadow or rule.then.verdict is None:
                continue
            other = first.setdefault(rule.when, rule)
            if other is not rule and other.then.verdict != rule.then.verdict:
                self.problems.append(
                    (
                        rule.line,
                        f"rule {rule.name!r} contradicts rule {other.name!r} (line {other.line}): "
                        f"the same conditions, but verdict {rule.then.verdict} instead of "
                        f"{other.then.verdict}",
                    )
                )


def _word(node: Node) -> str | None:
    """A scalar's text as written (`13_15` stays a word, although YAML 1.1 reads it as
    the number 1315), or None for a list, a mapping, null or nothing."""
    if not isinstance(node, ScalarNode) or not node.value.strip():
        return None
    if node.tag.endswith(":null") or node.tag.endswith(":bool"):
        return None
    return str(node.value)


def _show(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return repr(node.value) if node.value != "" else "nothing"
    return "a list" if isinstance(node, SequenceNode) else "a mapping"
