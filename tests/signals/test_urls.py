"""URL lists: canonical forms, exact and pattern matching, through the CLI (signals/url.py,
docs/signals.md "URLs"; over HTTP: tests/api/test_url_lists.py). The addresses are made up
(example domains)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeguard.errors import InvalidSignal
from safeguard.signals import get_signal_type
from safeguard.signals.url import canonical_url
from tests.api.conftest import store_env
from tests.conftest import run_safeguard


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("HTTPS://Example.COM:443/a/./b/?utm_source=x&z=1&y=2#top", "example.com/a/b?y=2&z=1"),
        ("http://example.com/", "example.com"),
        ("example.com", "example.com"),
        ("//example.com/a", "example.com/a"),
        ("example.com/a//b/../c/", "example.com/a/c"),
        ("example.com/../../x", "example.com/x"),
        ("example.com.:80/x", "example.com/x"),
        ("example.com:8080/x", "example.com:8080/x"),
        ("https://user:secret@Example.com/p", "example.com/p"),
        ("example.com/%7Euser/%41%2520x", "example.com/~user/A%20x"),
        ("example.com/a b", "example.com/a%20b"),
        ("example.com/p?fbclid=1&gclid=2&id=7", "example.com/p?id=7"),
        ("https://bücher.example/ü", "xn--bcher-kva.example/%C3%BC"),
        ("http://[2001:db8::1]:8080/x", "[2001:db8::1]:8080/x"),
        ("https://example.com/folder/*", "example.com/folder/*"),
        ("*.Example.com/*", "*.example.com/*"),
    ],
)
def test_spellings_of_one_address_have_one_canonical_form(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "empty"),
        ("ftp://example.com/a", "not http or https"),
        ("javascript:alert(1)", "cannot be read"),
        ("http://", "no host"),
        ("exa mple.com/x", "not a valid domain"),
        ("example.com/\x00", "control character"),
        ("*.example.com/a", "must end in /*"),
        ("example.com/a?x=1/*", "cannot have a query"),
        ("example.com/" + "a" * 5000, "longer than"),
    ],
)
def test_a_bad_url_is_refused_naming_the_problem(given: str, problem: str) -> None:
    with pytest.raises(InvalidSignal, match=problem):
        canonical_url(given)


def test_url_is_a_registered_signal_type_with_the_threatexchange_name() -> None:
    assert get_signal_type("URI") is get_signal_type("url")


LIST = [
    "example.com/listed/page",
    "https://listed.example.org/folder/*",
    "*.wholehost.example/*",
]
QUERIES = {
    "HTTPS://EXAMPLE.com:443/listed/page/?utm_source=x#frag": 1,  # the same address
    "http://listed.example.org/folder": 2,  # the folder itself
    "http://listed.example.org/folder/sub/x.html?id=3": 2,  # under it
    "http://cdn.wholehost.example/a": 3,  # a subdomain
    "wholehost.example": 3,  # the host itself
    "example.com/listed/page/more": None,  # under an exact entry: not listed
    "example.com/listed": None,
    "listed.example.org/folderx": None,  # a sibling, not under the folder
    "listed.example.org/other": None,
    "notwholehost.example/a": None,
}


def test_a_url_list_matches_through_the_cli(tmp_path: Path) -> None:
    env = store_env(tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}")
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{u}\n" for u in LIST))
    for args in (
        ["bank", "create", "urls"],
        ["bank", "import", "urls", str(listing), "--signal-type", "url"],
    ):
        r = run_safeguard(args, env)
        assert r.returncode == 0, r.stderr
    args = ["match"] + [a for q in QUERIES for a in ("--url", q)]
    r = run_safeguard(args, env)
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert [g["url"] for g in got] == list(QUERIES)
    for g, want in zip(got, QUERIES.values(), strict=True):
        ids = [m["content_id"] for m in g["matches"]]
        assert ids == ([want] if want else []), g
    assert got[0]["canonical"] == "example.com/listed/page"
    # a bad address gets its own error and the command fails; the others are answered
    r = run_safeguard(["match", "--url", "ftp://example.com/x", "--url", LIST[0]], env)
    assert r.returncode == 1
    bad, good = (json.loads(line) for line in r.stdout.splitlines())
    assert bad["error_code"] == "invalid_signal" and "http or https" in bad["error"]
    assert good["matches"][0]["content_id"] == 1


def test_a_link_in_an_event_is_held_when_it_is_listed(tmp_path: Path) -> None:
    env = store_env(tmp_path / "home", f"sqlite:///{tmp_path / 'sg.db'}")
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"url {u}\n" for u in LIST))
    for args in (["bank", "create", "urls"], ["bank", "import", "urls", str(listing)]):
        r = run_safeguard(args, env)
        assert r.returncode == 0, r.stderr
    events = tmp_path / "events.jsonl"
    links = ["https://cdn.wholehost.example/x.jpg", "https://example.com/fine"]
    events.write_text(
        "".join(
            json.dumps({"kind": "upload", "account_id": f"acct-{n}", "hashes": {"url": u}}) + "\n"
            for n, u in enumerate(links)
        )
    )
    r = run_safeguard(["events", "submit", str(events), "--json"], env)
    assert r.returncode == 0, r.stderr
    listed, fine = (json.loads(line) for line in r.stdout.splitlines())
    assert listed["verdict"] == "hold" and listed["case_id"] is not None
    assert fine["verdict"] == "allow" and fine["case_id"] is None
