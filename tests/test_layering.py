"""The faces only translate (issue #14, "one door"): the HTTP API (`safeguard.api`), the CLI
(`safeguard.cli`) and the web UI (`safeguard.web`) reach the core through `Safeguard` and the
services it hands out, so they name no signal type, no threshold and no table.

Read with `ast`, not grep, to be precise about what counts:
- no `sqlalchemy` import;
- no import of a signal type's own module (`safeguard.signals.pdq`...) or of a `*THRESHOLD*`
  constant: both are signal special cases;
- no string constant equal to a registered type's name, alias or HMA name, or naming a
  variant of one (`"pdq:flip_h"`), and no command-line option (`"--pdq-threshold"`) or
  snake_case key (`"pdq_quality"`) holding one as a word;
- no parameter, keyword argument, attribute or model field whose name holds one as a word
  (`pdq_threshold=`, `fs.md5`, `local=True`);
- no integer equal to a type's default or largest threshold where a threshold is meant: a
  default of, or keyword argument to, a name about thresholds or distances, or either side
  of a comparison, or an assignment to such a name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import safeguard
from safeguard.engine import signal_types

SRC = Path(safeguard.__file__).parent
FACES = ("api", "cli", "web")

#: words allowed although they hold a type's name, each for a stated reason
ALLOWED_WORDS = {
    # the bank setting of the first releases, kept as an HTTP field and `BankInfo`
    # attribute for compatibility; `thresholds` ({type: n}) is the general form
    "pdq_threshold": "compatibility field of bank bodies",
    # a bank option (whether a bank keeps images' local features for crop matching), named
    # by the local-features type as its `bank_option`, like `dihedral` and `trim_borders`
    "local_features": "bank option",
    # the Spark session of the pathways feature job: "local" as in a local Spark master
    "local_session": "pathways: Spark's local mode, not a signal type",
}
#: strings allowed in one file although they equal a type's name, each for a stated reason
ALLOWED_STRINGS = {
    ("cli/match_cmd.py", "url"): "the address given to --url, echoed in its output record",
    ("cli/users_cmd.py", "uri"): "the TOTP provisioning URI of `users totp`",
}
#: type names that are also ordinary words of web code (the address of media to fetch, a
#: webhook's endpoint, the database's URL): not looked for inside identifiers, only as a
#: whole string (a dictionary key or a value naming the type)
COMMON_WORDS = {"url", "uri"}

THRESHOLDISH = re.compile(r"thresh|distance|limit", re.IGNORECASE)


def _names() -> set[str]:
    found: set[str] = set()
    for t in signal_types().values():
        found |= {t.name.lower(), t.hma_name.lower(), *(a.lower() for a in t.aliases)}
    return found


def _threshold_values() -> set[int]:
    values: set[int] = set()
    for t in signal_types().values():
        values |= {t.default_threshold, t.max_threshold}
    # 0 and 1 are every exact type's threshold and also every count's bounds: an integer
    # literal of either says nothing about a threshold
    return values - {0, 1}


NAMES = _names()
THRESHOLDS = _threshold_values()


def _words(identifier: str) -> set[str]:
    """The words of a snake_case or kebab-case name, and each run of words (so a name with
    an underscore, `video_md5`, is found as a run)."""
    parts = [p for p in re.split(r"[-_:.\s]+", identifier.lower()) if p]
    return {"_".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}


def _names_in(identifier: str) -> set[str]:
    if identifier in ALLOWED_WORDS:
        return set()
    return _words(identifier) & {n.replace("-", "_") for n in NAMES - COMMON_WORDS}


def _face_files() -> list[Path]:
    files = []
    for face in FACES:
        for p in sorted((SRC / face).rglob("*.py")):
            files.append(p)
    return files


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _docstrings(tree: ast.AST) -> set[ast.AST]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(body[0].value)
    return out


def _string_problem(value: str) -> str | None:
    v = value.strip().lower()
    if v in NAMES:
        return f"signal type name {value!r}"
    head, sep, _ = v.partition(":")
    if sep and head in NAMES:
        return f"signal type variant {value!r}"
    if v.startswith("-"):  # an option, or an on/off pair of them: --a/--no-a
        for option in v.split("/"):
            name = option.strip().lstrip("-").replace("-", "_")
            if _names_in(name.removeprefix("no_") if "/" in v else name):
                return f"option {value!r} names a signal type"
    if re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", v) and _names_in(v):
        return f"key {value!r} names a signal type"
    return None


def _threshold_context(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    """Why an integer constant is meant as a threshold, or None."""
    child, parent = node, parents.get(node)
    while isinstance(parent, ast.UnaryOp | ast.BinOp | ast.IfExp | ast.BoolOp):
        child, parent = parent, parents.get(parent)
    if isinstance(parent, ast.keyword) and parent.arg and THRESHOLDISH.search(parent.arg):
        return f"keyword {parent.arg}="
    if isinstance(parent, ast.Compare):
        return f"comparison {ast.unparse(parent)}"
    if isinstance(parent, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        text = " ".join(ast.unparse(t) for t in targets)
        if THRESHOLDISH.search(text):
            return f"assignment to {text}"
    if isinstance(parent, ast.arguments):
        args = parent.posonlyargs + parent.args
        pairs = list(zip(args[len(args) - len(parent.defaults) :], parent.defaults, strict=True))
        pairs += [(a, d) for a, d in zip(parent.kwonlyargs, parent.kw_defaults, strict=True) if d]
        for a, d in pairs:
            if d is child and THRESHOLDISH.search(a.arg):
                return f"default of {a.arg}"
    if isinstance(parent, ast.Call):
        # typer.Option(31, ...) / Query(31, ...) as the default of a threshold parameter
        holder = parents.get(parent)
        if isinstance(holder, ast.arguments):
            return _threshold_context(parent, parents)
    return None


def problems_of(path: Path) -> list[str]:
    return problems_in(path.read_text(encoding="utf-8"), path.relative_to(SRC).as_posix())


def problems_in(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    parents = _parents(tree)
    docs = _docstrings(tree)
    out: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        out.append(f"{where}:{getattr(node, 'lineno', '?')}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            for m in modules:
                if m.split(".")[0] == "sqlalchemy":
                    report(node, f"imports {m}")
                if m.startswith("safeguard.signals.") and m.split(".")[2] in {
                    t.__module__.split(".")[-1]
                    for t in signal_types().values()
                    if t.__module__.startswith("safeguard.signals.")
                }:
                    report(node, f"imports the signal type module {m}")
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    if a.name.isupper() and "THRESHOLD" in a.name:
                        report(node, f"imports the threshold constant {a.name}")
        elif isinstance(node, ast.Constant) and node not in docs:
            if isinstance(node.value, str):
                problem = _string_problem(node.value)
                if problem and (where, node.value) not in ALLOWED_STRINGS:
                    report(node, problem)
            elif (
                isinstance(node.value, int)
                and not isinstance(node.value, bool)
                and node.value in THRESHOLDS
            ):
                why = _threshold_context(node, parents)
                if why:
                    report(node, f"threshold literal {node.value} ({why})")
        elif isinstance(node, ast.arg) and _names_in(node.arg):
            report(node, f"parameter {node.arg}")
        elif isinstance(node, ast.keyword) and node.arg and _names_in(node.arg):
            report(node, f"keyword argument {node.arg}=")
        elif (
            isinstance(node, ast.Attribute)
            and _names_in(node.attr)
            # hashlib's functions share digests' names: API keys are stored as SHA-256
            and not (isinstance(node.value, ast.Name) and node.value.id == "hashlib")
        ):
            report(node, f"attribute .{node.attr}")
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(parents.get(node), ast.ClassDef)
            and isinstance(node.target, ast.Name)
            and _names_in(node.target.id)
        ):
            report(node, f"field {node.target.id}")
    return out


def test_the_faces_name_no_signal_type_threshold_or_table() -> None:
    files = _face_files()
    assert len(files) > 20, "the walk found the API and CLI modules"
    found = [p for f in files for p in problems_of(f)]
    assert not found, "the faces reach past the core:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("from sqlalchemy import select", "imports sqlalchemy"),
        ("from safeguard.signals.pdq import DEFAULT_THRESHOLD", "signal type module"),
        ("x = {'video_md5': 1}", "signal type name 'video_md5'"),
        ("x = f'pdq:{v}'", "signal type variant"),
        ("typer.Option(None, '--pdq-quality')", "option '--pdq-quality'"),
        ("typer.Option(True, '--md5/--no-md5')", "option '--md5/--no-md5'"),
        ("d['sha256_quality'] = 1", "key 'sha256_quality'"),
        ("def f(pdq: str): ...", "parameter pdq"),
        ("sg.hash_bytes(b, local=True)", "keyword argument local="),
        ("print(fs.md5)", "attribute .md5"),
        ("class M:\n    pdq_quality: int", "field pdq_quality"),
        ("limit = 31 if t else 0", "threshold literal 31 (assignment to limit)"),
        ("ok = d <= 31", "threshold literal 31 (comparison"),
        ("def f(threshold: int = typer.Option(31)): ...", "threshold literal 31 (default of"),
        ("create(name, pdq_threshold=31)", "threshold literal 31 (keyword pdq_threshold=)"),
    ],
)
def test_the_check_catches(code: str, expected: str) -> None:
    """Each rule finds what it is for (the walk above passes only if it finds nothing)."""
    found = problems_in(f'"""probe"""\n{code}\n', "probe.py")
    assert any(expected in p for p in found), found


def test_allowed_uses_pass() -> None:
    """What the allow-list and the precision rules let through."""
    source = (
        '"""Docstrings may say pdq."""\n'
        "count = typer.Option(128, '--count')\n"  # 128 is PDQ's maximum, but a count here
        "info.pdq_threshold\n"
        "body.local_features\n"
        "typer.Option(None, '--local-features/--no-local-features')\n"
        "hashlib.sha256(secret)\n"
        "limit = Query(100, ge=1, le=1000)\n"
    )
    assert problems_in(source, "probe.py") == []
