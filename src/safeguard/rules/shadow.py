"""Switching one rule between live and shadow mode by editing the rule set's YAML text.

`with_shadow(text, rule, shadow)` returns the same text with only that rule's `shadow:`
value changed, or a `shadow:` line inserted after its name, so comments, order, quoting and
layout stay as the admin wrote them (the text is edited, never re-dumped). The result is
parsed again and compared with the original: every rule must be the same except that one
flag, or nothing is returned. `RuleStore.set_shadow` applies it as a new version (the web
UI's "Make shadow" / "Make live" buttons).
"""

from __future__ import annotations

from dataclasses import replace

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from safeguard.errors import InvalidRequest
from safeguard.rules.model import Rule
from safeguard.rules.parse import parse_rules


def with_shadow(text: str, rule: str, shadow: bool) -> str:
    """`text` with rule `rule` in shadow mode (`shadow=True`) or live (False), and nothing
    else changed. The text itself when the rule is already so. RulesInvalid when `text`
    (or the result, e.g. a rule made live that contradicts another live rule) is not a
    valid rule set; InvalidRequest when it has no rule named `rule`."""
    before = parse_rules(text, source="the rule set")
    target = next((r for r in before.rules if r.name == rule), None)
    if target is None:
        known = ", ".join(before.names) or "none"
        raise InvalidRequest(f"the rule set has no rule named {rule!r} (its rules: {known})")
    if target.shadow == shadow:
        return text
    changed = _edit(text, rule, shadow)
    after = parse_rules(changed, source="the rule set with the switched rule")
    wanted = [_comparable(r, shadow if r.name == rule else r.shadow) for r in before.rules]
    if [_comparable(r, r.shadow) for r in after.rules] != wanted:
        raise _cannot(rule)
    return changed


def _cannot(rule: str) -> InvalidRequest:
    return InvalidRequest(
        f"could not switch rule {rule!r} by editing its `shadow:` line alone (the YAML uses "
        "anchors or another form this edit cannot follow): change it in the text"
    )


def _comparable(rule: Rule, shadow: bool) -> Rule:
    """The rule as compared: its line may move by one when a `shadow:` line is added."""
    return replace(rule, shadow=shadow, line=0)


def _edit(text: str, rule: str, shadow: bool) -> str:
    word = "true" if shadow else "false"
    item = _rule_node(yaml.compose(text, Loader=yaml.SafeLoader), rule)
    fields = {k.value: (k, v) for k, v in item.value if isinstance(k, ScalarNode)}
    if "shadow" in fields:
        key, value = fields["shadow"]
        start, end = value.start_mark.index, value.end_mark.index
        if start < key.end_mark.index or "&" in text[start:end]:
            # an alias (`*name`) or an anchor (`&name`) that other rules may share
            raise _cannot(rule)
        return text[:start] + word + text[end:]
    name_key, name_value = fields["name"]
    end = name_value.end_mark.index
    if item.flow_style:
        # {name: x, when: ..., then: ...}: the new key goes right after the name
        return text[:end] + f", shadow: {word}" + text[end:]
    # a block mapping: a line of its own after the name's line, at the keys' indentation
    ending = "\r\n" if "\r\n" in text else "\n"
    line = f"{' ' * name_key.start_mark.column}shadow: {word}{ending}"
    if name_value.end_mark.column == 0:  # a block scalar ends at the start of the next line
        return text[:end] + line + text[end:]
    newline = text.find("\n", end)
    if newline < 0:
        return text + ending + line
    return text[: newline + 1] + line + text[newline + 1 :]


def _rule_node(root: Node | None, rule: str) -> MappingNode:
    """The mapping node of the rule named `rule` (the text was parsed: it has one)."""
    assert isinstance(root, MappingNode)
    rules = next(v for k, v in root.value if isinstance(k, ScalarNode) and k.value == "rules")
    assert isinstance(rules, SequenceNode)
    for item in rules.value:
        if isinstance(item, MappingNode) and any(
            isinstance(k, ScalarNode)
            and k.value == "name"
            and isinstance(v, ScalarNode)
            and v.value == rule
            for k, v in item.value
        ):
            return item
    raise InvalidRequest(f"the rule set has no rule named {rule!r}")
